"""The rollup of the daily series: equal to counts taken directly from the rows, filled once,
unchanged by the services (they stamp now), forgotten when a past day is rewritten by hand; and
Application loads carry no receiver."""

from __future__ import annotations

import ast
import datetime
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models.signals import post_delete, post_init, post_save
from django.utils import timezone

import tongban
from tongban.demo.history import HistoryCounts
from tongban.handover.models import Handover
from tongban.intake.models import Application
from tongban.intake.transitions import next_statuses
from tongban.production.authority import correct_pending
from tongban.production.models import Batch, BatchItem
from tongban.registry.models import Unit
from tongban.review import services as review_services
from tongban.supervision import rollup, selectors, services, tasks
from tongban.supervision.models import DayCount, RolledDay
from tongban.testing.factories import PersonFactory, UserFactory
from tongban.testing.personas import Personas

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


def test_a_past_day_rewritten_by_hand_is_counted_again_once_forgotten(
    history: HistoryCounts, django_assert_num_queries: Any
) -> None:
    province = Unit.objects.get(code="36")
    today = timezone.localdate()
    before = _daily(selectors.dashboard(province))
    day, old_day = today - datetime.timedelta(days=10), today - datetime.timedelta(days=20)
    moved = Application.objects.filter(
        issued_at__gte=_day(old_day)[0], issued_at__lt=_day(old_day)[1]
    ).first()
    assert moved is not None and RolledDay.objects.filter(day=old_day).exists()
    old_time, moved.issued_at = moved.issued_at, _day(day)[0] + datetime.timedelta(hours=10)
    moved.save(update_fields=["issued_at"])
    # No signal: the ORM write alone leaves both days rolled (a repair must say what it changed).
    assert RolledDay.objects.filter(day__in=[day, old_day]).count() == 2
    rollup.forget_days_of(old_time, moved.issued_at)
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
    rollup.forget_days_of(handover.at)
    assert _daily(selectors.dashboard(province))[gone] == _direct(gone)
    # Times counted live (yesterday, today) or absent cost nothing.
    with django_assert_num_queries(0):
        rollup.forget_days_of(timezone.now(), timezone.now() - datetime.timedelta(days=1), None)


def _exact(board: selectors.Dashboard) -> None:
    for day, row in _daily(board).items():
        assert row == _direct(day), day


def test_refusing_an_application_accepted_on_a_rolled_day_keeps_the_rollup(history: HistoryCounts) -> None:
    """Its acceptance stays where it was counted; the refusal is stamped today, counted live."""
    province = Unit.objects.get(code="36")
    today = timezone.localdate()
    live = rollup.first_live_day(today)
    old = (
        Application.objects.filter(status=Status.PENDING_REVIEW, accepted_at__lt=_day(live)[0])
        .order_by("accepted_at")
        .first()
    )
    assert old is not None and old.review_unit is not None
    selectors.dashboard(province)
    rolled = set(RolledDay.objects.values_list("day", flat=True))
    reviewer = UserFactory.create(role="reviewer", unit=old.review_unit)
    review_services.review_refuse(
        actor=reviewer, application=old, step=old.review_step, refusal_reason="07", remark="材料不实"
    )
    old.refresh_from_db()
    assert old.status == Status.REJECTED and timezone.localtime(old.closed_at).date() == today
    assert set(RolledDay.objects.values_list("day", flat=True)) == rolled
    _exact(selectors.dashboard(province))


def test_correcting_the_authority_of_an_old_application_keeps_the_rollup(history: HistoryCounts) -> None:
    """签发机关 put right (production/0002), 制证中 taken out of its packaged batch back to 已签发:
    neither the authority nor these statuses are counted."""
    province = Unit.objects.get(code="36")
    live = rollup.first_live_day(timezone.localdate())
    old = list(
        Application.objects.filter(status=Status.IN_PRODUCTION, issued_at__lt=_day(live)[0]).order_by(
            "issued_at"
        )[:20]
    )
    assert old
    Application.objects.filter(pk__in=[a.pk for a in old]).update(issuing_authority="南昌市公安局")
    batch = Batch.objects.create(
        number="B-ROLLUP-1",
        centre=Unit.objects.get(code="360000901"),
        state=Batch.State.PACKAGED,
        size=len(old),
    )
    BatchItem.objects.bulk_create([BatchItem(batch=batch, application=a) for a in old])
    selectors.dashboard(province)
    rolled = set(RolledDay.objects.values_list("day", flat=True))
    counts = correct_pending(apps.get_model, now=timezone.now())
    assert counts.corrected >= len(old) and counts.unpackaged == len(old)
    assert set(Application.objects.filter(pk__in=[a.pk for a in old]).values_list("status", flat=True)) == {
        Status.ISSUED
    }
    assert set(RolledDay.objects.values_list("day", flat=True)) == rolled
    _exact(selectors.dashboard(province))


def test_loading_applications_does_no_per_instance_work() -> None:
    for model in (Application, Handover):
        for signal in (post_init, post_save, post_delete):
            assert not signal.has_listeners(model), (model, signal)


