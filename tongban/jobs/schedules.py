"""When the periodic tasks run: each a cron line of settings.SCHEDULES (TONGBAN_SCHEDULE_<NAME>,
"minute hour day month weekday", as crontab(5) writes them; an empty one never runs).

A schedule that keeps deadlines (`catch_up=True`) is also due at the first check of a worker
process that runs the schedules (huey's scheduler checks at start, then every minute): what fell
due while no worker ran (a restart, a machine down overnight) is sent then rather than at its next
time, which is harmless because each sends a message once whatever how often it runs. A worker
started with `--no-periodic` checks no schedule, so it catches nothing up either."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from huey import crontab

# The catch-up schedules this process has checked once already.
checked: set[str] = set()


def schedule(name: str, *, catch_up: bool = False) -> Callable[[object], bool]:
    line = settings.SCHEDULES[name].split()
    if not line:
        return lambda _moment: False
    if len(line) != 5:
        raise ValueError(f"TONGBAN_SCHEDULE_{name.upper()} is not a cron line of five fields: {line}")
    minute, hour, day, month, day_of_week = line
    cron: Callable[[object], bool] = crontab(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week
    )
    if not catch_up:
        return cron

    def due(moment: object) -> bool:
        if name not in checked:
            checked.add(name)
            return True
        return cron(moment)

    return due
