"""What supervisors (督导) watch: the progress of a unit's subtree, one function per metric.

Every metric takes a `Scope` (the dashboard's unit, its subtree as an id list and its direct
children) and answers with the figures per child unit, so that the per-unit breakdown and the
totals come from the same rows: the total of a metric is the sum of its child rows plus the row
of the unit itself (本级: a county bureau reviewing in a campaign chain, a station's own figures).
Pages, Excel exports and the API all render the `Table`s built here; the tables and the headline
figures are built from the same named figures (`Figures`), never read out of each other's rows.

Which unit an application counts for (docs/supervision.md):

- accepted (受理) — the acceptance unit, by `accepted_at`;
- issued (签发) and refused (不予签发) — the household unit (户籍地, who decides), by `issued_at` and,
  for refusals, `closed_at`; refusal rate = refused / (issued + refused) in the period;
- handed over (发放) — the acceptance unit (where the card is handed over), by `Handover.at`;
- review deadlines (审核期限) — the unit whose queue holds it (`review_unit`), by `review_due`;
- applications in progress by stage, and stuck items (滞留件) — the responsible unit: the review
  unit while in review (待审核, 核实中), otherwise the acceptance unit, which follows the
  application through production and distribution and answers to the applicant;
- times (办理时长) acceptance → issue by household unit, acceptance → handover by acceptance unit;
- post-verifications (核验) overdue — the acceptance unit.

Days are local days (settings.TIME_ZONE, Asia/Shanghai). Queries are aggregates over indexed
columns in bounded windows (the daily series 30 days, the weekly 12 weeks), grouped in SQL by the
raw unit id and folded into child rows here (`Scope.row_of`); the only top unit (the province)
filters on no unit at all. The series' days that are over come from the rollup
(`tongban.supervision.rollup`), yesterday and today are counted live. The times' percentiles are
computed in PostgreSQL per row and for the whole subtree in one statement (GROUPING SETS), the row
of each unit looked up in an array indexed by unit id. Nothing is loaded row by row (on SQLite
the times' rows are read and the percentiles computed here).
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from tongban.accounts import staffing
from tongban.appointments import selectors as appointments
from tongban.core.regions import longest_prefix
from tongban.handover.models import Handover, Shipment, ShipmentItem, Verification
from tongban.intake.models import IN_REVIEW_STATUSES, UNFINISHED_STATUSES, Application, ApplicationEvent
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.calendar import day_start, work_calendar
from tongban.registry.models import ProductionRoute, Unit
from tongban.registry.xlsx import Cell
from tongban.supervision import rollup
from tongban.supervision.models import DayCount

Status = Application.Status
Metric = DayCount.Metric

DAILY_DAYS = 30
WEEKS = 12
TOP_REASONS = 10
PAGE = 50
SUPERVISED = "supervised"  # the ApplicationEvent action of a 督办

# In progress: accepted and not yet in the applicant's hand, plus the card owed a verification.
# Drafts are the counter's own business and are not watched.
PROGRESS_STATUSES: tuple[str, ...] = (
    Status.ACCEPTED,
    Status.PENDING_REVIEW,
    Status.UNDER_VERIFICATION,
    Status.ISSUED,
    Status.IN_PRODUCTION,
    Status.RECOLLECT,
    Status.PRODUCED,
    Status.SHIPPED,
    Status.AT_SITE,
    Status.PENDING_VERIFICATION,
)
# Stuck items: unfinished (no card in hand yet); drafts excluded as above.
STUCK_STATUSES: tuple[str, ...] = tuple(s for s in PROGRESS_STATUSES if s in UNFINISHED_STATUSES)
REVIEW_STATUSES: tuple[str, ...] = tuple(s for s in PROGRESS_STATUSES if s in IN_REVIEW_STATUSES)
OWN = "本级"
TOTAL = "合计"


# ---------------------------------------------------------------------------------------------
# Scope: the dashboard's unit, its subtree and children


@dataclass(frozen=True)
class Scope:
    """A unit's subtree as the metrics need it: every id, for each direct child the ids of the
    child's subtree, and `row_of`: each unit of the subtree → the key of the row it counts in
    (its child's pk, or the unit's own for 本级). `today` is the local day all windows end on."""

    unit: Unit
    ids: tuple[int, ...]
    children: tuple[Unit, ...]
    child_ids: dict[int, tuple[int, ...]]
    today: datetime.date
    row_of: dict[int, int] = field(default_factory=dict)

    @property
    def labels(self) -> list[tuple[int, str]]:
        """(key, name) of each row of a per-unit table: the children, then 本级."""
        return [(child.pk, child.name) for child in self.children] + [(self.unit.pk, OWN)]

    # The only top unit (the province): its subtree is every unit, its queries need no unit filter.
    everything: bool = False


def scope_for(unit: Unit, *, today: datetime.date | None = None) -> Scope:
    """The subtree's units, production centres left out (no application is attributed to a
    centre); for a top unit one more query: whether it is the only one."""
    rows = list(Unit.objects.subtree(unit).administrative().values_list("pk", "path", "kind", "name", "code"))
    children = sorted(
        (
            Unit(pk=pk, path=path, kind=kind, name=name, code=code, parent_id=unit.pk)
            for pk, path, kind, name, code in rows
            if path != unit.path and path.count("/") == unit.path.count("/") + 1
        ),
        key=lambda child: child.path,
    )
    tops = Unit.objects.own().filter(parent__isnull=True).exclude(pk=unit.pk)
    everything = unit.parent_id is None and not tops.exists()
    child_ids: dict[int, list[int]] = {child.pk: [] for child in children}
    row_of: dict[int, int] = {}
    for pk, path, *_ in rows:
        row_of[pk] = unit.pk
        for child in children:
            if path.startswith(child.path):
                child_ids[child.pk].append(pk)
                row_of[pk] = child.pk
                break
    return Scope(
        unit=unit,
        ids=tuple(pk for pk, *_ in rows),
        children=tuple(children),
        child_ids={key: tuple(ids) for key, ids in child_ids.items()},
        today=today or timezone.localdate(),
        row_of=row_of,
        everything=everything,
    )


def dashboard_unit(viewer: Viewer, code: str | None) -> Unit:
    """The unit whose dashboard is asked for: the viewer's own, or one of its subtree (404 for
    anything else, and for anyone without `supervision.view`)."""
    if not viewer.can("supervision.view") or viewer.unit is None:
        raise Http404
    if not code:
        return viewer.unit
    unit = Unit.objects.visible_to(viewer, "supervision.view").administrative().filter(code=code).first()
    if unit is None:
        raise Http404
    return unit


def staffing_unit(viewer: Viewer, code: str | None) -> Unit:
    """The unit whose pending work nobody can do is asked for (`staffing.view`: supervisors and
    administrators): the viewer's own, or one of its subtree; 404 for anything else."""
    if not viewer.can("staffing.view") or viewer.unit is None:
        raise Http404
    if not code:
        return viewer.unit
    unit = Unit.objects.visible_to(viewer, "staffing.view").administrative().filter(code=code).first()
    if unit is None:
        raise Http404
    return unit


