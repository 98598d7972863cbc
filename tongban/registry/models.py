"""The population register (人口信息), the unit tree (机构) and the national code tables."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping
from functools import cached_property
from typing import ClassVar, Self, TypeVar

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When

from tongban.core.masking import mask_id_number
from tongban.core.regions import longest_prefix
from tongban.registry.access import ScopedQuerySet
from tongban.registry.fields import SealedBinaryField

# ---------------------------------------------------------------------------------------------
# Code tables: loaded by migrations, editable in the admin.


class CodeTable(models.Model):
    code = models.CharField("代码", max_length=2, primary_key=True)
    name = models.CharField("名称", max_length=50)
    active = models.BooleanField("启用", default=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Sex(CodeTable):
    """性别 (GB/T 2261.1): 0 未知的性别, 1 男, 2 女, 9 未说明的性别."""

    class Meta(CodeTable.Meta):
        verbose_name = verbose_name_plural = "性别代码"


class Ethnicity(CodeTable):
    """民族 (GB 3304): 01 汉族 … 56 基诺族, 97 其他, 98 外国血统中国籍人士."""

    class Meta(CodeTable.Meta):
        verbose_name = verbose_name_plural = "民族代码"


class HouseholdRelation(CodeTable):
    """与户主关系 (GB/T 4761 家庭关系代码)."""

    class Meta(CodeTable.Meta):
        verbose_name = verbose_name_plural = "家庭关系代码"


class ApplicationReason(CodeTable):
    """申领原因: why a card is applied for; `kind` groups them into 申领 / 换领 / 补领."""

    class Kind(models.TextChoices):
        FIRST = "first", "首次申领"
        RENEWAL = "renewal", "换领"
        REPLACEMENT = "replacement", "补领"

    kind = models.CharField("类别", max_length=12, choices=Kind.choices)

    class Meta(CodeTable.Meta):
        verbose_name = verbose_name_plural = "申领原因代码"


class FingerPosition(CodeTable):
    """指位 (GA 指位代码): 11–15 right thumb to little finger, 16–20 left, 97–99 uncertain."""

    class Meta(CodeTable.Meta):
        verbose_name = verbose_name_plural = "指位代码"


class RefusalReason(CodeTable):
    """不予签发原因: why the household authority refuses to issue (审核签发), so refusals can be
    counted by reason; each refusal adds a free remark (说明), which `remark_required` makes
    mandatory (其他). Administrators edit the table; a reason no longer used is deactivated,
    never deleted (refused applications keep pointing at it)."""

    remark_required = models.BooleanField("须填写说明", default=False)

    class Meta(CodeTable.Meta):
        verbose_name = verbose_name_plural = "不予签发原因代码"

    def text(self, remark: str = "") -> str:
        """The refusal as one line for the counter, notices and the history: 名称：说明."""
        return f"{self.name}：{remark}" if remark else self.name


class Region(models.Model):
    """行政区划 (GB/T 2260) with its history: a code may have several names over the years,
    and abolished codes stay because old ID numbers carry them."""

    class Level(models.TextChoices):
        PROVINCE = "province", "省级"
        CITY = "city", "地市级"
        COUNTY = "county", "县级"

    code = models.CharField("代码", max_length=6, db_index=True)
    name = models.CharField("名称", max_length=50)
    level = models.CharField("级别", max_length=8, choices=Level.choices)
    start_year = models.PositiveSmallIntegerField("启用年份", null=True, blank=True)
    end_year = models.PositiveSmallIntegerField("撤销年份", null=True, blank=True)

    class Meta:
        ordering = ["code", "start_year"]
        verbose_name = verbose_name_plural = "行政区划代码"

    def __str__(self) -> str:
        years = (
            f" [{self.start_year or ''}-{self.end_year or ''}]" if self.start_year or self.end_year else ""
        )
        return f"{self.code} {self.name}{years}"


# ---------------------------------------------------------------------------------------------
# Units (机构)


class UnitQuerySet(ScopedQuerySet["Unit"]):
    default_action = "unit.view"

    def within(self, unit: Unit) -> UnitQuerySet:
        return self.subtree(unit)

    def subtree(self, unit: Unit) -> UnitQuerySet:
        return self.filter(path__startswith=unit.path)

    def subtree_ids(self, unit: Unit | None) -> models.QuerySet[Unit, int]:
        """The primary keys of `unit`'s subtree (none without a unit), for `…__in=` filters."""
        units = self.subtree(unit) if unit is not None else self.none()
        return units.values_list("pk", flat=True)

    def stations(self) -> UnitQuerySet:
        return self.filter(kind=Unit.Kind.STATION)

    def administrative(self) -> UnitQuerySet:
        """Province, cities, counties and stations: the units applications, money and people are
        counted for (production centres and other provinces left out), as pickers and dashboards
        list them."""
        return self.exclude(kind__in=(Unit.Kind.CENTRE, Unit.Kind.EXTERNAL))

    def own(self) -> UnitQuerySet:
        """This province's units: without the stand-ins of other provinces (外省公安机关)."""
        return self.exclude(kind=Unit.Kind.EXTERNAL)

    def external(self) -> UnitQuerySet:
        return self.filter(kind=Unit.Kind.EXTERNAL)


