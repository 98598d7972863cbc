"""Reading the outbox: what an application caused to be sent (its page and its API alike)."""

from __future__ import annotations

from tongban.intake.models import Application
from tongban.notifications.models import Message


def application_messages(application: Application) -> list[Message]:
    return list(Message.objects.filter(application=application))
