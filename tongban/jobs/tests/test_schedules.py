"""Schedules are cron lines from the settings; an empty one never runs, a malformed one stops the
worker at start-up with the setting's name."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.utils.module_loading import autodiscover_modules
from huey.contrib.djhuey import HUEY

from tongban.jobs.schedules import schedule


def test_a_cron_line_an_empty_one_and_a_wrong_one(settings: Any) -> None:
    settings.SCHEDULES = {"hourly": "5 * * * *", "off": "", "bad": "5 * *"}
    at = datetime.datetime(2026, 12, 7, 10, 5, tzinfo=datetime.UTC)
    hourly = schedule("hourly")
    assert hourly(at) and not hourly(at + datetime.timedelta(minutes=1))
    assert not schedule("off")(at)
    with pytest.raises(ValueError, match="TONGBAN_SCHEDULE_BAD"):
        schedule("bad")


def test_a_starting_worker_runs_the_deadline_schedules_once(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from tongban.jobs import schedules
    from tongban.jobs.tasks import catch_up

    ran: list[str] = []
    monkeypatch.setattr(schedules, "_caught_up", threading.Lock())
    monkeypatch.setattr(
        schedules,
        "CATCH_UP",
        {
            name: (lambda name=name: ran.append(name))
            for name in ("review_deadlines", "verification_reminders")
        },
    )
    settings.SCHEDULES = {**settings.SCHEDULES, "verification_reminders": ""}  # turned off
    catch_up()  # the start-up hook of the first worker thread
    catch_up()  # and of the second
    assert ran == ["review_deadlines"]


def test_the_deadline_schedules_are_marked_to_catch_up() -> None:
    from tongban.handover.tasks import verification_reminders
    from tongban.jobs.schedules import CATCH_UP
    from tongban.review.tasks import calendar_warning, review_deadlines

    assert {
        "review_deadlines": review_deadlines,
        "verification_reminders": verification_reminders,
        "calendar_warning": calendar_warning,
    } == CATCH_UP


def test_every_schedule_has_the_task_of_its_name() -> None:
    """Each TONGBAN_SCHEDULE_<NAME> is read by the periodic task `<name>` of an app's tasks.py,
    found as `tongban run_huey` finds them."""
    autodiscover_modules("tasks")
    periodic = {task.name for task in HUEY._registry.periodic_tasks}
    assert set(settings.SCHEDULES) <= periodic
