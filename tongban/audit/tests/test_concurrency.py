"""Writers and the sealer at once, on a real database: nothing waits on a shared row, nothing is
lost, and a row that commits after later ids were sealed joins a later batch. Two sealers at once
(the `--follow` process and the worker's schedule) write one chain."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection, transaction

from tongban.audit import sealer as sealing
from tongban.audit.actions import AuditAction
from tongban.audit.models import AuditEvent
from tongban.audit.sealer import seal_all, seal_pending
from tongban.audit.services import record
from tongban.audit.verify import verify
from tongban.core.crypto import SM2KeyPair

# Flushing after a transactional test would delete audit rows, which the database refuses; the
# audit app stays out of the flush (see tests/browser).
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
transactional = pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)


def _threads(*targets: Callable[[], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported by the caller; a thread's exception would vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@transactional
def test_writers_and_the_sealer_at_once(system_key: SM2KeyPair) -> None:
    before = AuditEvent.objects.count()
    done = threading.Event()

    def writer(n: int) -> Callable[[], None]:
        def write() -> None:
            for i in range(15):
                record(actor=None, action=AuditAction.DEMO_SEED, object_type="thread", object_id=f"{n}-{i}")

        return write

    def sealer() -> None:
        while not done.is_set():
            seal_pending(key=system_key, limit=7)

    sealing = threading.Thread(target=sealer)
    sealing.start()
    errors = _threads(*(writer(n) for n in range(6)))
    done.set()
    sealing.join()
    assert errors == []
    seal_all(key=system_key)
    assert AuditEvent.objects.count() == before + 90
    assert not AuditEvent.objects.filter(seq=None).exists()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    result = verify()
    assert result.ok and result.checked == len(seqs)


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="SQLite has one writer at a time: no transaction commits around another's sealing",
)
@transactional
def test_a_transaction_committing_after_the_seal_joins_the_next_batch(system_key: SM2KeyPair) -> None:
    inserted, sealed = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def slow() -> None:
        with transaction.atomic():
            ids["slow"] = record(actor=None, action=AuditAction.DEMO_SEED, object_id="slow").pk
            inserted.set()
            assert sealed.wait(10)

    def fast() -> None:
        assert inserted.wait(10)
        ids["fast"] = record(actor=None, action=AuditAction.DEMO_SEED, object_id="fast").pk
        seal_all(key=system_key)  # the slow row is not committed: not visible, not sealed
        sealed.set()

    assert _threads(slow, fast) == []
    assert ids["slow"] < ids["fast"]
    assert AuditEvent.objects.get(pk=ids["slow"]).seq is None
    seal_all(key=system_key)
    slow_seq, fast_seq = (AuditEvent.objects.get(pk=ids[name]).seq for name in ("slow", "fast"))
    assert slow_seq is not None and fast_seq is not None and slow_seq > fast_seq
    assert verify().ok


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="SQLite has one writer at a time: a second sealer waits at BEGIN, then seals what is left",
)
@transactional
def test_two_sealers_at_once_write_one_chain(system_key: SM2KeyPair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both read the same head and the same rows before either writes (forced here); one seals
    them, the other finds them taken and rolls back, sealing nothing. Then both keep sealing
    while rows are written: every row is sealed once, the seals follow one another, the trail
    verifies."""
    seal_all(key=system_key)  # what earlier tests left
    for i in range(30):
        record(actor=None, action=AuditAction.DEMO_SEED, object_type="race", object_id=i)
    both_read = threading.Barrier(2, timeout=10)
    first_round = threading.local()
    assign = sealing._assign

    def assign_together(rows: list[tuple[int, int, str, str]]) -> int:
        if not getattr(first_round, "done", False):
            first_round.done = True
            both_read.wait()
        return assign(rows)

    monkeypatch.setattr(sealing, "_assign", assign_together)
    seals: list[int | None] = []

    def seal_once() -> None:
        seal = seal_pending(key=system_key, limit=30)
        seals.append(seal.number if seal is not None else None)

    assert _threads(seal_once, seal_once) == []
    assert seals.count(None) == 1  # the second found the rows sealed and wrote nothing
    assert not AuditEvent.objects.filter(seq=None).exists()

    done = threading.Event()

    def writer() -> None:
        for i in range(40):
            record(actor=None, action=AuditAction.DEMO_SEED, object_type="race", object_id=f"w{i}")
        done.set()

    def sealer() -> None:
        while not done.is_set():
            seal_all(key=system_key, limit=5)

    assert _threads(writer, sealer, sealer) == []
    seal_all(key=system_key)
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert verify().ok  # every seal continues the one before, signed
