"""审核期限提醒: each item in review is announced to its review unit and the county bureau above as it
comes near its deadline, reaches it and passes it — once per state, however often the schedule runs;
the states are those the review queue counts. 节假日安排未录入提醒: the provincial administrators are
told daily from November while next year's arrangement is missing."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from tongban.intake.models import Application
from tongban.notifications.models import Message
from tongban.registry.models import CalendarDay, CalendarYear
from tongban.review import deadlines, tasks
from tongban.review.selectors import due_days, queue_counts
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("outbox")
def test_each_state_is_told_once_to_the_unit_and_its_county_bureau(
    personas: Personas, accept: Any, household_reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    days = due_days()
    items = [accept(personas.ganzhou_clerk, PersonFactory.create()) for _ in range(4)]
    dues = [
        days.today - datetime.timedelta(days=2),  # overdue
        days.today,  # due today
        days.next_workday,  # at risk
        days.next_workday + datetime.timedelta(days=7),  # not yet
    ]
    for application, due in zip(items, dues, strict=True):
        Application.objects.filter(pk=application.pk).update(review_due=due)
    Message.objects.all().delete()  # the acceptances' own notifications

    with django_capture_on_commit_callbacks(execute=True):
        told = deadlines.review_deadlines_notify()
    assert told == {"overdue": 2, "due_today": 2, "at_risk": 2}  # the station and its county bureau
    station = items[0].review_unit
    assert station is not None and station.parent is not None
    sent = list(
        Message.objects.filter(kind="review.deadline").values_list("application_id", "unit_code", "text")
    )
    assert {(a, u) for a, u, _ in sent} == {
        (item.pk, code) for item in items[:3] for code in (station.code, station.parent.code)
    }
    assert all(t.startswith(("已超期", "今日到期", "临近到期")) and "受理号" in t for _, _, t in sent)
    assert all(m.status == Message.Status.SENT for m in Message.objects.all())

    # The schedule again: nothing new. The next day the at-risk item is due today: told once more.
    assert deadlines.review_deadlines_notify() == {}
    with django_capture_on_commit_callbacks(execute=True):
        later = deadlines.review_deadlines_notify(today=days.next_workday)
    assert later == {"overdue": 2, "due_today": 2}  # today's is overdue now, the at-risk one due
    # What the queue counts is what the reminders say.
    counts = queue_counts(household_reviewer, days)["subtree"]
    assert (counts["overdue"], counts["due_today"], counts["at_risk"]) == (1, 1, 1)


@pytest.mark.usefixtures("outbox")
def test_the_provincial_administrators_are_warned_daily_from_november_of_a_missing_year(
    django_capture_on_commit_callbacks: Any,
) -> None:
    CalendarDay.objects.filter(date__year=2027).delete()
    CalendarYear.objects.filter(year=2027).delete()
    october, november = datetime.date(2026, 10, 31), datetime.date(2026, 11, 1)

    assert deadlines.calendar_missing_notify(today=october) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines.calendar_missing_notify(today=november) == 1
    [message] = Message.objects.filter(kind="calendar.missing")
    assert (message.unit_code, message.status, message.kind_label) == ("36", "sent", "节假日安排未录入提醒")
    assert message.text.startswith("2027 年节假日安排尚未录入") and "暂估" in message.text
    # Once a day, however often it runs; the next day again.
    assert deadlines.calendar_missing_notify(today=november) == 0
    assert deadlines.calendar_missing_notify(today=november + datetime.timedelta(days=1)) == 1
    # Still missing in the new year: the year has begun without it.
    assert deadlines.calendar_missing_notify(today=datetime.date(2027, 1, 4)) == 1
    # Entered: no more warnings.
    CalendarYear.objects.create(year=2027, source="管理员录入")
    assert deadlines.calendar_missing_notify(today=datetime.date(2026, 11, 3)) == 0
    assert deadlines.calendar_missing_notify(today=datetime.date(2027, 1, 5)) == 0


@pytest.mark.usefixtures("outbox")
def test_the_schedules_call_their_services(
    personas: Personas, accept: Any, django_capture_on_commit_callbacks: Any
) -> None:
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    Application.objects.filter(pk=application.pk).update(review_due=due_days().today)
    this_year = timezone.localdate().year
    CalendarYear.objects.filter(year=this_year).delete()
    Message.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.review_deadlines()
        tasks.calendar_warning()
    assert set(Message.objects.values_list("kind", flat=True)) == {"review.deadline", "calendar.missing"}
    warned = Message.objects.filter(kind="calendar.missing").values_list("text", flat=True)
    assert any(text.startswith(f"{this_year} 年节假日安排尚未录入") for text in warned)
