"""Schedules are cron lines from the settings; an empty one never runs, a malformed one stops the
worker at start-up with the setting's name."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tongban.jobs.schedules import schedule


def test_a_cron_line_an_empty_one_and_a_wrong_one(settings: Any) -> None:
    settings.SCHEDULES = {"hourly": "5 * * * *", "off": "", "bad": "5 * *"}
    at = datetime.datetime(2026, 12, 7, 10, 5, tzinfo=datetime.UTC)
    hourly = schedule("hourly")
    assert hourly(at) and not hourly(at + datetime.timedelta(minutes=1))
    assert not schedule("off")(at)
    with pytest.raises(ValueError, match="TONGBAN_SCHEDULE_BAD"):
        schedule("bad")
