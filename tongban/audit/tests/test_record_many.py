"""`record_many`: a bulk of events extends the chain exactly as `record` one by one would."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.audit.services import Entry, record, record_many, verify_chain

pytestmark = pytest.mark.django_db


def test_record_many_extends_the_chain_in_order() -> None:
    record(actor=None, action="test.before")
    written = record_many(actor=None, entries=[Entry("test.bulk", "thing", n, {"n": n}) for n in range(3)])
    record(actor=None, action="test.after")
    assert written == 3
    rows = list(AuditEvent.objects.order_by("seq").values_list("action", "object_id", "detail"))[-5:]
    assert rows == [
        ("test.before", "", {}),
        ("test.bulk", "0", {"n": 0}),
        ("test.bulk", "1", {"n": 1}),
        ("test.bulk", "2", {"n": 2}),
        ("test.after", "", {}),
    ]
    checked, broken = verify_chain()
    assert broken is None and checked == AuditEvent.objects.count()
    assert record_many(actor=None, entries=[]) == 0
