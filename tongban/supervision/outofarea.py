"""异地办理统计: out-of-area work of a unit's subtree over a period, the figures the ministry asks
provinces for — acceptances, decisions, production and handovers of applications accepted away from
the applicant's household, by where the household is (origin) and where the card was applied for
(destination).

An application counts in a stage when its 办理记录 holds that stage's entry in the period (an entry
written twice, e.g. a card produced again after a reprint, counts the application once). Places are
cities (the first four digits of the household's region code and of the acceptance station's
code), and the other province of a 跨省通办 application (`remote_province`). Within the province,
异地 is the application's `cross_region` mark, set at the counter when the household's county bureau
is not the station's; 跨省通办 applications are counted apart, each on the side this province holds:
another province's residents accepted here (`exchange` "out"), and ours accepted elsewhere ("in"),
whose steps there are counted when their reports arrive. The subtree sees the applications accepted
in it or registered in it, as every other supervision figure does.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import Combinable
from django.db.models.functions import Substr

from tongban.audit.actions import EventAction
from tongban.core.regions import place_name
from tongban.intake.models import Application, ApplicationEvent
from tongban.registry.calendar import day_start
from tongban.registry.models import Unit
from tongban.registry.xlsx import Cell
from tongban.supervision.selectors import TOTAL, Scope, Table

# The stages counted, in the tables' column order, each with the 办理记录 entries that mark it.
# A 跨省通办 copy also takes the other province's steps as they are reported (REMOTE_*): the
# household province's decision on our acceptance, our acceptance's production and handover there.
STAGES: tuple[tuple[str, str, tuple[EventAction, ...]], ...] = (
    ("accepted", "受理", (EventAction.ACCEPTED,)),
    ("issued", "签发", (EventAction.ISSUED, EventAction.REMOTE_ISSUED)),
    ("refused", "不予签发", (EventAction.REFUSED, EventAction.REMOTE_REFUSED)),
    ("produced", "制证", (EventAction.PRODUCED, EventAction.REMOTE_PRODUCED)),
    (
        "handed",
        "发放",
        (
            EventAction.HANDED_OVER,
            EventAction.HANDED_OVER_PROXY,
            EventAction.DELIVERED,
            EventAction.REMOTE_HANDED_OVER,
            EventAction.REMOTE_HANDED_OVER_PROXY,
            EventAction.REMOTE_DELIVERED,
        ),
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


# Where a household is and where an application was accepted, as the places the tables name.
HOUSEHOLD_CITY = Substr("application__region_code", 1, 4)
ACCEPTANCE_CITY = Substr("application__acceptance_unit__code", 1, 4)
OTHER_PROVINCE = F("application__remote_province")


def _stage_counts(
    events: QuerySet[ApplicationEvent], origin: Combinable, destination: Combinable
) -> dict[tuple[str, str], dict[str, int]]:
    """Applications per (origin, destination) place and stage."""
    rows = (
        events.annotate(origin=origin, destination=destination)
        .values_list("origin", "destination", "action")
        .annotate(n=Count("application", distinct=True))
    )
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for place, other, action, n in rows:
        stage = STAGE_OF[action]
        pair = counts[(place, other)]
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


def _rows(
    counts: dict[tuple[str, str], dict[str, int]], label: dict[tuple[str, str], str]
) -> list[list[Cell]]:
    """One row per pair, the busiest first, then 合计."""
    keys = [key for key, _, _ in STAGES]
    ordered = sorted(counts.items(), key=lambda item: (-item[1].get("accepted", 0), label[item[0]]))
    rows: list[list[Cell]] = [[label[pair], *(by.get(key, 0) for key in keys)] for pair, by in ordered]
    totals: list[Cell] = [TOTAL, *(sum(by.get(key, 0) for by in counts.values()) for key in keys)]
    return [*rows, totals]


def _table(
    key: str, title: str, counts: dict[tuple[str, str], dict[str, int]], period: Period, rule: str
) -> Table:
    label = {pair: " → ".join(place_name(code) for code in pair) for pair in counts}
    return Table(
        key,
        f"{title}（户籍地 → 受理地）",
        ["户籍地 → 受理地", *(stage for _, stage, _ in STAGES)],
        _rows(counts, label),
        chart={"kind": "bar", "columns": list(range(1, len(STAGES) + 1)), "limit": CHART_ROWS},
        note=(
            f"{period.label}；按办理记录的时间统计，同一申领同一环节只计一次；{rule}"
            f"图表显示受理最多的 {CHART_ROWS} 组，表格和 Excel 为全部。"
        ),
    )


def within_province_table(scope: Scope, period: Period) -> Table:
    """省内异地办理: the province's own residents served away from their household's county."""
    events = _events(scope, period).filter(application__cross_region=True, application__exchange="")
    return _table(
        "within_province",
        "省内异地办理",
        _stage_counts(events, HOUSEHOLD_CITY, ACCEPTANCE_CITY),
        period,
        "异地：户籍地县（市、区）公安局与受理派出所不同。",
    )


def from_other_provinces_table(scope: Scope, period: Period) -> Table:
    """跨省通办 for other provinces' residents accepted here (reviewed and issued there)."""
    events = _events(scope, period).filter(application__exchange=Application.Exchange.OUT)
    return _table(
        "from_other_provinces",
        "跨省通办：外省户籍在本省受理",
        _stage_counts(events, OTHER_PROVINCE, ACCEPTANCE_CITY),
        period,
        "签发、不予签发为户籍地省份的决定，收到之时计入。",
    )


def to_other_provinces_table(scope: Scope, period: Period) -> Table:
    """跨省通办 for our residents accepted in another province (reviewed and issued here)."""
    events = _events(scope, period).filter(application__exchange=Application.Exchange.IN)
    return _table(
        "to_other_provinces",
        "跨省通办：本省户籍在外省受理",
        _stage_counts(events, HOUSEHOLD_CITY, OTHER_PROVINCE),
        period,
        "受理、制证、发放为受理地省份的办理，收到之时计入。",
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
    tables = [
        within_province_table(scope, period),
        from_other_provinces_table(scope, period),
        to_other_provinces_table(scope, period),
    ]
    return OutOfArea(unit=scope.unit, period=period, tables=tables)
