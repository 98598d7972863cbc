"""网上预约's schedules (found by huey's Django integration): thin wrappers around the services."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.appointments import services
from tongban.jobs.schedules import schedule


@db_periodic_task(schedule("appointment_reminders", catch_up=True))
def appointment_reminders() -> None:
    services.reminders_notify()


@db_periodic_task(schedule("appointment_no_shows", catch_up=True))
def appointment_no_shows() -> None:
    services.no_shows_mark()
