"""Notifications to applicants (SMS) and units (work queues), sent after the transaction that
caused them commits, through a pluggable backend (settings.NOTIFICATIONS_BACKEND):

- "console": written to the "tongban.notify" log; the logging filter masks ID numbers, and
  messages name applications by 受理号, never by ID number;
- "memory": kept in `outbox` (tests, the demo).

A deployment plugs an SMS gateway in by naming a dotted path to a callable taking a Notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

logger = logging.getLogger("tongban.notify")


@dataclass(frozen=True)
class Notification:
    kind: str  # e.g. "application.accepted"
    message: str  # Chinese text as sent
    phone: str = ""  # the applicant's mobile, for SMS
    unit_code: str = ""  # a unit whose queue changed


outbox: list[Notification] = []


def _console(notification: Notification) -> None:
    to = notification.unit_code or (notification.phone[:3] + "****" + notification.phone[-4:])
    logger.info("notify %s to %s: %s", notification.kind, to, notification.message)


def _memory(notification: Notification) -> None:
    outbox.append(notification)


def _backend() -> Callable[[Notification], None]:
    name = settings.NOTIFICATIONS_BACKEND
    if name == "console":
        return _console
    if name == "memory":
        return _memory
    backend: Callable[[Notification], None] = import_string(name)
    return backend


def notify(notification: Notification) -> None:
    """Send once the current transaction commits (at once outside one); a failing backend is
    logged and never undoes the business action."""

    def send() -> None:
        try:
            _backend()(notification)
        except Exception:
            logger.exception("notification %s could not be sent", notification.kind)

    transaction.on_commit(send)
