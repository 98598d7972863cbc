"""Reads of 跨省通办: the directory and the messages, through the one scoped queryset (the
provincial department's holders of exchange.view), newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from tongban.exchange.models import InboundMessage, OutboundMessage, Peer
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer

PAGE = 50


def peers(viewer: Viewer) -> list[Peer]:
    return list(Peer.objects.visible_to(viewer, "exchange.view"))


def peer_for(viewer: Viewer, pk: int, action: str = "exchange.view") -> Peer:
    peer = Peer.objects.visible_to(viewer, action).filter(pk=pk).first()
    if peer is None:
        raise Http404("未找到该交换对象")
    return peer


def outbound_for(viewer: Viewer, pk: int, action: str = "exchange.view") -> OutboundMessage:
    message = OutboundMessage.objects.visible_to(viewer, action).select_related("peer").filter(pk=pk).first()
    if message is None:
        raise Http404("未找到该消息")
    return message


@dataclass(frozen=True)
class Filters:
    status: str = ""  # an outbound Status, or an inbound Outcome
    kind: str = ""
    peer: str = ""  # a region prefix


def outbound_page(
    viewer: Viewer, filters: Filters, *, after: int | None = None, limit: int = PAGE
) -> Page[OutboundMessage, int]:
    rows = OutboundMessage.objects.visible_to(viewer).select_related("peer", "application")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.peer:
        rows = rows.filter(peer__prefix=filters.peer)
    return page_after(rows, ["-pk"], after, limit=limit)


def inbound_page(
    viewer: Viewer, filters: Filters, *, after: int | None = None, limit: int = PAGE
) -> Page[InboundMessage, int]:
    rows = InboundMessage.objects.visible_to(viewer).select_related("application")
    if filters.status:
        rows = rows.filter(outcome=filters.status)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.peer:
        rows = rows.filter(sender=filters.peer)
    return page_after(rows, ["-pk"], after, limit=limit)
