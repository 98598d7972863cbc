"""Calendar arithmetic of the card rules (居民身份证法 §5): ages and anniversaries."""

from __future__ import annotations

import calendar
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


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (or earlier), or the month's last day where it has no such day
    (31 May less three months is the last day of February)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return datetime.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
