"""Writing is one INSERT; the sealer chains and signs; verification names the first tampered row."""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongban.audit import sealer, tasks
from tongban.audit import verify as verify_module
from tongban.audit.actions import AuditAction
from tongban.audit.chain import GENESIS_HASH, link_hash
from tongban.audit.context import audit_context
from tongban.audit.models import AppendOnlyError, AuditEvent, AuditSeal
from tongban.audit.sealer import seal_all, seal_pending
from tongban.audit.services import record
from tongban.audit.tests.conftest import drop_guards, sql
from tongban.audit.verify import export_checkpoints, verify
from tongban.core.crypto import SM2KeyPair, sm2_generate, sm2_sign
from tongban.production.services import system_key_generate

pytestmark = pytest.mark.django_db
Events = Callable[[int], list[AuditEvent]]


def _sealed(pks: list[int]) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__in=pks).order_by("seq"))


def test_recording_is_one_insert_and_leaves_the_row_for_the_sealer() -> None:
    with CaptureQueriesContext(connection) as queries, audit_context(remote_addr="10.1.2.3"):
        event = record(actor=None, action=AuditAction.DEMO_SEED, object_type="thing", object_id=7)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.seq is None and stored.hash == "" and stored.remote_addr == "10.1.2.3"
    assert record(actor=None, action=AuditAction.DEMO_SEED).remote_addr is None  # no context: no address


def test_the_schedule_seals_the_backlog(events: Events, system_key: SM2KeyPair) -> None:
    events(3)
    tasks.audit_seal()
    assert not AuditEvent.objects.filter(seq=None).exists()
    assert verify().ok


def test_sealing_chains_rows_in_id_order_and_signs_each_batch(events: Events, system_key: SM2KeyPair) -> None:
    seal_all()  # what the session's set-up wrote
    made = events(5)
    first = seal_pending(limit=3)
    second = seal_pending(limit=3)
    assert first is not None and second is not None and seal_pending() is None
    assert (second.number, second.first_seq) == (first.number + 1, first.last_seq + 1)
    rows = _sealed([e.pk for e in made])
    assert [r.pk for r in rows] == [e.pk for e in made]
    assert all(b.prev_hash == a.hash and b.seq == (a.seq or 0) + 1 for a, b in itertools.pairwise(rows))
    assert second.last_hash == rows[-1].hash and second.key_fingerprint == system_key.fingerprint
    result = verify(batch_size=2)
    assert result.ok and result.checked == AuditEvent.objects.count() and result.seals == second.number


def test_a_row_committed_late_joins_a_later_batch(system_key: SM2KeyPair) -> None:
    early = AuditEvent.objects.create(
        id=1_000_010, at=timezone.now(), actor_username="cli", action="demo.seed"
    )
    seal_all()
    # A transaction that took its id before `early` but committed after the seal.
    late = AuditEvent.objects.create(
        id=1_000_005, at=timezone.now(), actor_username="cli", action="demo.seed"
    )
    seal_all()
    early.refresh_from_db()
    late.refresh_from_db()
    assert late.seq == (early.seq or 0) + 1  # sealed after it, never lost
    assert verify().ok


def test_rows_chained_before_seals_existed_are_adopted_by_the_first_seal(system_key: SM2KeyPair) -> None:
    waiting = AuditEvent.objects.filter(seq=None).count()  # what the session's set-up wrote
    prev = GENESIS_HASH
    for seq in (1, 2):
        fields: dict[str, Any] = {
            "seq": seq,
            "at": timezone.now(),
            "actor_id": None,
            "actor_username": "cli",
            "unit_code": "",
            "action": "demo.seed",
            "object_type": "",
            "object_id": "",
            "remote_addr": None,
            "detail": {},
            "prev_hash": prev,
        }
        stored = AuditEvent.objects.create(**fields, hash=link_hash(fields))
        stored.refresh_from_db()  # the hash is over the stored values
        prev = stored.hash
    record(actor=None, action=AuditAction.DEMO_SEED)
    assert seal_all() == 3 + waiting
    assert list(AuditSeal.objects.order_by("number").values_list("first_seq", "last_seq")) == [
        (1, 2),
        (3, 3 + waiting),
    ]
    assert verify().ok


def test_orm_refuses_changes_and_deletes(events: Events) -> None:
    event = events(1)[0]
    event.action = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_database_allows_only_the_sealers_change(events: Events, system_key: SM2KeyPair) -> None:
    sealed = events(1)[0]
    seal_all()
    unsealed = events(1)[0]
    refused = [
        ("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", unsealed.pk),
        ("UPDATE audit_auditevent SET seq = 99, action = 'x' WHERE id = %s", sealed.pk),
        ("UPDATE audit_auditevent SET seq = seq + 100 WHERE id = %s", unsealed.pk),
        ("DELETE FROM audit_auditevent WHERE id = %s", sealed.pk),
        ("UPDATE audit_auditseal SET last_hash = 'x' WHERE number = %s", 1),
        ("DELETE FROM audit_auditseal WHERE number = %s", 1),
    ]
    for statement, pk in refused:
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(statement, pk)
    assert AuditEvent.objects.get(pk=unsealed.pk).action == "demo.seed"


