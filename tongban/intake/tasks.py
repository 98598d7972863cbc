"""The counter's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.intake import services
from tongban.jobs.schedules import schedule


@db_periodic_task(schedule("stale_drafts"))
def stale_drafts() -> None:
    services.drafts_abandon_stale()
