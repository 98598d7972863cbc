"""The rollup of the daily series: equal to counts taken directly from the rows, filled once,
and forgotten when a past day is written."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tongban.demo.history import HistoryCounts
from tongban.handover.models import Handover
from tongban.intake.models import Application
from tongban.registry.models import Unit
from tongban.supervision import rollup, selectors
from tongban.supervision.models import DayCount, RolledDay

pytestmark = pytest.mark.django_db
Status = Application.Status


def _day(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _direct(day: datetime.date) -> list[int]:
    """受理, 签发, 不予签发, 发放 of one local day, counted from the rows."""
    start, end = _day(day)
    return [
        Application.objects.filter(accepted_at__gte=start, accepted_at__lt=end).count(),
        Application.objects.filter(issued_at__gte=start, issued_at__lt=end).count(),
        Application.objects.filter(status=Status.REJECTED, closed_at__gte=start, closed_at__lt=end).count(),
        Handover.objects.filter(at__gte=start, at__lt=end).count(),
    ]


def _daily(board: selectors.Dashboard) -> dict[datetime.date, list[Any]]:
    rows = board.table("daily").rows
    return {row[0]: row[1:] for row in rows if isinstance(row[0], datetime.date)}


def test_rolled_days_equal_direct_counts(history: HistoryCounts) -> None:
    province = Unit.objects.get(code="36")
    today = timezone.localdate()
    board = selectors.dashboard(province)
    live = rollup.first_live_day(today)
    window = selectors.window_start(today)
    rolled = set(RolledDay.objects.values_list("day", flat=True))
    assert rolled == {window + datetime.timedelta(days=n) for n in range((live - window).days)}
    assert DayCount.objects.exists()
    for day, row in _daily(board).items():
        assert row == _direct(day), day
    # Per unit: a station's rolled counts are its own rows.
    station = Application.objects.filter(accepted_at__isnull=False).order_by("pk").first()
    assert station is not None
    for count in DayCount.objects.filter(metric=DayCount.Metric.ACCEPTED, unit=station.acceptance_unit_id):
        start, end = _day(count.day)
        assert (
            count.n
            == Application.objects.filter(
                acceptance_unit_id=count.unit, accepted_at__gte=start, accepted_at__lt=end
            ).count()
        )


def test_filled_once(history: HistoryCounts, django_assert_max_num_queries: Any) -> None:
    province = Unit.objects.get(code="36")
    selectors.dashboard(province)
    rows = DayCount.objects.count()
    scope = selectors.scope_for(province)
    with django_assert_max_num_queries(6):  # rolled days checked, read, four live counts
        selectors.series(scope)
    assert DayCount.objects.count() == rows


def test_a_past_day_written_through_the_orm_is_counted_again(history: HistoryCounts) -> None:
    province = Unit.objects.get(code="36")
    today = timezone.localdate()
    before = _daily(selectors.dashboard(province))
    day, old_day = today - datetime.timedelta(days=10), today - datetime.timedelta(days=20)
    moved = Application.objects.filter(
        issued_at__gte=_day(old_day)[0], issued_at__lt=_day(old_day)[1]
    ).first()
    assert moved is not None and RolledDay.objects.filter(day=old_day).exists()
    moved.issued_at = _day(day)[0] + datetime.timedelta(hours=10)
    moved.save(update_fields=["issued_at"])
    # Both the day it leaves and the day it joins are forgotten, and rolled up again.
    assert not RolledDay.objects.filter(day__in=[day, old_day]).exists()
    after = _daily(selectors.dashboard(province))
    assert after[day][1] == before[day][1] + 1
    assert after[old_day][1] == before[old_day][1] - 1
    for check, row in after.items():
        assert row == _direct(check), check
    assert RolledDay.objects.filter(day__in=[day, old_day]).count() == 2
    # A handover deleted on a past day is forgotten too.
    handover = Handover.objects.filter(at__lt=_day(day)[0], at__gte=_day(old_day)[0]).first()
    assert handover is not None
    gone = timezone.localtime(handover.at).date()
    handover.delete()
    assert _daily(selectors.dashboard(province))[gone] == _direct(gone)


def test_command_forgets_and_fills(history: HistoryCounts) -> None:
    call_command("supervision", "rollup", "fill", stdout=None)
    assert RolledDay.objects.exists()
    call_command("supervision", "rollup", "forget")
    assert not RolledDay.objects.exists() and not DayCount.objects.exists()
