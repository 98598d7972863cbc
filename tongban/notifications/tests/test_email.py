"""Staff e-mail: a unit's message goes by SMTP to the members of the unit who do that work and have an
address (a real SMTP server on loopback); applicants' messages keep their own (SMS) backend; a unit
with nobody to write to fails the message at once with the reason, instead of retrying for hours."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from tongban.notifications import services as notifications
from tongban.notifications.models import Message
from tongban.notifications.services import compose, notify
from tongban.testing.factories import UserFactory
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


class Mailbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.received.append(message)


@pytest.fixture
def mailbox(settings: Any, outbox: list[notifications.Notification]) -> Iterator[Mailbox]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.NOTIFICATIONS_STAFF_BACKEND = "email"
    try:
        yield handler
    finally:
        controller.stop()


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_a_units_message_is_mailed_to_the_staff_who_do_that_work(
    mailbox: Mailbox,
    outbox: list[notifications.Notification],
    personas: Personas,
    django_capture_on_commit_callbacks: Any,
) -> None:
    unit = personas.nanchang_reviewer.unit
    UserFactory.create(role="reviewer", unit=unit, email="li@gaj.example")
    UserFactory.create(role="reviewer", unit=unit, email="wang@gaj.example")
    UserFactory.create(role="reviewer", unit=unit, email="gone@gaj.example", is_active=False)
    UserFactory.create(role="clerk", unit=unit, email="clerk@gaj.example")  # not review work
    with django_capture_on_commit_callbacks(execute=True):
        message = notify(
            compose(
                "review.arrived",
                unit_code=personas.nanchang_reviewer.unit_code,
                number="3601020022026120700001",
                due="2026-12-14",
            )
        )
        notify(compose("application.accepted", phone="13800138000", number="3601020022026120700001"))

    assert len(mailbox.received) == 1
    mail = mailbox.received[0]
    assert sorted(mail["X-RcptTo"].split(", ")) == ["li@gaj.example", "wang@gaj.example"]
    assert subject(mail) == "【通办】审核签发待办"
    assert mail["Message-ID"] == f"<{message.key}@tongban>"
    body = message_from_bytes(mail.as_bytes()).get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "受理号 3601020022026120700001，办理期限 2026-12-14" in body.decode()
    # The applicant's SMS went its own way.
    assert [n.kind for n in outbox] == ["application.accepted"]
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENT


def test_a_unit_with_nobody_to_write_to_fails_at_once_with_the_reason(
    mailbox: Mailbox, personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        message = notify(
            compose("card.reprint", unit_code="360000901", number="3601020012026120700001", what="损坏")
        )
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.attempts == 1
    assert message.last_error == "该单位没有登记电子邮箱的承办人员"
    assert mailbox.received == []


def test_a_mail_server_that_is_down_delays_the_message(
    mailbox: Mailbox, personas: Personas, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    unit = personas.nanchang_reviewer.unit
    UserFactory.create(role="reviewer", unit=unit, email="li@gaj.example")
    port = settings.EMAIL_PORT
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]  # nobody listens there
    with django_capture_on_commit_callbacks(execute=True):
        message = notify(
            compose(
                "review.withdrawn",
                unit_code=personas.nanchang_reviewer.unit_code,
                number="3601020022026120700001",
            )
        )
    message.refresh_from_db()
    assert message.status == Message.Status.PENDING and message.last_error == "邮件服务器无法连接或拒收"

    settings.EMAIL_PORT = port
    Message.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
    assert notifications.messages_deliver_due() == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.attempts == 2
    assert len(mailbox.received) == 1
