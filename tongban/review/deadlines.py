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
from tongban.notifications.services import Notification, notify_once
from tongban.registry.calendar import missing_calendar_years
from tongban.registry.models import Unit
from tongban.review.selectors import due_days, due_state

KIND = "review.deadline"
TEXTS = {
    "at_risk": "临近到期：受理号 {number} 审核签发期限 {due}，请尽快办理。",
    "due_today": "今日到期：受理号 {number} 审核签发期限为今天（{due}），请今日办结。",
    "overdue": "已超期：受理号 {number} 审核签发期限 {due} 已过，请立即办理。",
}
BATCH = 1000

CALENDAR_KIND = "calendar.missing"
CALENDAR_TEXT = (
    "{year} 年节假日安排尚未录入：涉及 {year} 年的办理期限（审核签发、核验等）暂只按周末计算，"
    "显示为“暂估”。请在系统管理的“节假日安排”中录入该年的放假和调休上班日期，"
    "再在“节假日安排年度”中添加 {year} 年（或运行 tongban calendar load --year {year}）；"
    "录入后本提醒停止。"
)
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
        text = TEXTS[state].format(number=application.number, due=f"{application.review_due:%Y-%m-%d}")
        for code in _units(application):
            message = Notification(KIND, text, unit_code=code, application_id=application.pk)
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
    wanted = {
        f"{CALENDAR_KIND}:{year}:{today:%Y-%m-%d}:{code}": Notification(
            CALENDAR_KIND, CALENDAR_TEXT.format(year=year), unit_code=code
        )
        for year in missing_calendar_years(today, horizon)
        for code in provinces
    }
    return len(notify_once(wanted.items()))
