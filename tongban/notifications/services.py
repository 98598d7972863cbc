"""The outbox. `notify` writes the message in the caller's transaction (a rolled-back action sends
nothing) and hands its id to the job worker once that commits; `message_deliver` sends it through
the backend, and on failure tries again later with a growing pause, up to a limit, after which the
message shows 失败 with its reason. A worker takes a message under a lease, so two workers never
send it at the same time; a worker killed between sending and recording leaves it to be sent again
after the lease, with the same idempotency key (the webhook passes it on, for the platform to send
once). `messages_deliver_due` (every minute) sends what is due, whatever the queue lost."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.notifications import texts
from tongban.notifications.backends import Notification, Undeliverable, backend_for, outbox
from tongban.notifications.models import Message, MessageTemplate

__all__ = ["Notification", "compose", "notify", "notify_once", "outbox"]

logger = logging.getLogger("tongban.notify")

Status = Message.Status


def texts_in_force(*codes: str) -> dict[str, str]:
    """The text each template `code` is written with now: an administrator's, else the default."""
    custom = dict(MessageTemplate.objects.filter(code__in=codes).values_list("code", "text"))
    return {code: custom.get(code, texts.TEMPLATES[code].default) for code in codes}


def compose(
    code: str,
    *,
    phone: str = "",
    unit_code: str = "",
    application_id: int | None = None,
    text: str | None = None,
    **values: object,
) -> Notification:
    """The message of template `code` (texts.TEMPLATES) with `values`, written in `text` when the
    caller read it beforehand (texts_in_force), else in the text in force now."""
    template = texts.TEMPLATES[code]
    if text is None:
        text = texts_in_force(code)[code]
    return Notification(
        template.kind,
        texts.render(text, values),
        phone=phone,
        unit_code=unit_code,
        application_id=application_id,
        template=code,
    )


def _template(actor: User, code: str) -> texts.Template:
    if not actor.can("notification.template"):
        raise ServiceError("permission_denied", "无权修改通知模板。", status=403)
    template = texts.TEMPLATES.get(code)
    if template is None:
        raise ServiceError("not_found", "未找到该通知模板。", status=404)
    return template


@transaction.atomic
def template_update(*, actor: User, code: str, text: str) -> MessageTemplate:
    """修改通知模板: messages sent from now on use `text` (those already queued keep theirs)."""
    template = _template(actor, code)
    try:
        text = texts.check(template, text)
    except texts.TemplateError as error:
        raise ServiceError("template_invalid", str(error), fields={"text": str(error)}) from error
    current = MessageTemplate.objects.select_for_update().filter(code=code).first()
    before = current.text if current is not None else template.default
    if current is None:
        current = MessageTemplate(code=code)
    current.text, current.updated_by = text, actor
    current.save()
    record(
        actor=actor,
        action=AuditAction.NOTIFICATION_TEMPLATE_UPDATE,
        object_type="notifications.messagetemplate",
        object_id=code,
        detail={"before": before, "after": text},
    )
    return current


@transaction.atomic
def template_reset(*, actor: User, code: str) -> None:
    """恢复默认: the template's own text again."""
    template = _template(actor, code)
    current = MessageTemplate.objects.select_for_update().filter(code=code).first()
    if current is None:
        return
    current.delete()
    record(
        actor=actor,
        action=AuditAction.NOTIFICATION_TEMPLATE_RESET,
        object_type="notifications.messagetemplate",
        object_id=code,
        detail={"before": current.text, "after": template.default},
    )


def notify(notification: Notification, *, key: str | None = None) -> Message:
    """Queue `notification`; the same `key` again is the same message (sent once)."""
    fields = {
        "kind": notification.kind,
        "text": notification.message,
        "phone": notification.phone,
        "unit_code": notification.unit_code,
        "application_id": notification.application_id,
        "template": notification.template,
    }
    if key is None:  # a message of its own: one INSERT
        message, created = Message.objects.create(key=uuid.uuid4().hex, **fields), True
    else:
        message, created = Message.objects.get_or_create(key=key, defaults=fields)
    if created:
        from tongban.notifications import tasks  # the queue, once there is something to send

        transaction.on_commit(lambda: tasks.deliver(message.pk))
    return message


def notify_once(messages: Iterable[tuple[str, Notification]]) -> list[str]:
    """Queue each (key, notification) whose key was never used — what a schedule that runs again
    and again sends — reading the used keys in one query. Returns the keys queued."""
    wanted = dict(messages)
    used = set(Message.objects.filter(key__in=list(wanted)).values_list("key", flat=True))
    queued = [key for key in wanted if key not in used]
    for key in queued:
        notify(wanted[key], key=key)
    return queued


def _pause(attempts: int) -> timedelta:
    """After the nth failed attempt: 30 s, 1, 2, 4 … minutes, at most an hour."""
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), timedelta(hours=1))


def message_deliver(message_id: int) -> Message | None:
    """Send message `message_id` if it is due and nobody else holds it."""
    now = timezone.now()
    due = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)
    with transaction.atomic():
        message = Message.objects.select_for_update(skip_locked=True).filter(due, pk=message_id).first()
        if message is None:
            return None
        message.status, message.lease_until = (
            Status.SENDING,
            now + timedelta(seconds=settings.NOTIFICATIONS_LEASE_SECONDS),
        )
        message.attempts += 1
        message.save(update_fields=["status", "lease_until", "attempts"])
    notification = Notification(
        message.kind,
        message.text,
        phone=message.phone,
        unit_code=message.unit_code,
        application_id=message.application_id,
        key=message.key,
        template=message.template,
    )
    try:
        backend_for(notification)(notification)
    except Undeliverable as error:
        # Nothing to try again (no phone, nobody with an e-mail address): 失败 at once, with why.
        message.status, message.last_error = Status.FAILED, str(error)[:300]
    except Exception as error:
        # Never the text or the phone in the log: the kind, the id and the reason's type.
        logger.warning(
            "notification %s (%s) could not be sent (attempt %d): %s",
            message.pk,
            message.kind,
            message.attempts,
            type(error).__name__,
        )
        reason = str(error) if any("\u4e00" <= c <= "\u9fff" for c in str(error)) else "通知网关不可用"
        message.last_error = reason[:300]
        if message.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            message.status = Status.FAILED
        else:
            message.status, message.next_attempt_at = (
                Status.PENDING,
                timezone.now() + _pause(message.attempts),
            )
    else:
        message.status, message.sent_at, message.last_error = Status.SENT, timezone.now(), ""
    message.lease_until = None
    message.save(update_fields=["status", "next_attempt_at", "lease_until", "last_error", "sent_at"])
    return message


def messages_deliver_due(*, limit: int = 1000) -> int:
    """Send every message that is due (a retry's time has come, a lease ran out, or the queue lost
    its task). Returns how many were tried."""
    now = timezone.now()
    due = Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)
    ids = list(Message.objects.filter(due).order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for message_id in ids:
        message_deliver(message_id)
    return len(ids)
