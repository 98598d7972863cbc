"""Reads of a campaign: who is in the target population, which applications count, progress per
county and station (daily and cumulative), the forecast, late duties and the report roll-up.

Which applications count for a campaign (docs/campaigns.md):
  an application of one of the campaign's types (`Campaign.application_types`), of a person whose
  household-registration station (`Application.household_unit`) lies in the campaign's city,
  accepted (`accepted_at`) from the first day of 集中换发 up to the last day of the campaign (the
  end of its last phase), local time, and not withdrawn (撤销).
  - accepted (受理): all of those; issued (签发): those with `issued_at` set; handed over (发放):
    those whose card reached the applicant (已领取, 待核验 or 已核验), on the day of `closed_at`.
  Each counts for the household station and its county bureau, the units whose target it meets.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from tongban.campaigns import rules
from tongban.campaigns.models import (
    Campaign,
    CampaignPhase,
    CountyTarget,
    DutyTask,
    StationReport,
    StationTarget,
)
from tongban.core.dates import add_years
from tongban.intake.models import Application
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.calendar import day_start, work_calendar
from tongban.registry.models import Card, Person, Unit

HANDED_OVER = (
    Application.Status.HANDED_OVER,
    Application.Status.PENDING_VERIFICATION,
    Application.Status.VERIFIED,
)


# ---------------------------------------------------------------------------------------------
# Access


def campaigns(viewer: Viewer) -> QuerySet[Campaign]:
    return Campaign.objects.visible_to(viewer).select_related("area")


def home_campaigns(viewer: Viewer, today: datetime.date) -> list[tuple[Campaign, int]]:
    """The running campaigns the viewer takes part in, each with the late duties of their part."""
    running = campaigns(viewer).filter(status=Campaign.Status.ACTIVE).order_by("pk")
    return [
        (campaign, late_duties(campaign, today, scope_unit(viewer, campaign)).count()) for campaign in running
    ]


def campaign_get(viewer: Viewer, pk: int, action: str = "campaign.view") -> Campaign:
    """The campaign if the viewer may see it (and do `action`); 404 for anybody else."""
    campaign = Campaign.objects.visible_to(viewer, action).select_related("area").filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def scope_unit(viewer: Viewer, campaign: Campaign) -> Unit:
    """The part of the campaign the viewer sees: the whole city from the city up, their own
    county or station from inside it."""
    unit = viewer.unit
    if unit is not None and campaign.area.contains(unit):
        return unit
    return campaign.area


def phases(campaign: Campaign) -> dict[str, CampaignPhase]:
    return {phase.kind: phase for phase in campaign.phases.all()}


# ---------------------------------------------------------------------------------------------
# The target population (目标人群)


def eligible_people(campaign: Campaign) -> QuerySet[Person]:
    """People of the register in the campaign's target population (see Campaign's fields)."""
    cutoff = add_years(campaign.reference_date, -campaign.min_age)
    active = Card.objects.filter(person=OuterRef("pk"), state=Card.State.ACTIVE)
    which = Q(pk__in=[])
    if campaign.include_first_generation:
        which |= Q(Exists(active.filter(generation=1)))
    if campaign.include_without_card:
        which |= ~Q(Exists(active))
    if campaign.expiring_before is not None:
        which |= Q(Exists(active.filter(valid_until__lte=campaign.expiring_before)))
    return Person.objects.filter(
        which,
        status=Person.Status.NORMAL,
        birth_date__lte=cutoff,
        registration_unit__path__startswith=campaign.area.path,
    )


def eligible_by_station(campaign: Campaign) -> dict[int, int]:
    """Eligible people per registration station (one grouped query)."""
    rows = eligible_people(campaign).order_by().values("registration_unit").annotate(n=Count("pk"))
    return {row["registration_unit"]: row["n"] for row in rows}


def area_units(campaign: Campaign) -> tuple[list[Unit], list[Unit]]:
    """The city's county bureaus and stations (active ones), in tree order."""
    units = list(
        Unit.objects.subtree(campaign.area)
        .filter(kind__in=[Unit.Kind.COUNTY, Unit.Kind.STATION], active=True)
        .order_by("path")
    )
    return [u for u in units if u.kind == Unit.Kind.COUNTY], [u for u in units if u.kind == Unit.Kind.STATION]


