"""The handover side's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.handover import reminders
from tongban.jobs.schedules import schedule


@db_periodic_task(schedule("verification_reminders", catch_up=True))
def verification_reminders() -> None:
    reminders.verification_reminders_notify()
