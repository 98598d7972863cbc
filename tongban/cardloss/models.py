"""挂失申报 and 丢失招领: a card reported lost at any station (and restored, or replaced by a 补领),
and a found card handed in at a station, kept for its owner and returned, or destroyed.

The card's own state lives in the register (`registry.models.Card.State.LOST`, 已挂失): every
lookup, card history, handover and validity check reads it there. Whether a lost card may come
back (撤销挂失, a found card collected) is a matter of its report: only while the report is open —
no 补领 accepted — and the card is still the person's latest. Sits beside the register, below
intake: it knows a 补领 only by its 受理号."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.registry.models import Card, Person, Unit, UnitRowQuerySet


class LossReportQuerySet(UnitRowQuerySet["LossReport"]):
    """Reports made at units of the subtree."""

    default_action = "cardloss.view"


class LossReport(models.Model):
    """挂失申报: a card reported lost, in person or by telephone, at a station."""

    class Channel(models.TextChoices):
        IN_PERSON = "in_person", "现场"
        PHONE = "phone", "电话"

    class Status(models.TextChoices):
        OPEN = "open", "挂失中"
        RESTORED = "restored", "已撤销挂失"
        REPLACED = "replaced", "已补领"
        RECOVERED = "recovered", "已找回"

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="loss_reports", verbose_name="证件")
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="loss_reports", verbose_name="人员"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="申报单位")
    channel = models.CharField("申报方式", max_length=10, choices=Channel.choices)
    phone = models.CharField("联系电话", max_length=20)
    verification = models.CharField("核实情况", max_length=200, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    reported_at = models.DateTimeField("申报时间")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )
    # The 补领 that took the report over (its 受理号).
    application_number = models.CharField("补领受理号", max_length=22, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办结人",
    )
    close_reason = models.CharField("撤销原因", max_length=200, blank=True)

    objects = LossReportQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "挂失申报"
        indexes = [models.Index(fields=["unit", "status"])]
        constraints = [
            # Two clerks reporting the same card at once: one report.
            models.UniqueConstraint(
                fields=["card"], condition=Q(status="open"), name="one_open_report_per_card"
            )
        ]

    def __str__(self) -> str:
        return f"挂失申报 {self.pk}"


class FoundCardQuerySet(UnitRowQuerySet["FoundCard"]):
    """Found cards kept at units of the subtree."""

    default_action = "cardloss.view"


class FoundCard(models.Model):
    """丢失招领: a found card handed in at a station, kept for its owner until `keep_until`."""

    class Status(models.TextChoices):
        WAITING = "waiting", "待领取"
        RETURNED = "returned", "已领回"
        VOID_RETURNED = "void_returned", "作废交还"
        DESTROYED = "destroyed", "已销毁"

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="保管单位")
    # As read from the card: they may name nobody in the register.
    card_serial = models.CharField("卡号", max_length=32, blank=True)
    id_number = models.CharField("公民身份号码", max_length=18)
    name = models.CharField("姓名", max_length=50)
    found_place = models.CharField("拾获地点", max_length=200)
    found_on = models.DateField("拾获日期")
    handed_in_by = models.CharField("交来人", max_length=50)
    handed_in_phone = models.CharField("交来人电话", max_length=20, blank=True)
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, null=True, blank=True, related_name="found", verbose_name="匹配证件"
    )
    registered_at = models.DateTimeField("登记时间")
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )
    keep_until = models.DateField("保管期限")
    owner_notified = models.BooleanField("已通知失主", default=False)
    # Set by the daily schedule once the keeping time is over (列入待销毁).
    due_since = models.DateField("列入待销毁日期", null=True, blank=True)
    status = models.CharField("状态", max_length=14, choices=Status.choices, default=Status.WAITING)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办结人",
    )
    collector_name = models.CharField("领取人", max_length=50, blank=True)
    collector_id_number = models.CharField("领取人公民身份号码", max_length=18, blank=True)
    identity_note = models.CharField("身份核验情况", max_length=200, blank=True)
    reactivated = models.BooleanField("恢复有效", default=False)
    witness = models.CharField("监销人", max_length=50, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)

    objects = FoundCardQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "拾获证件"
        indexes = [models.Index(fields=["unit", "status", "keep_until"])]

    def __str__(self) -> str:
        return f"拾获证件 {self.pk}"


class Event(models.Model):
    """办理记录 of a loss report or a found card: one row per change of its state."""

    class Action(models.TextChoices):
        REPORTED = "reported", "挂失申报"
        RESTORED = "restored", "撤销挂失"
        REPLACED = "replaced", "受理补领"
        RECOVERED = "recovered", "找回证件"
        REGISTERED = "registered", "登记拾获证件"
        NOTIFIED = "notified", "通知失主"
        RETURNED = "returned", "失主领回"
        VOID_RETURNED = "void_returned", "作废交还"
        DESTROYED = "destroyed", "销毁"
        DUE = "due", "列入待销毁"

    report = models.ForeignKey(
        LossReport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name="挂失申报",
    )
    found = models.ForeignKey(
        FoundCard,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name="拾获证件",
    )
    action = models.CharField("事项", max_length=14, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="经办人",
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="经办单位"
    )
    at = models.DateTimeField("时间")
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "挂失招领办理记录"
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(report__isnull=False) | Q(found__isnull=False), name="cardloss_event_has_record"
            )
        ]

    def __str__(self) -> str:
        return self.get_action_display()
