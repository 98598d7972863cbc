"""Reads of 网上预约: the stations a citizen can choose, a booking's checklist, a station's day for
staff (scoped through `Booking.objects.visible_to`), and the counts the dashboard shows."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, Q
from django.http import Http404

from tongban.accounts.models import User
from tongban.appointments import rules
from tongban.appointments.models import Booking, SlotOverride, StationSchedule
from tongban.core.dates import age_on
from tongban.intake import rules as intake_rules
from tongban.listing import Page, page_after
from tongban.registry.models import Unit

STATION_LIMIT = 50


@dataclass(frozen=True)
class StationChoice:
    code: str
    name: str
    address: str
    phone: str
    county: str
    city: str


def public_stations(*, q: str = "", area: str = "") -> list[StationChoice]:
    """The stations a citizen may book at, optionally within a city or county (`area`: its code)
    and matching `q` in the station's, county's or city's name or the address; at most 50."""
    units = Unit.objects.own().filter(kind=Unit.Kind.STATION, active=True)
    if area:
        units = units.filter(code__startswith=area)
    above = {
        unit.code: unit.name
        for unit in Unit.objects.own()
        .filter(kind__in=[Unit.Kind.CITY, Unit.Kind.COUNTY])
        .only("code", "name")
    }
    if q:
        areas = [code for code, name in above.items() if q in name]
        match = Q(name__contains=q) | Q(address__contains=q)
        for code in areas:
            match |= Q(code__startswith=code)
        units = units.filter(match)
    return [
        StationChoice(
            code=unit.code,
            name=unit.name,
            address=unit.address,
            phone=unit.phone,
            county=above.get(unit.code[:6], ""),
            city=above.get(unit.code[:4], ""),
        )
        for unit in units.order_by("code").only("code", "name", "address", "phone")[:STATION_LIMIT]
    ]


def areas() -> list[tuple[str, str]]:
    """(code, name) of the cities and counties, for the station finder's select."""
    return [
        (unit.code, unit.name if unit.kind == Unit.Kind.CITY else f"　{unit.name}")
        for unit in Unit.objects.own().filter(kind__in=[Unit.Kind.CITY, Unit.Kind.COUNTY]).order_by("path")
    ]


def public_station(code: str) -> Unit:
    station = Unit.objects.own().filter(code=code, kind=Unit.Kind.STATION, active=True).first()
    if station is None:
        raise Http404("未找到该受理单位")
    return station


def station_notice(station: Unit) -> str:
    return StationSchedule.objects.filter(station=station).values_list("notice", flat=True).first() or ""


def checklist(booking: Booking) -> tuple[intake_rules.Material, ...]:
    """What to bring, from the counter's own rule (intake.rules.materials) for the person's age on
    the booked day and, for a minor, the guardianship case chosen."""
    age = age_on(booking.person.birth_date, booking.date)
    case = intake_rules.GuardianshipCase(booking.guardianship) if booking.guardianship else None
    if age < intake_rules.ADULT_AGE and case is None:
        case = intake_rules.GuardianshipCase.SAME_HOUSEHOLD
    return intake_rules.materials(booking.application_type, age=age, guardianship=case)


# ---------------------------------------------------------------------------------------------
# Staff


def stations_for(viewer: User) -> list[Unit]:
    """The stations whose bookings the viewer sees (appointment.view over the subtree)."""
    if viewer.unit is None or not viewer.can("appointment.view"):
        return []
    units = Unit.objects.filter(kind=Unit.Kind.STATION, active=True)
    if viewer.unit.kind != Unit.Kind.PROVINCE:
        units = units.filter(pk__in=viewer.unit.subtree_pks)
    return list(units.order_by("path").only("pk", "code", "name", "path"))


def station_for(viewer: User, code: str | None, *, action: str = "appointment.view") -> Unit:
    """The station asked for, within the viewer's subtree (404 otherwise); the viewer's own when
    they work at one and name none."""
    if viewer.unit is None or not viewer.can(action):
        raise Http404
    if not code:
        if viewer.unit.kind == Unit.Kind.STATION:
            return viewer.unit
        raise Http404
    station = Unit.objects.filter(code=code, kind=Unit.Kind.STATION).first()
    if station is None or not station.path.startswith(viewer.unit.path):
        raise Http404
    return station


def booking_for(viewer: User, code: str) -> Booking:
    """One booking by its code, within the viewer's jurisdiction (404 otherwise)."""
    normal = rules.normalize_code(code)
    booking = (
        Booking.objects.visible_to(viewer)
        .select_related("station", "person", "reason", "application", "arrived_by")
        .filter(code=normal)
        .first()
        if normal
        else None
    )
    if booking is None:
        raise Http404("未找到该预约")
    return booking


DAY_STATES = {"": "全部", **{state.value: state.label for state in rules.State}}


def day_page(
    viewer: User,
    station: Unit,
    day: datetime.date,
    *,
    state: str = "",
    after: str | None = None,
    size: int = 50,
) -> Page[Booking, str]:
    """The station's bookings of one day, morning first, in keyset pages; `after` is the previous
    page's `next_after` (`am.123`: the last row's half-day and id)."""
    rows = (
        Booking.objects.visible_to(viewer)
        .filter(station=station, date=day)
        .select_related("person", "reason", "application")
    )
    if state:
        rows = rows.filter(state=state)
    key = None
    if after:
        half, _, pk = after.partition(".")
        if half not in {h.value for h in rules.HalfDay} or not pk.isdigit() or len(pk) > 12:
            raise ValueError("bad cursor")
        key = (half, int(pk))
    return page_after(
        rows, ["half", "pk"], key, limit=size, cursor=lambda row: f"{row.half}.{row.pk}", total=rows.count()
    )


def day_counts(station: Unit, day: datetime.date) -> dict[str, int]:
    counts = dict(
        Booking.objects.filter(station=station, date=day)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {state.value: counts.get(state.value, 0) for state in rules.State}


def overrides_ahead(station: Unit, today: datetime.date) -> list[SlotOverride]:
    return list(SlotOverride.objects.filter(station=station, date__gte=today).order_by("date", "half")[:200])


# ---------------------------------------------------------------------------------------------
# The dashboard (督导)

DASHBOARD_STATES = (rules.State.BOOKED, rules.State.ARRIVED, rules.State.NO_SHOW, rules.State.CANCELLED)


def counts_by_station(
    station_ids: Sequence[int] | None, first: datetime.date, last: datetime.date
) -> dict[int, dict[str, int]]:
    """Bookings dated `first` to `last` per station and state, in one query (`station_ids` None:
    every station)."""
    rows = Booking.objects.filter(date__range=(first, last))
    if station_ids is not None:
        rows = rows.filter(station_id__in=station_ids)
    by: dict[int, dict[str, int]] = defaultdict(dict)
    for station_id, state, n in rows.values_list("station_id", "state").annotate(n=Count("pk")).order_by():
        by[station_id][state] = n
    return dict(by)
