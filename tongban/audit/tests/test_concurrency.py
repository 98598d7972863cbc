"""Writers and the sealer at once, on a real database: nothing waits on a shared row, nothing is
lost, and a row that commits after later ids were sealed joins a later batch."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.db import connection, transaction

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
