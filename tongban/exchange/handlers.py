"""What each kind of message does when another province's system sends it: a handler per kind,
registered with `@handles(kind)`. A handler runs inside the receiving transaction, with the
InboundMessage row it is recorded in (set `incoming.row.application` to link an application); it
returns the answer the sender gets (signed by us), or raises ServiceError to refuse the message,
whose code the sender gets and nothing of which is kept. A kind of protocol.KINDS without a
handler is refused `unsupported_kind` before its body is even opened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongban.exchange import protocol
from tongban.exchange.models import InboundMessage, Peer


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
