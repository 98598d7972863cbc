"""The handover side's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.handover import reminders
from tongban.jobs.schedules import catch_up, schedule


@catch_up("verification_reminders")
@db_periodic_task(schedule("verification_reminders"))
def verification_reminders() -> None:
    reminders.verification_reminders_notify()
