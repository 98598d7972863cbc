"""The application's state machine (DOMAIN.md §2): every move an application can make, each
named, with the statuses it starts from, the status it leads to and the event it writes to the
办理记录. Every stage moves an application only by naming one of these:

    application_transition(application, Transition.ISSUE, actor=actor, note=opinion)

A move not listed here is refused (409 `bad_transition`). Things that happen to an application
without moving it (领取, 督办, a photo checked …) are events only: `application_event`.

To add a move: a member of `Transition` (its sources, target and `EventAction`; a new event
needs its member in `tongban/audit/actions.py` too), then call it from the stage's service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any

from django.db import transaction

from tongban.accounts.models import User
from tongban.audit.actions import EventAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.intake.models import Application, ApplicationEvent

Status = Application.Status

_IN_REVIEW = (Status.PENDING_REVIEW, Status.UNDER_VERIFICATION)


class Transition(Enum):
    """A named move: (from these statuses, to this one, logged as this event)."""

    sources: frozenset[str]
    target: str
    event: EventAction

    def __init__(self, sources: Iterable[str], target: str, event: EventAction) -> None:
        self.sources = frozenset(sources)
        self.target = target
        self.event = event

    # 受理 (intake)
    ACCEPT = (Status.DRAFT,), Status.ACCEPTED, EventAction.ACCEPTED
    ROUTE = (Status.ACCEPTED,), Status.PENDING_REVIEW, EventAction.ROUTED
    ABANDON = (Status.DRAFT,), Status.WITHDRAWN, EventAction.ABANDONED
    WITHDRAW = (Status.DRAFT, Status.ACCEPTED, *_IN_REVIEW), Status.WITHDRAWN, EventAction.WITHDRAWN
    RECOLLECT_PHOTO = (Status.RECOLLECT,), Status.ISSUED, EventAction.PHOTO_RECOLLECTED
    # 审核签发 (review): the item stays in review until issued or refused.
    RECORD_VERIFICATION = _IN_REVIEW, Status.UNDER_VERIFICATION, EventAction.VERIFICATION_NOTED
    PASS = _IN_REVIEW, Status.PENDING_REVIEW, EventAction.PASSED
    ISSUE = _IN_REVIEW, Status.ISSUED, EventAction.ISSUED
    REFUSE = _IN_REVIEW, Status.REJECTED, EventAction.REFUSED
    # 制证 (production): batched, then produced, or failed back to re-collection or reprint.
    BATCH = (Status.ISSUED,), Status.IN_PRODUCTION, EventAction.BATCHED
    PRODUCE = (Status.IN_PRODUCTION,), Status.PRODUCED, EventAction.PRODUCED
    FAIL_QUALITY = (Status.IN_PRODUCTION,), Status.RECOLLECT, EventAction.QUALITY_FAILED
    # A card failed at the centre, or lost or damaged on its way or at the site, is made again.
    REPRINT = (
        (Status.IN_PRODUCTION, Status.PRODUCED, Status.SHIPPED, Status.AT_SITE),
        Status.ISSUED,
        EventAction.REPRINT,
    )
    # 分发 (distribution): shipped, forwarded by the county after its check, received at the site.
    SHIP = (Status.PRODUCED,), Status.SHIPPED, EventAction.SHIPPED
    FORWARD = (Status.SHIPPED,), Status.SHIPPED, EventAction.FORWARDED
    RECEIVE = (Status.SHIPPED,), Status.AT_SITE, EventAction.RECEIVED
    # 核验发放 (handover): in person, or by a relative / by post with the applicant's own check later.
    DELIVER = (Status.SHIPPED,), Status.PENDING_VERIFICATION, EventAction.DELIVERED
    HAND_OVER = (Status.AT_SITE,), Status.HANDED_OVER, EventAction.HANDED_OVER
    HAND_OVER_TO_PROXY = (Status.AT_SITE,), Status.PENDING_VERIFICATION, EventAction.HANDED_OVER_PROXY
    VERIFY = (Status.PENDING_VERIFICATION,), Status.VERIFIED, EventAction.VERIFIED
    # 跨省通办, the acceptance side: the household province's decision, as it comes back.
    REMOTE_ISSUE = _IN_REVIEW, Status.ISSUED, EventAction.REMOTE_ISSUED
    REMOTE_REFUSE = _IN_REVIEW, Status.REJECTED, EventAction.REMOTE_REFUSED
    # … the household side: the acceptance province's copy withdrawn, made, shipped, handed over.
    REMOTE_WITHDRAW = (Status.ACCEPTED, *_IN_REVIEW), Status.WITHDRAWN, EventAction.REMOTE_WITHDRAWN
    REMOTE_PRODUCE = (Status.ISSUED,), Status.PRODUCED, EventAction.REMOTE_PRODUCED
    REMOTE_SHIP = (Status.PRODUCED,), Status.SHIPPED, EventAction.REMOTE_SHIPPED
    REMOTE_RECEIVE = (Status.SHIPPED,), Status.AT_SITE, EventAction.REMOTE_AT_SITE
    REMOTE_DELIVER = (Status.SHIPPED,), Status.PENDING_VERIFICATION, EventAction.REMOTE_DELIVERED
    REMOTE_HAND_OVER = (Status.AT_SITE,), Status.HANDED_OVER, EventAction.REMOTE_HANDED_OVER
    REMOTE_HAND_OVER_TO_PROXY = (
        (Status.AT_SITE,),
        Status.PENDING_VERIFICATION,
        EventAction.REMOTE_HANDED_OVER_PROXY,
    )
    REMOTE_VERIFY = (Status.PENDING_VERIFICATION,), Status.VERIFIED, EventAction.REMOTE_VERIFIED
    REMOTE_REPRINT = (
        (Status.PRODUCED, Status.SHIPPED, Status.AT_SITE),
        Status.ISSUED,
        EventAction.REMOTE_REPRINT,
    )


# Called with the application and its new event, in the transaction that wrote it. A later part
# (the 跨省通办 exchange) learns of moves here without any stage importing it; it registers in its
# AppConfig.ready(). A listener that raises undoes the whole action.
EVENT_LISTENERS: list[Callable[[Application, ApplicationEvent], None]] = []
# What the listeners read of the application: a caller that loads applications with `.only()` to
# move them includes these, or each move reads them again one query at a time.
LISTENED_FIELDS = ("exchange", "remote_province")


def next_statuses(status: str) -> frozenset[str]:
    """Where an application in `status` can move (empty for a final status)."""
    return frozenset(move.target for move in Transition if status in move.sources)


def application_transition(
    application: Application,
    transition: Transition,
    *,
    actor: User | None,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Make the move `transition` on a locked application, saving its other changed fields, and
    write its event and the audit row. The caller holds the row lock (select_for_update) and has
    set the fields that go with the move."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("application_transition must run inside the caller's transaction")
    current = application.status
    if current not in transition.sources:
        raise ServiceError(
            "bad_transition",
            f"该申领当前为“{Status(current).label}”，不能转为“{Status(transition.target).label}”。",
            status=409,
        )
    application.status = transition.target
    application.save()
    return application_event(
        application,
        actor=actor,
        action=transition.event,
        from_status=current,
        note=note,
        detail=detail,
    )


def application_event(
    application: Application,
    *,
    actor: User | None,
    action: EventAction,
    from_status: str | None = None,
    note: str = "",
    detail: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Record what happened to an application: its own history and the audit chain."""
    action = EventAction(action)  # ValueError for a code outside the vocabulary
    event = ApplicationEvent.objects.create(
        application=application,
        action=action.value,
        from_status=from_status if from_status is not None else application.status,
        to_status=application.status,
        actor=actor,
        unit=actor.unit if actor is not None else None,
        note=note,
        detail=detail or {},
    )
    application.last_event_at = event.at
    Application.objects.filter(pk=application.pk).update(last_event_at=event.at)
    record(
        actor=actor,
        action=action.audit_action,
        object_type="intake.application",
        object_id=application.pk,
        detail={"number": application.number or "", "status": application.status, **(detail or {})},
    )
    for listener in EVENT_LISTENERS:
        listener(application, event)
    return event


def lock(application: Application) -> Application:
    """The application re-read under a row lock (refreshes the caller's copy)."""
    return Application.objects.select_for_update().get(pk=application.pk)
