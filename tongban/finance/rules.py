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
