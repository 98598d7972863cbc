"""The rollup of the daily series (`DayCount`), filled on demand for days that are over.

Which days: those before yesterday (local), never today or yesterday, so that no transaction
still open around midnight can add to a rolled day; those two days are always counted live.
What stays exact: 受理 `accepted_at`, 签发 `issued_at`, 不予签发 `closed_at` and 发放 `Handover.at`
are set once, to the moment they happen, and the units they are attributed to (acceptance and
household unit) are set when the application is created, so a day that is over never changes.
Writes that break this are caught:

- a row saved or deleted through the ORM whose time falls on a rolled day (`signals`) forgets
  that day, which the next dashboard rolls up again;
- bulk writes that bypass the ORM's signals (COPY, `QuerySet.update`, the demo history
  generator, a restore) must call `forget()`; `tongban.demo.history` does, and
  `tongban supervision rollup forget` does it by hand (`… rollup fill` rolls up ahead of time).
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


def ensure(start: datetime.date, end: datetime.date) -> None:
    """Roll up every day in [start, end) not yet rolled: one query when all are."""
    if start >= end:
        return
    have = set(RolledDay.objects.filter(day__gte=start, day__lt=end).values_list("day", flat=True))
    missing = [day for day in _dates(start, end) if day not in have]
    if missing:
        fill(missing)


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


def rolled_counts(
    start: datetime.date, end: datetime.date, ids: tuple[int, ...] | None
) -> QuerySet[DayCount, tuple[str, int, datetime.date, int]]:
    """(metric, unit, day, n) of the rolled days in [start, end), of the given units (all when
    None)."""
    rows = DayCount.objects.filter(day__gte=start, day__lt=end)
    if ids is not None:
        rows = rows.filter(unit__in=ids)
    return rows.order_by().values_list("metric", "unit", "day", "n")
