"""The outbox: one row per message, written with the change that causes it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tongban.core.masking import mask_phone
from tongban.intake.models import Application

# What each kind of message is called on the pages (its code is never shown).
KIND_LABELS = {
    "application.accepted": "受理通知（申请人）",
    "application.issued": "签发通知（申请人）",
    "application.refused": "不予签发通知",
    "application.withdrawn": "撤销通知（申请人）",
    "application.supervised": "督办通知",
    "review.arrived": "审核签发待办",
    "review.withdrawn": "审核事项撤回",
    "review.deadline": "审核期限提醒",
    "production.recollect": "重新采集相片通知",
    "card.reprint": "重新制证通知",
    "card.ready": "领证通知（申请人）",
    "card.posted": "邮寄通知（申请人）",
    "shipment.sent": "分发到达通知",
    "verification.due": "核验通知（申请人）",
    "verification.reminder": "核验提醒（申请人）",
    "verification.overdue": "核验逾期通知",
    "temporary.arrived": "临时居民身份证签发待办",
    "temporary.issued": "临时证签发通知（申请人）",
    "temporary.refused": "临时证不予签发通知（申请人）",
    "calendar.missing": "节假日安排未录入提醒",
    "card.found": "拾获证件领取通知（失主）",
    "appointment.booked": "预约成功通知（申请人）",
    "appointment.reminder": "预约提醒（申请人）",
    "appointment.cancelled": "预约取消通知（申请人）",
}


class Message(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已发送"
        FAILED = "failed", "失败"

    # The same key twice is one message (a schedule that runs again sends nothing again).
    key = models.CharField("幂等键", max_length=120, unique=True)
    kind = models.CharField("类型", max_length=40)
    text = models.TextField("内容")
    template = models.CharField("模板", max_length=60, blank=True)  # texts.TEMPLATES' code
    phone = models.CharField("手机号", max_length=20, blank=True)
    unit_code = models.CharField("接收单位代码", max_length=12, blank=True)
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name="申领",
    )
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField("发送次数", default=0)
    next_attempt_at = models.DateTimeField("下次发送时间", default=timezone.now)
    # A worker that took the message holds it until then; after it, another may try again.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField("失败原因", max_length=300, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    sent_at = models.DateTimeField("发送时间", null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_due_idx"),
            # A unit's 通知, newest first.
            models.Index(fields=["unit_code", "id"], name="notify_unit_idx"),
        ]
        verbose_name = verbose_name_plural = "通知"

    def __str__(self) -> str:
        return f"通知 #{self.pk}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, "通知")

    @property
    def recipient(self) -> str:
        """Whom it goes to, as pages show it: a unit's code or the phone masked."""
        return self.unit_code or mask_phone(self.phone)


class MessageTemplate(models.Model):
    """A text an administrator put in place of a template's default (通知模板, texts.TEMPLATES)."""

    code = models.CharField("模板", max_length=60, unique=True)
    text = models.TextField("通知内容")
    updated_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name="修改人"
    )
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "通知模板"

    def __str__(self) -> str:
        return self.code
