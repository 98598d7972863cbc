"""The campaigns' schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.campaigns import services
from tongban.jobs.schedules import schedule


@db_periodic_task(schedule("campaign_reports"))
def campaign_reports() -> None:
    services.reports_generate_due()
