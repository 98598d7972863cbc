"""Production's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.jobs.schedules import schedule
from tongban.production import services


@db_periodic_task(schedule("production_batches"))
def production_batches() -> None:
    services.batch_schedule()
