"""Calendar arithmetic: ages, anniversaries and month steps (the 有效期满换领 window)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.core.dates import add_months

D = datetime.date


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 9, 1), -3, D(2026, 6, 1)),
        (D(2026, 5, 31), -3, D(2026, 2, 28)),
        (D(2024, 5, 31), -3, D(2024, 2, 29)),
        (D(2026, 1, 15), -3, D(2025, 10, 15)),
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
        (D(2026, 12, 31), 1, D(2027, 1, 31)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last_of_the_month(
    day: datetime.date, months: int, expected: datetime.date
) -> None:
    assert add_months(day, months) == expected


@given(st.dates(D(1900, 1, 1), D(2200, 12, 31)), st.integers(-1200, 1200))
def test_add_months_lands_in_the_right_month(day: datetime.date, months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == day.day or result.day < day.day
