"""临时居民身份证 (DOMAIN.md §9): the temporary cards applied for at a station while a formal
card is being made, issued by the county bureau above the station, printed and handed out at the
station, and taken back when the formal card is collected.

The formal application stays in `intake`; a temporary card only points at it. Its 已过期 state is
derived from the dates when read (`state_expression`), never stored.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from tongban.intake.models import Application
from tongban.intake.rules import Validity
from tongban.registry.fields import SealedBinaryField
from tongban.registry.models import Person, Unit, UnitRowQuerySet
from tongban.temporary import rules


class TemporaryCounter(models.Model):
    """The daily sequence behind 临时证号 per station; incremented with one atomic upsert."""

    station = models.ForeignKey(Unit, on_delete=models.PROTECT)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "day"], name="one_temporary_counter_per_station_day")
        ]
        verbose_name = verbose_name_plural = "临时证号计数"

    def __str__(self) -> str:
        return f"{self.station_id} {self.day} {self.last}"


def state_expression(today: datetime.date) -> Case:
    """The current state of a temporary card on `today` (rules.current_state in SQL): the stored
    state, or 已过期 for a card in the holder's hand whose validity has ended."""
    return Case(
        When(state=rules.HANDED_OUT, valid_until__lt=today, then=Value(rules.EXPIRED)),
        default=F("state"),
        output_field=models.CharField(),
    )


# A formal application in one of these brings no card: its temporary card is owed back at once.
ENDED_WITHOUT_CARD = (Application.Status.WITHDRAWN, Application.Status.REJECTED)


class TemporaryCardQuerySet(UnitRowQuerySet["TemporaryCard"]):
    """Temporary cards applied for at the stations of the subtree: the station its own, the
    county bureau (which issues them) its stations', and so on up."""

    default_action = "temporary.view"

    def with_current_state(self, today: datetime.date) -> TemporaryCardQuerySet:
        return self.annotate(current_state=state_expression(today))

    def in_state(self, state: str, today: datetime.date) -> TemporaryCardQuerySet:
        """The cards whose current state on `today` is `state` (已过期 included), on the columns
        (the state index) rather than on the annotation."""
        if state == rules.EXPIRED:
            return self.filter(state=rules.HANDED_OUT, valid_until__lt=today)
        if state == rules.HANDED_OUT:
            return self.filter(state=state).exclude(valid_until__lt=today)
        return self.filter(state=state)

    def owed(self, today: datetime.date) -> TemporaryCardQuerySet:
        """未收回: in the holder's hand past the formal card's collection, past the end of a formal
        application that will bring no card (withdrawn or refused), or past its end date."""
        return self.filter(state=rules.HANDED_OUT).filter(
            Q(formal_collected_at__isnull=False)
            | Q(application__status__in=ENDED_WITHOUT_CARD)
            | Q(valid_until__lt=today)
        )

    def for_display(self) -> TemporaryCardQuerySet:
        return self.select_related("unit", "issuing_unit", "application")