def unit_choices(viewer: Viewer) -> list[Unit]:
    """The units a supervisor may drill down to (the own subtree, centres left out)."""
    units = Unit.objects.visible_to(viewer, "supervision.view").administrative()
    return list(units.only("pk", "code", "name", "path", "kind").order_by("path"))


def _responsible(ids: Sequence[int]) -> Q:
    """The responsible unit: the review unit while in review, the acceptance unit otherwise."""
    return Q(status__in=REVIEW_STATUSES, review_unit_id__in=ids) | (
        ~Q(status__in=REVIEW_STATUSES) & Q(acceptance_unit_id__in=ids)
    )


def _responsible_unit() -> Case:
    """The responsible unit's id as a column (one CASE on the status, not on unit lists)."""
    return Case(
        When(status__in=REVIEW_STATUSES, then=F("review_unit_id")),
        default=F("acceptance_unit_id"),
        output_field=IntegerField(),
    )


def _in_scope(scope: Scope, column: str) -> Q:
    """The subtree filter; none for a top unit, which sees everything."""
    return Q() if scope.everything else Q(**{f"{column}__in": scope.ids})


def window_start(today: datetime.date) -> datetime.date:
    """First day of the series: the Monday of the oldest of the last WEEKS weeks (which also
    covers the DAILY_DAYS days)."""
    monday = today - datetime.timedelta(days=today.weekday())
    return min(monday - datetime.timedelta(weeks=WEEKS - 1), today - datetime.timedelta(days=DAILY_DAYS - 1))


# ---------------------------------------------------------------------------------------------
# Metrics: grouped in SQL by the raw unit id, folded into the rows here (`Scope.row_of`).


@dataclass(frozen=True)
class Counts:
    """Counts per (row, day): `by[row][day]`."""

    by: dict[int, dict[datetime.date, int]]

    def total(self, day: datetime.date) -> int:
        return sum(days.get(day, 0) for days in self.by.values())

    def between(self, start: datetime.date, end: datetime.date, key: int | None = None) -> int:
        """From `start` to `end`, both included: of one row, or of all with no key."""
        rows = self.by.values() if key is None else [self.by.get(key, {})]
        return sum(n for days in rows for day, n in days.items() if start <= day <= end)


def series(scope: Scope) -> dict[str, Counts]:
    """受理, 签发, 不予签发 and 发放 per row and day over the window (by acceptance, household,
    household and acceptance unit): the days that are over from the rollup (filled on demand,
    `tongban.supervision.rollup`), yesterday and today counted live."""
    first = window_start(scope.today)
    end = scope.today + datetime.timedelta(days=1)
    live_from = max(first, rollup.first_live_day(scope.today))
    by: dict[str, dict[int, dict[datetime.date, int]]] = {metric: defaultdict(dict) for metric in Metric}

    def add(metric: str, unit: int, day: datetime.date, n: int) -> None:
        key = scope.row_of.get(unit)
        if key is not None:
            days = by[metric][key]
            days[day] = days.get(day, 0) + n

    if live_from > first:
        rollup.ensure(first, live_from)
        for metric, unit, day, n in rollup.rolled_counts(
            first, live_from, None if scope.everything else scope.ids
        ):
            add(metric, unit, day, n)
    for metric, (rows, column, unit_column) in rollup.series_sources().items():
        for unit, day, n in rollup.grouped(
            rows.filter(_in_scope(scope, unit_column)), column, unit_column, live_from, end
        ):
            add(metric, unit, day, n)
    return {metric: Counts(dict(days)) for metric, days in by.items()}


