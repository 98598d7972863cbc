"""居民身份证核查's records: the institutions that may check a card (机构: 银行, 电信运营商, 旅馆业 …)
with their key and limits, and the monthly counts of their checks by answer. A check itself is an
audit row (`cardcheck.check`), never a table of numbers."""

from __future__ import annotations

from typing import Self, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.cardcheck.rules import OUTCOME_CHOICES
from tongban.registry.access import ScopedQuerySet
from tongban.registry.models import Unit

_Row = TypeVar("_Row", bound=models.Model)


class CardcheckQuerySet(ScopedQuerySet[_Row]):
    """The relying parties are the province's: registered and kept (cardcheck.manage) and read
    (cardcheck.view) at the provincial department only; a city or county sees none."""

    default_action = "cardcheck.view"

    def within(self, unit: Unit) -> Self:
        return self.all() if unit.kind == Unit.Kind.PROVINCE else self.none()


class Institution(models.Model):
    """A relying party (核查机构) registered for 居民身份证核查, with its purpose (用途) and key."""

    class Kind(models.TextChoices):
        BANK = "bank", "银行"
        TELECOM = "telecom", "电信运营商"
        HOTEL = "hotel", "旅馆业"
        OTHER = "other", "其他"

    class State(models.TextChoices):
        ACTIVE = "active", "启用"
        SUSPENDED = "suspended", "已暂停"

    name = models.CharField("机构名称", max_length=100)
    kind = models.CharField("机构类别", max_length=10, choices=Kind.choices)
    credit_code = models.CharField("统一社会信用代码", max_length=18, unique=True)
    purpose = models.CharField("核查用途", max_length=200)
    contact = models.CharField("联系人及电话", max_length=100)
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.ACTIVE)
    state_reason = models.CharField("暂停或恢复原因", max_length=200, blank=True)
    per_minute_limit = models.PositiveIntegerField("每分钟限额", default=60)
    daily_limit = models.PositiveIntegerField("每日限额", default=10000)
    # The key: its prefix finds the institution, a keyed hash (HMAC-SHA256) proves it. The key itself
    # is shown once to the administrator who issued it and never kept.
    key_prefix = models.CharField("密钥前缀", max_length=8, blank=True)
    key_hash = models.CharField(max_length=64, blank=True)
    key_issued_at = models.DateTimeField("密钥签发时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记人",
    )
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = CardcheckQuerySet["Institution"].as_manager()

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = verbose_name_plural = "核查机构"
        constraints = [
            models.UniqueConstraint(
                fields=["key_prefix"], condition=~Q(key_prefix=""), name="one_institution_per_key_prefix"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def active(self) -> bool:
        return self.state == self.State.ACTIVE


class MonthlyCount(models.Model):
    """How many checks an institution made in a month with one answer (按月统计): one row per
    institution, month and answer, so that institutions never wait on each other's counts."""

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="counts", verbose_name="核查机构"
    )
    month = models.DateField("月份", help_text="该月第一天")
    outcome = models.CharField("核查结果", max_length=10, choices=OUTCOME_CHOICES)
    count = models.PositiveIntegerField("次数", default=0)

    objects = CardcheckQuerySet["MonthlyCount"].as_manager()

    class Meta:
        ordering = ["-month", "institution", "outcome"]
        verbose_name = verbose_name_plural = "核查次数（按月）"
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "month", "outcome"], name="one_count_per_institution_month_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.month:%Y-%m} {self.outcome} {self.count}"
