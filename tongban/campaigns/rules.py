"""Pure rules of a campaign (集中换发): apportioning an entered target, report periods and the
completion forecast. No Django import."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K")

ONE_DAY = datetime.timedelta(days=1)


def apportion(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split `total` in proportion to `weights` by the largest-remainder (Hamilton) method, so that
    the parts add up to `total` exactly. Ties in the remainder go to the larger weight, then to
    the first key in sorted order, so the result never depends on dict order. Without any weight
    the total is split evenly (no basis for anything else)."""
    if total < 0:
        raise ValueError("total cannot be negative")
    keys = sorted(weights, key=str)
    if not keys:
        return {}
    basis = {key: max(0, weights[key]) for key in keys}
    weight_sum = sum(basis.values())
    if weight_sum == 0:
        basis = dict.fromkeys(keys, 1)
        weight_sum = len(keys)
    parts = {key: total * basis[key] // weight_sum for key in keys}
    remainders = {key: total * basis[key] % weight_sum for key in keys}
    left = total - sum(parts.values())
    ranked = sorted(keys, key=lambda key: (-remainders[key], -basis[key], keys.index(key)))
    for key in ranked[:left]:
        parts[key] += 1
    return parts


# ---------------------------------------------------------------------------------------------
# Report periods (定期上报)


@dataclass(frozen=True)
class Period:
    """A reporting period: an ISO week (`2026-W45`) or a month (`2026-11`), both days included."""

    label: str
    start: datetime.date
    end: datetime.date

    @property
    def title(self) -> str:
        if "W" in self.label:
            year, week = self.label.split("-W")
            return f"{year}年第{int(week)}周（{self.start:%m月%d日}至{self.end:%m月%d日}）"
        return f"{self.start.year}年{self.start.month}月"


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str) -> Period:
    """`2026-W45` (ISO week, Monday to Sunday) or `2026-11` (calendar month)."""
    text = text.strip().upper()
    if match := _WEEK.match(text):
        year, week = int(match[1]), int(match[2])
        try:
            start = datetime.date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise ValueError(f"no such week: {text}") from exc
        return Period(f"{year}-W{week:02d}", start, start + datetime.timedelta(days=6))
    if match := _MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ValueError(f"no such month: {text}")
        start = datetime.date(year, month, 1)
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        return Period(f"{year}-{month:02d}", start, following - ONE_DAY)
    raise ValueError(f"a period is a week like 2026-W45 or a month like 2026-11, not {text!r}")


def week_of(day: datetime.date) -> Period:
    year, week, _ = day.isocalendar()
    return parse_period(f"{year}-W{week:02d}")


def previous_week(day: datetime.date) -> Period:
    """The last whole week before `day`'s week: the week the schedule reports on."""
    return week_of(day - datetime.timedelta(days=7))


# ---------------------------------------------------------------------------------------------
# Forecast of the completion date


@dataclass(frozen=True)
class Forecast:
    """When the target will be reached at the current pace. `date` is None when it cannot be
    told (`reason` says why) or the target is already reached (`done`)."""

    pace: float  # handed over per working day over the window
    window_days: int  # working days the pace is measured over
    remaining: int
    done: bool
    date: datetime.date | None
    workdays_needed: int | None
    reason: str

    @property
    def label(self) -> str:
        if self.done:
            return "已完成"
        if self.date is not None:
            return f"{self.date:%Y-%m-%d}"
        return self.reason


# Beyond this the forecast is meaningless (and runs past any holiday table).
MAX_FORECAST_WORKDAYS = 250 * 20


def forecast(
    *,
    today: datetime.date,
    target: int,
    completed: int,
    daily_completed: Mapping[datetime.date, int],
    window_days: int,
    is_workday: Callable[[datetime.date], bool],
    add_workdays: Callable[[datetime.date, int], datetime.date],
) -> Forecast:
    """Pace = cards handed over on the `window_days` working days before today (today is not
    over yet; what was handed over on a weekend in between counts too) divided by `window_days`;
    the remaining target at that pace gives the working days needed, counted from tomorrow."""
    remaining = max(0, target - completed)
    if target > 0 and remaining == 0:
        return Forecast(0.0, window_days, 0, True, today, 0, "")
    # The window: back from yesterday until `window_days` working days are inside it.
    first = today
    seen = 0
    while seen < window_days:
        first -= ONE_DAY
        seen += is_workday(first)
    handed = sum(count for day, count in daily_completed.items() if first <= day < today)
    pace = handed / window_days if window_days else 0.0
    if target <= 0:
        return Forecast(pace, window_days, 0, False, None, None, "无目标数，无法预测")
    if pace <= 0:
        return Forecast(0.0, window_days, remaining, False, None, None, "近期无发放，无法预测")
    needed = math.ceil(remaining / pace)
    if needed > MAX_FORECAST_WORKDAYS:
        return Forecast(pace, window_days, remaining, False, None, needed, "按当前进度需20年以上，无法预测")
    return Forecast(pace, window_days, remaining, False, add_workdays(today, needed), needed, "")


def rate(part: int, whole: int) -> float | None:
    """Completion as a fraction (None without a target)."""
    return part / whole if whole > 0 else None