# ---------------------------------------------------------------------------------------------
# Which applications count


def window(campaign: Campaign) -> tuple[datetime.date, datetime.date] | None:
    """First day of 集中换发 to the last day of the campaign; None before the phases are set."""
    dates = phases(campaign)
    replace = dates.get(CampaignPhase.Kind.REPLACE)
    if replace is None:
        return None
    return replace.start, max(phase.end for phase in dates.values())


def in_region(unit: Unit) -> Q:
    """Applications whose household lies in `unit`'s subtree, by the household's county code kept
    on the row (`region_code`): a city's code is the first four digits of its counties' codes, so
    a city or county is one index range (intake_campaign_idx covers the progress queries); a
    station is its own household unit."""
    if unit.kind == Unit.Kind.STATION:
        return Q(household_unit=unit)
    if unit.kind == Unit.Kind.PROVINCE:
        return Q()
    # Six-digit codes of digits compare the same in every collation.
    return Q(region_code__range=(unit.code.ljust(6, "0"), unit.code.ljust(6, "9")))


def campaign_applications(campaign: Campaign) -> QuerySet[Application]:
    span = window(campaign)
    if span is None:
        return Application.objects.none()
    start, end = span
    return Application.objects.filter(
        in_region(campaign.area),
        type__in=campaign.application_types,
        accepted_at__gte=day_start(start),
        accepted_at__lt=day_start(end + rules.ONE_DAY),
    ).exclude(status__in=[Application.Status.WITHDRAWN, Application.Status.DRAFT])


# ---------------------------------------------------------------------------------------------
# Progress


@dataclass
class Row:
    """One line of the progress table: a county bureau or a station (or the total)."""

    unit_id: int | None
    code: str
    name: str
    target: int = 0
    eligible: int = 0
    accepted: int = 0
    issued: int = 0
    handed_over: int = 0

    @property
    def rate(self) -> float | None:
        return rules.rate(self.handed_over, self.target)

    @property
    def rate_label(self) -> str:
        value = self.rate
        return "—" if value is None else f"{value:.1%}"

    def add(self, other: Row) -> None:
        self.target += other.target
        self.eligible += other.eligible
        self.accepted += other.accepted
        self.issued += other.issued
        self.handed_over += other.handed_over


@dataclass
class Day:
    day: datetime.date
    accepted: int = 0
    issued: int = 0
    handed_over: int = 0
    cum_accepted: int = 0
    cum_issued: int = 0
    cum_handed_over: int = 0


@dataclass
class Progress:
    campaign: Campaign
    scope: Unit
    counties: list[Row]
    stations: dict[int, list[Row]]  # county pk → its stations
    total: Row
    days: list[Day]
    forecast: rules.Forecast
    today: datetime.date
    late_reports: list[Unit] = field(default_factory=list)

    def chart_data(self) -> dict[str, Any]:
        """What the ECharts script draws (json_script), the same numbers as the table."""
        return {
            "days": [d.day.isoformat() for d in self.days],
            "accepted": [d.accepted for d in self.days],
            "issued": [d.issued for d in self.days],
            "handed_over": [d.handed_over for d in self.days],
            "cum_accepted": [d.cum_accepted for d in self.days],
            "cum_issued": [d.cum_issued for d in self.days],
            "cum_handed_over": [d.cum_handed_over for d in self.days],
            "target": self.total.target,
        }


def _counts_by_station(applications: QuerySet[Application]) -> dict[int, dict[str, int]]:
    rows = (
        applications.order_by()
        .values("household_unit")
        .annotate(
            accepted=Count("pk"),
            issued=Count("pk", filter=Q(issued_at__isnull=False)),
            handed_over=Count("pk", filter=Q(status__in=HANDED_OVER)),
        )
    )
    return {row["household_unit"]: {k: row[k] for k in ("accepted", "issued", "handed_over")} for row in rows}


def _daily(applications: QuerySet[Application], column: str, **filters: Any) -> dict[datetime.date, int]:
    rows = (
        applications.filter(**{f"{column}__isnull": False}, **filters)
        .order_by()
        .annotate(day=TruncDate(column))
        .values("day")
        .annotate(n=Count("pk"))
    )
    return {row["day"]: row["n"] for row in rows}


