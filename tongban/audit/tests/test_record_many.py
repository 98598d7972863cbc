"""`record_many`: a bulk of events, sealed in the order given, as `record` one by one would be."""

from __future__ import annotations

import pytest

from tongban.audit.actions import AuditAction
from tongban.audit.models import AuditEvent
from tongban.audit.sealer import seal_all
from tongban.audit.services import Entry, record, record_many
from tongban.audit.verify import verify
from tongban.core.crypto import SM2KeyPair

pytestmark = pytest.mark.django_db


def test_record_many_is_sealed_in_order(system_key: SM2KeyPair) -> None:
    record(actor=None, action=AuditAction.DEMO_SEED, object_id="before")
    written = record_many(
        actor=None, entries=[Entry(AuditAction.DEMO_SEED, "thing", n, {"n": n}) for n in range(3)]
    )
    record(actor=None, action=AuditAction.DEMO_SEED, object_id="after")
    assert written == 3
    seal_all()
    rows = list(AuditEvent.objects.order_by("seq").values_list("object_id", "detail"))[-5:]
    assert rows == [("before", {}), ("0", {"n": 0}), ("1", {"n": 1}), ("2", {"n": 2}), ("after", {})]
    result = verify()
    assert result.ok and result.checked == AuditEvent.objects.count()
    assert record_many(actor=None, entries=[]) == 0
