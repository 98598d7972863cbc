"""Writes to the register and the unit tree. Every call records an audit row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.db import transaction
from django.http import HttpRequest

from tongban.audit.services import AuditActor, record
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
        action="unit.load_province",
        object_type="unit",
        object_id=province_code,
        detail={"stations_per_county": stations_per_county, **counts},
    )
    return result


def production_centre_for(station_code: str) -> Unit | None:
    """The centre that produces cards accepted at `station_code`: longest matching prefix."""
    routes = ProductionRoute.objects.select_related("centre")
    best = None
    for route in routes:
        if station_code.startswith(route.region_prefix) and (
            best is None or len(route.region_prefix) > len(best.region_prefix)
        ):
            best = route
    return best.centre if best else None


def person_open(*, viewer: Viewer, person: Person, request: HttpRequest | None, how: str) -> None:
    """Record that a full personal record was shown (`how`: "lookup", "detail", "api")."""
    record(
        actor=viewer,
        action="person.view",
        object_type="person",
        object_id=person.pk,
        detail={"how": how},
        request=request,
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
            action="calendar.load_year",
            object_type="registry.calendaryear",
            object_id=year,
            detail={"source": source, "holidays": result.holidays, "workdays": result.workdays},
        )
    return result