class Unit(models.Model):
    """A police unit (机构): province → city → county bureau → station, or a production centre.

    Codes: a station is its county's 6-digit region code + a 3-digit station number
    (`360102001`); province, city and county use their region code (`36`, `3601`, `360102`);
    a production centre is the 6-digit region code of the unit that runs it + `9` + a 2-digit
    number (`360000901` for the provincial centre, `360700901` for Ganzhou's).
    Another province (跨省通办) is one unit of kind `external`, coded by its 2-digit province code
    (`44`), without parent: a root of its own, outside every subtree of ours, that stands for that
    province's police wherever an application names the unit there (its 户籍地 or its 受理地).
    `path` is the codes from the root joined by `/` and ending in `/`, so a subtree is one
    prefix query.
    """

    class Kind(models.TextChoices):
        PROVINCE = "province", "省公安厅"
        CITY = "city", "市公安局"
        COUNTY = "county", "县（市、区）公安局"
        STATION = "station", "派出所"
        CENTRE = "centre", "制证中心"
        EXTERNAL = "external", "外省公安机关"

    code = models.CharField("机构代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="上级机构",
    )
    path = models.CharField("机构树路径", max_length=120, unique=True, editable=False)
    region_code = models.CharField("行政区划代码", max_length=6, db_index=True)
    address = models.CharField("地址", max_length=200, blank=True)
    phone = models.CharField("电话", max_length=30, blank=True)
    active = models.BooleanField("启用", default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = verbose_name_plural = "机构"

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    def contains(self, other: Unit) -> bool:
        return other.path.startswith(self.path)

    @property
    def path_codes(self) -> list[str]:
        """The codes on this unit's path, the root's first and its own last."""
        return [code for code in self.path.split("/") if code]

    def ancestor(self, kind: str, *, among: Mapping[str, Unit] | None = None) -> Unit | None:
        """The nearest unit of `kind` on this unit's path, itself included: the county bureau
        above a station is `station.ancestor(Unit.Kind.COUNTY)`. One query, unless `among` (units
        by code) already holds the units above, read once for many units."""
        codes = self.path_codes
        if among is None:
            among = {unit.code: unit for unit in Unit.objects.filter(code__in=codes, kind=kind)}
        for code in reversed(codes):
            unit = among.get(code)
            if unit is not None and unit.kind == kind:
                return unit
        return None

    @cached_property
    def subtree_pks(self) -> list[int]:
        """The primary keys of this unit's subtree, read once per instance (a request's viewer
        reads them once for all its lists). As values, `…__in=` lets PostgreSQL use the column's
        index, or OR two columns' indexes, where a subquery made it read every row."""
        return list(Unit.objects.subtree_ids(self))


_Row = TypeVar("_Row", bound=models.Model)


class UnitRowQuerySet(ScopedQuerySet[_Row]):
    """A record kind whose rows belong to one unit each (`unit_field`, a path through foreign
    keys): the rows of the units in the subtree."""

    unit_field: ClassVar[str] = "unit"

    def within(self, unit: Unit) -> Self:
        return self.filter(**{f"{self.unit_field}__in": Unit.objects.subtree_ids(unit)})


class ProductionRoute(models.Model):
    """制证路由: acceptances whose station code starts with `region_prefix` are produced by
    `centre`; the longest matching prefix wins (e.g. `3607` → Ganzhou's 制证所, `36` → province)."""

    region_prefix = models.CharField("受理地区划前缀", max_length=6, unique=True)
    centre = models.ForeignKey(
        Unit, on_delete=models.PROTECT, limit_choices_to={"kind": Unit.Kind.CENTRE}, verbose_name="制证中心"
    )
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        ordering = ["-region_prefix"]
        verbose_name = verbose_name_plural = "制证路由规则"

    def __str__(self) -> str:
        return f"{self.region_prefix}* → {self.centre}"


def routed_stations() -> dict[int, list[int]]:
    """Station ids per centre by the routing rule (制证路由, longest prefix of the acceptance
    station's code). Two small queries: units are few (a province has a couple of thousand
    stations), so the matching is done here rather than in SQL."""
    routes = dict(ProductionRoute.objects.values_list("region_prefix", "centre_id"))
    stations: dict[int, list[int]] = defaultdict(list)
    for pk, code in Unit.objects.stations().values_list("pk", "code"):
        centre_id = longest_prefix(code, routes)
        if centre_id is not None:
            stations[centre_id].append(pk)
    return stations


def centre_station_ids(centre: Unit) -> list[int]:
    """The stations whose acceptances `centre` produces: a production centre's jurisdiction."""
    return routed_stations().get(centre.pk, [])


# ---------------------------------------------------------------------------------------------
# People


class PersonQuerySet(ScopedQuerySet["Person"]):
    default_action = "person.browse"

    def residents(self) -> PersonQuerySet:
        """Our population: without the 外省户籍人员 (guests) registered at a counter to accept their
        application (跨省通办), whose household is in another province's register."""
        return self.exclude(registration_unit__in=Unit.objects.external().values("pk"))

    def with_card_state(self, today: datetime.date) -> PersonQuerySet:
        """Each person with `card_state`: the current state of the card they hold (the valid or
        made one, else the newest), None for someone who never had one. For lists."""
        held = Card.objects.filter(person=OuterRef("pk")).held_first()
        state = held.annotate(current_state=card_state_expression(today)).values("current_state")[:1]
        return self.annotate(card_state=Subquery(state))

    def within(self, unit: Unit) -> PersonQuerySet:
        """People registered in the unit's subtree."""
        if unit.kind == Unit.Kind.PROVINCE:
            return self.residents()
        return self.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))


