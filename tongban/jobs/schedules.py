"""When the periodic tasks run: each a cron line of settings.SCHEDULES (TONGBAN_SCHEDULE_<NAME>,
"minute hour day month weekday", as crontab(5) writes them; an empty one never runs).

The schedules that keep deadlines (`catch_up`) also run once whenever a worker process starts:
what fell due while no worker ran (a restart, a machine down overnight) is sent then rather than
at their next time, which is harmless because each sends a message once whatever how often it
runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

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


T = TypeVar("T", bound=Callable[..., Any])
CATCH_UP: dict[str, Callable[[], object]] = {}
_caught_up = threading.Lock()


def catch_up(name: str) -> Callable[[T], T]:
    """Mark the periodic task of schedule `name` (applied over huey's decorator) to run when a
    worker starts, unless the schedule is turned off."""

    def mark(task: T) -> T:
        CATCH_UP[name] = task
        return task

    return mark


def schedules_catch_up() -> list[str]:
    """Queue each `catch_up` schedule that is on, once per process (huey calls its start-up hooks
    in every worker thread). Returns the names queued."""
    if not _caught_up.acquire(blocking=False):
        return []
    queued = [name for name in CATCH_UP if settings.SCHEDULES[name].split()]
    for name in queued:
        CATCH_UP[name]()  # calling a huey task queues it
    return queued