def daily_series(
    applications: QuerySet[Application], start: datetime.date, today: datetime.date
) -> list[Day]:
    accepted = _daily(applications, "accepted_at")
    issued = _daily(applications, "issued_at")
    handed = _daily(applications, "closed_at", status__in=HANDED_OVER)
    last = max([today, *accepted, *issued, *handed]) if (accepted or issued or handed) else today
    days: list[Day] = []
    totals = [0, 0, 0]
    # Anything before the first day (cannot happen for acceptances) is folded into it.
    early = [sum(n for d, n in series.items() if d < start) for series in (accepted, issued, handed)]
    day = start
    while day <= last:
        today_counts = [accepted.get(day, 0), issued.get(day, 0), handed.get(day, 0)]
        if day == start:
            today_counts = [a + b for a, b in zip(today_counts, early, strict=True)]
        totals = [a + b for a, b in zip(totals, today_counts, strict=True)]
        days.append(Day(day, *today_counts, *totals))
        day += rules.ONE_DAY
    return days


def progress(
    campaign: Campaign, *, scope: Unit | None = None, today: datetime.date | None = None
) -> Progress:
    """Target, accepted, issued and handed over per county and station within `scope` (the city
    by default), the daily series and the forecast: five queries whatever the size."""
    today = today or timezone.localdate()
    scope = scope or campaign.area
    county_targets = CountyTarget.objects.filter(campaign=campaign).select_related("county")
    station_targets = StationTarget.objects.filter(campaign=campaign).select_related("station")
    counties: dict[int, Row] = {}
    for t in county_targets:
        if scope.contains(t.county) or t.county.contains(scope):
            counties[t.county_id] = Row(t.county_id, t.county.code, t.county.name, t.target, t.eligible)
    stations: dict[int, list[Row]] = defaultdict(list)
    station_rows: dict[int, Row] = {}
    for st in station_targets:
        if scope.contains(st.station) or st.station.contains(scope):
            row = Row(st.station_id, st.station.code, st.station.name, st.target, st.eligible)
            station_rows[st.station_id] = row
            stations[st.county_id].append(row)
    applications = campaign_applications(campaign)
    if scope.pk != campaign.area.pk:
        applications = applications.filter(in_region(scope))
    for station_id, counts in _counts_by_station(applications).items():
        found = station_rows.get(station_id)
        if found is None:  # a station opened after the targets were derived: no target of its own
            unit = Unit.objects.select_related("parent").get(pk=station_id)
            found = Row(unit.pk, unit.code, unit.name)
            station_rows[station_id] = found
            stations[unit.parent_id or 0].append(found)
        row = found
        row.accepted, row.issued, row.handed_over = (
            counts["accepted"],
            counts["issued"],
            counts["handed_over"],
        )
    # A county's figures are its stations' (targets too when the county is seen whole).
    for county_id, rows in stations.items():
        county = counties.get(county_id)
        if county is None:
            continue
        county.accepted = sum(r.accepted for r in rows)
        county.issued = sum(r.issued for r in rows)
        county.handed_over = sum(r.handed_over for r in rows)
        if scope.kind == Unit.Kind.STATION:
            county.target = sum(r.target for r in rows)
            county.eligible = sum(r.eligible for r in rows)
    total = Row(scope.pk, scope.code, scope.name)
    for row in counties.values():
        total.add(row)
    span = window(campaign)
    days = daily_series(applications, span[0], min(today, span[1])) if span is not None else []
    return Progress(
        campaign=campaign,
        scope=scope,
        counties=sorted(counties.values(), key=lambda r: r.code),
        stations={k: sorted(v, key=lambda r: r.code) for k, v in stations.items()},
        total=total,
        days=days,
        forecast=completion_forecast(total, days, today),
        today=today,
    )


def completion_forecast(total: Row, days: Sequence[Day], today: datetime.date) -> rules.Forecast:
    window_days = settings.CAMPAIGN_PACE_WORKDAYS
    calendar = work_calendar(
        today - datetime.timedelta(days=3 * window_days + 30), today + datetime.timedelta(days=3 * 365)
    )

    def add(start: datetime.date, n: int) -> datetime.date:
        return calendar.add_workdays(start, n)

    return rules.forecast(
        today=today,
        target=total.target,
        completed=total.handed_over,
        daily_completed={d.day: d.handed_over for d in days},
        window_days=window_days,
        is_workday=calendar.is_workday,
        add_workdays=add,
    )


