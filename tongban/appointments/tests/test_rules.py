"""The pure rules of 网上预约: codes, the half-days' capacity and why a slot cannot be booked."""

from __future__ import annotations

import datetime

from tongban.appointments import rules
from tongban.appointments.rules import HalfDay, Settings, Slot

OWN = Settings(open=True, morning=10, afternoon=6, days_ahead=14)
MONDAY = datetime.date(2026, 12, 7)


def test_codes_are_unguessable_typable_and_forgiving() -> None:
    codes = {rules.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(code) == 8 and set(code) <= set(rules.CODE_ALPHABET) for code in codes)
    assert not set("ILOU") & set(rules.CODE_ALPHABET)
    assert rules.normalize_code(" abcd-2345 ") == "ABCD2345"
    assert rules.normalize_code("ABCO-234I") == "ABC02341"  # O read as 0, I as 1
    assert rules.normalize_code("ABC") is None
    assert rules.normalize_code("ABCD23456") is None
    assert rules.display_code("ABCD2345") == "ABCD-2345"


def test_capacity_follows_settings_workdays_and_overrides() -> None:
    assert rules.capacity(OWN, HalfDay.MORNING, workday=True, override=None) == 10
    assert rules.capacity(OWN, HalfDay.AFTERNOON, workday=True, override=None) == 6
    assert rules.capacity(OWN, HalfDay.MORNING, workday=False, override=None) == 0
    assert rules.capacity(OWN, HalfDay.MORNING, workday=True, override=0) == 0  # closed for the day
    assert rules.capacity(OWN, HalfDay.MORNING, workday=False, override=4) == 4  # a Saturday opened
    closed = Settings(open=False, morning=10, afternoon=6, days_ahead=14)
    assert rules.capacity(closed, HalfDay.MORNING, workday=True, override=None) == 0


def slot(day: datetime.date, half: HalfDay = HalfDay.MORNING, capacity: int = 5, booked: int = 0) -> Slot:
    return Slot(date=day, half=half, capacity=capacity, booked=booked, provisional=False)


def at(hour: int, minute: int = 0, day: datetime.date = MONDAY) -> datetime.datetime:
    """Local wall-clock time, as the rules read the half-days."""
    return datetime.datetime.combine(day, datetime.time(hour, minute))


def code_of(problem: tuple[str, str] | None) -> str | None:
    return problem[0] if problem else None


def test_why_a_slot_cannot_be_booked() -> None:
    nine = at(9)
    tuesday = MONDAY + datetime.timedelta(days=1)
    assert rules.slot_problem(slot(tuesday), now=nine, days_ahead=14) is None
    assert rules.slot_problem(slot(MONDAY), now=nine, days_ahead=14) is None  # this morning still
    assert code_of(rules.slot_problem(slot(MONDAY), now=at(12), days_ahead=14)) == "date_past"
    yesterday = MONDAY - datetime.timedelta(days=1)
    assert code_of(rules.slot_problem(slot(yesterday), now=nine, days_ahead=14)) == "date_past"
    far = rules.slot_problem(slot(MONDAY + datetime.timedelta(days=15)), now=nine, days_ahead=14)
    assert far is not None and far[0] == "slot_closed" and "14天" in far[1]
    assert code_of(rules.slot_problem(slot(tuesday, capacity=0), now=nine, days_ahead=14)) == "slot_closed"
    full = rules.slot_problem(slot(tuesday, capacity=3, booked=3), now=nine, days_ahead=14)
    assert full is not None and full[0] == "slot_full" and "已满" in full[1]
    assert slot(tuesday, capacity=3, booked=5).free == 0


def test_half_days_read_as_the_counter_opens() -> None:
    assert HalfDay.MORNING.label == "上午" and HalfDay.AFTERNOON.hours_label == "14:00–17:30"
    assert rules.half_day_over(MONDAY, HalfDay.MORNING, at(12))
    assert not rules.half_day_over(MONDAY, HalfDay.AFTERNOON, at(12))
    assert rules.bookable_days(MONDAY, 2) == [MONDAY + datetime.timedelta(days=n) for n in range(3)]
