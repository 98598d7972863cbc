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
from tongban.notifications.services import Notification, notify_once
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
    wanted: dict[str, Notification] = {}
    for verification in owed:
        application = verification.application
        due = f"{verification.due:%Y-%m-%d}"
        if verification.due >= today:
            key = f"{APPLICANT_KIND}:{verification.pk}:{due}"
            wanted[key] = Notification(
                APPLICANT_KIND,
                f"提醒：您的居民身份证（受理号 {application.number}）须于 {due} 前携带证件到受理地或"
                "户籍地公安机关核验证件信息和指纹。",
                phone=application.phone,
                application_id=application.pk,
            )
        else:
            key = f"{UNIT_KIND}:{verification.pk}:{due}"
            wanted[key] = Notification(
                UNIT_KIND,
                f"核验逾期：受理号 {application.number} 核验期限 {due} 已过，申请人尚未核验，请联系申请人。",
                unit_code=application.acceptance_unit.code,
                application_id=application.pk,
            )
    counts = {"reminded": 0, "overdue": 0}
    for key in notify_once(wanted.items()):
        counts["reminded" if wanted[key].kind == APPLICANT_KIND else "overdue"] += 1
    return counts
