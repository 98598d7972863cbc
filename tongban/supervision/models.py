"""The rollup (汇总) of the dashboards' daily series: counts per metric, local day and unit for
days that are over, so that the 12-week series read a few thousand rows instead of a quarter of
a year of applications. See `tongban.supervision.rollup` for how it stays exact."""

from __future__ import annotations

from django.db import models


class DayCount(models.Model):
    """How many applications (or handovers) of one metric fell on one local day, per raw unit
    (the acceptance unit for 受理 and 发放, the household unit for 签发 and 不予签发)."""

    class Metric(models.TextChoices):
        ACCEPTED = "accepted", "受理"
        ISSUED = "issued", "签发"
        REFUSED = "refused", "不予签发"
        HANDED = "handed", "发放"

    metric = models.CharField("指标", max_length=16, choices=Metric.choices)
    day = models.DateField("日期")
    unit = models.IntegerField("单位ID")
    n = models.PositiveIntegerField("件数")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric", "day", "unit"], name="supervision_daycount_key")
        ]
        verbose_name = verbose_name_plural = "每日汇总"

    def __str__(self) -> str:
        return f"{self.day} {self.get_metric_display()} {self.unit}: {self.n}"


class RolledDay(models.Model):
    """A day whose counts of every metric are in DayCount (a day without any has no DayCount
    row, hence this marker)."""

    day = models.DateField("日期", primary_key=True)

    class Meta:
        verbose_name = verbose_name_plural = "已汇总日期"

    def __str__(self) -> str:
        return str(self.day)
