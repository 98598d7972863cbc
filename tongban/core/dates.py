"""Calendar arithmetic of the card rules (居民身份证法 §5): ages and anniversaries."""

from __future__ import annotations

import datetime


def add_years(day: datetime.date, years: int) -> datetime.date:
    """The same month and day `years` later (or earlier); 29 February becomes 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return datetime.date(day.year + years, 3, 1)


def age_on(birth: datetime.date, day: datetime.date) -> int:
    """Completed years on `day`; someone born on 29 February turns a year older on 1 March of a
    non-leap year."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
