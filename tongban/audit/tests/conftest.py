"""The audit tests seal with the system's key of `system_key` (tongban/testing/applications.py),
written for each test in its own folder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tongban.audit.actions import AuditAction
from tongban.audit.models import AuditEvent
from tongban.audit.services import record


@pytest.fixture
def events() -> Callable[[int], list[AuditEvent]]:
    def make(n: int) -> list[AuditEvent]:
        return [
            record(
                actor=None, action=AuditAction.DEMO_SEED, object_type="thing", object_id=i, detail={"i": i}
            )
            for i in range(n)
        ]

    return make


def drop_guards() -> None:
    """Tampering as a DBA with DDL rights would: drop the triggers (inside the test's transaction)."""
    statements = {
        "postgresql": [
            "DROP TRIGGER audit_event_append_only ON audit_auditevent",
            "DROP TRIGGER audit_seal_append_only ON audit_auditseal",
        ],
        "sqlite": [
            "DROP TRIGGER audit_event_no_update",
            "DROP TRIGGER audit_event_no_delete",
            "DROP TRIGGER audit_seal_no_update",
            "DROP TRIGGER audit_seal_no_delete",
        ],
    }[connection.vendor]
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def sql(statement: str, *params: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
