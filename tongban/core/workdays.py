"""Working days (工作日) with China's official holidays and make-up working days (调休上班).

The State Council publishes each year's holiday arrangement (节假日安排) around November of the year
before. A `WorkCalendar` is Monday to Friday, changed by overrides: official holidays on weekdays
are days off, 调休 weekends are working days. Years whose arrangement has been entered are
*covered*; in any other year only the weekends are known, so a deadline reaching it is provisional
(`uncovered_years` says which years a computation touched).

`published_days` reads the arrangement shipped by the chinese-calendar package, with the holiday
names in Chinese; it covers 2004 to the last year the installed version knows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata

from chinese_calendar import constants as _published

_ONE_DAY = datetime.timedelta(days=1)

# chinese-calendar's English names; the package's own Chinese names are short forms (清明, 中秋).
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    # 2015-09-03, the 70th anniversary of the victory over Japan, and its make-up day.
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
MAKE_UP_SUFFIX = "调休上班"


@dataclass(frozen=True)
class Deadlines:
    """The limits of DOMAIN.md §2 in working days, as configured (settings.DEADLINES)."""

    # 审核签发, from the day an application reaches a review step.
    review_days: int
    # Whether the arrival day counts as the first day when it is a working day.
    count_arrival_day: bool
    # The applicant's own verification after a proxy or postal handover.
    post_verification_days: int
    # The collection date printed on the 领证回执: review, production and delivery together.
    expected_ready_days: int


@dataclass(frozen=True)
class CalendarEntry:
    """One override of the Monday-to-Friday rule: a holiday (`is_workday=False`, 放假) or a make-up
    working day (`is_workday=True`, 调休上班)."""

    day: datetime.date
    is_workday: bool
    name: str


class UnknownCalendarYear(LookupError):
    """chinese-calendar has no arrangement for the year (it raises for years after its last)."""

    def __init__(self, year: int) -> None:
        first, last = published_year_range()
        super().__init__(
            f"chinese-calendar {published_source_version()} 没有 {year} 年的节假日安排"
            f"（仅有 {first}–{last} 年）/ no published holiday arrangement for {year} "
            f"(chinese-calendar knows {first}–{last}); enter it in the admin (节假日安排)"
        )
        self.year = year


def published_year_range() -> tuple[int, int]:
    """First and last year the installed chinese-calendar knows."""
    return min(_published.holidays).year, max(_published.holidays).year


def published_source_version() -> str:
    try:
        return metadata.version("chinese-calendar")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed as a dependency
        return "unknown"


def holiday_name(english: str) -> str:
    """The Chinese name of a chinese-calendar holiday; an unknown one keeps the package's name."""
    return HOLIDAY_NAMES.get(english, english)


def published_days(year: int) -> list[CalendarEntry]:
    """The year's arrangement from chinese-calendar, in date order: every day of each holiday
    period (weekends inside it included) and the 调休 working days (named `<节日>调休上班`)."""
    first, last = published_year_range()
    if not first <= year <= last:
        raise UnknownCalendarYear(year)
    days = [
        CalendarEntry(day, False, holiday_name(name))
        for day, name in _published.holidays.items()
        if day.year == year
    ]
    days += [
        CalendarEntry(day, True, holiday_name(name) + MAKE_UP_SUFFIX)
        for day, name in _published.workdays.items()
        if day.year == year
    ]
    return sorted(days, key=lambda entry: entry.day)


class WorkCalendar:
    """Which days are working days: Monday to Friday unless `overrides` (date → is working day)
    say otherwise. `covered_years` are the years whose arrangement is known; in the others the
    result is the weekend rule alone (plus any override already entered)."""

    def __init__(self, overrides: Mapping[datetime.date, bool], covered_years: Iterable[int]) -> None:
        self._overrides = dict(overrides)
        self.covered_years = frozenset(covered_years)

    @classmethod
    def from_days(cls, days: Iterable[CalendarEntry], covered_years: Iterable[int]) -> WorkCalendar:
        return cls({entry.day: entry.is_workday for entry in days}, covered_years)

    def is_workday(self, day: datetime.date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override
        return day.weekday() < 5

    def next_workday(self, day: datetime.date) -> datetime.date:
        """The first working day strictly after `day`."""
        day += _ONE_DAY
        while not self.is_workday(day):
            day += _ONE_DAY
        return day

    def add_workdays(self, start: datetime.date, n: int, *, count_start: bool = False) -> datetime.date:
        """The `n`-th working day after `start` (n ≥ 1); with `count_start`, `start` itself is the
        first one when it is a working day. The result is the last day of an n-working-day limit."""
        if n < 1:
            raise ValueError("n must be at least 1")
        day = start
        remaining = n
        if count_start and self.is_workday(start):
            remaining -= 1
        while remaining:
            day += _ONE_DAY
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, a: datetime.date, b: datetime.date) -> int:
        """Working days after `a` up to and including `b`; when `b` is before `a`, minus the
        working days after `b` up to and including `a`."""
        if b < a:
            return -self.workdays_between(b, a)
        count = 0
        day = a + _ONE_DAY
        while day <= b:
            count += self.is_workday(day)
            day += _ONE_DAY
        return count

    def workdays_until(self, today: datetime.date, due: datetime.date) -> int:
        """How many working days are left until `due`, the last day of a limit: 0 when due today,
        1 when due on the next working day, negative when overdue (-1 on the first working day
        after `due`, and already on a day off right after it)."""
        if due >= today:
            return self.workdays_between(today, due)
        first_day_counted = today if self.is_workday(today) else self.next_workday(today)
        return -self.workdays_between(due, first_day_counted)

    def uncovered_years(self, a: datetime.date, b: datetime.date) -> tuple[int, ...]:
        """Years from `a` to `b` (in either order) whose arrangement is not known."""
        low, high = sorted((a.year, b.year))
        return tuple(year for year in range(low, high + 1) if year not in self.covered_years)