def _broken(**kwargs: object) -> tuple[str, int | None]:
    result = verify(**kwargs)  # type: ignore[arg-type]
    assert result.broken is not None and not result.ok
    return result.broken.kind, result.broken.seq


def test_an_edited_row_is_named(events: Events, system_key: SM2KeyPair) -> None:
    made = events(4)
    seal_all()
    target = AuditEvent.objects.get(pk=made[2].pk)
    drop_guards()
    sql("UPDATE audit_auditevent SET object_id = 'forged' WHERE id = %s", target.pk)
    assert _broken() == ("content", target.seq)


def test_a_row_rewritten_with_its_hash_is_named(events: Events, system_key: SM2KeyPair) -> None:
    made = events(4)
    seal_all()
    target = AuditEvent.objects.values().get(pk=made[1].pk)
    forged = {**target, "object_id": "forged"}
    drop_guards()
    sql(
        "UPDATE audit_auditevent SET object_id = 'forged', hash = %s WHERE id = %s",
        link_hash(forged),
        target["id"],
    )
    assert _broken() == ("link", target["seq"])


def test_a_rechained_tail_breaks_the_seals_signature(events: Events, system_key: SM2KeyPair) -> None:
    made = events(3)
    seal_all()
    seal = AuditSeal.objects.get()
    rows = list(AuditEvent.objects.filter(pk__in=[e.pk for e in made]).order_by("seq").values())
    drop_guards()
    prev = rows[0]["prev_hash"]
    for row in rows:  # rewrite the last row and re-chain everything from the first, consistently
        if row is rows[-1]:
            sql("UPDATE audit_auditevent SET object_id = 'forged' WHERE id = %s", row["id"])
            row = AuditEvent.objects.values().get(pk=row["id"])
        digest = link_hash({**row, "prev_hash": prev})
        sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", prev, digest, row["id"])
        prev = digest
    assert _broken() == ("rewritten", seal.first_seq)


def test_a_deleted_row_and_a_removed_tail_are_named(events: Events, system_key: SM2KeyPair) -> None:
    made = events(4)
    seal_all()
    middle, last = (AuditEvent.objects.get(pk=e.pk) for e in made[1::2])
    drop_guards()
    sql("DELETE FROM audit_auditevent WHERE id = %s", last.pk)
    assert _broken() == ("truncated", last.seq)
    sql("DELETE FROM audit_auditevent WHERE id = %s", middle.pk)
    assert _broken() == ("missing", middle.seq)


def test_rows_inserted_afterwards_are_named(events: Events, system_key: SM2KeyPair, settings: object) -> None:
    events(2)
    seal_all()
    head = AuditSeal.objects.get()
    # A row given a place in the chain that no seal covers.
    fields = {**AuditEvent.objects.values().get(seq=head.last_seq), "id": None, "seq": head.last_seq + 1}
    forged = AuditEvent.objects.create(**{k: v for k, v in fields.items() if k != "id"})
    assert _broken() == ("inserted", forged.seq)
    drop_guards()
    sql("DELETE FROM audit_auditevent WHERE id = %s", forged.pk)
    assert verify().ok
    # A row dated well before the last seal slips in unsealed: the sealer seals it, and verification
    # says it cannot have been committed that long after it happened.
    backdated = AuditEvent.objects.create(
        at=head.sealed_at - datetime.timedelta(hours=2), actor_username="cli", action="demo.seed"
    )
    seal_all()
    backdated.refresh_from_db()
    assert _broken() == ("inserted", backdated.seq)


def test_a_backlog_sealed_in_batches_after_an_outage_verifies(events: Events, system_key: SM2KeyPair) -> None:
    """Rows that waited for the sealer for hours, sealed in several batches, are not taken for
    inserted ones: the rows of the later batches happened before the earlier seals were made,
    but not before the rows ahead of them. Found by the 10,000-application crash run, which
    seals 250,000 rows after 84 minutes in batches of 10,000."""
    events(6)
    hours_ago = timezone.now() - datetime.timedelta(hours=3)
    drop_guards()
    waiting = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))  # and the key's
    for n, pk in enumerate(waiting):  # as they were written three hours ago, a minute apart
        sql(
            "UPDATE audit_auditevent SET at = %s WHERE id = %s", hours_ago + datetime.timedelta(minutes=n), pk
        )
    assert seal_all(limit=2) == len(waiting)
    assert AuditSeal.objects.count() == (len(waiting) + 1) // 2
    assert verify().ok
    # A row dated well before the rows ahead of it still shows, sealed in a batch of its own.
    backdated = AuditEvent.objects.create(
        at=hours_ago - datetime.timedelta(hours=2), actor_username="cli", action="demo.seed"
    )
    seal_all(limit=2)
    backdated.refresh_from_db()
    assert _broken() == ("inserted", backdated.seq)


