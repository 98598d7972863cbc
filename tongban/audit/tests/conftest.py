"""The audit tests seal with the system's key, written for each test in its own folder.

It is the same pair in every test: rows and seals of transactional tests outlive the test (the
audit app stays out of the flush), and a later test verifies them too."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from tongban.audit.actions import AuditAction
from tongban.audit.models import AuditEvent
from tongban.audit.services import record
from tongban.core.crypto import SM2KeyPair, sm2_keypair
from tongban.core.keys import SYSTEM_KEY_KIND, system_key_path

TEST_KEY = sm2_keypair(
    "5d1f2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0",
    "2e82f35abc55d9f3e2e837b91a3eb619243b0e194ded66069d6fb56df47381f4"
    "8d48da17f2cb714dc130e8e0c78d473688082e937e09b4cb65668c036f2a221f",
)


@pytest.fixture
def system_key(production_dirs: None) -> SM2KeyPair:
    path = system_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"kind": SYSTEM_KEY_KIND, "private_key": TEST_KEY.private, "public_key": TEST_KEY.public}
    path.write_text(json.dumps(body))
    return TEST_KEY


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