# Not the running system (tests, test helpers, migrations: they run before any rollup) and
# `tongban.demo`, whose history generator writes rows of dicts in bulk, then calls `forget()`.
_SKIPPED = ("tests", "testing", "migrations", "demo")
_TIMES = {"accepted_at", "issued_at", "closed_at", "at"}
_UNITS = {"acceptance_unit", "acceptance_unit_id", "household_unit", "household_unit_id"}
_NOW = {"now", "timezone.now()"}
_REJECTED = {"Status.REJECTED", "Application.Status.REJECTED", "'rejected'"}
_FORGET = {"forget", "forget_days_of"}


def _sources() -> Iterator[tuple[str, ast.AST]]:
    root = pathlib.Path(tongban.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if not set(path.relative_to(root).parts) & set(_SKIPPED):
            yield str(path.relative_to(root)), ast.parse(path.read_text(encoding="utf-8"))


def _assigned(node: ast.Assign) -> Iterator[tuple[ast.Attribute, ast.expr]]:
    for target in node.targets:
        pairs = (
            zip(target.elts, node.value.elts, strict=True)
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
            else [(target, node.value)]
        )
        yield from ((t, v) for t, v in pairs if isinstance(t, ast.Attribute))


def _counted_writes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[int, str]]:
    """(line, what) for each write in `function` that could change a rolled day."""
    stamps_closed = refuses = False
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target, value in _assigned(node):
                if target.attr not in _TIMES | _UNITS | {"status"}:
                    continue
                text = f"{ast.unparse(target)} = {ast.unparse(value)}"
                if target.attr in _TIMES and ast.unparse(value) not in _NOW:
                    yield node.lineno, text
                if target.attr in _UNITS or (target.attr == "status" and ast.unparse(value) in _REJECTED):
                    yield node.lineno, text
                stamps_closed |= target.attr == "closed_at"
        elif isinstance(node, ast.Call):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if method in {"update", "bulk_update"}:
                names = {k.arg for k in node.keywords} | {
                    c.value for a in node.args for c in ast.walk(a) if isinstance(c, ast.Constant)
                }
                counted = sorted(str(name) for name in names & (_TIMES | _UNITS))
                if counted:
                    yield node.lineno, f"{method}() of {counted}"
            refuses |= any(k.arg == "to" and ast.unparse(k.value) in _REJECTED for k in node.keywords)
    if refuses and not stamps_closed:
        yield function.lineno, f"{function.name}: 不予签发 without closed_at"


def _forgets(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The function forgets what it changed itself (`rollup.forget_days_of`, `rollup.forget`)."""
    return any(
        (isinstance(node, ast.Attribute) and node.attr in _FORGET)
        or (isinstance(node, ast.Name) and node.id in _FORGET)
        for node in ast.walk(function)
    )


def test_no_service_writes_a_counted_value_of_a_day_that_may_be_over() -> None:
    """The rollup has no signals: every write of a counted time is stamped with now, no unit an
    application counts for is changed, and 不予签发 comes with its time, unless the function
    forgets what it changed (`rollup.forget_days_of` with the old and new times, or `forget`)."""
    wrong = [
        f"{name}:{line} {what}"
        for name, tree in _sources()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and not _forgets(function)
        for line, what in _counted_writes(function)
    ]
    assert wrong == []
    assert not next_statuses(Status.REJECTED)  # 不予签发 is final: its closed_at never moves
    assert Handover._meta.get_field("at").auto_now_add


def test_command_forgets_and_fills(history: HistoryCounts) -> None:
    call_command("supervision", "rollup", "fill", stdout=None)
    assert RolledDay.objects.exists()
    call_command("supervision", "rollup", "forget")
    assert not RolledDay.objects.exists() and not DayCount.objects.exists()


def test_the_nightly_rollup_fills_the_window_once(
    personas: Personas, accept: Any, django_assert_max_num_queries: Any
) -> None:
    today = timezone.localdate()
    window, live = selectors.window_start(today), rollup.first_live_day(today)
    application = accept(personas.nanchang_clerk, PersonFactory.create())
    five_days_ago = _day(today - datetime.timedelta(days=5))[0] + datetime.timedelta(hours=10)
    Application.objects.filter(pk=application.pk).update(accepted_at=five_days_ago)

    assert services.rollup_fill() == (live - window).days
    assert set(RolledDay.objects.values_list("day", flat=True)) == {
        window + datetime.timedelta(days=n) for n in range((live - window).days)
    }
    counted = DayCount.objects.get(metric=DayCount.Metric.ACCEPTED, day=five_days_ago.date())
    assert (counted.unit, counted.n) == (application.acceptance_unit_id, 1)
    rows = DayCount.objects.count()
    with django_assert_max_num_queries(1):  # again: the rolled days are read, nothing written
        assert services.rollup_fill() == 0
    assert DayCount.objects.count() == rows


def test_the_schedule_calls_the_service() -> None:
    tasks.supervision_rollup()
    today = timezone.localdate()
    assert RolledDay.objects.filter(day=rollup.first_live_day(today) - datetime.timedelta(days=1)).exists()