def test_a_forged_or_foreign_signature_is_refused(events: Events, system_key: SM2KeyPair) -> None:
    events(2)
    seal_all()
    seal = AuditSeal.objects.get()
    drop_guards()
    other = sm2_generate()
    sql("UPDATE audit_auditseal SET signature = %s WHERE id = %s", sm2_sign(other, b"x").hex(), seal.pk)
    assert _broken() == ("seal", 1)


def test_unsealed_rows_past_the_limit_are_reported(
    events: Events, system_key: SM2KeyPair, settings: object
) -> None:
    seal_all()
    events(1)
    assert verify().ok  # young: waiting for the sealer is normal
    AuditEvent.objects.create(
        at=timezone.now() - datetime.timedelta(hours=1), actor_username="cli", action="x"
    )
    result = verify()
    assert result.broken is None and result.unsealed == 2 and result.unsealed_overdue == 1 and not result.ok


def test_the_commands_seal_verify_and_export_for_a_witness(
    events: Events, system_key: SM2KeyPair, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events(3)
    call_command("audit", "seal")
    assert json.loads(capsys.readouterr().out) == {"sealed": AuditEvent.objects.count()}
    call_command("audit", "verify")
    assert json.loads(capsys.readouterr().out)["ok"] is True
    witness = tmp_path / "checkpoints.json"
    call_command("audit", "checkpoints", "--output", str(witness))
    kept = json.loads(witness.read_text())
    assert kept["public_key"] == system_key.public and len(kept["checkpoints"]) == 1
    assert kept == {**export_checkpoints(), "exported_at": kept["exported_at"]}
    call_command("audit", "verify", "--witness", str(witness))
    assert json.loads(capsys.readouterr().out)["witnessed"] == 1
    # The whole trail rewritten and re-sealed with another key: the witness still tells.
    drop_guards()
    sql("DELETE FROM audit_auditseal")
    seal = AuditSeal.objects.create(
        number=1,
        first_seq=1,
        last_seq=AuditEvent.objects.count(),
        last_hash="0" * 64,
        sealed_at=timezone.now(),
    )
    with pytest.raises(CommandError, match="封存批次 1"):
        call_command("audit", "verify", "--witness", str(witness))
    assert seal.pk


def test_sealing_without_a_system_key_is_a_clear_error(production_dirs: None) -> None:
    with pytest.raises(CommandError, match="tongban keys generate-system"):
        call_command("audit", "seal")


def test_an_encrypted_key_seals_with_its_passphrase_and_verifies_without(
    production_dirs: None, events: Events, settings: Any
) -> None:
    passphrase = {**settings.CARD_PRODUCTION, "KEYS_PASSPHRASE": "correct horse"}
    settings.CARD_PRODUCTION = passphrase
    system_key_generate()
    events(2)
    settings.CARD_PRODUCTION = {**passphrase, "KEYS_PASSPHRASE": ""}
    with pytest.raises(CommandError, match="TONGBAN_KEYS_PASSPHRASE"):
        call_command("audit", "seal")
    settings.CARD_PRODUCTION = passphrase
    assert seal_all() and not AuditEvent.objects.filter(seq=None).exists()
    settings.CARD_PRODUCTION = {**passphrase, "KEYS_PASSPHRASE": ""}
    assert verify().ok and export_checkpoints()["checkpoints"]


def test_following_waits_for_a_missing_key_then_seals(
    production_dirs: None, events: Events, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sealer, "KEY_RETRY_SECONDS", 0)
    events(2)
    rounds = iter([False, True])
    sealer.follow(interval=0, stop=lambda: next(rounds))  # no key yet: logged, not fatal
    assert "waits for the system key" in caplog.text and AuditEvent.objects.filter(seq=None).exists()
    system_key_generate()
    rounds = iter([False, True])
    sealer.follow(interval=0, stop=lambda: next(rounds))
    assert not AuditEvent.objects.filter(seq=None).exists() and verify().ok


def test_seals_made_while_verifying_are_not_taken_for_insertions(
    events: Events, system_key: SM2KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    seal_all()
    events(2)
    check_seals = verify_module._check_seals

    def sealer_runs_meanwhile(seals: list[AuditSeal], keys: dict[str, str]) -> object:
        seal_all()  # the sealer, between reading the seals and reading the rows
        return check_seals(seals, keys)

    monkeypatch.setattr(verify_module, "_check_seals", sealer_runs_meanwhile)
    assert verify().ok