# ---------------------------------------------------------------------------------------------
# Duties


def duties(campaign: Campaign, scope: Unit | None = None) -> QuerySet[DutyTask]:
    tasks = DutyTask.objects.filter(campaign=campaign).select_related("owner_unit")
    if scope is not None and scope.pk != campaign.area.pk:
        tasks = tasks.filter(owner_unit__path__startswith=scope.path)
    return tasks


def late_duties(campaign: Campaign, today: datetime.date, scope: Unit | None = None) -> QuerySet[DutyTask]:
    """Tasks past their due date and not done, the most overdue first."""
    return (
        duties(campaign, scope)
        .filter(due__lt=today)
        .exclude(status=DutyTask.Status.DONE)
        .order_by("due", "department", "owner_unit__path", "code")
    )


def duties_page(
    campaign: Campaign,
    scope: Unit | None = None,
    *,
    status: str = "",
    late_on: datetime.date | None = None,
    after: int | None = None,
    limit: int = 100,
) -> Page[DutyTask, int]:
    """The tasks of `scope`'s part in task order, keyset-paginated; `late_on`: only those late
    on that day."""
    tasks = late_duties(campaign, late_on, scope) if late_on is not None else duties(campaign, scope)
    if status:
        tasks = tasks.filter(status=status)
    return page_after(tasks.select_related("campaign"), ["pk"], after, limit=limit)


def duty_get(viewer: Viewer, campaign: Campaign, pk: int) -> DutyTask:
    task = duties(campaign, scope_unit(viewer, campaign)).filter(pk=pk).first()
    if task is None:
        raise Http404
    return task


def may_update_duty(viewer: Viewer, task: DutyTask) -> bool:
    """The campaign manager updates any task; a unit's staff with campaign.duty those of their
    subtree."""
    if viewer.can("campaign.manage"):
        return True
    unit = viewer.unit
    return (
        viewer.can("campaign.duty")
        and unit is not None
        and task.owner_unit is not None
        and unit.contains(task.owner_unit)
    )


@dataclass
class DutyMatrix:
    """The duty matrix: outside departments and the city bureau as lists, the county bureaus and
    stations as a grid of duty × unit."""

    lists: list[tuple[str, list[DutyTask]]]
    county_duties: list[tuple[str, str]]  # (code, text)
    county_grid: list[tuple[Unit, dict[str, DutyTask]]]
    station_duties: list[tuple[str, str]]
    station_grid: list[tuple[Unit, dict[str, DutyTask]]]


def duty_matrix(campaign: Campaign, scope: Unit | None = None) -> DutyMatrix:
    from tongban.campaigns.duties import Department, duties_of

    lists: dict[str, list[DutyTask]] = defaultdict(list)
    grids: dict[str, dict[int, tuple[Unit, dict[str, DutyTask]]]] = {"county": {}, "station": {}}
    for task in duties(campaign, scope).order_by("owner_unit__path", "code"):
        if task.department in grids and task.owner_unit is not None:
            entry = grids[task.department].setdefault(task.owner_unit_id or 0, (task.owner_unit, {}))
            entry[1][task.code] = task
        else:
            lists[task.department].append(task)
    order = [Department.FINANCE, Department.PRICING, Department.CIVIL_AFFAIRS, Department.CITY]
    return DutyMatrix(
        lists=[(d.label, lists[d.value]) for d in order if lists.get(d.value)],
        county_duties=[(s.code, s.text) for s in duties_of(Department.COUNTY)],
        county_grid=list(grids["county"].values()),
        station_duties=[(s.code, s.text) for s in duties_of(Department.STATION)],
        station_grid=list(grids["station"].values()),
    )


# ---------------------------------------------------------------------------------------------
# Periodic reports (定期上报)


@dataclass(frozen=True)
class ReportFigures:
    """A station's report: the period's counts, the cumulative counts at its end, the target."""

    target: int
    accepted: int
    issued: int
    handed_over: int
    cum_accepted: int
    cum_issued: int
    cum_handed_over: int

    @property
    def rate(self) -> float | None:
        return rules.rate(self.cum_handed_over, self.target)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


