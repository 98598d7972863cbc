from __future__ import annotations

import datetime

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.core.workdays import (
    CalendarEntry,
    UnknownCalendarYear,
    WorkCalendar,
    published_days,
    published_year_range,
)

D = datetime.date
FIRST, LAST = published_year_range()
PUBLISHED = WorkCalendar.from_days(
    [entry for year in range(FIRST, LAST + 1) for entry in published_days(year)], range(FIRST, LAST + 1)
)
published_dates = st.dates(min_value=D(FIRST, 1, 1), max_value=D(LAST, 9, 30))


def test_national_day_2026() -> None:
    names = {entry.day: (entry.is_workday, entry.name) for entry in published_days(2026)}
    for day in range(1, 8):
        assert names[D(2026, 10, day)] == (False, "国庆节")
        assert not PUBLISHED.is_workday(D(2026, 10, day))
    assert names[D(2026, 9, 20)] == (True, "国庆节调休上班")  # a Sunday
    assert names[D(2026, 10, 10)] == (True, "国庆节调休上班")  # a Saturday
    assert PUBLISHED.is_workday(D(2026, 9, 20)) and PUBLISHED.is_workday(D(2026, 10, 10))
    # Arrived on Wednesday 30 September: Oct 8 (Thu), 9, 10 (Sat, 调休), 12, 13.
    assert PUBLISHED.add_workdays(D(2026, 9, 30), 5) == D(2026, 10, 13)
    assert PUBLISHED.add_workdays(D(2026, 9, 30), 5, count_start=True) == D(2026, 10, 12)
    assert PUBLISHED.next_workday(D(2026, 9, 30)) == D(2026, 10, 8)
    assert PUBLISHED.workdays_between(D(2026, 9, 30), D(2026, 10, 13)) == 5


def test_spring_festival_2026() -> None:
    days = [entry for entry in published_days(2026) if entry.name.startswith("春节")]
    assert [entry.day for entry in days if not entry.is_workday] == [D(2026, 2, n) for n in range(15, 24)]
    assert {entry.day: entry.name for entry in days if entry.is_workday} == {
        D(2026, 2, 14): "春节调休上班",
        D(2026, 2, 28): "春节调休上班",
    }
    # Friday 13 February: Sat 14 (调休), then nothing until Tue 24 February.
    assert PUBLISHED.add_workdays(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert PUBLISHED.add_workdays(D(2026, 2, 13), 5) == D(2026, 2, 27)
    assert PUBLISHED.add_workdays(D(2026, 2, 13), 6) == D(2026, 2, 28)


def test_names_are_chinese() -> None:
    names = {entry.name for year in range(FIRST, LAST + 1) for entry in published_days(year)}
    holidays = {name for name in names if not name.endswith("调休上班")}
    assert holidays == {
        "元旦",
        "春节",
        "清明节",
        "劳动节",
        "端午节",
        "中秋节",
        "国庆节",
        "抗战胜利70周年纪念日",
    }
    assert "国庆节调休上班" in names


def test_unknown_year_is_refused() -> None:
    with pytest.raises(UnknownCalendarYear, match=f"{LAST + 1} 年") as caught:
        published_days(LAST + 1)
    assert caught.value.year == LAST + 1
    with pytest.raises(UnknownCalendarYear):
        published_days(FIRST - 1)


def test_uncovered_year_counts_weekends_only() -> None:
    calendar = WorkCalendar({}, covered_years=[2026])
    # 2027-01-01 is a Friday; without the 2027 arrangement it is a working day.
    assert calendar.is_workday(D(2027, 1, 1))
    assert calendar.add_workdays(D(2026, 12, 30), 5) == D(2027, 1, 6)
    assert calendar.uncovered_years(D(2026, 12, 30), D(2027, 1, 6)) == (2027,)
    assert calendar.uncovered_years(D(2027, 1, 6), D(2026, 12, 30)) == (2027,)
    assert calendar.uncovered_years(D(2026, 1, 1), D(2026, 12, 31)) == ()
    entered = WorkCalendar.from_days(
        [CalendarEntry(D(2027, 1, 1), False, "元旦")], covered_years=[2026, 2027]
    )
    assert entered.add_workdays(D(2026, 12, 30), 5) == D(2027, 1, 7)
    assert entered.uncovered_years(D(2026, 12, 30), D(2027, 1, 7)) == ()


def test_count_start_on_a_day_off_starts_the_next_working_day() -> None:
    saturday = D(2026, 10, 17)
    assert PUBLISHED.add_workdays(saturday, 1, count_start=True) == D(2026, 10, 19)
    assert PUBLISHED.add_workdays(saturday, 1) == D(2026, 10, 19)
    assert PUBLISHED.add_workdays(D(2026, 10, 16), 1, count_start=True) == D(2026, 10, 16)
    with pytest.raises(ValueError, match="at least 1"):
        PUBLISHED.add_workdays(saturday, 0)


def test_workdays_until() -> None:
    due = D(2026, 10, 9)  # a Friday
    assert PUBLISHED.workdays_until(due, due) == 0
    assert PUBLISHED.workdays_until(D(2026, 10, 8), due) == 1
    assert PUBLISHED.workdays_until(D(2026, 9, 30), due) == 2  # National Day in between
    assert PUBLISHED.workdays_until(D(2026, 10, 10), due) == -1  # a 调休 Saturday
    assert PUBLISHED.workdays_until(D(2026, 10, 11), due) == -2  # Sunday, Monday comes next
    assert PUBLISHED.workdays_until(D(2026, 10, 12), due) == -2
    friday = D(2026, 10, 16)
    assert PUBLISHED.workdays_until(D(2026, 10, 17), friday) == -1  # Saturday after the due day
    assert PUBLISHED.workdays_until(D(2026, 10, 17), D(2026, 10, 19)) == 1


@given(published_dates)
def test_agrees_with_chinese_calendar(day: datetime.date) -> None:
    assert PUBLISHED.is_workday(day) == chinese_calendar.is_workday(day)


@given(published_dates, st.integers(min_value=1, max_value=40), st.booleans())
def test_add_workdays_lands_on_the_nth_working_day(start: datetime.date, n: int, count_start: bool) -> None:
    due = PUBLISHED.add_workdays(start, n, count_start=count_start)
    assert PUBLISHED.is_workday(due)
    counted = PUBLISHED.workdays_between(start, due) + (count_start and PUBLISHED.is_workday(start))
    assert counted == n
    assert PUBLISHED.workdays_until(due, due) == 0
    assert PUBLISHED.next_workday(due) > due
    assert PUBLISHED.workdays_until(PUBLISHED.next_workday(due), due) == -1


@given(published_dates, published_dates, published_dates)
def test_workdays_between_adds_up(a: datetime.date, b: datetime.date, c: datetime.date) -> None:
    assert PUBLISHED.workdays_between(a, b) == -PUBLISHED.workdays_between(b, a)
    assert PUBLISHED.workdays_between(a, b) + PUBLISHED.workdays_between(b, c) == (
        PUBLISHED.workdays_between(a, c)
    )
