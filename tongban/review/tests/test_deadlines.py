"""审核期限提醒: each item in review is announced to its review unit and the county bureau above as it
comes near its deadline, reaches it and passes it — once per state, however often the schedule runs;
the states are those the review queue counts."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tongban.intake.models import Application
from tongban.notifications.models import Message
from tongban.review import deadlines
from tongban.review.selectors import due_days, queue_counts
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


def test_each_state_is_told_once_to_the_unit_and_its_county_bureau(
    personas: Personas,
    accept: Any,
    household_reviewer: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.NOTIFICATIONS_BACKEND = "memory"
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