FIGURE_KEYS = ("target", "accepted", "issued", "handed_over", "cum_accepted", "cum_issued", "cum_handed_over")


def report_figures(
    campaign: Campaign, stations: Iterable[Unit], period: rules.Period
) -> dict[int, ReportFigures]:
    """Each station's figures for `period`, from the applications (one grouped query)."""
    ids = [s.pk for s in stations]
    start, after = day_start(period.start), day_start(period.end + rules.ONE_DAY)
    rows = (
        campaign_applications(campaign)
        .filter(household_unit__in=ids)
        .order_by()
        .values("household_unit")
        .annotate(
            accepted=Count("pk", filter=Q(accepted_at__gte=start, accepted_at__lt=after)),
            issued=Count("pk", filter=Q(issued_at__gte=start, issued_at__lt=after)),
            handed_over=Count(
                "pk", filter=Q(status__in=HANDED_OVER, closed_at__gte=start, closed_at__lt=after)
            ),
            cum_accepted=Count("pk", filter=Q(accepted_at__lt=after)),
            cum_issued=Count("pk", filter=Q(issued_at__lt=after)),
            cum_handed_over=Count("pk", filter=Q(status__in=HANDED_OVER, closed_at__lt=after)),
        )
    )
    counts = {row["household_unit"]: row for row in rows}
    targets = dict(
        StationTarget.objects.filter(campaign=campaign, station__in=ids).values_list("station", "target")
    )
    result = {}
    for pk in ids:
        row = counts.get(pk, {})
        result[pk] = ReportFigures(
            target=targets.get(pk, 0), **{k: row.get(k, 0) for k in FIGURE_KEYS if k != "target"}
        )
    return result


def reports(viewer: Viewer, campaign: Campaign, period: rules.Period) -> QuerySet[StationReport]:
    scope = scope_unit(viewer, campaign)
    return (
        StationReport.objects.filter(
            campaign=campaign,
            period_start=period.start,
            period_end=period.end,
            station__path__startswith=scope.path,
        )
        .select_related("station", "county", "signed_by")
        .order_by("station__path")
    )


def report_get(viewer: Viewer, pk: int) -> StationReport:
    """A report the viewer may see (404 otherwise)."""
    report = StationReport.objects.select_related("campaign__area", "station", "county").filter(pk=pk).first()
    if report is None or not Campaign.objects.visible_to(viewer).filter(pk=report.campaign_id).exists():
        raise Http404
    if not scope_unit(viewer, report.campaign).contains(report.station):
        raise Http404
    return report


@dataclass
class RollupRow:
    unit: Unit
    stations: int  # stations in the unit
    signed: int  # of them, reports signed off
    figures: dict[str, int]
    missing: list[Unit]  # stations without a signed report


@dataclass
class Rollup:
    period: rules.Period
    counties: list[RollupRow]
    total: RollupRow


def rollup(viewer: Viewer, campaign: Campaign, period: rules.Period) -> Rollup:
    """Signed reports summed per county bureau and for the whole scope; stations that have not
    signed off (no report, or one not yet signed) are listed as missing."""
    scope = scope_unit(viewer, campaign)
    counties, stations = area_units(campaign)
    signed = {r.station_id: r for r in reports(viewer, campaign, period).filter(signed_at__isnull=False)}
    rows = []
    for county in counties:
        if not (scope.contains(county) or county.contains(scope)):
            continue
        own = [s for s in stations if s.parent_id == county.pk and scope.contains(s)]
        figures = dict.fromkeys(FIGURE_KEYS, 0)
        for station in own:
            report = signed.get(station.pk)
            if report is not None:
                for key in FIGURE_KEYS:
                    figures[key] += int(report.figures.get(key, 0))
        rows.append(
            RollupRow(
                county,
                len(own),
                sum(1 for s in own if s.pk in signed),
                figures,
                [s for s in own if s.pk not in signed],
            )
        )
    total = RollupRow(
        scope,
        sum(r.stations for r in rows),
        sum(r.signed for r in rows),
        {key: sum(r.figures[key] for r in rows) for key in FIGURE_KEYS},
        [s for r in rows for s in r.missing],
    )
    return Rollup(period, rows, total)
