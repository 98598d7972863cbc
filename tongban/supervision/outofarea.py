"""异地办理统计: out-of-area work of a unit's subtree over a period, the figures the ministry asks
provinces for — acceptances, decisions, production and handovers of applications accepted away from
the applicant's household, by where the household is (origin) and where the card was applied for
(destination).

An application counts in a stage when its 办理记录 holds that stage's entry in the period (an entry
written twice, e.g. a card produced again after a reprint, counts the application once). Places are
cities (the first four digits of the household's region code and of the acceptance station's
code). Within the province, 异地 is the application's `cross_region` mark, set at the counter when
the household's county bureau is not the station's. The subtree sees the applications accepted in
it or registered in it, as every other supervision figure does.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from tongban.audit.actions import EventAction
from tongban.core.regions import name_for
from tongban.intake.models import ApplicationEvent
from tongban.registry.calendar import day_start
from tongban.registry.models import Unit
from tongban.registry.xlsx import Cell
from tongban.supervision.selectors import TOTAL, Scope, Table

# The stages counted, in the tables' column order, each with the 办理记录 entries that mark it.
STAGES: tuple[tuple[str, str, tuple[EventAction, ...]], ...] = (
    ("accepted", "受理", (EventAction.ACCEPTED,)),
    ("issued", "签发", (EventAction.ISSUED,)),
    ("refused", "不予签发", (EventAction.REFUSED,)),
    ("produced", "制证", (EventAction.PRODUCED,)),
    (
        "handed",
        "发放",
        (EventAction.HANDED_OVER, EventAction.HANDED_OVER_PROXY, EventAction.DELIVERED),
    ),
)
STAGE_OF: dict[str, str] = {action.value: key for key, _, actions in STAGES for action in actions}
CHART_ROWS = 20  # the busiest pairs drawn; the table holds them all
LONGEST_PERIOD = 366  # days: a year, a leap year's included


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included, in local days."""

    start: datetime.date
    end: datetime.date

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}"


def period_problems(start: datetime.date, end: datetime.date, *, today: datetime.date) -> dict[str, str]:
    """What is wrong with a period asked for, by field (`from`, `to`); empty when it is fine."""
    problems: dict[str, str] = {}
    if end > today:
        problems["to"] = "截止日期不能晚于今天。"
    if start > end:
        problems["from"] = "起始日期不能晚于截止日期。"
    elif (end - start).days + 1 > LONGEST_PERIOD:
        problems["from"] = f"统计期间最长 {LONGEST_PERIOD} 天。"
    return problems


def default_period(today: datetime.date) -> Period:
    """本月: the first of this month to today."""
    return Period(today.replace(day=1), today)


def _stage_counts(events: QuerySet[ApplicationEvent]) -> dict[tuple[str, str], dict[str, int]]:
    """Applications per (origin city, destination city) and stage."""
    rows = (
        events.annotate(
            origin=Substr("application__region_code", 1, 4),
            destination=Substr("application__acceptance_unit__code", 1, 4),
        )
        .values_list("origin", "destination", "action")
        .annotate(n=Count("application", distinct=True))
    )
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for origin, destination, action, n in rows:
        stage = STAGE_OF[action]
        pair = counts[(origin, destination)]
        pair[stage] = pair.get(stage, 0) + n
    return counts


def _events(scope: Scope, period: Period) -> QuerySet[ApplicationEvent]:
    events = ApplicationEvent.objects.filter(
        at__gte=day_start(period.start),
        at__lt=day_start(period.end + datetime.timedelta(days=1)),
        action__in=list(STAGE_OF),
    )
    if not scope.everything:
        events = events.filter(
            Q(application__acceptance_unit_id__in=scope.ids) | Q(application__household_unit_id__in=scope.ids)
        )
    return events


def place_name(code: str) -> str:
    """A province's (2 digits) or city's (4 digits) GB/T 2260 name, e.g. 南昌市; the code itself
    for one the table does not know."""
    return name_for(code.ljust(6, "0")) or code


def _rows(
    counts: dict[tuple[str, str], dict[str, int]], label: dict[tuple[str, str], str]
) -> list[list[Cell]]:
    """One row per pair, the busiest first, then 合计."""
    keys = [key for key, _, _ in STAGES]
    ordered = sorted(counts.items(), key=lambda item: (-item[1].get("accepted", 0), label[item[0]]))
    rows: list[list[Cell]] = [[label[pair], *(by.get(key, 0) for key in keys)] for pair, by in ordered]
    totals: list[Cell] = [TOTAL, *(sum(by.get(key, 0) for by in counts.values()) for key in keys)]
    return [*rows, totals]


def within_province_table(scope: Scope, period: Period) -> Table:
    """省内异地办理: the province's own residents served away from their household's county."""
    counts = _stage_counts(_events(scope, period).filter(application__cross_region=True))
    label = {pair: " → ".join(place_name(code) for code in pair) for pair in counts}
    return Table(
        "within_province",
        "省内异地办理（户籍地 → 受理地）",
        ["户籍地 → 受理地", *(title for _, title, _ in STAGES)],
        _rows(counts, label),
        chart={"kind": "bar", "columns": list(range(1, len(STAGES) + 1)), "limit": CHART_ROWS},
        note=(
            f"{period.label}；按办理记录的时间统计，同一申领同一环节只计一次；"
            "异地：户籍地县（市、区）公安局与受理派出所不同。"
            f"图表显示受理最多的 {CHART_ROWS} 组，表格和 Excel 为全部。"
        ),
    )


@dataclass(frozen=True)
class OutOfArea:
    unit: Unit
    period: Period
    tables: list[Table]

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


def out_of_area(scope: Scope, period: Period) -> OutOfArea:
    """Every 异地办理 table of the scope's subtree over `period` (the caller checked the viewer)."""
    return OutOfArea(unit=scope.unit, period=period, tables=[within_province_table(scope, period)])
