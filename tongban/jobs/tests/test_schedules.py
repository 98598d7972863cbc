"""Schedules are cron lines from the settings; an empty one never runs, a malformed one stops the
worker at start-up with the setting's name."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY

from tongban.jobs import schedules
from tongban.jobs.schedules import schedule


def test_a_cron_line_an_empty_one_and_a_wrong_one(settings: Any) -> None:
    settings.SCHEDULES = {"hourly": "5 * * * *", "off": "", "bad": "5 * *"}
    at = datetime.datetime(2026, 12, 7, 10, 5, tzinfo=datetime.UTC)
    hourly = schedule("hourly")
    assert hourly(at) and not hourly(at + datetime.timedelta(minutes=1))
    assert not schedule("off")(at)
    with pytest.raises(ValueError, match="TONGBAN_SCHEDULE_BAD"):
        schedule("bad")


def test_a_catch_up_schedule_is_due_at_its_first_check_then_by_its_cron_line(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "checked", set())
    settings.SCHEDULES = {"daily": "30 8 * * *", "off": ""}
    at_night = datetime.datetime(2026, 12, 7, 3, 17, tzinfo=datetime.UTC)
    daily = schedule("daily", catch_up=True)
    assert daily(at_night)  # the worker's first check: what fell due meanwhile is sent now
    assert not daily(at_night)
    assert daily(datetime.datetime(2026, 12, 7, 8, 30, tzinfo=datetime.UTC))
    assert not schedule("off", catch_up=True)(at_night)  # turned off is off, even at start


def test_a_worker_that_starts_runs_the_deadline_schedules_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """As huey's scheduler checks them (read_periodic) when a worker with schedules starts."""
    autodiscover_modules("tasks")
    monkeypatch.setattr(schedules, "checked", set())
    at_night = datetime.datetime(2026, 12, 7, 3, 17, tzinfo=datetime.UTC)
    first = {task.name for task in HUEY.read_periodic(at_night)}
    again = {task.name for task in HUEY.read_periodic(at_night)}
    deadlines = {"review_deadlines", "verification_reminders", "calendar_warning"}
    assert deadlines <= first and not deadlines & again


def test_every_schedule_has_the_task_of_its_name() -> None:
    """Each TONGBAN_SCHEDULE_<NAME> is read by the periodic task `<name>` of an app's tasks.py,
    found as `tongban run_huey` finds them."""
    autodiscover_modules("tasks")
    periodic = {task.name for task in HUEY._registry.periodic_tasks}
    assert set(settings.SCHEDULES) <= periodic
