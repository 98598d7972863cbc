"""The rollup of the daily series (`DayCount`), filled on demand for days that are over.

Which days: those before yesterday (local), never today or yesterday, so that no transaction
still open around midnight can add to a rolled day; those two days are always counted live.

What stays exact, and why no model signal watches it: the counted values (`series_sources`) are
受理 `accepted_at` by acceptance unit, 签发 `issued_at` and 不予签发 `closed_at` of a 不予签发
application by household unit, 发放 `Handover.at` by the application's acceptance unit. The
services write each once, when it happens:

- `intake.services.application_start` sets both units when it creates the application (no time
  yet); `_accept_locked` stamps `accepted_at` with now;
- `review.services.review_issue` stamps `issued_at`, `review_refuse` `closed_at` with the move to
  不予签发, with now; 不予签发 is final (no `intake.transitions.Transition` leads on from it);
- the other `closed_at` writes (withdraw, abandon, handover, verification) and the status changes
  of production, distribution and `production.authority.correct_pending` (签发机关 put right,
  制证中 back to 已签发) are of statuses no metric counts;
- `Handover.at` is `auto_now_add`; a handover is never changed or deleted.

So no service writes a rolled day and none calls in here, and no model signal watches these
rows (receivers that kept the loaded values on every `Application` cost +7 % on every load,
bench/README.md). The tests parse the code for writes of these values and fail on a new one not
stamped with now. Who must forget:

- a write that sets, moves or clears a counted time, or changes the status or a unit of a row
  counted on a day that may be over (a correction, a repair by hand), calls `forget_days_of` with
  the row's counted times before and after (its handover's time too when the acceptance unit
  changes); no query unless one falls on a rolled day;
- bulk writes (COPY, `QuerySet.update`, the demo history generator, a restore) call `forget()`:
  `tongban.demo.history` does, and `tongban supervision rollup forget` does it by hand
  (`… rollup fill` rolls up ahead of time).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from tongban.handover.models import Handover
from tongban.intake.models import Application
from tongban.registry.calendar import day_start
from tongban.supervision.models import DayCount, RolledDay

Metric = DayCount.Metric


def series_sources() -> dict[str, tuple[QuerySet[Any, Any], str, str]]:
    """Per metric: the rows, their time column and the unit column they count for."""
    return {
        Metric.ACCEPTED: (Application.objects.all(), "accepted_at", "acceptance_unit_id"),
        Metric.ISSUED: (Application.objects.all(), "issued_at", "household_unit_id"),
        Metric.REFUSED: (
            Application.objects.filter(status=Application.Status.REJECTED),
            "closed_at",
            "household_unit_id",
        ),
        Metric.HANDED: (Handover.objects.all(), "at", "application__acceptance_unit_id"),
    }


def first_live_day(today: datetime.date) -> datetime.date:
    """Days before this one are rolled up; this one and later are counted live."""
    return min(today, timezone.localdate()) - datetime.timedelta(days=1)


def local_date(column: str) -> TruncDate:
    return TruncDate(column, tzinfo=timezone.get_current_timezone())


def _dates(start: datetime.date, end: datetime.date) -> Iterator[datetime.date]:
    day = start
    while day < end:
        yield day
        day += datetime.timedelta(days=1)


def grouped(
    rows: QuerySet[Any, Any], column: str, unit_column: str, start: datetime.date, end: datetime.date
) -> QuerySet[Any, Any]:
    """(unit, local day, count) of the rows whose `column` falls on a day in [start, end)."""
    return (
        rows.filter(**{f"{column}__gte": day_start(start), f"{column}__lt": day_start(end)})
        .annotate(day=local_date(column))
        .order_by()
        .values(unit_column, "day")
        .annotate(n=Count("*"))
        .values_list(unit_column, "day", "n")
    )


def ensure(start: datetime.date, end: datetime.date) -> int:
    """Roll up every day in [start, end) not yet rolled: one query when all are. Returns how many
    days were missing."""
    if start >= end:
        return 0
    have = set(RolledDay.objects.filter(day__gte=start, day__lt=end).values_list("day", flat=True))
    missing = [day for day in _dates(start, end) if day not in have]
    if missing:
        fill(missing)
    return len(missing)


def fill(days: Iterable[datetime.date]) -> None:
    """Count the given days (one INSERT … SELECT per metric over their span; a day already
    rolled in the span keeps its rows) and mark them rolled."""
    days = sorted(set(days))
    if not days:
        return
    start, end = days[0], days[-1] + datetime.timedelta(days=1)
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for metric, (rows, column, unit_column) in series_sources().items():
            sql, params = grouped(rows, column, unit_column, start, end).query.sql_with_params()
            cursor.execute(
                f"INSERT INTO {DayCount._meta.db_table} (metric, day, unit, n) "  # noqa: S608
                f"SELECT %s, t.{quote('day')}, t.{quote(unit_column)}, t.{quote('n')} FROM ({sql}) t "
                "WHERE true ON CONFLICT DO NOTHING",
                [metric, *params],
            )
        RolledDay.objects.bulk_create([RolledDay(day=day) for day in days], ignore_conflicts=True)


def forget(since: datetime.date | None = None, *, days: Iterable[datetime.date] = ()) -> None:
    """Drop the rollup of the given days, of every day from `since` on, or of all days."""
    markers, counts = RolledDay.objects.all(), DayCount.objects.all()
    chosen = list(days)
    if chosen:
        markers, counts = markers.filter(day__in=chosen), counts.filter(day__in=chosen)
    elif since is not None:
        markers, counts = markers.filter(day__gte=since), counts.filter(day__gte=since)
    with transaction.atomic():
        markers.delete()
        counts.delete()


def forget_days_of(*moments: datetime.datetime | None) -> None:
    """Forget the rolled days on which these moments fall, for a write that changes what is
    counted on them (see the module docstring); no query unless one falls before yesterday."""
    boundary = first_live_day(timezone.localdate())
    days = {
        day for moment in moments if moment is not None and (day := timezone.localdate(moment)) < boundary
    }
    if days:
        forget(days=days)


def rolled_counts(
    start: datetime.date, end: datetime.date, ids: tuple[int, ...] | None
) -> QuerySet[DayCount, tuple[str, int, datetime.date, int]]:
    """(metric, unit, day, n) of the rolled days in [start, end), of the given units (all when
    None)."""
    rows = DayCount.objects.filter(day__gte=start, day__lt=end)
    if ids is not None:
        rows = rows.filter(unit__in=ids)
    return rows.order_by().values_list("metric", "unit", "day", "n")
