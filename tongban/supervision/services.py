"""督办: a supervisor urges the unit responsible for a stuck application to act.

A 督办 is an entry in the application's 办理记录 (action `supervised`) written through
`intake.transitions.application_event`, which also writes the audit row. Being an event, it moves
`last_event_at`: the responsible unit gets the stuck-item limit again, counted from the urge,
before the item shows as stuck once more. Until somebody acts, the item stays listed under
已督办待办理 (its last entry is the 督办), and the stuck list shows every item's last 督办, so
urged items remain identifiable (docs/supervision.md).

`rollup_fill` rolls the dashboards' daily series up ahead of the first visit (the nightly
schedule and `tongban supervision rollup fill`).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import EventAction
from tongban.core.errors import ServiceError
from tongban.intake.models import ApplicationEvent
from tongban.intake.transitions import application_event, lock
from tongban.notifications.services import compose, notify
from tongban.supervision import rollup
from tongban.supervision.selectors import responsible_unit, stuck_get, window_start

NOTE_MAX = 500


@transaction.atomic
def application_supervise(*, actor: User, number: str, note: str) -> ApplicationEvent:
    """督办 the unfinished application `number` of the actor's subtree: record the note and tell
    the responsible unit (after commit)."""
    if not actor.can("supervision.act"):
        raise ServiceError("not_found", "未找到该申领。", status=404)
    note = note.strip()
    if len(note) < 2:
        raise ServiceError("note_required", "请填写督办意见。", fields={"note": "请填写督办意见。"})
    if len(note) > NOTE_MAX:
        raise ServiceError(
            "note_too_long",
            f"督办意见不能超过 {NOTE_MAX} 个字。",
            fields={"note": f"不能超过 {NOTE_MAX} 个字。"},
        )
    try:
        found = stuck_get(actor, number)
    except Http404:
        raise ServiceError("not_found", "未找到该申领。", status=404) from None
    application = lock(found)
    unit = responsible_unit(application)
    if unit is None or not actor.unit or not actor.unit.contains(unit):
        raise ServiceError("not_found", "未找到该申领。", status=404)
    event = application_event(
        application,
        actor=actor,
        action=EventAction.SUPERVISED,
        note=note,
        detail={
            "unit": unit.code,
            "quiet_since": application.last_event_at.isoformat() if application.last_event_at else "",
        },
    )
    notify(
        compose(
            "application.supervised",
            unit_code=unit.code,
            application_id=application.pk,
            number=application.number,
            status=application.get_status_display(),
            note=note,
            by=actor.unit.name,
        )
    )
    return event


def rollup_fill(*, today: datetime.date | None = None) -> int:
    """Roll up every day of the dashboards' window that is over and not rolled up yet; returns
    how many. A rolled day is left as it is (and counting one twice at once inserts its rows
    once), so a second run, or two at the same moment, adds nothing."""
    today = today or timezone.localdate()
    return rollup.ensure(window_start(today), rollup.first_live_day(today))
