"""核验提醒: a schedule (tongban/handover/tasks.py) reminds applicants who received their card by proxy
or by post of the verification they owe, VERIFICATION_REMIND_WORKDAYS working days before its
deadline, and tells the acceptance station of each one overdue — once per verification and
deadline (the message's key), however often it runs."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from tongban.handover.models import Verification
from tongban.intake.models import Application
from tongban.notifications.services import Notification, compose, notify_once, texts_in_force
from tongban.registry.calendar import work_calendar

APPLICANT_KIND = "verification.reminder"
UNIT_KIND = "verification.overdue"


def verification_reminders_notify(*, today: datetime.date | None = None) -> dict[str, int]:
    """Send what is new since the last run: {"reminded": n, "overdue": m}."""
    today = today or timezone.localdate()
    calendar = work_calendar(today, today + datetime.timedelta(days=90))
    horizon = calendar.add_workdays(today, settings.VERIFICATION_REMIND_WORKDAYS)
    owed = (
        Verification.objects.filter(
            verified_at=None,
            application__status=Application.Status.PENDING_VERIFICATION,
            due__lte=horizon,
        )
        .select_related("application__acceptance_unit")
        .order_by("pk")
    )
    letters = texts_in_force(APPLICANT_KIND, UNIT_KIND)
    wanted: dict[str, Notification] = {}
    for verification in owed:
        application = verification.application
        due = f"{verification.due:%Y-%m-%d}"
        if verification.due >= today:
            key = f"{APPLICANT_KIND}:{verification.pk}:{due}"
            wanted[key] = compose(
                APPLICANT_KIND,
                phone=application.phone,
                application_id=application.pk,
                text=letters[APPLICANT_KIND],
                number=application.number,
                due=due,
            )
        else:
            key = f"{UNIT_KIND}:{verification.pk}:{due}"
            wanted[key] = compose(
                UNIT_KIND,
                unit_code=application.acceptance_unit.code,
                application_id=application.pk,
                text=letters[UNIT_KIND],
                number=application.number,
                due=due,
            )
    counts = {"reminded": 0, "overdue": 0}
    for key in notify_once(wanted.items()):
        counts["reminded" if wanted[key].kind == APPLICANT_KIND else "overdue"] += 1
    return counts
