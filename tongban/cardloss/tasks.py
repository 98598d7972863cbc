"""挂失招领's schedule (found by huey's Django integration)."""

from __future__ import annotations

from huey.contrib.djhuey import db_periodic_task

from tongban.cardloss.services import found_due_mark
from tongban.jobs.schedules import schedule


@db_periodic_task(schedule("found_cards_due", catch_up=True))
def found_cards_due() -> None:
    found_due_mark()
