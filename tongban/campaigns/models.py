"""集中换发 (DOMAIN.md §1 B, seeds/003): a city's campaign replacing cards for its residents aged
16+, with its phases, targets per county and station derived from the register, the duty matrix
of §三, the stations' periodic reports (定期上报) and the review/distribution configuration it
puts in force."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.campaigns.duties import DEPARTMENT_LABELS, Department
from tongban.registry.access import ScopedQuerySet
from tongban.registry.models import Unit


class CampaignQuerySet(ScopedQuerySet["Campaign"]):
    default_action = "campaign.view"

    def within(self, unit: Unit) -> CampaignQuerySet:
        """Campaigns whose city lies in the unit's subtree (the province sees all) or that cover
        the unit (a county bureau or station inside the city)."""
        codes = [code for code in unit.path.split("/") if code]
        return self.filter(Q(area__path__startswith=unit.path) | Q(area__code__in=codes))


class Campaign(models.Model):
    """集中换发: one city's campaign. The target population is derived from the register by the
    rule below (or a number is entered and apportioned to the counties by the register's counts)."""

    class Status(models.TextChoices):
        PREPARING = "preparing", "筹备"
        ACTIVE = "active", "进行中"
        CLOSED = "closed", "已结束"

    name = models.CharField("名称", max_length=100)
    area = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        limit_choices_to={"kind": Unit.Kind.CITY},
        related_name="campaigns",
        verbose_name="实施地市",
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PREPARING)
    # Target rule (目标人群): people of normal status registered in the city, aged `min_age` or more
    # on `reference_date`, who hold a first-generation card, or no valid card, or a card that
    # expires on or before `expiring_before`.
    reference_date = models.DateField("年龄计算基准日")
    min_age = models.PositiveSmallIntegerField("年满周岁", default=16)
    include_first_generation = models.BooleanField("持第一代居民身份证", default=True)
    include_without_card = models.BooleanField("无有效居民身份证", default=True)
    expiring_before = models.DateField(
        "有效期届满截止日", null=True, blank=True, help_text="填写后，有效期在此日前（含）届满的也列入目标"
    )
    target_entered = models.PositiveIntegerField(
        "下达任务数",
        null=True,
        blank=True,
        help_text="填写后按各县登记人口中的目标人数比例分解（最大余额法）",
    )
    # Which applications count: of these types (intake.rules.ApplicationType values).
    application_types = models.JSONField("计入的申领类型", default=list)
    note = models.CharField("说明", max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="创建人"
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    targets_derived_at = models.DateTimeField("目标测算时间", null=True, blank=True)
    closed_at = models.DateTimeField("结束时间", null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            # Its configuration is per city: two open campaigns of one city would overwrite it.
            models.UniqueConstraint(
                fields=["area"], condition=~Q(status="closed"), name="one_open_campaign_per_city"
            )
        ]
        verbose_name = verbose_name_plural = "集中换发"

    def __str__(self) -> str:
        return self.name


class CampaignPhase(models.Model):
    """实施步骤: 工作准备, 集中换发, 工作总结, each with its dates (both included)."""

    class Kind(models.TextChoices):
        PREPARE = "prepare", "工作准备"
        REPLACE = "replace", "集中换发"
        SUMMARY = "summary", "工作总结"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField("阶段", max_length=8, choices=Kind.choices)
    start = models.DateField("开始日期")
    end = models.DateField("结束日期")

    class Meta:
        ordering = ["campaign", "start"]
        constraints = [models.UniqueConstraint(fields=["campaign", "kind"], name="one_phase_of_each_kind")]
        verbose_name = verbose_name_plural = "实施步骤"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.start}–{self.end}"


class CountyTarget(models.Model):
    """A county bureau's share: the register's eligible people (`eligible`) and the target
    (`eligible` itself, or its share of the entered number)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="county_targets", verbose_name="集中换发"
    )
    county = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="分（县）局")
    eligible = models.PositiveIntegerField("登记目标人数")
    target = models.PositiveIntegerField("任务数")

    class Meta:
        ordering = ["campaign", "county__path"]
        constraints = [models.UniqueConstraint(fields=["campaign", "county"], name="one_target_per_county")]
        verbose_name = verbose_name_plural = "分县任务"

    def __str__(self) -> str:
        return f"{self.county_id}: {self.target}"


class StationTarget(models.Model):
    """A station's share of its county's target, apportioned the same way."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="station_targets")
    county = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="分（县）局")
    station = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="派出所")
    eligible = models.PositiveIntegerField("登记目标人数")
    target = models.PositiveIntegerField("任务数")

    class Meta:
        ordering = ["campaign", "station__path"]
        constraints = [models.UniqueConstraint(fields=["campaign", "station"], name="one_target_per_station")]
        verbose_name = verbose_name_plural = "派出所任务"

    def __str__(self) -> str:
        return f"{self.station_id}: {self.target}"


