"""What each kind of message does when another province's system sends it: a handler per kind,
registered with `@handles(kind)`. A handler runs inside the receiving transaction, with the
InboundMessage row it is recorded in (set `incoming.row.application` to link an application); it
returns the answer the sender gets (signed by us), or raises ServiceError to refuse the message,
whose code the sender gets and nothing of which is kept. A kind of protocol.KINDS without a
handler is refused `unsupported_kind` before its body is even opened."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongban.exchange import protocol
from tongban.exchange.models import InboundMessage, Peer
from tongban.handover.remote import RemoteStage, remote_progress_apply
from tongban.intake.models import Application
from tongban.intake.remote import (
    RemoteApplication,
    RemoteDecision,
    remote_application_receive,
    remote_decision_apply,
    remote_withdraw,
)
from tongban.intake.selectors import cross_province_application


@dataclass(frozen=True)
class Incoming:
    peer: Peer
    message_id: str
    kind: str
    body: dict[str, Any]
    row: InboundMessage


Handler = Callable[[Incoming], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    if kind not in protocol.KINDS:
        raise ValueError(f"{kind} is not a kind of protocol.KINDS")

    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


@handles(protocol.PING)
def ping(incoming: Incoming) -> dict[str, Any]:
    """连通检查: the answer says who we are and when we took it; the signature on the answer is the
    proof that the peer's copy of our key is right."""
    return {
        "province": settings.PROVINCE_CODE,
        "name": settings.PROVINCE_NAME,
        "received_at": timezone.now().isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------------------------
# 跨省通办: the application kinds, each calling its service of intake.remote / handover.remote. The
# other side is always the sending peer: a 受理号 of another province is refused (`bad_message`),
# and a message about an application exchanged with another province finds none (`not_found`).


# The codes the application kinds' services refuse a message with (docs/api.md), passed to the sender.
REFUSALS = (
    "bad_message",
    "not_found",
    "province_not_connected",
    "person_unknown",
    "person_mismatch",
    "duplicate_number",
    "number_taken",
    "not_eligible",
    "bad_reason",
    "reason_age_mismatch",
    "application_open",
    "photo_rejected",
    "not_cross_province",
    "already_decided",
    "not_withdrawable",
    "bad_transition",
    "card_serial_required",
    "serial_used",
    "no_validity",
)


def _source(incoming: Incoming) -> dict[str, str]:
    return {"peer": incoming.peer.prefix, "message": incoming.message_id}


def _answer(incoming: Incoming, application: Application) -> dict[str, Any]:
    incoming.row.application = application
    return {"number": application.number or "", "status": application.status}


def _application(incoming: Incoming, exchange: str) -> Application:
    return cross_province_application(
        province=incoming.peer.prefix, number=str(incoming.body["number"]), exchange=exchange
    )


@handles("application.submitted")
def submitted(incoming: Incoming) -> dict[str, Any]:
    """异地受理申请: an application of our resident accepted in the sending province, into our review."""
    data = RemoteApplication.from_dict(incoming.body)
    application = remote_application_receive(
        province=incoming.peer.prefix, data=data, source=_source(incoming)
    )
    return _answer(incoming, application)


@handles("application.withdrawn")
def withdrawn(incoming: Incoming) -> dict[str, Any]:
    """撤销申请: the applicant withdrew there before our decision."""
    application = remote_withdraw(
        application=_application(incoming, Application.Exchange.IN),
        reason=str(incoming.body["reason"]),
        source=_source(incoming),
    )
    return _answer(incoming, application)


@handles("application.decided")
def decided(incoming: Incoming) -> dict[str, Any]:
    """审核签发结果: the household province issued or refused what we accepted."""
    application = remote_decision_apply(
        application=_application(incoming, Application.Exchange.OUT),
        decision=RemoteDecision.from_dict(incoming.body),
        source=_source(incoming),
    )
    return _answer(incoming, application)


@handles("application.progress")
def progress(incoming: Incoming) -> dict[str, Any]:
    """制证发放进度: the acceptance province made, shipped or handed over the card we issued."""
    body = incoming.body
    application = remote_progress_apply(
        application=_application(incoming, Application.Exchange.IN),
        stage=RemoteStage(body["stage"]),
        card_serial=str(body["card_serial"]),
        at=datetime.datetime.fromisoformat(body["at"]),
        source=_source(incoming),
    )
    return _answer(incoming, application)
