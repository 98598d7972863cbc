"""When the periodic tasks run: each a cron line of settings.SCHEDULES (TONGBAN_SCHEDULE_<NAME>,
"minute hour day month weekday", as crontab(5) writes them; an empty one never runs)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from huey import crontab


def schedule(name: str) -> Callable[[object], bool]:
    line = settings.SCHEDULES[name].split()
    if not line:
        return lambda _moment: False
    if len(line) != 5:
        raise ValueError(f"TONGBAN_SCHEDULE_{name.upper()} is not a cron line of five fields: {line}")
    minute, hour, day, month, day_of_week = line
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)
