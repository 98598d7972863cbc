"""Concurrent writers on a real database: the chain stays gapless and valid."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from tongban.audit.models import AuditEvent
from tongban.audit.services import record, verify_chain

# Flushing after a transactional test would delete audit rows, which the database refuses; the
# audit app stays out of the flush (see tests/browser).
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_concurrent_writers_get_distinct_consecutive_seqs() -> None:
    before = AuditEvent.objects.count()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                record(actor=None, action="test.concurrent", object_type="thread", object_id=f"{n}-{i}")
        except BaseException as exc:  # reported below; a thread's exception would vanish otherwise
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert len(seqs) == before + 60
    assert seqs == list(range(1, len(seqs) + 1))
    checked, broken = verify_chain()
    assert broken is None and checked == len(seqs)