class Person(models.Model):
    """A person in the population register (常住人口登记)."""

    class Status(models.TextChoices):
        NORMAL = "normal", "正常"
        CANCELLED = "cancelled", "注销"
        DECEASED = "deceased", "死亡"

    # Not unique: the register as it is holds 重号 (one number, several people) and 错号 until
    # they are corrected (tongban.dataquality); lookups refuse a shared number instead.
    id_number = models.CharField("公民身份号码", max_length=18, db_index=True)
    name = models.CharField("姓名", max_length=50)
    sex = models.ForeignKey(Sex, on_delete=models.PROTECT, verbose_name="性别")
    ethnicity = models.ForeignKey(Ethnicity, on_delete=models.PROTECT, verbose_name="民族")
    birth_date = models.DateField("出生日期")
    address = models.CharField("常住户口所在地住址", max_length=200)
    household_no = models.CharField("户号", max_length=20, blank=True)
    relation = models.ForeignKey(
        HouseholdRelation, on_delete=models.PROTECT, null=True, blank=True, verbose_name="与户主关系"
    )
    registration_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="registered_people", verbose_name="户籍派出所"
    )
    # The household's county code, kept on the row so the register can be sharded by region.
    region_code = models.CharField("户籍地区划", max_length=6)
    status = models.CharField("人员状态", max_length=10, choices=Status.choices, default=Status.NORMAL)
    photo = SealedBinaryField(context="person.photo", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["registration_unit", "household_no"]),
            models.Index(fields=["name", "birth_date"]),
            models.Index(fields=["region_code"]),
        ]
        verbose_name = verbose_name_plural = "人员"

    def __str__(self) -> str:
        return f"{self.name} {mask_id_number(self.id_number)}"

    @property
    def has_photo(self) -> bool:
        return self.photo is not None

    @property
    def is_guest(self) -> bool:
        """外省户籍人员: registered at our counter from their 户口簿 to accept an application that
        their province reviews (跨省通办); not of our population."""
        return self.registration_unit.kind == Unit.Kind.EXTERNAL

    @property
    def card_state_label(self) -> str:
        """From `with_card_state`: 有效, 已过期 … or 未申领."""
        if "card_state" not in self.__dict__:
            raise AttributeError("card_state_label needs Person.objects.with_card_state()")
        state = self.__dict__["card_state"]
        return CARD_STATE_LABELS[state] if state else "未申领"


