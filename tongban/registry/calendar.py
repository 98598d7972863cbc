"""Deadlines (办理期限) in working days over the holiday table (节假日安排: CalendarYear, CalendarDay).

The arithmetic is `tongban.core.workdays`; this module loads the part of the table a computation
needs. A deadline that reaches a year with no CalendarYear row counts that year's weekends only,
is marked provisional and logs a warning, and administrators see the missing year on their home
page (`missing_calendar_years`) until someone enters it.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongban.core.workdays import CalendarEntry, WorkCalendar
from tongban.registry.models import CalendarDay, CalendarYear

logger = logging.getLogger("tongban.calendar")

# Past the longest closure (Spring Festival: nine days, plus a weekend), so that a working day is
# always found inside a loaded span.
_MARGIN = datetime.timedelta(days=30)


@dataclass(frozen=True)
class Deadline:
    """`due` is the last working day of the limit: the item is overdue from the next day on.
    `provisional` when the count crossed a year without an entered arrangement (`missing_years`),
    where only weekends were known."""

    due: datetime.date
    provisional: bool
    missing_years: tuple[int, ...]


def day_start(day: datetime.date) -> datetime.datetime:
    """The first moment of a local day (TIME_ZONE, Asia/Shanghai), aware: `[day_start(d),
    day_start(d + 1 day))` selects what happened on day d, and uses the column's index."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def work_calendar(start: datetime.date, end: datetime.date) -> WorkCalendar:
    """The calendar from `start` to `end` in two queries; outside that span it knows weekends only.
    Queues classifying many items load one calendar over their span and ask it."""
    covered = CalendarYear.objects.filter(year__range=(start.year, end.year)).values_list("year", flat=True)
    overrides = CalendarDay.objects.filter(date__range=(start, end)).values_list("date", "is_workday")
    return WorkCalendar(dict(overrides), covered)


def deadline(arrival: datetime.datetime, workdays: int, *, count_arrival_day: bool | None = None) -> Deadline:
    """The last day for something that arrived at `arrival` (aware) and must be done within
    `workdays` working days. Counting starts the day after arrival, or on the arrival day itself
    when `count_arrival_day` (default: settings.DEADLINES.count_arrival_day) and it is a
    working day."""
    if count_arrival_day is None:
        count_arrival_day = settings.DEADLINES.count_arrival_day
    start = timezone.localdate(arrival)
    end = start + datetime.timedelta(days=2 * workdays) + _MARGIN
    while True:
        calendar = work_calendar(start, end)
        due = calendar.add_workdays(start, workdays, count_start=count_arrival_day)
        if due <= end:
            break
        # Not reached with the margin above unless a closure is longer than any so far.
        end = due + _MARGIN
    missing = calendar.uncovered_years(start, due)
    if missing:
        logger.warning(
            "Deadline %s (from %s, %d working days) counts weekends only in %s: "
            "no holiday arrangement (节假日安排) entered for that year",
            due,
            start,
            workdays,
            ", ".join(str(year) for year in missing),
        )
    return Deadline(due=due, provisional=bool(missing), missing_years=missing)


def review_deadline(arrival: datetime.datetime) -> Deadline:
    """审核签发 within settings.DEADLINES.review_days working days of reaching the reviewer."""
    return deadline(arrival, settings.DEADLINES.review_days)


def post_verification_deadline(start: datetime.datetime) -> Deadline:
    """The applicant's own verification after a proxy or postal handover (DOMAIN.md §6)."""
    return deadline(start, settings.DEADLINES.post_verification_days)


def workdays_until(today: datetime.date, due: datetime.date) -> int:
    """Working days left until `due`: 0 due today, 1 due the next working day (at risk),
    negative when overdue. See `WorkCalendar.workdays_until`."""
    low, high = sorted((today, due))
    return work_calendar(low, high + _MARGIN).workdays_until(today, due)


def missing_calendar_years(today: datetime.date, horizon_days: int = 90) -> list[int]:
    """Years from today's to that of `today + horizon_days` with no arrangement entered: deadlines
    falling in them are provisional, and administrators are asked to enter them."""
    last = (today + datetime.timedelta(days=horizon_days)).year
    covered = set(CalendarYear.objects.filter(year__range=(today.year, last)).values_list("year", flat=True))
    return [year for year in range(today.year, last + 1) if year not in covered]


def calendar_year_replace(
    get_model: Callable[[str], Any], *, year: int, days: Iterable[CalendarEntry], source: str
) -> bool:
    """Make `days` the year's whole arrangement and mark the year entered; False when it already
    was (rows and source alike), nothing written then. `get_model(name)` gives a registry model:
    the historical one in the seeding migration, the real one in `services.calendar_year_load`,
    which wraps this in a transaction and the audit trail."""
    day_model = get_model("CalendarDay")
    year_model = get_model("CalendarYear")
    entries = list(days)
    if any(entry.day.year != year for entry in entries):
        raise ValueError(f"every day must fall in {year}")
    in_year = day_model.objects.filter(date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)))
    wanted = {(entry.day, entry.is_workday, entry.name) for entry in entries}
    current = set(in_year.values_list("date", "is_workday", "name"))
    current_source = year_model.objects.filter(year=year).values_list("source", flat=True).first()
    if current == wanted and current_source == source:
        return False
    in_year.delete()
    day_model.objects.bulk_create(
        [day_model(date=entry.day, is_workday=entry.is_workday, name=entry.name) for entry in entries]
    )
    year_model.objects.update_or_create(year=year, defaults={"source": source})
    return True
