"""The rules of 网上预约 (appointments). Pure Python: no Django, so the pages, the API and the
tests read the same answers.

A station's day has two bookable half-days (上午, 下午). How many people each takes comes from
the station's settings, changed for single dates by overrides; a day that is not a working day in
the holiday table (节假日安排) is closed unless an override opens it. Whether the person may apply
at all, and for which type and reason, is the counter's own rule (intake.rules), asked by the
services before anything is booked.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from enum import StrEnum


class HalfDay(StrEnum):
    MORNING = "am"  # 上午
    AFTERNOON = "pm"  # 下午

    @property
    def label(self) -> str:
        return HALF_DAY_LABELS[self]

    @property
    def hours(self) -> tuple[datetime.time, datetime.time]:
        return HALF_DAY_HOURS[self]

    @property
    def hours_label(self) -> str:
        start, end = self.hours
        return f"{start:%H:%M}–{end:%H:%M}"


HALF_DAY_LABELS = {HalfDay.MORNING: "上午", HalfDay.AFTERNOON: "下午"}
# The counter's opening hours per half-day: a booking of a half-day that has ended can no longer
# be made, and one not attended by its end is 未到场.
HALF_DAY_HOURS = {
    HalfDay.MORNING: (datetime.time(8, 30), datetime.time(12, 0)),
    HalfDay.AFTERNOON: (datetime.time(14, 0), datetime.time(17, 30)),
}


class State(StrEnum):
    BOOKED = "booked"  # 已预约
    CANCELLED = "cancelled"  # 已取消
    ARRIVED = "arrived"  # 已到场
    NO_SHOW = "no_show"  # 未到场

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    State.BOOKED: "已预约",
    State.CANCELLED: "已取消",
    State.ARRIVED: "已到场",
    State.NO_SHOW: "未到场",
}

# ---------------------------------------------------------------------------------------------
# Booking codes (预约码)

# Crockford's base-32 letters without I, L, O, U: nothing a citizen confuses with 1 or 0 when they
# read the code to a clerk or type it on a phone.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 32⁸ ≈ 1.1 × 10¹²: unguessable within the lookup limits
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str | None:
    """A code as typed or scanned (`abcd-efgh`, spaces, O for 0) in its stored form, or None when
    it cannot be one."""
    text = "".join(ch for ch in raw.upper() if ch not in " -_\t").translate(_CONFUSABLE)
    if len(text) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in text):
        return None
    return text


def display_code(code: str) -> str:
    """`ABCD2345` → `ABCD-2345`, as printed and read aloud."""
    return f"{code[:4]}-{code[4:]}"


# ---------------------------------------------------------------------------------------------
# Capacity and the bookable days


@dataclass(frozen=True)
class Settings:
    """A station's 预约设置: people per half-day and how many days ahead may be booked."""

    open: bool
    morning: int
    afternoon: int
    days_ahead: int

    def capacity(self, half: HalfDay) -> int:
        return self.morning if half == HalfDay.MORNING else self.afternoon


@dataclass(frozen=True)
class Slot:
    """One half-day of one station as a citizen sees it."""

    date: datetime.date
    half: HalfDay
    capacity: int
    booked: int
    provisional: bool  # the year's holiday arrangement is not entered: weekends only (暂估)
    note: str = ""  # why it is closed, or the station's note for the day

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)

    @property
    def open(self) -> bool:
        return self.capacity > 0


def capacity(
    settings: Settings,
    half: HalfDay,
    *,
    workday: bool,
    override: int | None,
) -> int:
    """The people a half-day takes: the override where the station set one (0 closes it, a number
    opens even a day off), else nothing on a day off or while booking is closed, else the
    station's setting."""
    if override is not None:
        return override
    if not settings.open or not workday:
        return 0
    return settings.capacity(half)


def bookable_days(today: datetime.date, days_ahead: int) -> list[datetime.date]:
    """Today and the next `days_ahead` days: what the slots page shows."""
    return [today + datetime.timedelta(days=n) for n in range(days_ahead + 1)]


def half_day_over(day: datetime.date, half: HalfDay, now: datetime.datetime) -> bool:
    """Whether the half-day has ended at local time `now` (naive, the station's)."""
    return now >= datetime.datetime.combine(day, half.hours[1])


def slot_problem(slot: Slot, *, now: datetime.datetime, days_ahead: int) -> tuple[str, str] | None:
    """Why `slot` cannot be booked at local time `now`: the API's code (date_past, slot_closed,
    slot_full) and the citizen's words; None if it can."""
    day = f"{slot.date.year}年{slot.date.month}月{slot.date.day}日{slot.half.label}"
    if slot.date < now.date() or half_day_over(slot.date, slot.half, now):
        return "date_past", f"{day}已过，不能预约，请选择以后的时段。"
    if slot.date > now.date() + datetime.timedelta(days=days_ahead):
        return "slot_closed", f"只能预约{days_ahead}天内的时段，{day}尚未开放预约。"
    if not slot.open:
        why = f"（{slot.note}）" if slot.note else ""
        return "slot_closed", f"{day}不办理预约业务{why}，请选择其他时段。"
    if slot.free <= 0:
        return "slot_full", f"{day}的预约已满，请选择其他时段。"
    return None
