import itertools
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from tongban.audit.models import AppendOnlyError, AuditEvent
from tongban.audit.services import record, verify_chain

pytestmark = pytest.mark.django_db


def _events(n: int) -> list[AuditEvent]:
    return [
        record(actor=None, action="test.event", object_type="thing", object_id=i, detail={"i": i})
        for i in range(n)
    ]


def test_rows_link_into_a_verifiable_chain() -> None:
    before, _ = verify_chain()
    events = _events(5)
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 5))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    checked, broken = verify_chain(batch_size=2)
    assert broken is None
    assert checked == before + 5


def test_orm_refuses_changes_and_deletes() -> None:
    event = _events(1)[0]
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_database_refuses_raw_updates_and_deletes() -> None:
    event = _events(1)[0]
    for statement in (
        "UPDATE audit_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def _drop_guards() -> None:
    """Tampering as a DBA with DDL rights would: drop the triggers (inside the test's transaction)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER audit_event_append_only ON audit_auditevent")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")


def test_verify_reports_the_first_tampered_row() -> None:
    events = _events(4)
    _drop_guards()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_id = 'forged' WHERE seq = %s", [events[2].seq])
    _, broken = verify_chain()
    assert broken is not None
    assert broken.seq == events[2].seq
    assert "hash" in broken.reason and broken.kind == "content"


def test_verify_reports_a_removed_row_and_the_command_fails(capsys: pytest.CaptureFixture[str]) -> None:
    events = _events(3)
    _drop_guards()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [events[1].seq])
    with pytest.raises(CommandError, match=f"#{events[1].seq}"):
        call_command("audit", "verify")
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False
    assert out["first_broken_seq"] == events[1].seq


def test_verify_command_reports_ok(capsys: pytest.CaptureFixture[str]) -> None:
    _events(2)
    call_command("audit", "verify")
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True
    assert out["checked"] >= 2
