"""The deadlines' schedules (tongban/review/tasks.py).

审核期限提醒 tells each review unit, and the county bureau above a station, of its items in review
as they come near their deadline (临近到期: due the next working day), reach it (今日到期) and pass
it (已超期) — once per item, step and state, whatever how often it runs. The states are those of
the review queue and the home page (selectors.due_state).

节假日安排未录入提醒 tells the provincial administrators, once a day from 1 November, that next
year's holiday arrangement is not entered yet, so deadlines reaching it count weekends only. It
is sent from here because deadlines are what the arrangement is for, and the registry that keeps
it sends no messages (the outbox belongs to a later stage)."""

from __future__ import annotations

import datetime
from collections import Counter

from django.utils import timezone

from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.notifications.services import Notification, compose, notify_once, texts_in_force
from tongban.registry.calendar import missing_calendar_years
from tongban.registry.models import Unit
from tongban.review.selectors import due_days, due_state

KIND = "review.deadline"  # its templates: review.deadline.<state> (notifications.texts)
BATCH = 1000

CALENDAR_KIND = "calendar.missing"  # its template has the same code (notifications.texts)
# The State Council publishes next year's arrangement in the autumn, and from November on the
# deadlines of the year's last weeks reach into January.
CALENDAR_WARN_FROM = (11, 1)


def review_deadlines_notify(*, today: datetime.date | None = None) -> dict[str, int]:
    """Send what is new since the last run; returns the messages queued, per state."""
    days = due_days(today)
    items = (
        Application.objects.filter(status__in=IN_REVIEW_STATUSES, review_due__lte=days.next_workday)
        .select_related("review_unit__parent")
        .only(
            "number",
            "status",
            "review_due",
            "review_step",
            "review_unit__code",
            "review_unit__kind",
            "review_unit__parent__code",
        )
        .order_by("pk")
    )
    letters = texts_in_force(*(f"{KIND}.{state}" for state in ("at_risk", "due_today", "overdue")))
    told: Counter[str] = Counter()
    batch: dict[str, tuple[str, Notification]] = {}  # key → (state, message)

    def send() -> None:
        for key in notify_once((key, message) for key, (_, message) in batch.items()):
            told[batch[key][0]] += 1
        batch.clear()

    for application in items.iterator(chunk_size=BATCH):
        state = due_state(application, days)
        if not state:
            continue
        for code in _units(application):
            message = compose(
                f"{KIND}.{state}",
                unit_code=code,
                application_id=application.pk,
                text=letters[f"{KIND}.{state}"],
                number=application.number,
                due=f"{application.review_due:%Y-%m-%d}",
            )
            batch[_key(application, state, code)] = (state, message)
        if len(batch) >= BATCH:
            send()
    send()
    return dict(told)


def _units(application: Application) -> list[str]:
    unit = application.review_unit
    if unit is None:
        return []
    codes = [unit.code]
    if unit.kind == Unit.Kind.STATION and unit.parent is not None:
        codes.append(unit.parent.code)  # the county bureau's supervisors
    return codes


def _key(application: Application, state: str, code: str) -> str:
    return f"{KIND}:{application.pk}:{application.review_step}:{state}:{code}"


def calendar_missing_notify(*, today: datetime.date | None = None) -> int:
    """Warn the provincial administrators (the province's unit, where those who may enter the
    arrangement, `reference.manage`, work) of each year without one: the current year, and from
    CALENDAR_WARN_FROM the next — once a day per year. Returns the messages queued."""
    today = today or timezone.localdate()
    ahead = today >= datetime.date(today.year, *CALENDAR_WARN_FROM)
    horizon = (datetime.date(today.year + 1, 1, 1) - today).days if ahead else 0
    provinces = Unit.objects.filter(kind=Unit.Kind.PROVINCE, parent=None).values_list("code", flat=True)
    text = texts_in_force(CALENDAR_KIND)[CALENDAR_KIND]
    wanted = {
        f"{CALENDAR_KIND}:{year}:{today:%Y-%m-%d}:{code}": compose(
            CALENDAR_KIND, unit_code=code, text=text, year=year
        )
        for year in missing_calendar_years(today, horizon)
        for code in provinces
    }
    return len(notify_once(wanted.items()))
