"""Receipt numbers (票据号) and settlement rates: plain rules, no Django."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

YEARLY_SEQUENCE_MAX = 999_999


def receipt_number(unit_code: str, year: int, sequence: int) -> str:
    """`<unit code, 9 digits><year><6-digit sequence>`, e.g. 3601020012026000001."""
    if not 1 <= sequence <= YEARLY_SEQUENCE_MAX:
        raise ValueError(f"receipt sequence out of range: {sequence}")
    return f"{unit_code}{year:04d}{sequence:06d}"


@dataclass(frozen=True)
class Rate:
    """A settlement rate for free first cards, in force from `effective_from`."""

    effective_from: datetime.date
    amount: Decimal
    central: Decimal
    provincial: Decimal


def rate_on(rates: Iterable[Rate], day: datetime.date) -> Rate:
    """The rate in force on `day`: the one with the latest `effective_from` not after it."""
    in_force = [rate for rate in rates if rate.effective_from <= day]
    if not in_force:
        raise ValueError(f"no settlement rate in force on {day.isoformat()}")
    return max(in_force, key=lambda rate: rate.effective_from)


# A settlement period as the API takes it: a month `2026-03` or a quarter `2026Q1`.
PERIOD_PATTERN = r"^[12][0-9]{3}(-(0[1-9]|1[0-2])|Q[1-4])$"


def period_bounds(period: str) -> tuple[datetime.date, datetime.date]:
    """A settlement period, both ends included: a month `2026-03` or a quarter `2026Q1`."""
    period = period.strip().upper()
    try:
        if "Q" in period:
            year_text, _, quarter_text = period.partition("Q")
            year, quarter = int(year_text.rstrip("-")), int(quarter_text)
            if not 1 <= quarter <= 4:
                raise ValueError(period)
            first_month, last_month = 3 * quarter - 2, 3 * quarter
        else:
            year_text, _, month_text = period.partition("-")
            year, first_month = int(year_text), int(month_text)
            last_month = first_month
        start = datetime.date(year, first_month, 1)
        following = datetime.date(year + last_month // 12, last_month % 12 + 1, 1)
    except ValueError as bad:
        raise ValueError(f"bad settlement period: {period!r} (expected 2026-03 or 2026Q1)") from bad
    return start, following - datetime.timedelta(days=1)


def period_label(period: str) -> str:
    """`2026-03` → 2026年3月, `2026Q1` → 2026年第1季度."""
    start, end = period_bounds(period)
    if start.month == end.month:
        return f"{start.year}年{start.month}月"
    return f"{start.year}年第{(start.month + 2) // 3}季度"


def period_of(day: datetime.date, quarterly: bool) -> str:
    """The month or quarter `day` falls in, as `period_bounds` reads it."""
    if quarterly:
        return f"{day.year}Q{(day.month + 2) // 3}"
    return f"{day.year}-{day.month:02d}"
