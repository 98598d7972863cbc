"""Writes to the register and the unit tree. Every call records an audit row."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import transaction

from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.core.errors import ServiceError
from tongban.core.regions import longest_prefix
from tongban.core.workdays import CalendarEntry
from tongban.registry import provinces
from tongban.registry.calendar import calendar_year_replace
from tongban.registry.models import Person, ProductionRoute, Unit

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
