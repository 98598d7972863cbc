"""临时居民身份证 (《临时居民身份证管理办法》, DOMAIN.md §9): the pure rules. No Django import.

A temporary card is for a person whose formal card is being made: issued within three working
days of the application, valid three months from issue, handed back when the formal card is
collected. Its dates are written as the formal card's are (`2026.12.07-2027.03.06`).
"""

from __future__ import annotations

import datetime

from tongban.core.dates import add_months
from tongban.intake.rules import Validity

ISSUE_WORKDAYS = 3  # 签发 within three working days of the application (管理办法 第七条)
VALID_MONTHS = 3  # 有效期限三个月
DAILY_SEQUENCE_MAX = 9999
NUMBER_PREFIX = "L"  # 临: told apart from the 22-digit 受理号 where both are known (票据, 收费记录)

# The stored states (models.TemporaryCard.State) and the one derived from the calendar.
PENDING = "pending"
ISSUED = "issued"
HANDED_OUT = "handed_out"
REFUSED = "refused"
RETURNED = "returned"
VOIDED = "voided"
EXPIRED = "expired"

STATE_LABELS: dict[str, str] = {
    PENDING: "待签发",
    ISSUED: "已签发（待发放）",
    HANDED_OUT: "已发放（有效）",
    REFUSED: "不予签发",
    RETURNED: "已收回",
    VOIDED: "作废",
    EXPIRED: "已过期",
}
STATE_CHOICES = list(STATE_LABELS.items())  # for forms and the API's enum (TemporaryCardStateEnum)
# One in force per person: applied for, issued or in the holder's hand (an expired card not yet
# returned included: it is taken back before another is applied for).
IN_FORCE = (PENDING, ISSUED, HANDED_OUT)
# Where a card may be declared void (lost, damaged, spoiled at printing).
VOIDABLE = (ISSUED, HANDED_OUT)


def validity(issue_date: datetime.date) -> Validity:
    """From the issue date to the day before the same day three months later (2026-12-07 →
    2027-03-06; 2026-11-30 → 2027-02-27, the day before the month's last day stands in)."""
    return Validity(issue_date, add_months(issue_date, VALID_MONTHS) - datetime.timedelta(days=1))


def current_state(state: str, valid_until: datetime.date | None, today: datetime.date) -> str:
    """The stored state, or 已过期 from the day after the end date of a card in the holder's hand."""
    if state == HANDED_OUT and valid_until is not None and valid_until < today:
        return EXPIRED
    return state


def card_number(station_code: str, day: datetime.date, sequence: int) -> str:
    """临时证号 (22 characters, as a 受理号): `L`, the station, the day and a 4-digit sequence."""
    if len(station_code) != 9 or not station_code.isdigit():
        raise ValueError(f"a station code has 9 digits: {station_code!r}")
    if not 1 <= sequence <= DAILY_SEQUENCE_MAX:
        raise ValueError(f"daily sequence out of range: {sequence}")
    return f"{NUMBER_PREFIX}{station_code}{day:%Y%m%d}{sequence:04d}"


def return_due(
    *,
    formal_collected_on: datetime.date | None,
    valid_until: datetime.date | None,
    formal_closed_on: datetime.date | None = None,
) -> datetime.date | None:
    """When a card handed out is owed back: the day the formal card was collected, the day the
    formal application ended without a card (撤销 or 不予签发: nothing is being made any more), or
    the day after the card ended, whichever comes first; None while none has happened (not owed)."""
    expired_on = valid_until + datetime.timedelta(days=1) if valid_until else None
    dates = [day for day in (formal_collected_on, formal_closed_on, expired_on) if day is not None]
    return min(dates) if dates else None