class DutyTask(models.Model):
    """One duty of seeds/003 §三 for one owner: a police unit, or a named outside department."""

    class Status(models.TextChoices):
        TODO = "todo", "未开始"
        DOING = "doing", "推进中"
        DONE = "done", "已完成"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="duties")
    department = models.CharField(
        "部门", max_length=16, choices=[(d.value, label) for d, label in DEPARTMENT_LABELS.items()]
    )
    code = models.CharField("职责编号", max_length=20)  # duties.DutySpec.code, e.g. county.5
    text = models.CharField("职责", max_length=300)
    owner_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="责任单位"
    )
    owner_name = models.CharField("责任部门", max_length=100)
    phase = models.CharField("所属阶段", max_length=8, choices=CampaignPhase.Kind.choices)
    due = models.DateField("完成期限")
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.TODO)
    done_at = models.DateTimeField("完成时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["campaign", "due", "pk"]
        indexes = [models.Index(fields=["campaign", "status", "due"], name="campaign_duty_late_idx")]
        verbose_name = verbose_name_plural = "职责任务"

    def __str__(self) -> str:
        return f"{self.owner_name} {self.code}"

    @property
    def department_label(self) -> str:
        return Department(self.department).label


class DutyNote(models.Model):
    """An evidence note (落实情况) on a duty task: append-only, with its author and time; a status
    change is noted with it."""

    task = models.ForeignKey(DutyTask, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="填写人"
    )
    at = models.DateTimeField("时间", auto_now_add=True)
    text = models.TextField("落实情况")
    from_status = models.CharField("原状态", max_length=8, blank=True)
    to_status = models.CharField("新状态", max_length=8, blank=True)

    class Meta:
        ordering = ["task", "pk"]
        verbose_name = verbose_name_plural = "落实情况"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:20]}"


class StationReport(models.Model):
    """定期上报: a station's figures for a period, generated from the data (never typed) and frozen
    when generated; the station signs it off, after which it cannot change."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reports")
    station = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="派出所")
    county = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="分（县）局")
    period = models.CharField("报告期", max_length=8)  # rules.Period.label: 2026-W45 or 2026-11
    period_start = models.DateField("起始日期")
    period_end = models.DateField("截止日期")
    # selectors.ReportFigures as a dict: target, period and cumulative counts, completion rate.
    figures = models.JSONField("报表数据")
    generated_at = models.DateTimeField("生成时间")
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="生成人",
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="签报人",
    )
    signed_at = models.DateTimeField("签报时间", null=True, blank=True)

    class Meta:
        ordering = ["campaign", "-period_start", "station__path"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "station", "period_start", "period_end"], name="one_report_per_period"
            )
        ]
        verbose_name = verbose_name_plural = "定期上报"

    def __str__(self) -> str:
        return f"{self.station_id} {self.period}"

    @property
    def signed(self) -> bool:
        return self.signed_at is not None


class CampaignConfiguration(models.Model):
    """What the campaign puts in force for its city (seeds/003 §三): the review chain (派出所 采集
    → 分（县）局 审核签发 → 市局 复核 and submit to the production centre) as an
    intake.ReviewChain with region_prefix = the city code, and the county quality check of
    finished cards as a handover.DistributionRule (route `county`), both set through intake's and
    handover's services. Whatever rows were there before are kept here and restored when the
    campaign closes."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="configuration")
    # [{"level": "station"|"county"|"city", "title": "审核签发"}, …] in order.
    review_steps = models.JSONField("审核签发环节")
    county_quality_check = models.BooleanField("成品证件经分（县）局质检后分发", default=True)
    applied_at = models.DateTimeField("启用时间", null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="启用人",
    )
    # The rows the first application replaced: {"name", "note", "steps": [...]} / {"route", "note"},
    # or null when there was none (then restoring deletes the campaign's row).
    previous_chain = models.JSONField("原审核签发流程", null=True, blank=True)
    previous_rule = models.JSONField("原分发路由", null=True, blank=True)
    restored_at = models.DateTimeField("恢复时间", null=True, blank=True)
    # The manager's confirmation that the configuration may send work to units where no active
    # account can do it (tongban/accounts/staffing.py): {"units": [codes], "reason", "by", "by_name",
    # "at"}; putting the configuration in force accepts those units and refuses any other.
    unstaffed_override = models.JSONField("无人办理确认", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "集中换发配置"

    def __str__(self) -> str:
        return f"{self.campaign_id}"

    @property
    def in_force(self) -> bool:
        return self.applied_at is not None and self.restored_at is None
