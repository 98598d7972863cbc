"""Writes to the register and the unit tree. Every call records an audit row."""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import transaction

from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.core import idnumber, regions
from tongban.core.errors import ServiceError
from tongban.core.regions import longest_prefix
from tongban.core.workdays import CalendarEntry
from tongban.registry import provinces
from tongban.registry.calendar import calendar_year_replace
from tongban.registry.models import Ethnicity, Person, ProductionRoute, Sex, Unit

if TYPE_CHECKING:
    from tongban.registry.access import Viewer


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int


@transaction.atomic
def units_load_province(
    *, province_code: str, stations_per_county: int, actor: AuditActor | None
) -> LoadResult:
    """Build (or bring up to date) a province's unit tree, its production centres and the
    centre routing rules from the region data. Idempotent; never deletes a unit."""
    if stations_per_county < 1:
        raise ValueError("stations_per_county must be at least 1")
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    by_code: dict[str, Unit] = {}

    def upsert(code: str, name: str, kind: str, parent: Unit | None, region_code: str) -> Unit:
        path = (parent.path if parent else "") + code + "/"
        wanted = {"name": name, "kind": kind, "parent": parent, "path": path, "region_code": region_code}
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            unit = Unit.objects.create(code=code, **wanted)
            counts["created"] += 1
        elif any(getattr(unit, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(unit, field, value)
            unit.save()
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        by_code[code] = unit
        return unit

    for spec in provinces.province_tree(province_code, stations_per_county):
        parent = by_code[spec.parent_code] if spec.parent_code else None
        upsert(spec.code, spec.name, spec.kind, parent, spec.region_code)
    for centre in provinces.centres(province_code):
        unit = upsert(
            centre.code,
            centre.name,
            Unit.Kind.CENTRE,
            by_code[centre.owner_region],
            centre.owner_region.ljust(6, "0"),
        )
        ProductionRoute.objects.update_or_create(
            region_prefix=centre.serves_prefix,
            defaults={"centre": unit, "note": f"受理地 {centre.serves_prefix}*"},
        )
    result = LoadResult(**counts)
    record(
        actor=actor,
        action=AuditAction.UNIT_LOAD_PROVINCE,
        object_type="unit",
        object_id=province_code,
        detail={"stations_per_county": stations_per_county, **counts},
    )
    return result


def production_centre_for(station_code: str) -> Unit | None:
    """The centre that produces cards accepted at `station_code`: longest matching prefix."""
    routes = {route.region_prefix: route.centre for route in ProductionRoute.objects.select_related("centre")}
    return longest_prefix(station_code, routes)


# A unit's public telephone: a landline with its area code (0791-86781234, an extension after a
# second hyphen) or a mobile number.
UNIT_PHONE = re.compile(r"^(0\d{2,3}-\d{7,8}(-\d{1,6})?|1[3-9]\d{9})$")
UNIT_ADDRESS_MAX = Unit._meta.get_field("address").max_length or 200


def _normal_phone(raw: str) -> str:
    """As typed, in one form: (0791)86781234, 0791 86781234 → 0791-86781234; 138 0013 8000 →
    13800138000."""
    text = (raw or "").strip().replace("－", "-").replace("—", "-")
    text = re.sub(r"^[(（](0\d{2,3})[)）]\s*", r"\1-", text)
    if re.fullmatch(r"1[\d\s-]*", text):
        return re.sub(r"[\s-]", "", text)
    return re.sub(r"\s*-\s*|\s+", "-", text)


def unit_manageable(viewer: Viewer, unit: Unit) -> bool:
    """Whether `viewer` keeps `unit`'s own data: `unit.manage` over a subtree that holds it."""
    return viewer.can("unit.manage") and viewer.unit is not None and viewer.unit.contains(unit)


@transaction.atomic
def unit_contact_update(*, actor: Viewer, unit: Unit, phone: str, address: str) -> Unit:
    """Set a unit's telephone and address (printed on its 登记表, 领证回执 and 票据). A station must
    have both; other units may leave them blank. Refused per field, nothing changed."""
    if not actor.can("unit.manage"):
        raise ServiceError("permission_denied", "无权维护机构信息。", status=403)
    if not unit_manageable(actor, unit):
        raise ServiceError("not_found", "未找到该机构。", status=404)
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    phone = _normal_phone(phone)
    address = " ".join((address or "").split())
    errors: dict[str, str] = {}
    if phone and not UNIT_PHONE.match(phone):
        errors["phone"] = (
            "电话号码格式不正确：固定电话带区号（如 0791-86781234，分机号接在“-”后），或11位手机号。"
        )
    if len(address) > UNIT_ADDRESS_MAX:
        errors["address"] = f"地址不能超过 {UNIT_ADDRESS_MAX} 个字。"
    if unit.kind == Unit.Kind.STATION:
        if not phone:
            errors["phone"] = "派出所受理点须登记对外联系电话（打印在登记表、领证回执和票据上）。"
        if not address:
            errors["address"] = "派出所受理点须登记办公地址（打印在登记表、领证回执和票据上）。"
    if errors:
        raise ServiceError("invalid", "输入有误，请检查标出的字段。", fields=errors)
    changed = {
        field: [getattr(unit, field), value]
        for field, value in (("phone", phone), ("address", address))
        if getattr(unit, field) != value
    }
    if not changed:
        return unit
    unit.phone, unit.address = phone, address
    unit.save(update_fields=["phone", "address"])
    record(
        actor=actor,
        action=AuditAction.UNIT_CONTACT_UPDATED,
        object_type="registry.unit",
        object_id=unit.pk,
        detail={"code": unit.code, "changes": changed},
    )
    return unit


def person_open(*, viewer: Viewer, person: Person, how: str) -> None:
    """Record that a full personal record was shown (`how`: "lookup", "detail", "api")."""
    record(
        actor=viewer,
        action=AuditAction.PERSON_VIEW,
        object_type="person",
        object_id=person.pk,
        detail={"how": how},
    )


@dataclass(frozen=True)
class CalendarLoadResult:
    year: int
    holidays: int
    workdays: int
    changed: bool


@transaction.atomic
def calendar_year_load(
    *, actor: AuditActor | None, year: int, days: Sequence[CalendarEntry], source: str
) -> CalendarLoadResult:
    """Replace a year's holiday arrangement (节假日安排) with `days` and mark the year entered, so
    deadlines reaching it stop being provisional. Idempotent: a reload of the same days writes
    nothing, not even an audit row."""
    changed = calendar_year_replace(
        lambda name: apps.get_model("registry", name), year=year, days=days, source=source
    )
    result = CalendarLoadResult(
        year=year,
        holidays=sum(not entry.is_workday for entry in days),
        workdays=sum(entry.is_workday for entry in days),
        changed=changed,
    )
    if changed:
        record(
            actor=actor,
            action=AuditAction.CALENDAR_LOAD_YEAR,
            object_type="registry.calendaryear",
            object_id=year,
            detail={"source": source, "holidays": result.holidays, "workdays": result.workdays},
        )
    return result


# ---------------------------------------------------------------------------------------------
# 跨省通办: other provinces and the 外省户籍人员 accepted at our counters


def own_province_codes() -> frozenset[str]:
    """The 2-digit codes of the province(s) this system serves: its root units."""
    return frozenset(Unit.objects.filter(kind=Unit.Kind.PROVINCE).values_list("code", flat=True))


@transaction.atomic
def external_unit_for(*, code: str, name: str) -> Unit:
    """The unit standing for another province's police (外省公安机关), created when the exchange's
    directory first names the province, its name kept up to date. A root of its own (`44/`), so
    no subtree, routing rule, picker or dashboard of ours holds it. Refuses our own province and
    a code that names no province."""
    if not re.fullmatch(r"\d{2}", code) or regions.name_for(code + "0000") is None:
        raise ServiceError(
            "bad_province", f"“{code[:6]}”不是省级行政区划代码。", fields={"code": "请填写两位省级代码。"}
        )
    if code in own_province_codes():
        raise ServiceError("own_province", "本省不能作为外省公安机关登记。", fields={"code": "本省代码。"})
    name = " ".join(name.split())[: Unit._meta.get_field("name").max_length or 100] or (
        f"{regions.name_for(code + '0000')}公安厅"
    )
    unit = Unit.objects.select_for_update().filter(code=code).first()
    if unit is not None and unit.kind != Unit.Kind.EXTERNAL:
        raise ServiceError("own_province", "该代码已是本省机构，不能作为外省公安机关登记。")
    if unit is not None and unit.name == name:
        return unit
    changes: dict[str, object]
    if unit is None:
        unit = Unit.objects.create(
            code=code, name=name, kind=Unit.Kind.EXTERNAL, path=f"{code}/", region_code=code + "0000"
        )
        changes = {"created": True, "name": name}
    else:
        changes = {"name": [unit.name, name]}
        unit.name = name
        unit.save(update_fields=["name"])
    record(
        actor=None,
        action=AuditAction.UNIT_EXTERNAL_SET,
        object_type="registry.unit",
        object_id=unit.pk,
        detail={"code": code, **changes},
    )
    return unit


GUEST_TEXT_LIMITS = {"name": 50, "address": 200}


def guest_person_register(
    *,
    actor: Viewer,
    id_number: str,
    name: str,
    sex: str,
    ethnicity: str,
    birth_date: datetime.date,
    address: str,
    region_code: str,
) -> Person:
    """外省户籍人员登记: a resident of another province, not in our register, entered at the
    counter from their 户口簿 so that their application can be accepted here and reviewed by their
    household province (跨省通办). Registered at that province's unit (`external_unit_for`), so
    they count in none of our people. The number must be valid (GB 11643), of a province we
    exchange with, and agree with the birth date and sex; `region_code` is the household's county
    under that province. Entering the same number again corrects the guest's particulars; a
    number of one of our residents is refused (`person_exists`), as is one of our province."""
    if not actor.can("application.accept") or actor.unit is None:
        raise ServiceError("permission_denied", "只有受理员可以登记外省户籍人员。", status=403)
    errors: dict[str, str] = {}
    try:
        number = idnumber.validate(id_number)
    except idnumber.InvalidIdNumber as exc:
        raise ServiceError("invalid_id_number", str(exc), fields={"id_number": str(exc)}) from exc
    province = number[:2]
    if province in own_province_codes():
        raise ServiceError(
            "own_province",
            "本省户籍人员不能按外省户籍人员登记；人口信息中没有的，请先到户籍地办理户口登记。",
            fields={"id_number": "该号码为本省号码。"},
        )
    where = regions.place_name(province)
    external = Unit.objects.external().filter(code=province).first()
    if external is None:
        raise ServiceError(
            "province_not_connected",
            f"尚未与{where}开通跨省通办，不能受理该省户籍人员的申领。",
            fields={"id_number": f"未与{where}开通跨省通办。"},
            status=409,
        )
    clean = {key: " ".join(str(value).split()) for key, value in (("name", name), ("address", address))}
    for key, limit in GUEST_TEXT_LIMITS.items():
        if not clean[key]:
            errors[key] = "不能为空。"
        elif len(clean[key]) > limit:
            errors[key] = f"不能超过 {limit} 个字。"
    if birth_date != idnumber.birth_date_of(number):
        errors["birth_date"] = f"出生日期与公民身份号码不符（号码中为 {idnumber.birth_date_of(number)}）。"
    if sex != idnumber.sex_of(number):
        errors["sex"] = "性别与公民身份号码不符（顺序码奇数为男、偶数为女）。"
    if not Sex.objects.filter(code=sex, active=True).exists():
        errors["sex"] = "性别代码无效。"
    if not Ethnicity.objects.filter(code=ethnicity, active=True).exists():
        errors["ethnicity"] = "民族代码无效。"
    if not re.fullmatch(r"\d{6}", region_code) or not region_code.startswith(province):
        errors["region_code"] = f"户籍地区划代码应为{where}的六位县级代码。"
    elif regions.name_for(region_code) is None:
        errors["region_code"] = f"没有行政区划代码“{region_code}”。"
    if errors:
        raise ServiceError("invalid", "输入有误，请检查标出的字段。", fields=errors)
    with transaction.atomic(durable=True):
        # The province's unit row serializes its guest registrations: one guest per number.
        Unit.objects.select_for_update().filter(pk=external.pk).first()
        people = list(Person.objects.select_for_update().filter(id_number=number).order_by("pk")[:2])
        if any(person.registration_unit_id != external.pk for person in people) or len(people) > 1:
            raise ServiceError(
                "person_exists",
                "人口信息中已有该公民身份号码，请按号码调取人员信息。",
                fields={"id_number": "人口信息中已有该号码。"},
                status=409,
            )
        wanted = {
            "name": clean["name"],
            "sex_id": sex,
            "ethnicity_id": ethnicity,
            "birth_date": birth_date,
            "address": clean["address"],
            "region_code": region_code,
        }
        person = people[0] if people else None
        if person is None:
            person = Person.objects.create(id_number=number, registration_unit=external, **wanted)
            changed = sorted(wanted)
        else:
            changed = sorted(key for key, value in wanted.items() if getattr(person, key) != value)
            if not changed:
                return person
            for key in changed:
                setattr(person, key, wanted[key])
            person.save()
        record(
            actor=actor,
            action=AuditAction.PERSON_GUEST_REGISTERED,
            object_type="person",
            object_id=person.pk,
            detail={"province": province, "fields": changed, "created": not people},
        )
        return person
