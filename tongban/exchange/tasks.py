"""The exchange outbox's tasks (found by huey's Django integration)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from tongban.exchange import services


@db_task()
def deliver(message_pk: int) -> None:
    services.message_deliver(message_pk)


@db_periodic_task(crontab(minute="*"))
def deliver_due() -> None:
    services.messages_deliver_due()