class ChangeItem(models.TextChoices):
    """What a correction (变更更正, requested and approved in tongban.dataquality) changes. 11 and
    12 are the GA/T 2000.24 codes for 纠正重号 and 纠正错号; the registered items (name, birth date,
    ethnicity, sex) are named by their field. An address taken from the house-number register is
    recorded as `address`."""

    DUPLICATE_NUMBER = "11", "纠正重号"
    WRONG_NUMBER = "12", "纠正错号"
    NAME = "name", "变更姓名"
    BIRTH_DATE = "birth_date", "更正出生日期"
    ETHNICITY = "ethnicity", "变更民族"
    SEX = "sex", "更正性别"


# Registered items whose value is a code of a code table: shown by the code's name.
CODED_ITEMS: dict[str, type[Ethnicity] | type[Sex]] = {"ethnicity": Ethnicity, "sex": Sex}


def item_value_label(field: str, value: str) -> str:
    """A registered item's value as people read it: 汉族 for ethnicity 01, 女 for sex 2."""
    table = CODED_ITEMS.get(field)
    if table is None or not value:
        return value
    name = table.objects.filter(code=value).values_list("name", flat=True).first()
    return name or value


class PersonChange(models.Model):
    """The history of a registered item (变更更正记录): old and new value, kept forever. Written by
    an approved correction (tongban.dataquality), never edited."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="changes", verbose_name="人员")
    field = models.CharField("字段", max_length=20)
    old_value = models.CharField("原值", max_length=100)
    new_value = models.CharField("新值", max_length=100)
    item = models.CharField(
        "更正项目", max_length=10, help_text="11 纠正重号、12 纠正错号（GA/T 2000.24），或所更正的登记项目"
    )
    reference = models.CharField("依据", max_length=60, help_text="如 变更更正申请 #12")
    changed_at = models.DateTimeField("生效时间", auto_now_add=True)
    approved_by = models.CharField("批准人", max_length=150)  # the login name

    # The approver's name for pages (registry.selectors sets it; the row keeps the login name).
    approver_name = ""

    class Meta:
        ordering = ["person", "pk"]
        verbose_name = verbose_name_plural = "变更更正记录"

    def __str__(self) -> str:
        return f"{self.person_id} {self.field} {self.changed_at:%Y-%m-%d}"

    @property
    def item_label(self) -> str:
        if self.item in ChangeItem.values:
            return str(ChangeItem(self.item).label)
        return f"{self.field_label}更正"

    @property
    def old_value_label(self) -> str:
        return item_value_label(self.field, self.old_value)

    @property
    def new_value_label(self) -> str:
        return item_value_label(self.field, self.new_value)

    @property
    def field_label(self) -> str:
        try:
            field = Person._meta.get_field(self.field)
        except FieldDoesNotExist:
            return self.field
        return str(getattr(field, "verbose_name", self.field))


class NumberRedirect(models.Model):
    """号码变更指向: a person's old number pointing to the new one, so a lookup by the old number
    finds the person (and their applications and cards, which follow the person). Not unique: the
    old number of a 重号 was several people's."""

    old_number = models.CharField("原号码", max_length=18, db_index=True)
    new_number = models.CharField("新号码", max_length=18)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="number_redirects")
    change = models.OneToOneField(PersonChange, on_delete=models.PROTECT, related_name="redirect")

    class Meta:
        verbose_name = verbose_name_plural = "号码变更指向"

    def __str__(self) -> str:
        return f"{self.person_id}"


# A card's state by the calendar: a made or valid card whose validity ended (the day after its
# 有效期止) is 已过期. Derived when read, never stored, so it cannot go stale overnight.
EXPIRED = "expired"
_EXPIRING_STATES = ("produced", "active")


def card_state_expression(today: datetime.date) -> Case:
    """The current state of a card on `today`: its stored state, or `expired` once the validity
    has ended. Long-term cards (长期: no end date) never expire. The one definition every page,
    list, export and API reads (`CardQuerySet.with_current_state`, `PersonQuerySet.with_card_state`)."""
    return Case(
        When(state__in=_EXPIRING_STATES, valid_until__lt=today, then=Value(EXPIRED)),
        default=F("state"),
        output_field=models.CharField(),
    )


class CardQuerySet(models.QuerySet["Card"]):
    def with_current_state(self, today: datetime.date) -> CardQuerySet:
        """Each card with `current_state` (and `current_state_label`) as of `today`."""
        return self.annotate(current_state=card_state_expression(today))

    def held_first(self) -> CardQuerySet:
        """The card a person holds first (valid or made, then the newest), then the rest."""
        return self.order_by(
            Case(When(state__in=_EXPIRING_STATES, then=Value(0)), default=Value(1)),
            "-valid_from",
            "-pk",
        )


