"""网上预约、预申请: a station's bookable half-days and the citizens' bookings.

A booking sits after intake (STYLE.md, "Dependency direction"): it names the person in the register
and, once the citizen has come, the draft the counter opened from it; nothing earlier reads it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.appointments import rules
from tongban.core.masking import mask_id_number, mask_name, mask_phone
from tongban.intake.models import Application
from tongban.intake.rules import ApplicationType
from tongban.registry.access import ScopedQuerySet
from tongban.registry.models import ApplicationReason, Person, Unit

HALF_CHOICES = [(half.value, half.label) for half in rules.HalfDay]
STATE_CHOICES = [(state.value, state.label) for state in rules.State]


class StationSchedule(models.Model):
    """A station's 预约设置; a station without one takes the configured defaults
    (TONGBAN_APPOINTMENT_CAPACITY, TONGBAN_APPOINTMENT_DAYS_AHEAD)."""

    station = models.OneToOneField(
        Unit, on_delete=models.CASCADE, related_name="appointment_schedule", verbose_name="受理单位"
    )
    open = models.BooleanField("开放网上预约", default=True)
    morning_capacity = models.PositiveSmallIntegerField("上午可预约人数")
    afternoon_capacity = models.PositiveSmallIntegerField("下午可预约人数")
    days_ahead = models.PositiveSmallIntegerField("可预约天数")
    notice = models.CharField("预约须知", max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="修改人",
    )
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "预约设置"

    def __str__(self) -> str:
        return f"{self.station_id} 预约设置"


class SlotOverride(models.Model):
    """One half-day of one date set apart from the station's settings: `capacity` 0 closes it (a
    training day, a power cut), a number changes it, or opens a day off (周末加班)."""

    station = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", verbose_name="受理单位")
    date = models.DateField("日期")
    half = models.CharField("时段", max_length=2, choices=HALF_CHOICES)
    capacity = models.PositiveSmallIntegerField("可预约人数")
    note = models.CharField("说明", max_length=100, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="修改人"
    )
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        ordering = ["date", "half"]
        constraints = [
            models.UniqueConstraint(fields=["station", "date", "half"], name="one_override_per_slot")
        ]
        verbose_name = verbose_name_plural = "预约时段调整"

    def __str__(self) -> str:
        return f"{self.station_id} {self.date} {self.get_half_display()} {self.capacity}"


class SlotCount(models.Model):
    """How many bookings hold one half-day: the row a booking locks, so that however many citizens
    book at once, no more than the capacity get in (one conditional UPDATE, no read before)."""

    station = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    half = models.CharField(max_length=2, choices=HALF_CHOICES)
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "date", "half"], name="one_count_per_slot")]

    def __str__(self) -> str:
        return f"{self.station_id} {self.date} {self.half} {self.booked}"


class BookingQuerySet(ScopedQuerySet["Booking"]):
    default_action = "appointment.view"

    def within(self, unit: Unit) -> BookingQuerySet:
        """Bookings at the stations of the unit's subtree."""
        if unit.kind == Unit.Kind.PROVINCE:
            return self.all()
        return self.filter(station_id__in=unit.subtree_pks)


class Booking(models.Model):
    """A citizen's appointment with its pre-application (网上预约、预申请)."""

    code = models.CharField("预约码", max_length=8, unique=True)
    station = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="bookings", verbose_name="受理单位"
    )
    date = models.DateField("预约日期")
    half = models.CharField("时段", max_length=2, choices=HALF_CHOICES)
    state = models.CharField("状态", max_length=10, choices=STATE_CHOICES, default=rules.State.BOOKED)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name="申请人")

    # The pre-application (预申请), as the citizen typed it; the counter's draft starts from it.
    type = models.CharField("申领类型", max_length=12, choices=[(t.value, t.label) for t in ApplicationType])
    reason = models.ForeignKey(ApplicationReason, on_delete=models.PROTECT, verbose_name="申领原因")
    phone = models.CharField("联系电话", max_length=20)
    residence_address = models.CharField("现居住地住址", max_length=200, blank=True)
    collection = models.CharField(
        "领取方式",
        max_length=8,
        choices=Application.Collection.choices,
        default=Application.Collection.STATION,
    )
    postal_recipient = models.CharField("收件人", max_length=50, blank=True)
    postal_phone = models.CharField("收件人电话", max_length=20, blank=True)
    postal_address = models.CharField("邮寄地址", max_length=200, blank=True)
    guardianship = models.CharField("监护关系证明情形", max_length=32, blank=True)
    guardian_name = models.CharField("监护人姓名", max_length=50, blank=True)
    guardian_id_number = models.CharField("监护人公民身份号码", max_length=18, blank=True)
    guardian_relation = models.CharField("与申请人关系", max_length=20, blank=True)
    guardian_phone = models.CharField("监护人电话", max_length=20, blank=True)

    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申领",
    )
    created_at = models.DateTimeField("预约时间", auto_now_add=True)
    rebooked_at = models.DateTimeField("改约时间", null=True, blank=True)
    cancelled_at = models.DateTimeField("取消时间", null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="取消人",
    )
    arrived_at = models.DateTimeField("到场时间", null=True, blank=True)
    arrived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="接待人",
    )
    no_show_at = models.DateTimeField("记为未到场时间", null=True, blank=True)

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["date", "half", "pk"]
        constraints = [
            # One active booking per person at a time, however many book at once.
            models.UniqueConstraint(
                fields=["person"], condition=Q(state="booked"), name="one_active_booking_per_person"
            ),
        ]
        indexes = [
            models.Index(fields=["station", "date", "half", "id"], name="appt_day_idx"),
            models.Index(fields=["state", "date"], name="appt_state_idx"),
        ]
        verbose_name = verbose_name_plural = "预约"

    def __str__(self) -> str:
        return f"预约 {rules.display_code(self.code)}"

    @property
    def display_code(self) -> str:
        return rules.display_code(self.code)

    @property
    def half_day(self) -> rules.HalfDay:
        return rules.HalfDay(self.half)

    @property
    def application_type(self) -> ApplicationType:
        return ApplicationType(self.type)

    @property
    def state_label(self) -> str:
        return rules.State(self.state).label

    @property
    def when_label(self) -> str:
        half = self.half_day
        return f"{self.date.year}年{self.date.month}月{self.date.day}日 {half.label} {half.hours_label}"

    # Lists show the person masked; the full record is the audited detail.
    @property
    def masked_name(self) -> str:
        return mask_name(self.person.name)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.person.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)
