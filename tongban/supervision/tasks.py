"""Supervision's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.jobs.schedules import schedule
from tongban.supervision import services


@db_periodic_task(schedule("supervision_rollup"))
def supervision_rollup() -> None:
    services.rollup_fill()