class TemporaryCard(models.Model):
    """临时居民身份证: one temporary card, from the application at the counter (待签发) to its
    return (已收回), refusal or voiding. The holder's particulars are copied from the register
    at application, as printed on the card."""

    class State(models.TextChoices):
        PENDING = rules.PENDING, rules.STATE_LABELS[rules.PENDING]
        ISSUED = rules.ISSUED, rules.STATE_LABELS[rules.ISSUED]
        HANDED_OUT = rules.HANDED_OUT, rules.STATE_LABELS[rules.HANDED_OUT]
        REFUSED = rules.REFUSED, rules.STATE_LABELS[rules.REFUSED]
        RETURNED = rules.RETURNED, rules.STATE_LABELS[rules.RETURNED]
        VOIDED = rules.VOIDED, rules.STATE_LABELS[rules.VOIDED]

    class PhotoSource(models.TextChoices):
        APPLICATION = "application", "沿用申领相片"
        NEW = "new", "新采集相片"

    number = models.CharField("临时证号", max_length=22, unique=True)
    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.PENDING)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="temporary_cards", verbose_name="申请人"
    )
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="temporary_cards", verbose_name="居民身份证申领"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="受理单位")
    issuing_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", verbose_name="签发单位"
    )

    # As printed (from the register at application).
    id_number = models.CharField("公民身份号码", max_length=18)
    name = models.CharField("姓名", max_length=50)
    sex = models.CharField("性别", max_length=4)
    ethnicity = models.CharField("民族", max_length=20)
    birth_date = models.DateField("出生日期")
    address = models.CharField("住址", max_length=200)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    photo = SealedBinaryField(context="temporary.photo")
    photo_source = models.CharField("相片来源", max_length=12, choices=PhotoSource.choices)

    receipt_number = models.CharField("票据号", max_length=19, blank=True)
    fee_amount = models.DecimalField("工本费（元）", max_digits=6, decimal_places=2, default=0)
    fee_waived = models.BooleanField("减免", default=False)

    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="受理人"
    )
    accepted_at = models.DateTimeField("受理时间")
    due = models.DateField("签发期限")
    due_provisional = models.BooleanField("期限为暂估", default=False)

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="签发人",
    )
    decided_at = models.DateTimeField("签发时间", null=True, blank=True)
    issuing_authority = models.CharField("签发机关", max_length=100, blank=True)
    valid_from = models.DateField("有效期起", null=True, blank=True)
    valid_until = models.DateField("有效期止", null=True, blank=True)
    refusal_reason = models.CharField("不予签发原因", max_length=500, blank=True)

    printed_at = models.DateTimeField("打印时间", null=True, blank=True)
    handed_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发放人",
    )
    handed_out_at = models.DateTimeField("发放时间", null=True, blank=True)

    # The formal card's handover: the temporary card is owed back from then on.
    formal_collected_at = models.DateTimeField("正式证件领取时间", null=True, blank=True)
    unreturned_reason = models.CharField("未收回原因", max_length=200, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="收回人",
    )
    returned_at = models.DateTimeField("收回时间", null=True, blank=True)
    void_reason = models.CharField("作废原因", max_length=200, blank=True)
    voided_at = models.DateTimeField("作废时间", null=True, blank=True)

    objects = TemporaryCardQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            # One in force per person, even with two clerks at two counters at once.
            models.UniqueConstraint(
                fields=["person"], condition=Q(state__in=rules.IN_FORCE), name="one_temporary_card_in_force"
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "state", "-id"], name="temporary_unit_state_idx"),
            models.Index(fields=["issuing_unit", "state", "due"], name="temporary_issue_queue_idx"),
        ]
        verbose_name = verbose_name_plural = "临时居民身份证"

    def __str__(self) -> str:
        return f"{self.number} {self.get_state_display()}"

    @property
    def validity_label(self) -> str:
        if self.valid_from is None or self.valid_until is None:
            return ""
        return Validity(self.valid_from, self.valid_until).label

    def state_on(self, today: datetime.date) -> str:
        return rules.current_state(self.state, self.valid_until, today)

    @property
    def current_state_label(self) -> str:
        """The label of the state today: `current_state` where the card comes from
        `with_current_state`, else worked out here (the person page reads the relation)."""
        state = vars(self).get("current_state") or self.state_on(timezone.localdate())
        return rules.STATE_LABELS[state]


class TemporaryCardEvent(models.Model):
    """办理记录 of a temporary card: one row per state change, with who and why."""

    class Action(models.TextChoices):
        ACCEPTED = "accepted", "受理"
        ISSUED = "issued", "签发"
        REFUSED = "refused", "不予签发"
        PRINTED = "printed", "打印"
        HANDED_OUT = "handed_out", "发放"
        RETURNED = "returned", "收回"
        NOT_RETURNED = "not_returned", "未收回"
        VOIDED = "voided", "作废"

    card = models.ForeignKey(TemporaryCard, on_delete=models.PROTECT, related_name="events")
    action = models.CharField("事项", max_length=16, choices=Action.choices)
    note = models.CharField("说明", max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        ordering = ["card", "pk"]
        verbose_name = verbose_name_plural = "临时居民身份证办理记录"

    def __str__(self) -> str:
        return f"{self.card_id} {self.get_action_display()}"
