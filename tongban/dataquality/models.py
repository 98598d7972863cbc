"""Register clean-up (户口核对、重号/错号清理): scan runs and the cases they find.

A scan never edits the register: it writes cases (`Case`) into a work list per unit, with the
evidence; people decide each one, and a change to the register goes through an approved
correction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.registry.models import ChangeItem, Person, Unit, UnitRowQuerySet, item_value_label


class ScanRunQuerySet(UnitRowQuerySet["ScanRun"]):
    """Scans run for a unit of the subtree."""

    default_action = "dataquality.view"


class ScanRun(models.Model):
    """One scan (数据清理扫描) over a unit's subtree. Resumable: stages run in order and the
    row-by-row stages keep a checkpoint (the last primary key done), so a stopped run goes on
    where it stopped; rows registered after the run started wait for the next run (`max_pk`)."""

    class Status(models.TextChoices):
        RUNNING = "running", "进行中"
        STOPPED = "stopped", "已中断"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="扫描范围")
    kinds = models.JSONField("扫描项目", default=list)
    status = models.CharField("状态", max_length=8, choices=Status.choices, default=Status.RUNNING)
    stage = models.CharField("当前阶段", max_length=20, default="")
    checkpoint = models.BigIntegerField("断点（已完成的最大主键）", default=0)
    max_pk = models.BigIntegerField("扫描截止主键", default=0)
    total_rows = models.BigIntegerField("应扫描人数", default=0)
    processed_rows = models.BigIntegerField("已扫描人数", default=0)
    found = models.JSONField("发现问题数", default=dict)
    # Figures of the stages (e.g. face searches and their seconds, for the throughput).
    stats = models.JSONField("统计", default=dict)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    updated_at = models.DateTimeField("最近进展", auto_now=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    seconds = models.FloatField("用时（秒）", default=0)
    error = models.TextField("错误", blank=True)

    objects = ScanRunQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = verbose_name_plural = "数据清理扫描"

    def __str__(self) -> str:
        return f"扫描 #{self.pk} {self.unit}"

    @property
    def kind_labels(self) -> list[str]:
        labels = {**dict(Case.Kind.choices), "households": "户口核对"}
        return [labels.get(kind, kind) for kind in self.kinds]

    @property
    def found_labels(self) -> list[tuple[str, int]]:
        labels = dict(Case.Kind.choices)
        return [(labels.get(kind, kind), n) for kind, n in self.found.items()]

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_rows))


class CaseQuerySet(UnitRowQuerySet["Case"]):
    """Cases whose responsible unit is in the subtree."""

    default_action = "dataquality.view"


class Case(models.Model):
    """A case of the clean-up work list (问题线索): found by a scan, decided by a person; never an
    automatic edit. `key` names what was found (the shared number of a 重号, the person of a 错号,
    the group of a suspected double registration), so a re-scan updates the case instead of
    opening another."""

    class Kind(models.TextChoices):
        DUPLICATE_NUMBER = "duplicate_number", "重号"
        WRONG_NUMBER = "wrong_number", "错号"
        DOUBLE_BY_NAME = "double_by_name", "疑似一人多户（姓名、出生日期、性别相同）"
        DOUBLE_BY_FACE = "double_by_face", "疑似一人多户（人像比对）"
        CARD_RENEWAL = "card_renewal", "号码变更需换领"
        CENTENARIAN = "centenarian", "百岁以上且长期无业务"
        NO_HOUSEHOLD = "no_household", "无户号（未落户）"
        CANCELLED_WITH_CARD = "cancelled_card", "已注销/死亡仍持有效证件"

    class Status(models.TextChoices):
        OPEN = "open", "待处理"
        RESOLVED = "resolved", "已处理"
        FALSE_POSITIVE = "false_positive", "误报"

    kind = models.CharField("类别", max_length=16, choices=Kind.choices)
    key = models.CharField("线索标识", max_length=80)
    # The unit responsible: the station when all people involved are registered at one, else
    # the lowest unit above all of them (the county bureau or city bureau coordinates, seeds/003).
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="责任单位")
    persons: models.ManyToManyField[Person, CasePerson] = models.ManyToManyField(
        Person, through="CasePerson", related_name="+", verbose_name="涉及人员"
    )
    id_number = models.CharField("涉及号码", max_length=18, blank=True)
    evidence = models.JSONField("证据", default=dict)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.OPEN)
    decision = models.TextField("处理意见", blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    first_run = models.ForeignKey(ScanRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    last_run = models.ForeignKey(ScanRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField("发现时间", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="one_case_per_finding")]
        indexes = [models.Index(fields=["unit", "status", "kind"])]
        verbose_name = verbose_name_plural = "问题线索"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class CasePerson(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "person"], name="one_link_per_case_person")]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.person_id}"


class RegionValidity(models.Model):
    """GB/T 2260 codes for the set-based scan: a number's region is valid for a birth year when
    the code exists and `last_year` is empty (in force) or not before that year. Filled from
    `tongban.core.regions` (python-stdnum's data) when a scan starts."""

    code = models.CharField(max_length=6, primary_key=True)
    last_year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "行政区划有效期（扫描用）"

    def __str__(self) -> str:
        return self.code


# ---------------------------------------------------------------------------------------------
# Corrections with approval (户口登记项目变更更正)


# The register field each item changes.
ITEM_FIELDS: dict[str, str] = {
    ChangeItem.DUPLICATE_NUMBER: "id_number",
    ChangeItem.WRONG_NUMBER: "id_number",
    ChangeItem.NAME: "name",
    ChangeItem.BIRTH_DATE: "birth_date",
    ChangeItem.ETHNICITY: "ethnicity",
    ChangeItem.SEX: "sex",
}
# The sexes a correction may register: the ID number's 17th digit tells only these two (odd 男,
# even 女; GB 11643), so 0 未知 and 9 未说明 of GB/T 2261.1 are not offered.
NUMBER_SEXES = ("1", "2")


class ChangeRequestQuerySet(UnitRowQuerySet["ChangeRequest"]):
    """Correction requests for people registered in the subtree."""

    default_action = "dataquality.view"
    unit_field = "person__registration_unit"


class ChangeRequest(models.Model):
    """A request to change a registered item (变更更正申请), with reason and evidence, approved by
    the authorised level (a county bureau or above over the person's station) before it takes
    effect; the requester never approves their own."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REFUSED = "refused", "不予批准"

    item = models.CharField("更正项目", max_length=10, choices=ChangeItem.choices)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name="人员")
    field = models.CharField("字段", max_length=20)
    old_value = models.CharField("原值", max_length=100)
    new_value = models.CharField("新值", max_length=100)
    reason = models.TextField("申请理由")
    evidence = models.TextField("证明材料", help_text="如 户口登记表、出生医学证明、调查材料的名称和编号")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="changes")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.TextField("审批意见", blank=True)

    objects = ChangeRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "field"],
                condition=models.Q(status="pending"),
                name="one_pending_change_per_person_field",
            )
        ]
        verbose_name = verbose_name_plural = "变更更正申请"

    def __str__(self) -> str:
        return f"{self.get_item_display()} #{self.pk}"

    @property
    def old_value_label(self) -> str:
        return item_value_label(self.field, self.old_value)

    @property
    def new_value_label(self) -> str:
        return item_value_label(self.field, self.new_value)


# ---------------------------------------------------------------------------------------------
# Addresses (民政地名门牌)


class StandardAddress(models.Model):
    """One entry of the civil-affairs place-name and house-number register (民政部门编制的门牌):
    imported from its CSV (docs/dataquality.md); `key` is the normalised form matched against."""

    code = models.CharField("门牌编码", max_length=40, unique=True)
    region_code = models.CharField("县级行政区划", max_length=6)
    address = models.CharField("标准地址", max_length=200)
    key = models.CharField("匹配键", max_length=200)
    imported_at = models.DateTimeField("导入时间", auto_now=True)

    class Meta:
        ordering = ["region_code", "address"]
        indexes = [models.Index(fields=["region_code", "key"])]
        verbose_name = verbose_name_plural = "民政门牌"

    def __str__(self) -> str:
        return self.address


class AddressMatchQuerySet(UnitRowQuerySet["AddressMatch"]):
    """Address matches of the subtree's units."""

    default_action = "dataquality.view"


class AddressMatch(models.Model):
    """A register address against the house-number register: matched as it is, a proposed
    standard spelling waiting for the station, or unmatched (to be checked on the spot)."""

    class Status(models.TextChoices):
        STANDARD = "standard", "已规范"
        PROPOSED = "proposed", "待确认"
        UNMATCHED = "unmatched", "未匹配"
        ACCEPTED = "accepted", "已采用"
        REJECTED = "rejected", "不采用"

    person = models.OneToOneField(Person, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="户籍派出所")
    address = models.CharField("登记住址", max_length=200)
    standard = models.ForeignKey(StandardAddress, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AddressMatchQuerySet.as_manager()

    class Meta:
        ordering = ["unit", "pk"]
        indexes = [models.Index(fields=["unit", "status"])]
        verbose_name = verbose_name_plural = "住址匹配"

    def __str__(self) -> str:
        return f"{self.person_id} {self.status}"