class Card(models.Model):
    """One resident identity card (居民身份证) ever issued to a person: the card history."""

    class State(models.TextChoices):
        PRODUCED = "produced", "已制证未领取"  # made; valid once handed over
        ACTIVE = "active", "有效"
        SUPERSEDED = "superseded", "已换领作废"
        # 挂失: invalid at once, everywhere. Restorable or not is its report's matter
        # (cardloss.LossReport: open until a 补领 takes it over), not a state of its own.
        LOST = "lost", "已挂失"
        CANCELLED = "cancelled", "注销"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cards", verbose_name="人员")
    application_number = models.CharField("受理号", max_length=22, blank=True)
    card_serial = models.CharField("卡号", max_length=32, blank=True)
    generation = models.PositiveSmallIntegerField("代别", default=2, choices=[(1, "第一代"), (2, "第二代")])
    issuing_authority = models.CharField("签发机关", max_length=100)
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期止", null=True, blank=True, help_text="空表示长期")
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["person", "-valid_from"]
        indexes = [models.Index(fields=["state", "valid_until"])]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(state="active"), name="one_active_card_per_person"
            ),
            # A card serial (卡号) names one card; cards of the old register may have none.
            models.UniqueConstraint(
                fields=["card_serial"], condition=~Q(card_serial=""), name="one_card_per_serial"
            ),
        ]
        verbose_name = verbose_name_plural = "证件记录"

    def __str__(self) -> str:
        return f"{self.get_generation_display()} {self.valid_from}–{self.valid_until or '长期'}"

    @property
    def validity_label(self) -> str:
        end = self.valid_until.strftime("%Y.%m.%d") if self.valid_until else "长期"
        return f"{self.valid_from:%Y.%m.%d}-{end}"

    @property
    def current_state_label(self) -> str:
        """The label of `current_state`; the card must come from `with_current_state`."""
        return CARD_STATE_LABELS[vars(self)["current_state"]]


CARD_STATE_LABELS: dict[str, str] = {**dict(Card.State.choices), EXPIRED: "已过期"}


class WantedPerson(models.Model):
    """在逃人员: an entry of the wanted-persons list; the person may be missing from the register."""

    id_number = models.CharField("公民身份号码", max_length=18, db_index=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, null=True, blank=True, related_name="wanted")
    name = models.CharField("姓名", max_length=50)
    case_number = models.CharField("案件编号", max_length=40)
    listed_on = models.DateField("上网日期")
    active = models.BooleanField("在逃", default=True)
    source = models.CharField("来源", max_length=50, default="全国在逃人员信息库")

    class Meta:
        ordering = ["-listed_on"]
        verbose_name = verbose_name_plural = "在逃人员"

    def __str__(self) -> str:
        return f"{self.case_number}"


class FloatingRegistration(models.Model):
    """流动人口登记: a person living away from their household, registered at a station."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="floating_registrations")
    residence_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="floating_residents", verbose_name="居住地派出所"
    )
    address = models.CharField("居住地址", max_length=200)
    registered_on = models.DateField("登记日期")
    valid_until = models.DateField("有效期至", null=True, blank=True)
    active = models.BooleanField("有效", default=True)

    class Meta:
        ordering = ["-registered_on"]
        verbose_name = verbose_name_plural = "流动人口登记"

    def __str__(self) -> str:
        return f"{self.residence_unit} {self.registered_on}"


# ---------------------------------------------------------------------------------------------
# Working-day calendar (节假日安排): seeded from chinese-calendar, editable in the admin.


class CalendarYear(models.Model):
    """A year whose holiday arrangement (节假日安排) is published and entered. Deadlines reaching a
    year without a row count weekends only and are marked provisional."""

    year = models.PositiveSmallIntegerField("年度", primary_key=True)
    source = models.CharField(
        "来源", max_length=100, default="管理员录入", help_text="如 chinese-calendar 1.11.0、国务院办公厅通知"
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = verbose_name_plural = "节假日安排年度"

    def __str__(self) -> str:
        return f"{self.year} 年"


class CalendarDay(models.Model):
    """One day of the arrangement that breaks the Monday-to-Friday rule: a holiday (放假, e.g.
    国庆节) or a make-up working day (调休上班) on a weekend."""

    date = models.DateField("日期", unique=True)
    is_workday = models.BooleanField("上班", help_text="勾选：调休上班；不勾选：放假")
    name = models.CharField("名称", max_length=50, help_text="如 国庆节、春节调休上班")
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = verbose_name_plural = "节假日安排"

    def __str__(self) -> str:
        return f"{self.date} {self.name}（{'上班' if self.is_workday else '放假'}）"
