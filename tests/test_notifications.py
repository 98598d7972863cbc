"""Notifications go out after commit, through the configured backend, and never break the action."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from tongban import notifications
from tongban.notifications import Notification, notify

pytestmark = pytest.mark.django_db

SENT: list[Notification] = []


def collect(notification: Notification) -> None:
    SENT.append(notification)


def broken(notification: Notification) -> None:
    raise RuntimeError("gateway down")


def test_nothing_is_sent_before_commit(settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_BACKEND = "memory"
    notifications.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(Notification("test", "受理号 3601020012026112200001", phone="13800138000"))
        assert notifications.outbox == []
    assert [n.kind for n in notifications.outbox] == ["test"]


def test_a_rolled_back_action_sends_nothing(settings, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_BACKEND = "memory"
    notifications.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValueError),
        transaction.atomic(),
    ):
        notify(Notification("test", "x"))
        raise ValueError
    assert callbacks == [] and notifications.outbox == []


def test_console_masks_the_phone(settings, caplog, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_BACKEND = "console"
    with (
        caplog.at_level(logging.INFO, logger="tongban.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify(Notification("application.accepted", "已受理", phone="13800138000"))
    assert "138****8000" in caplog.text and "13800138000" not in caplog.text


def test_a_dotted_path_backend_and_a_failing_one(settings, caplog, django_capture_on_commit_callbacks):
    settings.NOTIFICATIONS_BACKEND = "tests.test_notifications.collect"
    SENT.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify(Notification("unit", "新的审核签发事项", unit_code="360102001"))
    assert [n.unit_code for n in SENT] == ["360102001"]
    settings.NOTIFICATIONS_BACKEND = "tests.test_notifications.broken"
    with (
        caplog.at_level(logging.ERROR, logger="tongban.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify(Notification("unit", "x", unit_code="360102001"))  # does not raise
    assert "could not be sent" in caplog.text
