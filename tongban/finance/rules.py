"""Receipt numbers (票据号): plain rules, no Django."""

from __future__ import annotations

YEARLY_SEQUENCE_MAX = 999_999


def receipt_number(unit_code: str, year: int, sequence: int) -> str:
    """`<unit code, 9 digits><year><6-digit sequence>`, e.g. 3601020012026000001."""
    if not 1 <= sequence <= YEARLY_SEQUENCE_MAX:
        raise ValueError(f"receipt sequence out of range: {sequence}")
    return f"{unit_code}{year:04d}{sequence:06d}"
