"""The pure rules: apportionment by largest remainder, report periods, the forecast."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.campaigns import rules
from tongban.campaigns.duties import DUTIES, Department, duties_of


def test_apportion_largest_remainder():
    # 10 by 1:1:1 → 3.33 each; the remainders tie, so the first key gets the extra one.
    assert rules.apportion(10, {"a": 1, "b": 1, "c": 1}) == {"a": 4, "b": 3, "c": 3}
    # 1,310,000 over 5,000 / 3,000 / 2,000.
    parts = rules.apportion(1_310_000, {"x": 5000, "y": 3000, "z": 2000})
    assert parts == {"x": 655_000, "y": 393_000, "z": 262_000}
    # The largest remainder wins: 7 × (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4 → 4, 2, 1.
    assert rules.apportion(7, {"x": 5, "y": 3, "z": 2}) == {"x": 4, "y": 2, "z": 1}


@given(
    total=st.integers(min_value=0, max_value=5_000_000),
    weights=st.dictionaries(
        st.text(min_size=1, max_size=4), st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12
    ),
)
def test_apportion_adds_up_and_stays_within_one_of_the_quota(total, weights):
    parts = rules.apportion(total, weights)
    assert sum(parts.values()) == total
    weight_sum = sum(weights.values())
    if weight_sum:
        for key, weight in weights.items():
            assert abs(parts[key] - total * weight / weight_sum) < 1


def test_apportion_without_weights_splits_evenly():
    assert rules.apportion(5, {"a": 0, "b": 0}) == {"a": 3, "b": 2}
    assert rules.apportion(5, {}) == {}
    with pytest.raises(ValueError):
        rules.apportion(-1, {"a": 1})


def test_periods():
    week = rules.parse_period("2026-w46")
    assert (week.label, week.start, week.end) == (
        "2026-W46",
        datetime.date(2026, 11, 9),
        datetime.date(2026, 11, 15),
    )
    assert week.title.startswith("2026年第46周")
    month = rules.parse_period("2026-12")
    assert (month.start, month.end) == (datetime.date(2026, 12, 1), datetime.date(2026, 12, 31))
    assert rules.parse_period("2027-02").end == datetime.date(2027, 2, 28)
    assert rules.previous_week(datetime.date(2026, 11, 18)).label == "2026-W46"
    for bad in ("2026-13", "2026-W54", "11/2026", ""):
        with pytest.raises(ValueError):
            rules.parse_period(bad)


def _weekdays(day: datetime.date) -> bool:
    return day.weekday() < 5


def _add(start: datetime.date, n: int) -> datetime.date:
    day = start
    while n:
        day += datetime.timedelta(days=1)
        n -= _weekdays(day)
    return day


def test_forecast_at_the_current_pace():
    today = datetime.date(2026, 11, 18)  # Wednesday
    # 10 working days before today: 2026-11-04 … 2026-11-17; 20 handed over each, one Saturday extra.
    daily = {
        today - datetime.timedelta(days=k): 20
        for k in range(1, 15)
        if _weekdays(today - datetime.timedelta(days=k))
    }
    daily[datetime.date(2026, 11, 14)] = 10  # a Saturday inside the window counts too
    daily[today] = 500  # today is not over: left out of the pace
    daily[datetime.date(2026, 10, 1)] = 999  # before the window
    result = rules.forecast(
        today=today,
        target=1000,
        completed=400,
        daily_completed=daily,
        window_days=10,
        is_workday=_weekdays,
        add_workdays=_add,
    )
    assert result.pace == pytest.approx(21.0)  # (10 × 20 + 10) / 10
    assert result.remaining == 600
    assert result.workdays_needed == 29  # ceil(600 / 21)
    assert result.date == _add(today, 29)
    assert result.label == result.date.isoformat()


def test_forecast_cannot_tell_without_pace_or_target_and_says_done():
    kw: dict[str, Any] = {
        "today": datetime.date(2026, 11, 18),
        "window_days": 14,
        "is_workday": _weekdays,
        "add_workdays": _add,
    }
    idle = rules.forecast(target=100, completed=10, daily_completed={}, **kw)
    assert idle.date is None and idle.label == "近期无发放，无法预测"
    assert rules.forecast(target=0, completed=0, daily_completed={}, **kw).label == "无目标数，无法预测"
    done = rules.forecast(target=10, completed=12, daily_completed={}, **kw)
    assert done.done and done.label == "已完成"
    slow = rules.forecast(target=10**9, completed=0, daily_completed={datetime.date(2026, 11, 17): 1}, **kw)
    assert slow.date is None and "20年以上" in slow.label


def test_duty_catalogue_follows_the_seed():
    counts = {d: len(duties_of(d)) for d in Department}
    assert counts == {
        Department.FINANCE: 3,
        Department.PRICING: 2,
        Department.CIVIL_AFFAIRS: 2,
        Department.CITY: 5,
        Department.COUNTY: 6,
        Department.STATION: 5,
    }
    assert len({d.code for d in DUTIES}) == len(DUTIES)
    assert any(d.text == "对接收的身份证成品进行质检和分发" for d in duties_of(Department.COUNTY))
