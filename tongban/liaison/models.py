"""The liaison directory (联络人): for each city, county and station, the named people other units
call for cross-region work under 全省通办 (异地受理, review, production, distribution)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.registry.models import Unit

# The units that keep liaisons: those that accept, review and hand over (DOMAIN.md §7).
LIAISON_KINDS = (Unit.Kind.CITY, Unit.Kind.COUNTY, Unit.Kind.STATION)
MAX_LIAISONS_PER_UNIT = 10


class Duty(models.TextChoices):
    CROSS_REGION = "cross_region", "异地受理协调"
    REVIEW = "review", "审核签发"
    PRODUCTION = "production", "制证"
    DISTRIBUTION = "distribution", "分发"
    HANDOVER = "handover", "发放核验"
    FINANCE = "finance", "收费结算"
    DATA = "data", "数据核查"


class Liaison(models.Model):
    """联络人 of one unit: name, position (职务), phone and duties, optionally a staff account.
    Kept by the unit itself (`liaison.manage`), read by every unit of the province."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="liaisons", verbose_name="单位")
    name = models.CharField("姓名", max_length=50)
    position = models.CharField("职务", max_length=50)
    phone = models.CharField("联系电话", max_length=30)
    duties = models.JSONField("联络事项", default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="系统账号",
    )
    order = models.PositiveSmallIntegerField("顺序", default=0)
    updated_at = models.DateTimeField("更新时间")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="更新人",
    )

    class Meta:
        # The table keeps the name it had when the model lived in `accounts` (migrations
        # accounts/0004 and liaison/0001 moved the model without touching its rows).
        db_table = "accounts_liaison"
        verbose_name = verbose_name_plural = "联络人"
        ordering = ["unit__path", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.name}"

    @property
    def duty_labels(self) -> list[str]:
        labels = dict(Duty.choices)
        return [labels.get(duty, duty) for duty in self.duties]
