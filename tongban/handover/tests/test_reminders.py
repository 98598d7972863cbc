"""核验提醒: applicants are reminded before their verification's deadline and the station is told once
it has passed — once per verification and deadline, however often the schedule runs."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from tongban.handover.models import Verification
from tongban.handover.reminders import verification_reminders_notify
from tongban.intake.models import Application
from tongban.notifications.models import Message
from tongban.registry.calendar import work_calendar
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("outbox")
def test_reminders_before_the_deadline_and_the_station_after_it(
    personas: Personas, accept: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.VERIFICATION_REMIND_WORKDAYS = 5
    today = timezone.localdate()
    calendar = work_calendar(today, today + datetime.timedelta(days=60))
    dues = {
        "soon": calendar.add_workdays(today, 3),  # within the 5 working days: reminded
        "later": calendar.add_workdays(today, 20),  # not yet
        "late": today - datetime.timedelta(days=1),  # past: the station is told
        "done": today - datetime.timedelta(days=1),  # verified already: nothing
    }
    items = {}
    for name, due in dues.items():
        application = accept(personas.nanchang_clerk, PersonFactory.create())
        Application.objects.filter(pk=application.pk).update(status=Application.Status.PENDING_VERIFICATION)
        Verification.objects.create(
            application=application, due=due, verified_at=timezone.now() if name == "done" else None
        )
        items[name] = application
    Application.objects.filter(pk=items["done"].pk).update(status=Application.Status.VERIFIED)
    Message.objects.all().delete()  # the acceptances' own notifications

    with django_capture_on_commit_callbacks(execute=True):
        assert verification_reminders_notify(today=today) == {"reminded": 1, "overdue": 1}
    sent = {m.application_id: m for m in Message.objects.all()}
    assert set(sent) == {items["soon"].pk, items["late"].pk}
    reminder, overdue = sent[items["soon"].pk], sent[items["late"].pk]
    assert (reminder.kind, reminder.phone, reminder.status) == (
        "verification.reminder",
        "13800138000",
        "sent",
    )
    assert f"{dues['soon']:%Y-%m-%d} 前" in reminder.text and items["soon"].number in reminder.text
    assert (overdue.kind, overdue.unit_code) == ("verification.overdue", "360102001")
    assert "核验逾期" in overdue.text and overdue.kind_label == "核验逾期通知"
    # Again: nothing new.
    assert verification_reminders_notify(today=today) == {"reminded": 0, "overdue": 0}
