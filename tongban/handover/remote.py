"""跨省通办, the household side after issue: the acceptance province makes the card and hands it
over; its progress comes back through the exchange and moves our copy of the application
(`Application.Exchange.IN`) along, so that its status here stays true (已制证 → 已分发 → 待领取 →
已领取 / 待核验 → 已核验), and the card enters our card history (the household keeps it): made
(已制证未领取) when produced there, valid when handed over, the card it replaces invalidated as at
our own counters. Our production never sees these applications (their acceptance unit is the
other province's, which no routing rule names).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from tongban.core.errors import ServiceError
from tongban.core.regions import place_name
from tongban.handover.services import card_activate, produced_card
from tongban.intake.models import Application
from tongban.intake.transitions import Transition, application_transition, lock
from tongban.registry.models import Card

Status = Application.Status


class RemoteStage(models.TextChoices):
    """How far the acceptance province has got with the card, as its messages name it."""

    PRODUCED = "produced", "已制证"
    SHIPPED = "shipped", "已分发"
    AT_SITE = "at_site", "待领取"
    DELIVERED = "delivered", "邮政妥投"
    HANDED_OVER = "handed_over", "本人领取"
    HANDED_OVER_PROXY = "handed_over_proxy", "亲属代领"
    VERIFIED = "verified", "本人核验"
    REPRINT = "reprint", "重新制证"


_T = Transition
# The moves that lead from 已签发 to each stage; a message may skip stages (one lost or late),
# so the copy takes every move from where it stands.
_PATHS: dict[RemoteStage, tuple[Transition, ...]] = {
    RemoteStage.PRODUCED: (_T.REMOTE_PRODUCE,),
    RemoteStage.SHIPPED: (_T.REMOTE_PRODUCE, _T.REMOTE_SHIP),
    RemoteStage.AT_SITE: (_T.REMOTE_PRODUCE, _T.REMOTE_SHIP, _T.REMOTE_RECEIVE),
    RemoteStage.DELIVERED: (_T.REMOTE_PRODUCE, _T.REMOTE_SHIP, _T.REMOTE_DELIVER),
    RemoteStage.HANDED_OVER: (_T.REMOTE_PRODUCE, _T.REMOTE_SHIP, _T.REMOTE_RECEIVE, _T.REMOTE_HAND_OVER),
    RemoteStage.HANDED_OVER_PROXY: (
        _T.REMOTE_PRODUCE,
        _T.REMOTE_SHIP,
        _T.REMOTE_RECEIVE,
        _T.REMOTE_HAND_OVER_TO_PROXY,
    ),
    RemoteStage.VERIFIED: (_T.REMOTE_VERIFY,),
}
# How far along each status is: a message about a stage already passed changes nothing.
_RANK: dict[str, int] = {
    Status.ISSUED: 0,
    Status.PRODUCED: 1,
    Status.SHIPPED: 2,
    Status.AT_SITE: 3,
    Status.PENDING_VERIFICATION: 4,
    Status.HANDED_OVER: 4,
    Status.VERIFIED: 5,
}
# The moves after which the applicant has the card: it becomes valid.
_CARD_IN_HAND = frozenset({_T.REMOTE_DELIVER, _T.REMOTE_HAND_OVER, _T.REMOTE_HAND_OVER_TO_PROXY})


def remote_progress_apply(
    *,
    application: Application,
    stage: RemoteStage,
    card_serial: str = "",
    at: datetime.datetime | None = None,
    source: Mapping[str, Any] | None = None,
) -> Application:
    """The acceptance province reports `stage` (at `at`, its time) for an application we issued
    (跨省受理·本省户籍). `card_serial` (卡号) comes with 已制证, the card then entering our card
    history. A stage already reached or passed changes nothing; `reprint` takes the copy back to
    已签发 and cancels the card made."""
    with transaction.atomic():  # not durable: inside the exchange's receiving one
        application = lock(application)
        if application.exchange != Application.Exchange.IN:
            raise ServiceError("not_cross_province", "该申领不是跨省通办申领。", status=409)
        where = f"受理地（{place_name(application.remote_province)}）{application.remote_unit_name}"
        detail: dict[str, Any] = {"stage": stage.value}
        if at is not None:
            detail["at"] = at.isoformat()
        if source:
            detail["source"] = dict(source)
        if stage == RemoteStage.REPRINT:
            return _reprint(application, where=where, detail=detail)
        if application.status not in _RANK:
            raise ServiceError(
                "bad_transition",
                f"该申领当前为“{Status(application.status).label}”，不能登记受理地进度。",
                status=409,
            )
        path = _PATHS[stage]
        if _RANK[application.status] >= _RANK[Status(path[-1].target)]:
            return application  # reached already (the same message again, or a late one)
        start = next((i for i, move in enumerate(path) if application.status in move.sources), None)
        if start is None:
            raise ServiceError(
                "bad_transition",
                f"该申领当前为“{Status(application.status).label}”，不能转为“{stage.label}”。",
                status=409,
            )
        for move in path[start:]:
            if move == _T.REMOTE_PRODUCE:
                _card_made(application, card_serial)
            if move in _CARD_IN_HAND:
                card = produced_card(application)
                if card is not None:
                    detail["invalidated"] = card_activate(application, card)
            if Status(move.target) in (Status.HANDED_OVER, Status.VERIFIED):
                application.closed_at = timezone.now()  # the other province's time: `at`
            application_transition(
                application, move, actor=None, note=f"{where}{move.event.label}", detail=detail
            )
        return application


def _card_made(application: Application, card_serial: str) -> None:
    """The card the acceptance province made, in our card history (已制证未领取)."""
    card_serial = card_serial.strip()
    if not card_serial:
        raise ServiceError("card_serial_required", "已制证须附卡号。")
    if Card.objects.filter(card_serial=card_serial).exists():
        raise ServiceError("serial_used", f"卡号 {card_serial} 已被其他证件使用。", status=409)
    if application.valid_from is None:
        raise ServiceError("no_validity", "该申领没有有效期限，无法登记证件。", status=409)
    Card.objects.create(
        person_id=application.person_id,
        application_number=application.number or "",
        card_serial=card_serial,
        issuing_authority=application.issuing_authority,
        valid_from=application.valid_from,
        valid_until=application.valid_until,
        state=Card.State.PRODUCED,
    )


def _reprint(application: Application, *, where: str, detail: dict[str, Any]) -> Application:
    if application.status == Status.ISSUED:
        return application  # not made yet, or taken back already
    card = produced_card(application)
    if card is not None:
        Card.objects.filter(pk=card.pk).update(state=Card.State.CANCELLED)
        detail["card"] = card.pk
    application_transition(application, _T.REMOTE_REPRINT, actor=None, note=f"{where}重新制证", detail=detail)
    return application
