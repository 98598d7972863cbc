"""Where messages go: applicants' (SMS) through settings.NOTIFICATIONS_BACKEND, units' (staff)
through settings.NOTIFICATIONS_STAFF_BACKEND (the same one when empty). Either may be:

- "console": the "tongban.notify" log, the phone masked (messages name applications by 受理号,
  never by ID number);
- "file": one JSON line a message in TONGBAN_NOTIFICATIONS_FILE (development, the demo);
- "webhook": an HTTP POST of the message as JSON to TONGBAN_NOTIFICATIONS_WEBHOOK_URL (an SMS
  platform), signed with HMAC-SHA256 (TONGBAN_NOTIFICATIONS_WEBHOOK_SECRET), with the message's
  idempotency key so that the platform sends a message once however often it is retried;
- "email": staff e-mail through Django's SMTP backend (TONGBAN_EMAIL_*) to the members of the unit
  who do the work the message is about (texts.Template.staff_actions) and have an address;
- "memory": kept in `outbox` (tests);
- a dotted path to a callable taking a Notification.

A backend raises to say the message did not go; the outbox tries again later, except after
Undeliverable (nobody to send it to), which fails the message at once."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from tongban.core.masking import mask_phone
from tongban.notifications.models import KIND_LABELS

logger = logging.getLogger("tongban.notify")


@dataclass(frozen=True)
class Notification:
    kind: str  # e.g. "application.accepted"
    message: str  # Chinese text as sent
    phone: str = ""  # the applicant's mobile, for SMS
    unit_code: str = ""  # a unit whose queue changed
    application_id: int | None = None  # the application it is about (its 办理记录 shows it)
    key: str = ""  # the outbox's idempotency key, set when it is delivered
    template: str = ""  # the code of the template it was written from (texts.TEMPLATES)


class Undeliverable(Exception):
    """There is nobody to send the message to: trying again will not help. The message is Chinese."""


outbox: list[Notification] = []


def console(notification: Notification) -> None:
    to = notification.unit_code or mask_phone(notification.phone)
    logger.info("notify %s to %s: %s", notification.kind, to, notification.message)


def memory(notification: Notification) -> None:
    outbox.append(notification)


def file(notification: Notification) -> None:
    path = Path(settings.NOTIFICATIONS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(notification), ensure_ascii=False) + "\n")


def webhook(notification: Notification) -> None:
    if not notification.phone and not notification.unit_code:
        raise Undeliverable("申请人未登记手机号码，无法发送短信")
    body = json.dumps(
        {
            "key": notification.key,
            "kind": notification.kind,
            "text": notification.message,
            "phone": notification.phone,
            "unit_code": notification.unit_code,
        },
        ensure_ascii=False,
    ).encode()
    signature = hmac.new(settings.NOTIFICATIONS_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 (the configured https/http URL)
        settings.NOTIFICATIONS_WEBHOOK_URL,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": notification.key,
            "X-Tongban-Signature": f"sha256={signature}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, TimeoutError) as error:
        raise RuntimeError("短信平台无法连接") from error
    if status >= 300:
        raise RuntimeError(f"短信平台答复 HTTP {status}")


def email(notification: Notification) -> None:
    from tongban.notifications.selectors import staff_addresses  # reads the accounts

    if not notification.unit_code:
        raise Undeliverable("短信通知不能通过电子邮件发送：请为申请人通知配置短信平台")
    addresses = staff_addresses(notification.unit_code, notification.template)
    if not addresses:
        raise Undeliverable("该单位没有登记电子邮箱的承办人员")
    label = KIND_LABELS.get(notification.kind, "通知")
    message = EmailMessage(
        subject=f"【通办】{label}",
        body=f"{notification.message}\n\n——通办系统自动发送，请勿回复。",
        to=addresses,
        # The same key twice is the same message: a mail client shows a resend once.
        headers={"Message-ID": f"<{notification.key}@tongban>"} if notification.key else None,
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:
        raise RuntimeError("邮件服务器无法连接或拒收") from error


BACKENDS: dict[str, Callable[[Notification], None]] = {
    "console": console,
    "memory": memory,
    "file": file,
    "webhook": webhook,
    "email": email,
}


def backend_for(notification: Notification) -> Callable[[Notification], None]:
    """A unit's message goes by the staff backend, an applicant's by the SMS one."""
    name = settings.NOTIFICATIONS_BACKEND
    if notification.unit_code and settings.NOTIFICATIONS_STAFF_BACKEND:
        name = settings.NOTIFICATIONS_STAFF_BACKEND
    if name in BACKENDS:
        return BACKENDS[name]
    function: Callable[[Notification], None] = import_string(name)
    return function
