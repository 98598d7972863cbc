"""Pytest fixtures for notifications (loaded by the root conftest.py): `outbox`, the messages a
test sends, kept in memory instead of sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tongban.notifications import services as notifications


@pytest.fixture
def outbox(settings: Any) -> Iterator[list[notifications.Notification]]:
    """What the test sends to citizens and units (the memory backend), empty at the start."""
    settings.NOTIFICATIONS_BACKEND = "memory"
    notifications.outbox.clear()
    yield notifications.outbox
    notifications.outbox.clear()
