"""挂失招领 reads: the validity check of a card (`card_status`), the lists of a unit's reports and
found cards (keyset-paged, by the one scope `visible_to`), and the records behind them (404 for
anyone outside)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from tongban.cardloss.models import FoundCard, LossReport
from tongban.core import idnumber
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.models import CARD_STATE_LABELS, Card, Person

PAGE_SIZE = 50


def latest_card_id(person_id: int) -> int | None:
    """The person's newest card (by validity start, then record): the one that may be valid."""
    return (
        Card.objects.filter(person_id=person_id)
        .exclude(state=Card.State.CANCELLED)
        .order_by("-valid_from", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def still_valid(card: Card, today: datetime.date) -> bool:
    return card.state == Card.State.ACTIVE and (card.valid_until is None or card.valid_until >= today)


# ---------------------------------------------------------------------------------------------
# The validity check (issue 18's relying-party check reads it)


@dataclass(frozen=True)
class CardStatus:
    """A card's validity as a relying party may learn it: `state` is a `Card.State` value or
    `expired` (CARD_STATE_LABELS names it), `unknown` when the number (and serial) name no card.
    `valid` only for a card 有效 today; `lost_since` the day it was reported lost (挂失)."""

    state: str
    label: str
    valid: bool
    valid_until: datetime.date | None = None
    lost_since: datetime.date | None = None


UNKNOWN = CardStatus(state="unknown", label="查无此证", valid=False)


def card_status(id_number: str, card_serial: str | None = None) -> CardStatus:
    """Whether the card of `id_number` is valid today: with `card_serial`, that card (a serial of
    another person's card is `unknown`); without, the person's latest card. A number shared by
    several people (重号) or malformed is `unknown`: the check never guesses. Reads only; the
    caller decides who may ask and audits the asking."""
    try:
        number = idnumber.canonical(id_number)
    except ValueError:
        return UNKNOWN
    people = list(Person.objects.filter(id_number=number).values_list("pk", flat=True)[:2])
    if len(people) != 1:
        return UNKNOWN
    today = timezone.localdate()
    cards = Card.objects.with_current_state(today).filter(person_id=people[0])
    if card_serial:
        card = cards.filter(card_serial=card_serial.strip()).first()
    else:
        card = cards.exclude(state=Card.State.CANCELLED).order_by("-valid_from", "-pk").first()
    if card is None:
        return UNKNOWN
    state = str(vars(card)["current_state"])
    lost_since = None
    if state == Card.State.LOST:
        reported = card.loss_reports.order_by("-pk").values_list("reported_at", flat=True).first()
        lost_since = timezone.localdate(reported) if reported else None
    return CardStatus(
        state=state,
        label=CARD_STATE_LABELS[state],
        valid=state == Card.State.ACTIVE,
        valid_until=card.valid_until,
        lost_since=lost_since,
    )


# ---------------------------------------------------------------------------------------------
# Lists and records

REPORT_VIEWS = {"open": "挂失中", "closed": "已办结"}
FOUND_VIEWS = {"waiting": "待领取", "due": "待销毁", "closed": "已办结"}


def reports_page(viewer: Viewer, view: str, *, after: int | None = None) -> Page[LossReport, int]:
    """The reports of the viewer's subtree, newest first: open ones, or closed ones."""
    rows = LossReport.objects.visible_to(viewer).select_related("person", "unit", "card")
    if view == "open":
        rows = rows.filter(status=LossReport.Status.OPEN)
    else:
        rows = rows.exclude(status=LossReport.Status.OPEN)
    return page_after(rows, ["-pk"], after, limit=PAGE_SIZE)


def found_page(viewer: Viewer, view: str, *, after: int | None = None) -> Page[FoundCard, int]:
    """Found cards of the viewer's subtree. waiting: kept for their owner, in order of their
    keeping time; due: past it, to destroy; closed: returned, handed back or destroyed (newest
    first)."""
    rows = FoundCard.objects.visible_to(viewer).select_related("unit")
    today = timezone.localdate()
    if view == "closed":
        return page_after(rows.exclude(status=FoundCard.Status.WAITING), ["-pk"], after, limit=PAGE_SIZE)
    rows = rows.filter(status=FoundCard.Status.WAITING)
    rows = rows.filter(keep_until__lt=today) if view == "due" else rows.filter(keep_until__gte=today)
    # A card's keeping time follows its registration: the id order is the order of the due dates.
    return page_after(rows, ["pk"], after, limit=PAGE_SIZE)


def report_get(viewer: Viewer, pk: int) -> LossReport:
    report = (
        LossReport.objects.visible_to(viewer)
        .select_related("person", "unit", "card", "reported_by", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if report is None:
        raise Http404("未找到该挂失申报")
    return report


def found_get(viewer: Viewer, pk: int) -> FoundCard:
    found = (
        FoundCard.objects.visible_to(viewer)
        .select_related("unit", "card", "registered_by", "closed_by")
        .filter(pk=pk)
        .first()
    )
    if found is None:
        raise Http404("未找到该拾获证件")
    return found


def holder_cards(person: Person) -> QuerySet[Card]:
    """The person's cards as the report page lists them, the held one first."""
    return Card.objects.with_current_state(timezone.localdate()).filter(person=person).held_first()
