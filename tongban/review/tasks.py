"""The review side's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.jobs.schedules import schedule
from tongban.review import deadlines


@db_periodic_task(schedule("review_deadlines", catch_up=True))
def review_deadlines() -> None:
    deadlines.review_deadlines_notify()


@db_periodic_task(schedule("calendar_warning", catch_up=True))
def calendar_warning() -> None:
    deadlines.calendar_missing_notify()
