"""审核期限提醒: a schedule (tongban/review/tasks.py) tells each review unit, and the county bureau
above a station, of its items in review as they come near their deadline (临近到期: due the next
working day), reach it (今日到期) and pass it (已超期) — once per item, step and state, whatever
how often it runs. The states are those of the review queue and the home page (selectors.due_state)."""

from __future__ import annotations

import datetime
from collections import Counter

from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.notifications.services import Notification, compose, notify_once, texts_in_force
from tongban.registry.models import Unit
from tongban.review.selectors import due_days, due_state

KIND = "review.deadline"  # its templates: review.deadline.<state> (notifications.texts)
BATCH = 1000


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
