"""Every dashboard metric against figures taken directly from the rows with the ORM (each
written independently of the selectors), for the province, a city and a county, and per child
unit; stuck items against a working-day count per application."""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from typing import Any

import pytest
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tongban.demo.history import HistoryCounts
from tongban.handover.models import Handover, Verification
from tongban.intake.models import Application
from tongban.registry.calendar import work_calendar
from tongban.registry.models import Unit
from tongban.supervision import selectors

pytestmark = pytest.mark.django_db
Status = Application.Status
REVIEW = (Status.PENDING_REVIEW, Status.UNDER_VERIFICATION)
LEVELS = ("36", "3601", "360102")


def _start(days: int) -> datetime.datetime:
    day = timezone.localdate() - datetime.timedelta(days=days - 1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _rows(table: selectors.Table) -> dict[str, list[Any]]:
    return {str(row[0]): row for row in table.rows}


def _units(code: str) -> list[Unit]:
    unit = Unit.objects.get(code=code)
    return list(unit.children.exclude(kind=Unit.Kind.CENTRE).order_by("path"))


def _under(prefix_field: str, unit: Unit) -> Q:
    return Q(**{f"{prefix_field}__path__startswith": unit.path})


@pytest.mark.parametrize("code", LEVELS)
def test_per_unit_figures_agree_with_direct_counts(history: HistoryCounts, code: str) -> None:
    board = selectors.dashboard(Unit.objects.get(code=code))
    units = _rows(board.table("units"))
    review = _rows(board.table("review"))
    verifications = _rows(board.table("verifications"))
    since = _start(selectors.DAILY_DAYS)
    today = timezone.localdate()
    checked = 0
    for child in _units(code):
        accepted = Application.objects.filter(
            _under("acceptance_unit", child), accepted_at__gte=since
        ).count()
        issued = Application.objects.filter(_under("household_unit", child), issued_at__gte=since).count()
        refused = Application.objects.filter(
            _under("household_unit", child), status=Status.REJECTED, closed_at__gte=since
        ).count()
        handed = Handover.objects.filter(_under("application__acceptance_unit", child), at__gte=since).count()
        in_review = Application.objects.filter(_under("review_unit", child), status__in=REVIEW)
        owed = Verification.objects.filter(_under("application__acceptance_unit", child), verified_at=None)
        values = [accepted, issued, refused, handed, in_review.count(), owed.count()]
        if not any(values):
            assert child.name not in units
            continue
        checked += 1
        row = units[child.name]
        assert row[1:4] == [accepted, issued, refused]
        assert row[5] == handed
        assert row[6] == in_review.count()
        assert row[7] == in_review.filter(review_due__lt=today).count()
        assert row[9] == owed.filter(due__lt=today).count()
        if in_review.exists():
            assert review[child.name][2:5] == [
                in_review.filter(review_due=today).count(),
                in_review.filter(review_due__lt=today).count(),
                in_review.count(),
            ]
        if owed.exists():
            assert verifications[child.name][1:3] == [
                owed.filter(due__gte=today).count(),
                owed.filter(due__lt=today).count(),
            ]
    assert checked >= 2
    # The totals are the whole subtree's, and the sum of the rows above them.
    unit = Unit.objects.get(code=code)
    total = units[selectors.TOTAL]
    assert (
        total[1]
        == Application.objects.filter(_under("acceptance_unit", unit), accepted_at__gte=since).count()
    )
    assert (
        total[2] == Application.objects.filter(_under("household_unit", unit), issued_at__gte=since).count()
    )
    for column in (1, 2, 3, 5, 6, 7, 8, 9):
        assert total[column] == sum(
            int(row[column]) for name, row in units.items() if name != selectors.TOTAL
        )


def test_province_totals_are_the_whole_history(history: HistoryCounts) -> None:
    board = selectors.dashboard(Unit.objects.get(code="36"))
    stages = _rows(board.table("stages"))[selectors.TOTAL]
    for i, status in enumerate(selectors.PROGRESS_STATUSES, start=1):
        assert stages[i] == Application.objects.filter(status=status).count()
    assert (
        board.kpis["in_progress"]
        == Application.objects.filter(status__in=selectors.PROGRESS_STATUSES).count()
    )
    daily = board.table("daily").rows
    today = timezone.localdate()
    assert [row[0] for row in daily][-1] == today
    assert len(daily) == selectors.DAILY_DAYS
    accepted_today = Application.objects.filter(accepted_at__gte=_start(1)).count()
    assert daily[-1][1] == accepted_today == board.kpis["accepted_today"]
    weekly = board.table("weekly").rows
    assert len(weekly) == selectors.WEEKS
    monday = today - datetime.timedelta(days=today.weekday())
    start = timezone.make_aware(datetime.datetime.combine(monday, datetime.time.min))
    assert weekly[-1][1] == Application.objects.filter(accepted_at__gte=start).count()
    assert weekly[-1][4] == Handover.objects.filter(at__gte=start).count()


def _independent_stuck(unit: Unit, workdays: int) -> dict[str, int]:
    """Stuck per status, by the definition: more than `workdays` working days since the local
    day of the last 办理记录 entry, for the unit responsible for the stage."""
    today = timezone.localdate()
    calendar = work_calendar(today - datetime.timedelta(days=400), today)
    counts: dict[str, int] = {}
    for app in Application.objects.filter(status__in=selectors.STUCK_STATUSES).select_related(
        "review_unit", "acceptance_unit"
    ):
        responsible = app.review_unit if app.status in REVIEW else app.acceptance_unit
        if responsible is None or not responsible.path.startswith(unit.path):
            continue
        quiet = calendar.workdays_between(timezone.localdate(app.last_event_at), today)
        if quiet > workdays:
            counts[app.status] = counts.get(app.status, 0) + 1
    return counts


@pytest.mark.parametrize("code", LEVELS)
def test_stuck_items_by_the_definition(history: HistoryCounts, code: str) -> None:
    unit = Unit.objects.get(code=code)
    expected = _independent_stuck(unit, settings.STUCK_WORKDAYS)
    board = selectors.dashboard(unit)
    total = _rows(board.table("stuck"))[selectors.TOTAL]
    for i, status in enumerate(selectors.STUCK_STATUSES, start=1):
        assert total[i] == expected.get(status, 0), status
    assert board.kpis["stuck"] == sum(expected.values())
    page = selectors.stuck_page(selectors.scope_for(unit), limit=10_000)
    assert len(page.rows) == sum(expected.values())
    if code == "3601":
        assert sum(expected.values()) > 0  # the history does stall some


def test_stuck_list_keyset_pages_cover_every_item_once(history: HistoryCounts) -> None:
    scope = selectors.scope_for(Unit.objects.get(code="3601"))
    everything = [a.pk for a in selectors.stuck_page(scope, workdays=1, limit=10_000).rows]
    seen: list[int] = []
    after = None
    while True:
        page = selectors.stuck_page(scope, workdays=1, after=after, limit=7)
        seen += [a.pk for a in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == everything and len(everything) > 7


def _quantiles(values: Iterable[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), statistics.quantiles(ordered, n=10, method="inclusive")[8]


def test_times_median_and_p90(history: HistoryCounts) -> None:
    board = selectors.dashboard(Unit.objects.get(code="3601"))
    total = _rows(board.table("times"))[selectors.TOTAL]
    since = _start(selectors.DAILY_DAYS)
    city = Unit.objects.get(code="3601")
    issue = [
        (a.issued_at - a.accepted_at).total_seconds() / 86400  # type: ignore[operator]
        for a in Application.objects.filter(_under("household_unit", city), issued_at__gte=since)
    ]
    hand = [
        (h.at - h.application.accepted_at).total_seconds() / 86400  # type: ignore[operator]
        for h in Handover.objects.filter(
            _under("application__acceptance_unit", city), at__gte=since
        ).select_related("application")
    ]
    assert len(issue) > 10 and len(hand) > 10
    assert total[1] == len(issue)
    assert total[2:4] == [round(v, 1) for v in _quantiles(issue)]
    assert total[4] == len(hand)
    assert total[5:7] == [round(v, 1) for v in _quantiles(hand)]


def test_refusal_rate_and_reasons(history: HistoryCounts) -> None:
    board = selectors.dashboard(Unit.objects.get(code="36"))
    since = _start(selectors.DAILY_DAYS)
    refused = Application.objects.filter(status=Status.REJECTED, closed_at__gte=since)
    issued = Application.objects.filter(issued_at__gte=since).count()
    reasons = board.table("reasons").rows
    assert sum(row[1] for row in reasons if isinstance(row[1], int)) == refused.count()
    top = reasons[0]
    assert top[1] == refused.filter(refusal_code__name=top[0]).count()
    # One row per coded reason, however many different remarks were written.
    assert len(reasons) == refused.values("refusal_code").distinct().count()
    assert refused.values("refusal_remark").distinct().count() > 1
    assert board.kpis["refusal_rate"] == round(100 * refused.count() / (refused.count() + issued), 1)


def test_percentile_matches_percentile_cont() -> None:
    assert selectors.percentile([], 0.5) is None
    assert selectors.percentile([4.0], 0.9) == 4.0
    assert selectors.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert selectors.percentile([10.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], 0.9) == pytest.approx(
        9.1
    )


def test_stuck_cutoff_counts_working_days() -> None:
    """The cutoff is the first day from which at most N working days have passed: an entry the
    day before is stuck, one on the cutoff day is not — across the National Day holiday too."""
    calendar = work_calendar(datetime.date(2026, 8, 1), datetime.date(2026, 12, 31))
    for offset in range(0, 60, 3):
        today = datetime.date(2026, 9, 20) + datetime.timedelta(days=offset)
        for n in (1, 5, 10):
            first_fresh = timezone.localtime(selectors.stuck_cutoff(today, n)).date()
            assert calendar.workdays_between(first_fresh, today) <= n
            assert calendar.workdays_between(first_fresh - datetime.timedelta(days=1), today) > n
    cutoff = selectors.stuck_cutoff(datetime.date(2026, 11, 20), 1)  # a Friday
    assert timezone.localtime(cutoff).date() == datetime.date(2026, 11, 19)


def test_refusal_reasons_group_by_code_with_the_chinese_name(
    personas: Any, accept: Any, household_reviewer: Any
) -> None:
    """Refusals with different remarks under one reason are one row, named in Chinese; an
    uncoded row (none should remain after the migration) is counted as such, not dropped."""
    from tongban.review.services import review_refuse
    from tongban.testing.factories import PersonFactory

    for code, remark in (
        ("02", "出生日期不一致"),
        ("02", "姓名用字不一致"),
        ("99", "申请人已死亡"),
        ("02", ""),
    ):
        application = accept(personas.ganzhou_clerk, PersonFactory.create())
        review_refuse(
            actor=household_reviewer, application=application, step=1, refusal_reason=code, remark=remark
        )
    Application.objects.filter(refusal_code="99").update(refusal_code=None)
    board = selectors.dashboard(Unit.objects.get(code="360102"))
    table = board.table("reasons")
    assert table.headers == ["原因", "件数", "占比（%）"]
    assert table.rows == [["户籍信息不符", 3, 75.0], ["（未分类）", 1, 25.0]]
    # The API and the Excel export carry the same rows.
    import io

    from django.test import Client
    from openpyxl import load_workbook

    from tongban.testing.personas import api_client, login

    api = api_client(personas.donghu_supervisor).get("/api/v1/supervision/dashboard").json()
    (reasons,) = [t for t in api["tables"] if t["key"] == "reasons"]
    assert reasons["rows"] == table.rows
    client = login(Client(), personas.donghu_supervisor)
    sheet = load_workbook(io.BytesIO(client.get("/supervision/export/reasons/").content)).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[rows.index(table.headers) + 1 :] == table.rows
