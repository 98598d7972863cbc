"""What the exchange sends about 跨省通办 applications, at the moment each changes: a listener of
`intake.transitions.application_event`, run in the transaction of the change, that writes the
message to the outbox (`message_send`) so that the message goes out exactly when the change
commits. The stages know nothing of it (they may not import the exchange, STYLE.md).

On an application accepted here for another province (`exchange = "out"`): routed to the
province's unit → `application.submitted`; withdrawn while it waits there → `application.withdrawn`;
made, shipped, at the site, posted, handed over, verified, reprinted → `application.progress`.
On one received from another province (`"in"`): issued or refused by our reviewers →
`application.decided`. What the REMOTE_* moves write (the other side's news) is never echoed."""

from __future__ import annotations

from typing import Any

from tongban.audit.actions import EventAction
from tongban.core.errors import ServiceError
from tongban.core.regions import place_name
from tongban.exchange.models import Peer
from tongban.exchange.services import message_send
from tongban.handover.remote import RemoteStage
from tongban.handover.services import produced_card
from tongban.intake.models import IN_REVIEW_STATUSES, Application, ApplicationEvent
from tongban.intake.remote import remote_application_of, remote_decision_of

Exchange = Application.Exchange

# Our moves of an "out" application that the household province follows on its copy.
PROGRESS: dict[str, RemoteStage] = {
    EventAction.PRODUCED: RemoteStage.PRODUCED,
    EventAction.SHIPPED: RemoteStage.SHIPPED,
    EventAction.RECEIVED: RemoteStage.AT_SITE,
    EventAction.DELIVERED: RemoteStage.DELIVERED,
    EventAction.HANDED_OVER: RemoteStage.HANDED_OVER,
    EventAction.HANDED_OVER_PROXY: RemoteStage.HANDED_OVER_PROXY,
    EventAction.VERIFIED: RemoteStage.VERIFIED,
    EventAction.REPRINT: RemoteStage.REPRINT,
}


def peer_of(application: Application) -> Peer:
    """The active peer of the province on the other side; `province_not_connected` (409) when the
    directory has none or it is suspended: the change is refused with nothing kept."""
    peer = Peer.objects.filter(prefix=application.remote_province, active=True).first()
    if peer is None:
        raise ServiceError(
            "province_not_connected",
            f"与{place_name(application.remote_province)}的跨省通办未开通或已停用，暂不能办理。",
            status=409,
        )
    return peer


def _message(application: Application, event: ApplicationEvent) -> tuple[str, dict[str, Any]] | None:
    """The kind and body to send for `event`, or None."""
    action = event.action
    if application.exchange == Exchange.OUT:
        if action == EventAction.ROUTED:
            return "application.submitted", remote_application_of(application).to_dict()
        if action == EventAction.WITHDRAWN and event.from_status in IN_REVIEW_STATUSES:
            body = {"number": application.number, "withdrawn_at": event.at.isoformat(), "reason": event.note}
            return "application.withdrawn", body
        if action in PROGRESS:
            card = produced_card(application) if action == EventAction.PRODUCED else None
            return "application.progress", {
                "number": application.number,
                "stage": PROGRESS[action].value,
                "at": event.at.isoformat(),
                "card_serial": card.card_serial if card is not None else "",
            }
    elif action in (EventAction.ISSUED, EventAction.REFUSED):
        return "application.decided", remote_decision_of(application).to_dict()
    return None


def application_changed(application: Application, event: ApplicationEvent) -> None:
    """The listener (registered in ExchangeConfig.ready): nothing for an ordinary application,
    else the message `event` calls for, queued in the change's own transaction. A draft of a
    guest is refused at once when the province is not connected, not at its acceptance."""
    if not application.exchange:
        return
    if application.exchange == Exchange.OUT and event.action == EventAction.CREATED:
        peer_of(application)
        return
    message = _message(application, event)
    if message is None:
        return
    kind, body = message
    message_send(kind=kind, to=peer_of(application), body=body, actor=event.actor, application=application)
