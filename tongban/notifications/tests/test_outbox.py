"""The outbox: a message is written with the change that causes it, sent once after commit through
the configured backend, tried again with growing pauses while the gateway is down, never lost and
never sent twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from tongban.notifications import services as notifications
from tongban.notifications.models import Message
from tongban.notifications.services import Notification, notify

pytestmark = pytest.mark.django_db

SENT: list[Notification] = []
FAILING = {"times": 0}


def collect(notification: Notification) -> None:
    SENT.append(notification)


def flaky(notification: Notification) -> None:
    """Down for FAILING["times"] attempts, then up."""
    if FAILING["times"] > 0:
        FAILING["times"] -= 1
        raise ConnectionError("gateway down 13800138000")
    SENT.append(notification)


@pytest.fixture(autouse=True)
def _clean() -> None:
    SENT.clear()


def test_nothing_is_sent_before_commit_and_the_row_is_written_with_the_change(
    outbox: list[notifications.Notification], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(Notification("application.accepted", "受理号 3601020012026112200001", phone="13800138000"))
        assert outbox == []
        assert Message.objects.get().status == Message.Status.PENDING
    assert [n.kind for n in outbox] == ["application.accepted"]
    message = Message.objects.get()
    assert message.status == Message.Status.SENT and message.attempts == 1 and message.sent_at is not None
    assert outbox[0].key == message.key


def test_a_rolled_back_action_leaves_no_message(
    outbox: list[notifications.Notification], django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValueError),
        transaction.atomic(),
    ):
        notify(Notification("test", "x"))
        raise ValueError
    assert callbacks == [] and outbox == [] and not Message.objects.exists()


def test_the_same_key_is_one_message(
    outbox: list[notifications.Notification], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = notify(
            Notification("verification.due", "请核验", phone="13800138000"), key="due:1:2026-12-07"
        )
        again = notify(
            Notification("verification.due", "请核验", phone="13800138000"), key="due:1:2026-12-07"
        )
    assert first.pk == again.pk and len(outbox) == 1


def test_console_masks_the_phone(settings: Any, caplog: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.NOTIFICATIONS_BACKEND = "console"
    with (
        caplog.at_level(logging.INFO, logger="tongban.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        notify(Notification("application.accepted", "已受理", phone="13800138000"))
    assert "138****8000" in caplog.text and "13800138000" not in caplog.text


def test_the_file_backend_writes_one_json_line_a_message(
    settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFICATIONS_BACKEND = "file"
    settings.NOTIFICATIONS_FILE = tmp_path / "sent.jsonl"
    with django_capture_on_commit_callbacks(execute=True):
        notify(Notification("review.arrived", "新的审核签发事项", unit_code="360102001"))
        notify(Notification("card.ready", "请领证", phone="13800138000"))
    lines = [
        json.loads(line) for line in settings.NOTIFICATIONS_FILE.read_text(encoding="utf-8").splitlines()
    ]
    assert [(line["kind"], line["unit_code"], line["phone"]) for line in lines] == [
        ("review.arrived", "360102001", ""),
        ("card.ready", "", "13800138000"),
    ]


def test_a_gateway_that_is_down_delays_messages_never_loses_or_repeats_them(
    settings: Any, caplog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFICATIONS_BACKEND = f"{__name__}.flaky"
    FAILING["times"] = 2
    with (
        caplog.at_level(logging.WARNING, logger="tongban.notify"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = notify(Notification("card.ready", "请领证", phone="13800138000"))  # does not raise
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING and message.attempts == 1
    assert message.last_error == "通知网关不可用" and message.next_attempt_at > timezone.now()
    assert "could not be sent" in caplog.text and "13800138000" not in caplog.text
    assert notifications.messages_deliver_due() == 0  # not due yet
    for pause in (timedelta(seconds=30), timedelta(minutes=1)):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        assert notifications.messages_deliver_due() == 1
        message.refresh_from_db()
        if message.status == Message.Status.PENDING:  # the 2nd failure waits twice as long
            assert message.next_attempt_at - timezone.now() > pause
    assert message.status == Message.Status.SENT and message.attempts == 3 and len(SENT) == 1
    assert notifications.messages_deliver_due() == 0 and len(SENT) == 1  # never twice


def test_after_the_last_attempt_a_message_shows_failed(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFICATIONS_BACKEND = f"{__name__}.flaky"
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 2
    FAILING["times"] = 5
    with django_capture_on_commit_callbacks(execute=True):
        message = notify(Notification("card.ready", "请领证", phone="13800138000"))
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    notifications.messages_deliver_due()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.get_status_display()) == (
        Message.Status.FAILED,
        2,
        "失败",
    )
    assert notifications.messages_deliver_due() == 0


def test_a_message_a_dead_worker_held_is_sent_again_after_its_lease(settings: Any) -> None:
    settings.NOTIFICATIONS_BACKEND = f"{__name__}.collect"
    message = notify(Notification("card.ready", "请领证", phone="13800138000"))  # no commit hook here
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, attempts=1, lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert notifications.messages_deliver_due() == 0  # another worker holds it
    Message.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert notifications.messages_deliver_due() == 1
    assert [n.key for n in SENT] == [message.key]  # the same key: the platform sends it once


class _Platform(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []
    answer = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Platform.received.append((dict(self.headers), body))
        self.send_response(_Platform.answer)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_signs_the_message_and_passes_its_key(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Platform)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Platform.received.clear()
    settings.NOTIFICATIONS_BACKEND = "webhook"
    settings.NOTIFICATIONS_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/sms"
    settings.NOTIFICATIONS_WEBHOOK_SECRET = "s3cret"
    try:
        _Platform.answer = 503
        with django_capture_on_commit_callbacks(execute=True):
            message = notify(Notification("card.ready", "请领证", phone="13800138000"))
        message.refresh_from_db()
        assert message.status == Message.Status.PENDING and message.last_error == "短信平台答复 HTTP 503"
        _Platform.answer = 200
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        notifications.messages_deliver_due()
    finally:
        server.shutdown()
    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    (headers, body), (headers2, body2) = _Platform.received
    assert body == body2 and headers["Idempotency-Key"] == headers2["Idempotency-Key"] == message.key
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Tongban-Signature"] == f"sha256={expected}"
    assert json.loads(body) == {
        "key": message.key,
        "kind": "card.ready",
        "text": "请领证",
        "phone": "13800138000",
        "unit_code": "",
    }
