"""跨省通办's records: the directory of the other provinces' systems (交换目录), and every message
received (收到) or sent (发出). A message's body is never kept in the clear here: an inbound one
keeps its digest, an outbound one the envelope as sent (a personal body sealed for the receiver)."""

from __future__ import annotations

from typing import Self, TypeVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from tongban.exchange.protocol import KINDS
from tongban.intake.models import Application
from tongban.registry.access import ScopedQuerySet
from tongban.registry.models import Unit

_Row = TypeVar("_Row", bound=models.Model)


class ExchangeQuerySet(ScopedQuerySet[_Row]):
    """The exchange is the province's: read (exchange.view) and kept (exchange.manage) by the
    holders of those actions at the provincial department only."""

    default_action = "exchange.view"

    def within(self, unit: Unit) -> Self:
        return self.all() if unit.kind == Unit.Kind.PROVINCE else self.none()


def kind_label(kind: str) -> str:
    declared = KINDS.get(kind)
    return declared.label if declared is not None else "未知类型"


class Peer(models.Model):
    """Another province's system in the 交换目录: its region prefix (44 = 广东省), where it takes
    messages, and the SM2 public key its messages must be signed with (and ours sealed for)."""

    prefix = models.CharField("区划代码", max_length=2, unique=True)
    name = models.CharField("名称", max_length=50)
    endpoint = models.URLField("接口地址", max_length=200)
    public_key = models.CharField("公钥", max_length=128)
    fingerprint = models.CharField("公钥指纹", max_length=64)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = ExchangeQuerySet["Peer"].as_manager()

    class Meta:
        ordering = ["prefix"]
        verbose_name = verbose_name_plural = "交换目录"

    def __str__(self) -> str:
        return f"{self.prefix} {self.name}"


class InboundMessage(models.Model):
    """A message another province's system sent us (收到), accepted or refused, with why."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "已接收"
        REFUSED = "refused", "已拒收"

    sender = models.CharField("发送方", max_length=2, blank=True)  # `from` as claimed; "" unread
    peer = models.ForeignKey(
        Peer, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="交换对象"
    )
    message_id = models.CharField("消息编号", max_length=36, blank=True)
    kind = models.CharField("类型", max_length=40, blank=True)
    digest = models.CharField("摘要（SM3）", max_length=64)
    size = models.PositiveIntegerField("大小（字节）")
    # Signed by the sender's key in the directory (a refused row may be a forgery).
    verified = models.BooleanField("签名已验证", default=False)
    received_at = models.DateTimeField("接收时间", default=timezone.now)
    outcome = models.CharField("结果", max_length=8, choices=Outcome.choices)
    code = models.CharField("代码", max_length=40, blank=True)
    message = models.CharField("说明", max_length=300, blank=True)
    # The signed acknowledgement of an accepted message, answered again to a duplicate.
    answer = models.JSONField("应答", null=True, blank=True)
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申领",
    )

    objects = ExchangeQuerySet["InboundMessage"].as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = verbose_name_plural = "收到的跨省消息"
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "message_id"],
                # An accepted message holds its (sender, id): the same again is answered as before,
                # another message under that id is `replayed`. A refused one applied nothing and
                # may be sent again (docs/exchange.md).
                condition=models.Q(outcome="accepted"),
                name="exchange_inbound_once",
            )
        ]

    def __str__(self) -> str:
        return f"收到 {self.sender} {self.message_id}"

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)


class OutboundMessage(models.Model):
    """A message to another province's system (发出), in the outbox until it is delivered."""

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        DELIVERED = "delivered", "已送达"
        REFUSED = "refused", "被拒收"
        FAILED = "failed", "失败"

    message_id = models.UUIDField("消息编号", unique=True)
    kind = models.CharField("类型", max_length=40)
    peer = models.ForeignKey(Peer, on_delete=models.PROTECT, related_name="+", verbose_name="接收方")
    envelope = models.TextField("消息信封")  # the bytes sent (UTF-8), the same at every attempt
    size = models.PositiveIntegerField("大小（字节）")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("发送次数", default=0)
    next_attempt_at = models.DateTimeField("下次发送时间", default=timezone.now)
    # A worker that took the message holds it until then; after it, another may send it again.
    lease_until = models.DateTimeField("占用至", null=True, blank=True)
    last_code = models.CharField("对方代码", max_length=40, blank=True)
    last_error = models.CharField("失败原因", max_length=300, blank=True)
    answer = models.JSONField("对方应答", null=True, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    sent_at = models.DateTimeField("送达时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申领",
    )

    objects = ExchangeQuerySet["OutboundMessage"].as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = verbose_name_plural = "发出的跨省消息"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="exchange_due_idx")]

    def __str__(self) -> str:
        return f"发出 {self.peer_id} {self.message_id}"

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def retryable(self) -> bool:
        return self.status in (self.Status.REFUSED, self.Status.FAILED)
