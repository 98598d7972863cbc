"""Reads of the liaison directory (联络人). Under 全省通办 every unit works with every other, so
any staff member with `unit.view` reads the whole province's directory; the list of units
without a liaison covers the viewer's own subtree, for those who keep it (`liaison.manage`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from tongban.liaison.models import LIAISON_KINDS, Liaison
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.models import Unit

PAGE = 100


def directory_units(viewer: Viewer) -> QuerySet[Unit]:
    """The units whose liaisons the viewer reads: their province's cities, counties, stations."""
    if not viewer.can("unit.view") or viewer.unit is None:
        return Unit.objects.none()
    province_path = viewer.unit.path.split("/", 1)[0] + "/"
    return Unit.objects.filter(path__startswith=province_path, kind__in=LIAISON_KINDS)


def directory_unit(viewer: Viewer, code: str) -> Unit:
    unit = directory_units(viewer).filter(code=code).first()
    if unit is None:
        raise Http404("未找到该单位")
    return unit


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""  # unit name or code
    unit: str = ""  # a unit's code: its subtree
    duty: str = ""
    assigned_only: bool = False


def directory_page(
    viewer: Viewer, filters: DirectoryFilters, *, after: str = "", limit: int = PAGE
) -> Page[Unit, str]:
    """Units in tree order (keyset on the code path), each with its liaisons (`.liaisons.all()`
    prefetched)."""
    units = directory_units(viewer)
    if filters.q:
        units = units.filter(Q(name__contains=filters.q) | Q(code__startswith=filters.q))
    if filters.unit:
        root = Unit.objects.filter(code=filters.unit).first()
        units = units.filter(path__startswith=root.path) if root is not None else units.none()
    if filters.duty:
        with_duty = [
            unit_id
            for unit_id, duties in Liaison.objects.filter(unit__in=units).values_list("unit_id", "duties")
            if filters.duty in duties
        ]
        units = units.filter(pk__in=with_duty)
    elif filters.assigned_only:
        units = units.filter(liaisons__isnull=False).distinct()
    units = units.prefetch_related(
        Prefetch("liaisons", queryset=Liaison.objects.select_related("user").order_by("order", "pk"))
    )
    return page_after(units, ["path"], after or None, limit=limit, cursor=lambda unit: unit.path)


def units_without_liaison(viewer: Viewer) -> list[Unit]:
    """未指定联络人: the cities, counties and stations of the viewer's subtree with none."""
    if not viewer.can("liaison.manage") or viewer.unit is None:
        return []
    return list(
        Unit.objects.subtree(viewer.unit)
        .filter(kind__in=LIAISON_KINDS, active=True, liaisons__isnull=True)
        .order_by("path")
    )
