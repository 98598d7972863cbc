"""The review side's schedules (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.jobs.schedules import catch_up, schedule
from tongban.review import deadlines


@catch_up("review_deadlines")
@db_periodic_task(schedule("review_deadlines"))
def review_deadlines() -> None:
    deadlines.review_deadlines_notify()


@catch_up("calendar_warning")
@db_periodic_task(schedule("calendar_warning"))
def calendar_warning() -> None:
    deadlines.calendar_missing_notify()
