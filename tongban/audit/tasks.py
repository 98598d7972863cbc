"""The audit trail's schedule (found by huey's Django integration): the backlog sealed every
minute by the worker, for installations without the `tongban audit seal --follow` process. Both
may run: two sealers at once write one chain (sealer.py, tests/test_concurrency.py)."""

from __future__ import annotations

from django.conf import settings
from huey.contrib.djhuey import db_periodic_task

from tongban.audit import sealer
from tongban.jobs.schedules import schedule


@db_periodic_task(schedule("audit_seal"))
def audit_seal() -> None:
    sealer.seal_all(limit=int(settings.AUDIT["SEAL_BATCH"]))