def refusal_reasons(scope: Scope, *, days: int = DAILY_DAYS) -> list[tuple[str, int]]:
    """The refusals of the last `days` days by coded reason (不予签发原因), by household unit:
    (the reason's name, count), most frequent first; the remarks are not grouped on."""
    start = day_start(scope.today - datetime.timedelta(days=days - 1))
    end = day_start(scope.today + datetime.timedelta(days=1))
    grouped = (
        Application.objects.filter(
            _in_scope(scope, "household_unit_id"),
            status=Status.REJECTED,
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .order_by()
        .values("refusal_code", "refusal_code__name")
        .annotate(n=Count("*"))
        .order_by("-n", "refusal_code")
        .values_list("refusal_code__name", "n")[:TOP_REASONS]
    )
    return [(name or "（未分类）", n) for name, n in grouped]


@dataclass(frozen=True)
class Progress:
    """Applications in progress per row and status, and how many of them are stuck."""

    counts: dict[int, dict[str, int]]
    stuck: dict[int, dict[str, int]]
    cutoff: datetime.datetime


def stuck_cutoff(today: datetime.date, workdays: int | None = None) -> datetime.datetime:
    """Stuck: the last 办理记录 entry is more than `workdays` working days old, i.e. on or before
    the last day from which more than `workdays` working days have passed until today."""
    workdays = settings.STUCK_WORKDAYS if workdays is None else workdays
    calendar = work_calendar(today - datetime.timedelta(days=3 * workdays + 40), today)
    day = today
    while calendar.workdays_between(day, today) <= workdays:
        day -= datetime.timedelta(days=1)
    return day_start(day + datetime.timedelta(days=1))


def progress(scope: Scope, *, workdays: int | None = None) -> Progress:
    """在办: per responsible unit and status; stuck ones counted in the same query."""
    cutoff = stuck_cutoff(scope.today, workdays)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    stuck: dict[int, dict[str, int]] = defaultdict(dict)
    rows = Application.objects.filter(status__in=PROGRESS_STATUSES)
    if not scope.everything:
        rows = rows.filter(_responsible(scope.ids))
    query = (
        rows.annotate(unit=_responsible_unit())
        .order_by()
        .values("unit", "status")
        .annotate(
            n=Count("*"),
            stuck=Count("status", filter=Q(status__in=STUCK_STATUSES, last_event_at__lt=cutoff)),
        )
        .values_list("unit", "status", "n", "stuck")
    )
    for unit, status, n, quiet in query:
        key = scope.row_of.get(unit)
        if key is None:
            continue
        counts[key][status] = counts[key].get(status, 0) + n
        if quiet:
            stuck[key][status] = stuck[key].get(status, 0) + quiet
    return Progress(dict(counts), dict(stuck), cutoff)


@dataclass(frozen=True)
class Deadlines:
    pending: int
    due_today: int
    overdue: int


def review_deadlines(scope: Scope) -> dict[int, Deadlines]:
    """审核期限 per review unit: in review, due today, overdue (due before today)."""
    query = (
        Application.objects.filter(_in_scope(scope, "review_unit_id"), status__in=REVIEW_STATUSES)
        .order_by()
        .values("review_unit_id")
        .annotate(
            n=Count("*"),
            today=Count("review_due", filter=Q(review_due=scope.today)),
            late=Count("review_due", filter=Q(review_due__lt=scope.today)),
        )
        .values_list("review_unit_id", "n", "today", "late")
    )
    result: dict[int, Deadlines] = {}
    for unit, n, today, late in query:
        key = scope.row_of.get(unit)
        if key is not None:
            d = result.get(key, Deadlines(0, 0, 0))
            result[key] = Deadlines(d.pending + n, d.due_today + today, d.overdue + late)
    return result


@dataclass(frozen=True)
class VerificationCounts:
    due: int
    overdue: int


def verifications(scope: Scope) -> dict[int, VerificationCounts]:
    """核验 owed after proxy or postal handovers, by acceptance unit: still due, and overdue
    (`verified_at` empty and `due` before today)."""
    query = (
        Verification.objects.filter(
            _in_scope(scope, "application__acceptance_unit_id"), verified_at__isnull=True
        )
        .order_by()
        .values("application__acceptance_unit_id")
        .annotate(n=Count("*"), late=Count("due", filter=Q(due__lt=scope.today)))
        .values_list("application__acceptance_unit_id", "n", "late")
    )
    result: dict[int, VerificationCounts] = {}
    for unit, n, late in query:
        key = scope.row_of.get(unit)
        if key is not None:
            v = result.get(key, VerificationCounts(0, 0))
            result[key] = VerificationCounts(v.due + n - late, v.overdue + late)
    return result


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """As percentile_cont: linear interpolation between the closest ranks of sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Times:
    """Days from acceptance to the event: how many, median and 90th percentile."""

    n: int
    median: float | None
    p90: float | None


NO_TIMES = Times(0, None, None)
DAY_SECONDS = 86400.0


def _times(
    rows: QuerySet[Any, Any], scope: Scope, start: str, end: str, unit_column: str
) -> tuple[dict[int, Times], Times]:
    """Per row and for the whole subtree (the 合计's percentiles are not a sum of the rows')."""
    since = day_start(scope.today - datetime.timedelta(days=DAILY_DAYS - 1))
    until = day_start(scope.today + datetime.timedelta(days=1))
    window = {f"{end}__gte": since, f"{end}__lt": until, f"{start}__isnull": False}
    rows = rows.filter(_in_scope(scope, unit_column), **window)
    if connection.vendor == "postgresql":
        return _times_postgresql(rows, scope, start, end, unit_column)
    # SQLite (the small embedded case): the same rows, the percentile computed here.
    spans: dict[int, list[float]] = defaultdict(list)
    every: list[float] = []
    for unit, began, ended in rows.values_list(unit_column, start, end):
        key = scope.row_of.get(unit)
        if key is not None:
            span = (ended - began).total_seconds() / DAY_SECONDS
            spans[key].append(span)
            every.append(span)
    per_row = {key: _spread(values) for key, values in spans.items()}
    return per_row, _spread(every)


def _spread(values: Sequence[float]) -> Times:
    return Times(len(values), percentile(values, 0.5), percentile(values, 0.9))


def _times_postgresql(
    rows: QuerySet[Any, Any], scope: Scope, start: str, end: str, unit_column: str
) -> tuple[dict[int, Times], Times]:
    """One statement: the window's rows with their row key looked up in an array indexed by
    unit id (units outside the subtree get none and are left out), percentile_cont per key and
    over all of them (GROUPING SETS)."""
    inner = rows.order_by().annotate(span=EpochSeconds(F(end) - F(start))).values_list(unit_column, "span")
    inner_sql, inner_params = inner.query.sql_with_params()
    size = max(scope.row_of, default=0)
    lookup: list[int | None] = [None] * size
    for unit, key in scope.row_of.items():
        lookup[unit - 1] = key
    sql = (
        "SELECT GROUPING(w.key), w.key, count(*),"  # noqa: S608
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY w.span),"
        " percentile_cont(0.9) WITHIN GROUP (ORDER BY w.span)"
        f" FROM (SELECT (%s::int[])[t.unit] AS key, t.span FROM ({inner_sql}) t(unit, span)) w"
        " WHERE w.key IS NOT NULL GROUP BY GROUPING SETS ((w.key), ())"
    )
    per_row: dict[int, Times] = {}
    whole = NO_TIMES
    with connection.cursor() as cursor:
        cursor.execute(sql, [lookup, *inner_params])
        for overall, key, n, p50, p90 in cursor.fetchall():
            times = Times(n, _in_days(p50), _in_days(p90))
            if overall:
                whole = times
            else:
                per_row[key] = times
    return per_row, whole


def _in_days(seconds: float | None) -> float | None:
    return seconds / DAY_SECONDS if seconds is not None else None


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


def issue_times(scope: Scope) -> tuple[dict[int, Times], Times]:
    """受理 → 签发 of the applications issued in the last 30 days, by household unit."""
    return _times(Application.objects.all(), scope, "accepted_at", "issued_at", "household_unit_id")


def handover_times(scope: Scope) -> tuple[dict[int, Times], Times]:
    """受理 → 发放 of the cards handed over in the last 30 days, by acceptance unit."""
    return _times(
        Handover.objects.all(), scope, "application__accepted_at", "at", "application__acceptance_unit_id"
    )


# ---------------------------------------------------------------------------------------------
# Pending work nobody can do (无人办理): units holding work where no active account can do it


@dataclass(frozen=True)
class Work:
    """A kind of pending work, where it waits and who can do it (tongban/accounts/staffing.py)."""

    key: str
    label: str
    need: staffing.Need


UNSTAFFED_WORK: tuple[Work, ...] = (
    Work("review", "待审核签发", staffing.REVIEW),  # at the review unit
    Work("receive", "待签收证件", staffing.RECEIVE),  # cards of shipments in transit to the unit
    Work("forward", "待质检转发", staffing.FORWARD),  # cards a county bureau received, not forwarded
    Work("handover", "待领取", staffing.HANDOVER),  # at the acceptance unit
    Work("verify", "待核验", staffing.VERIFY),  # acceptance or household unit may verify
    Work("recollect", "待重新采集相片", staffing.COUNTER),  # at the acceptance station
    Work("refusal", "不予签发待告知", staffing.COUNTER),  # at the acceptance station
    Work("produce", "待制证", staffing.PRODUCE),  # issued or in a batch, at the routed centre
    Work("ship", "待分发", staffing.SHIP),  # produced, at the routed centre
)
WORK_BY_KEY = {work.key: work for work in UNSTAFFED_WORK}
_ACCEPTANCE_WORK: dict[str, str] = {
    Status.AT_SITE: "handover",
    Status.RECOLLECT: "recollect",
    Status.REJECTED: "refusal",
}
_CENTRE_WORK: dict[str, str] = {
    Status.ISSUED: "produce",
    Status.IN_PRODUCTION: "produce",
    Status.PRODUCED: "ship",
}


@dataclass
class UnstaffedUnit:
    """A unit holding work nobody there can do: the count per work key, and since when the
    oldest item waits (arrival in review, the last 办理记录 entry, or the shipment's dispatch)."""

    unit: Unit
    counts: dict[str, int] = field(default_factory=dict)
    oldest: datetime.datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def missing(self) -> str:
        """Who is missing, e.g. 本单位或上级单位的审核签发员；本单位的受理员或分发发放员."""
        return "；".join(dict.fromkeys(WORK_BY_KEY[key].need.who for key in self.counts))


def unstaffed(scope: Scope) -> list[UnstaffedUnit]:
    """The units of the scope's subtree (production centres included) with pending work no active
    account can do, in unit order. Each kind of work is one grouped query; who can work where is
    one more (`staffing.Staffing`), the units found one more."""
    found: list[tuple[int, str, int, datetime.datetime | None]] = []
    review = (
        Application.objects.filter(_in_scope(scope, "review_unit_id"), status__in=REVIEW_STATUSES)
        .order_by()
        .values("review_unit_id")
        .annotate(n=Count("*"), at=Min("review_arrived_at"))
        .values_list("review_unit_id", "n", "at")
    )
    found += [(unit, "review", n, at) for unit, n, at in review if unit is not None]
    counter = (
        Application.objects.filter(_in_scope(scope, "acceptance_unit_id"))
        .filter(
            Q(status__in=[Status.AT_SITE, Status.RECOLLECT])
            | Q(status=Status.REJECTED, refusal_notified_at__isnull=True)
        )
        .order_by()
        .values("acceptance_unit_id", "status")
        .annotate(n=Count("*"), at=Min("last_event_at"))
        .values_list("acceptance_unit_id", "status", "n", "at")
    )
    found += [(unit, _ACCEPTANCE_WORK[status], n, at) for unit, status, n, at in counter]
    verify = list(
        Application.objects.filter(_in_scope(scope, "acceptance_unit_id"), status=Status.PENDING_VERIFICATION)
        .order_by()
        .values("acceptance_unit_id", "household_unit_id")
        .annotate(n=Count("*"), at=Min("last_event_at"))
        .values_list("acceptance_unit_id", "household_unit_id", "n", "at")
    )
    destination = {} if scope.everything else {"shipment__destination_id__in": scope.ids}
    incoming = Q(
        shipment__state=Shipment.State.IN_TRANSIT,
        shipment__destination__isnull=False,
        outcome=ShipmentItem.Outcome.PENDING,
    )
    waiting = Q(
        shipment__method=Shipment.Method.COUNTY,
        outcome=ShipmentItem.Outcome.RECEIVED,
        forwarded_at=None,
        application__status=Status.SHIPPED,
    )
    shipments = (
        ShipmentItem.objects.filter(incoming | waiting, **destination)
        .order_by()
        .values("shipment__destination_id")
        .annotate(
            receive=Count("pk", filter=incoming),
            receive_at=Min("shipment__created_at", filter=incoming),
            forward=Count("pk", filter=waiting),
            forward_at=Min("shipment__received_at", filter=waiting),
        )
        .values_list("shipment__destination_id", "receive", "receive_at", "forward", "forward_at")
    )
    for unit, receive, receive_at, forward, forward_at in shipments:
        if receive:
            found.append((unit, "receive", receive, receive_at))
        if forward:
            found.append((unit, "forward", forward, forward_at))
    found += _centre_work(scope)

    units = {  # another province's stand-in (外省公安机关) holds no work of ours
        unit.pk: unit
        for unit in Unit.objects.own()
        .filter(pk__in={row[0] for row in found} | {pk for row in verify for pk in row[:2] if pk is not None})
        .only("pk", "code", "name", "path", "kind")
    }
    seen = staffing.Staffing()
    result: dict[int, UnstaffedUnit] = {}

    def add(unit: Unit, key: str, n: int, at: datetime.datetime | None) -> None:
        row = result.setdefault(unit.pk, UnstaffedUnit(unit))
        row.counts[key] = row.counts.get(key, 0) + n
        if at is not None and (row.oldest is None or at < row.oldest):
            row.oldest = at

    for unit_id, key, n, at in found:
        holder = units.get(unit_id)
        if holder is not None and not seen.can_work(holder.path, WORK_BY_KEY[key].need):
            add(holder, key, n, at)
    for acceptance_id, household_id, n, at in verify:
        # Verified at the acceptance or the household police: stuck only where neither can.
        acceptance, household = units.get(acceptance_id), units.get(household_id or 0)
        if acceptance is None or seen.can_work(acceptance.path, staffing.VERIFY):
            continue
        if household is not None and seen.can_work(household.path, staffing.VERIFY):
            continue
        add(acceptance, "verify", n, at)
    return sorted(result.values(), key=lambda row: row.unit.path)


def _centre_work(scope: Scope) -> list[tuple[int, str, int, datetime.datetime | None]]:
    """The production queue and the produced cards of each centre in the subtree: applications
    grouped by acceptance station, routed to their centre by the longest prefix."""
    routes = list(ProductionRoute.objects.values_list("region_prefix", "centre_id", "centre__path"))
    centre_of = {prefix: centre for prefix, centre, _ in routes}
    centres = {centre for _, centre, path in routes if path.startswith(scope.unit.path)}
    if not centres:
        return []
    rows = (
        Application.objects.filter(status__in=list(_CENTRE_WORK))
        .order_by()
        .values("acceptance_unit__code", "status")
        .annotate(n=Count("*"), at=Min("last_event_at"))
        .values_list("acceptance_unit__code", "status", "n", "at")
    )
    found = []
    for code, status, n, at in rows:
        centre = longest_prefix(code, centre_of)
        if centre in centres:
            found.append((centre, _CENTRE_WORK[status], n, at))
    return found


def unstaffed_table(rows: Sequence[UnstaffedUnit]) -> Table:
    """The table of the dashboard, its Excel sheet, the page and the API."""
    body: list[list[Cell]] = [
        [
            row.unit.name,
            row.unit.code,
            *(row.counts.get(work.key, 0) for work in UNSTAFFED_WORK),
            row.total,
            timezone.localtime(row.oldest).date() if row.oldest is not None else None,
            row.missing,
        ]
        for row in rows
    ]
    sums = [_column_sum(body, column) for column in range(2, len(UNSTAFFED_WORK) + 3)]
    body.append([TOTAL, None, *sums, None, None])
    return Table(
        "unstaffed",
        "待办无人办理的单位",
        ["单位", "机构代码", *(work.label for work in UNSTAFFED_WORK), "合计", "最早一件自", "缺少的人员"],
        body,
        chart={"kind": "stack", "columns": list(range(2, len(UNSTAFFED_WORK) + 2))},
        note=(
            "单位有待办，但没有可办理的在岗账号：审核签发、发放、核验须本单位或上级单位持相应权限的账号，"
            "签收、质检转发、受理窗口事项须本单位的账号，制证、分发须制证中心的账号。请开通账号或调整配置。"
        ),
    )


# ---------------------------------------------------------------------------------------------
# The dashboard: every metric once, as tables


@dataclass
class Table:
    """One chart's data: the table view, the Excel sheet and the API all show these rows.
    `chart` says how the page draws it: kind (line, bar, stack, pie), the columns drawn."""

    key: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    chart: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class Dashboard:
    unit: Unit
    today: datetime.date
    kpis: dict[str, Cell]
    tables: list[Table]
    stuck_cutoff: datetime.datetime
    children: tuple[Unit, ...] = ()

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def _column_sum(rows: Sequence[Sequence[Cell]], column: int) -> int:
    """The 合计 of a count column (rates are recomputed, never summed)."""
    return sum(int(cast("int", row[column]) or 0) for row in rows)


def _rate(refused: int, issued: int) -> float | None:
    decided = refused + issued
    return round(100 * refused / decided, 1) if decided else None


def _days(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _dates(start: datetime.date, end: datetime.date) -> Iterable[datetime.date]:
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


# The daily flows, in the order of the tables' columns: 受理, 签发, 不予签发, 发放.
FLOWS = (Metric.ACCEPTED, Metric.ISSUED, Metric.REFUSED, Metric.HANDED)


@dataclass(frozen=True)
class Figures:
    """Every metric of a subtree, measured once. A figure is asked for by name, for one row
    (`key`: a child unit, or the unit itself for 本级) or, with no key, for the whole subtree: the
    tables' rows, their 合计 and the headline figures all read these, never each other's cells."""

    scope: Scope
    series: dict[str, Counts]
    reasons: list[tuple[str, int]]
    work: Progress
    deadlines: dict[int, Deadlines]
    owed: dict[int, VerificationCounts]
    to_issue: tuple[dict[int, Times], Times]
    to_hand: tuple[dict[int, Times], Times]
    unstaffed: list[UnstaffedUnit]
    workdays: int  # quiet for more than these working days: stuck

    @property
    def today(self) -> datetime.date:
        return self.scope.today

    @property
    def recent(self) -> datetime.date:
        """The first of the last DAILY_DAYS days."""
        return self.today - datetime.timedelta(days=DAILY_DAYS - 1)

    @property
    def monday(self) -> datetime.date:
        return self.today - datetime.timedelta(days=self.today.weekday())

    def _keys(self, key: int | None) -> list[int]:
        return [row for row, _ in self.scope.labels] if key is None else [key]

    def count(self, metric: str, start: datetime.date, end: datetime.date, key: int | None = None) -> int:
        """受理, 签发, 不予签发 or 发放 (a `Metric`) from `start` to `end`, both included."""
        return self.series[metric].between(start, end, key)

    def in_progress(self, key: int | None = None, status: str | None = None) -> int:
        """在办, in one status or in all."""
        return _in_status(self.work.counts, self._keys(key), status)

    def stuck(self, key: int | None = None, status: str | None = None) -> int:
        """滞留件, in one status or in all."""
        return _in_status(self.work.stuck, self._keys(key), status)

    def review(self, key: int | None = None) -> Deadlines:
        """审核期限: in review, due today, overdue."""
        found = [self.deadlines.get(row, Deadlines(0, 0, 0)) for row in self._keys(key)]
        return Deadlines(
            sum(d.pending for d in found), sum(d.due_today for d in found), sum(d.overdue for d in found)
        )

    def verifications(self, key: int | None = None) -> VerificationCounts:
        """核验 owed: still due, overdue."""
        found = [self.owed.get(row, VerificationCounts(0, 0)) for row in self._keys(key)]
        return VerificationCounts(sum(v.due for v in found), sum(v.overdue for v in found))

    def issue_times(self, key: int | None = None) -> Times:
        """受理 → 签发 (the whole subtree's percentiles are its own, not a sum of the rows')."""
        per_row, whole = self.to_issue
        return whole if key is None else per_row.get(key, NO_TIMES)

    def handover_times(self, key: int | None = None) -> Times:
        """受理 → 发放."""
        per_row, whole = self.to_hand
        return whole if key is None else per_row.get(key, NO_TIMES)


def _in_status(counts: dict[int, dict[str, int]], keys: Iterable[int], status: str | None) -> int:
    return sum(n for key in keys for s, n in counts.get(key, {}).items() if status in (None, s))


def figures(scope: Scope, *, workdays: int | None = None) -> Figures:
    """Every metric of the scope's subtree (the caller has checked the viewer may see it)."""
    return Figures(
        scope=scope,
        series=series(scope),
        reasons=refusal_reasons(scope),
        work=progress(scope, workdays=workdays),
        deadlines=review_deadlines(scope),
        owed=verifications(scope),
        to_issue=issue_times(scope),
        to_hand=handover_times(scope),
        unstaffed=unstaffed(scope),
        workdays=settings.STUCK_WORKDAYS if workdays is None else workdays,
    )


def kpis(f: Figures) -> dict[str, Cell]:
    """The headline figures (`KPI_LABELS` names them)."""
    return {
        "accepted_today": f.count(Metric.ACCEPTED, f.today, f.today),
        "accepted_week": f.count(Metric.ACCEPTED, f.monday, f.today),
        "issued_week": f.count(Metric.ISSUED, f.monday, f.today),
        "handed_week": f.count(Metric.HANDED, f.monday, f.today),
        "in_progress": f.in_progress(),
        "review_overdue": f.review().overdue,
        "stuck": f.stuck(),
        "verifications_overdue": f.verifications().overdue,
        "refusal_rate": _rate(
            f.count(Metric.REFUSED, f.recent, f.today), f.count(Metric.ISSUED, f.recent, f.today)
        ),
        "handover_median": _days(f.handover_times().median),
        "unstaffed_units": len(f.unstaffed),
    }


def _per_unit(
    f: Figures,
    row: Callable[[int | None], list[Cell]],
    attributed: Callable[[int], bool] | None = None,
) -> list[list[Cell]]:
    """A row per child unit; 本级 only where something is attributed to the unit itself (any
    figure of its row, unless `attributed` says) or it has no children; then 合计, `row(None)`."""
    rows: list[list[Cell]] = []
    for key, name in f.scope.labels:
        cells = row(key)
        shown = attributed(key) if attributed is not None else any(cells)
        if key != f.scope.unit.pk or shown or not f.scope.children:
            rows.append([name, *cells])
    return [*rows, [TOTAL, *row(None)]]


def _stages_table(f: Figures) -> Table:
    def row(key: int | None) -> list[Cell]:
        return [*(f.in_progress(key, s) for s in PROGRESS_STATUSES), f.in_progress(key)]

    stages = [Status(s).label for s in PROGRESS_STATUSES]
    return Table(
        "stages",
        "在办申领（按环节）",
        ["单位", *stages, "合计"],
        _per_unit(f, row),
        chart={"kind": "stack", "columns": list(range(1, len(stages) + 1))},
        note="审核中的按当前办理单位统计，其余按受理单位统计。",
    )


def _daily_table(f: Figures) -> Table:
    return Table(
        "daily",
        f"每日受理、签发、发放（近{DAILY_DAYS}天）",
        ["日期", "受理", "签发", "不予签发", "发放"],
        [[day, *(f.series[m].total(day) for m in FLOWS)] for day in _dates(f.recent, f.today)],
        chart={"kind": "line", "columns": [1, 2, 3, 4]},
    )


def _weekly_table(f: Figures) -> Table:
    rows: list[list[Cell]] = []
    for back in range(WEEKS - 1, -1, -1):
        week = f.monday - datetime.timedelta(weeks=back)
        last = min(week + datetime.timedelta(days=6), f.today)
        a, i, r, h = (f.count(m, week, last) for m in FLOWS)
        rows.append([f"{week:%m-%d}至{last:%m-%d}", a, i, r, h, _rate(r, i)])
    return Table(
        "weekly",
        f"每周受理、签发、发放（近{WEEKS}周）",
        ["周", "受理", "签发", "不予签发", "发放", "不予签发率（%）"],
        rows,
        chart={"kind": "bar", "columns": [1, 2, 3, 4]},
    )


def _units_table(f: Figures) -> Table:
    def row(key: int | None) -> list[Cell]:
        a, i, r, h = (f.count(m, f.recent, f.today, key) for m in FLOWS)
        d, v = f.review(key), f.verifications(key)
        return [a, i, r, _rate(r, i), h, d.pending, d.overdue, f.stuck(key), v.overdue]

    return Table(
        "units",
        f"各单位情况（近{DAILY_DAYS}天）",
        [
            "单位",
            "受理",
            "签发",
            "不予签发",
            "不予签发率（%）",
            "发放",
            "待审核",
            "审核超期",
            "滞留件",
            "核验逾期",
        ],
        # Verifications still due count as attributed, though the table shows only the overdue.
        _per_unit(f, row, lambda key: any(row(key)) or bool(f.verifications(key).due)),
        chart={"kind": "bar", "columns": [1, 2, 5]},
        note="受理、发放按受理单位；签发、不予签发按户籍地；审核按当前办理单位统计。",
    )


def _review_table(f: Figures) -> Table:
    def row(key: int | None) -> list[Cell]:
        d = f.review(key)
        return [d.pending - d.due_today - d.overdue, d.due_today, d.overdue, d.pending]

    return Table(
        "review",
        "审核签发期限",
        ["单位", "未到期", "今日到期", "已超期", "待审核合计"],
        _per_unit(f, row),
        chart={"kind": "stack", "columns": [1, 2, 3]},
        note=f"审核签发期限为到达后 {settings.DEADLINES.review_days} 个工作日；按当前办理单位统计。",
    )


def _reasons_table(f: Figures) -> Table:
    refused = f.count(Metric.REFUSED, f.recent, f.today)
    reasons = list(f.reasons)
    listed = sum(n for _, n in reasons)
    if refused > listed:
        reasons.append(("其余原因", refused - listed))
    return Table(
        "reasons",
        f"不予签发原因（近{DAILY_DAYS}天）",
        ["原因", "件数", "占比（%）"],
        [[reason, n, round(100 * n / refused, 1) if refused else None] for reason, n in reasons],
        chart={"kind": "pie", "columns": [1]},
    )


def _times_table(f: Figures) -> Table:
    def row(key: int | None) -> list[Cell]:
        issue, hand = f.issue_times(key), f.handover_times(key)
        return [issue.n, _days(issue.median), _days(issue.p90), hand.n, _days(hand.median), _days(hand.p90)]

    return Table(
        "times",
        f"办理时长（天，近{DAILY_DAYS}天办结）",
        [
            "单位",
            "签发件数",
            "受理至签发 中位数",
            "受理至签发 P90",
            "发放件数",
            "受理至发放 中位数",
            "受理至发放 P90",
        ],
        _per_unit(f, row),
        chart={"kind": "bar", "columns": [2, 3, 5, 6]},
        note="自然日；签发按户籍地、发放按受理单位统计。",
    )


def _verifications_table(f: Figures) -> Table:
    def row(key: int | None) -> list[Cell]:
        v = f.verifications(key)
        return [v.due, v.overdue]

    return Table(
        "verifications",
        "代领、邮寄后核验",
        ["单位", "待核验（未逾期）", "已逾期"],
        _per_unit(f, row),
        chart={"kind": "stack", "columns": [1, 2]},
        note=f"申请人须在 {settings.DEADLINES.post_verification_days} 个工作日内核验；按受理单位统计。",
    )


def _stuck_table(f: Figures) -> Table:
    def row(key: int | None) -> list[Cell]:
        return [*(f.stuck(key, s) for s in STUCK_STATUSES), f.stuck(key)]

    return Table(
        "stuck",
        "滞留件（按环节）",
        ["单位", *(Status(s).label for s in STUCK_STATUSES), "合计"],
        _per_unit(f, row),
        chart={"kind": "stack", "columns": list(range(1, len(STUCK_STATUSES) + 1))},
        note=f"超过 {f.workdays} 个工作日无办理记录的在办申领；审核中的按当前办理单位，其余按受理单位统计。",
    )


def dashboard(unit: Unit, *, today: datetime.date | None = None, workdays: int | None = None) -> Dashboard:
    """Every metric of `unit`'s subtree (the caller has checked the viewer may see it)."""
    scope = scope_for(unit, today=today)
    f = figures(scope, workdays=workdays)
    tables = [
        _stages_table(f),
        _daily_table(f),
        _weekly_table(f),
        _units_table(f),
        _review_table(f),
        _reasons_table(f),
        _times_table(f),
        _verifications_table(f),
        _stuck_table(f),
        unstaffed_table(f.unstaffed),
        appointments_table(f.scope),
    ]
    return Dashboard(
        unit=unit,
        today=scope.today,
        kpis=kpis(f),
        tables=tables,
        stuck_cutoff=f.work.cutoff,
        children=scope.children,
    )


# 网上预约: the bookings of the last 30 days and those ahead, per station, by state.
APPOINTMENT_PAST_DAYS = 30
APPOINTMENT_AHEAD_DAYS = 90


def appointments_table(scope: Scope) -> Table:
    """预约 per child unit: booked (still to come), arrived (served), no-show and cancelled, from
    appointments' own selector in one query; 到场率 over those whose half-day has passed."""
    first = scope.today - datetime.timedelta(days=APPOINTMENT_PAST_DAYS - 1)
    last = scope.today + datetime.timedelta(days=APPOINTMENT_AHEAD_DAYS)
    counts = appointments.counts_by_station(None if scope.everything else scope.ids, first, last)
    states = ("booked", "arrived", "no_show", "cancelled")
    by_row: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(states, 0))
    for station_id, per_state in counts.items():
        key = scope.row_of.get(station_id)
        if key is not None:
            for state in states:
                by_row[key][state] += per_state.get(state, 0)

    def row(key: int | None) -> list[Cell]:
        rows = [by_row[key]] if key is not None else list(by_row.values())
        n = {state: sum(r[state] for r in rows) for state in states}
        attended = n["arrived"] + n["no_show"]
        rate = round(100 * n["arrived"] / attended, 1) if attended else None
        return [
            n["booked"] + n["arrived"] + n["no_show"],
            n["arrived"],
            n["no_show"],
            n["booked"],
            n["cancelled"],
            rate,
        ]

    body: list[list[Cell]] = []
    for key, name in scope.labels:
        cells = row(key)
        if key != scope.unit.pk or any(cells[:5]) or not scope.children:
            body.append([name, *cells])
    body.append([TOTAL, *row(None)])
    return Table(
        "appointments",
        "网上预约",
        ["单位", "预约", "已到场", "未到场", "待到场", "已取消", "到场率（%）"],
        body,
        chart={"kind": "stack", "columns": [2, 3, 4]},
        note=(
            f"预约日期在近{APPOINTMENT_PAST_DAYS}天及今后{APPOINTMENT_AHEAD_DAYS}天内的网上预约，按受理单位统计；"
            "“预约”不含已取消，到场率按已过时段的预约计算。"
        ),
    )


KPI_LABELS: dict[str, str] = {
    "accepted_today": "今日受理",
    "accepted_week": "本周受理",
    "issued_week": "本周签发",
    "handed_week": "本周发放",
    "in_progress": "在办申领",
    "review_overdue": "审核超期",
    "stuck": "滞留件",
    "verifications_overdue": "核验逾期",
    "refusal_rate": "不予签发率（近30天，%）",
    "handover_median": "受理至发放中位数（天）",
    "unstaffed_units": "待办无人办理的单位",
}


# ---------------------------------------------------------------------------------------------
# Stuck items (滞留件)


STUCK_VIEWS = {"stuck": "滞留件", "urged": "已督办待办理"}


def _last_supervision() -> Subquery:
    return Subquery(
        ApplicationEvent.objects.filter(application=OuterRef("pk"), action=SUPERVISED)
        .order_by("-pk")
        .values("pk")[:1]
    )


def stuck_queryset(
    scope: Scope,
    *,
    view: str = "stuck",
    status: str = "",
    unit: Unit | None = None,
    workdays: int | None = None,
) -> QuerySet[Application]:
    """stuck: quiet for more than `workdays` working days; urged: the last 办理记录 entry is a 督办
    (nobody has acted since). Filtered by stage and by a unit of the subtree (responsible unit)."""
    ids = tuple(Unit.objects.subtree_ids(unit)) if unit is not None else scope.ids
    rows = Application.objects.filter(_responsible(ids), status__in=STUCK_STATUSES)
    if status:
        rows = rows.filter(status=status)
    if view == "urged":
        rows = rows.filter(
            Exists(
                ApplicationEvent.objects.filter(
                    application=OuterRef("pk"), action=SUPERVISED, at=OuterRef("last_event_at")
                )
            )
        )
    else:
        rows = rows.filter(last_event_at__lt=stuck_cutoff(scope.today, workdays))
    return rows


def stuck_page(
    scope: Scope,
    *,
    view: str = "stuck",
    status: str = "",
    unit: Unit | None = None,
    workdays: int | None = None,
    after: str | None = None,
    limit: int = PAGE,
) -> Page[Application, str]:
    """Oldest quiet first (keyset on last_event_at, id: "<ISO time>|<id>"); a cursor that does not
    read is the first page."""
    rows = stuck_queryset(scope, view=view, status=status, unit=unit, workdays=workdays)
    position = None
    if after:
        at_text, _, pk_text = after.rpartition("|")
        try:
            at = datetime.datetime.fromisoformat(at_text)
            pk = int(pk_text)
        except ValueError:
            at, pk = None, 0
        if at is not None and timezone.is_aware(at):
            position = (at, pk)
    rows = rows.select_related("acceptance_unit", "review_unit", "household_unit").annotate(
        supervision_id=_last_supervision(),
        # No 督办 yet: no group, so the subquery is NULL; the count is 0.
        supervisions=Coalesce(
            Subquery(
                ApplicationEvent.objects.filter(application=OuterRef("pk"), action=SUPERVISED)
                .order_by()
                .values("application")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
    )
    page: Page[Application, str] = page_after(
        rows, ["last_event_at", "pk"], position, limit=limit, cursor=_stuck_cursor
    )
    events = {
        event.pk: event
        for event in ApplicationEvent.objects.filter(
            pk__in=[
                getattr(row, "supervision_id", None)
                for row in page.rows
                if getattr(row, "supervision_id", None)
            ]
        ).select_related("actor", "unit")
    }
    for row in page.rows:
        row.last_supervision = events.get(getattr(row, "supervision_id", None) or 0)  # type: ignore[attr-defined]
        row.responsible_unit = row.review_unit if row.status in REVIEW_STATUSES else row.acceptance_unit  # type: ignore[attr-defined]
    return page


def _stuck_cursor(row: Application) -> str | None:
    return f"{row.last_event_at.isoformat()}|{row.pk}" if row.last_event_at else None


def responsible_unit(application: Application) -> Unit | None:
    return application.review_unit if application.status in REVIEW_STATUSES else application.acceptance_unit


def stuck_get(viewer: Viewer, number: str) -> Application:
    """An unfinished application whose responsible unit is in the viewer's subtree (404 else)."""
    if not viewer.can("supervision.view") or viewer.unit is None:
        raise Http404
    ids = tuple(Unit.objects.subtree_ids(viewer.unit))
    application = (
        Application.objects.filter(_responsible(ids), number=number, status__in=STUCK_STATUSES)
        .select_related("acceptance_unit", "review_unit")
        .first()
    )
    if application is None:
        raise Http404
    return application


def supervision_events(application: Application) -> list[ApplicationEvent]:
    return list(application.events.filter(action=SUPERVISED).select_related("actor", "unit").order_by("-pk"))


def home_unstaffed(viewer: Viewer) -> list[UnstaffedUnit] | None:
    """For the home card of supervisors and administrators: the units of the own subtree with
    pending work nobody can do (None for those without `staffing.view`)."""
    if not viewer.can("staffing.view") or viewer.unit is None:
        return None
    return unstaffed(scope_for(viewer.unit))


def home_counts(viewer: Viewer) -> dict[str, int]:
    """For the supervisor's home card: overdue reviews and stuck items of the own subtree."""
    if not viewer.can("supervision.view") or viewer.unit is None:
        return {}
    today = timezone.localdate()
    ids = tuple(Unit.objects.subtree_ids(viewer.unit))
    overdue = Application.objects.filter(
        review_unit_id__in=ids, status__in=REVIEW_STATUSES, review_due__lt=today
    ).count()
    stuck = Application.objects.filter(
        _responsible(ids), status__in=STUCK_STATUSES, last_event_at__lt=stuck_cutoff(today)
    ).count()
    return {"review_overdue": overdue, "stuck": stuck}
