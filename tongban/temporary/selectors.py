"""Reads of 临时居民身份证: one card (audited where shown in full), the 登记簿 of a unit's
subtree, the county bureau's 签发 queue and the 未收回 list. All through
`TemporaryCard.objects.visible_to`, so pages, exports and the API agree."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.listing import Page, page_after
from tongban.registry.calendar import workdays_until
from tongban.registry.models import Unit
from tongban.registry.xlsx import Cell
from tongban.temporary import rules
from tongban.temporary.documents import CardDocument
from tongban.temporary.models import ENDED_WITHOUT_CARD, TemporaryCard

PAGE_SIZE = 50


def card_get(viewer: User, pk: int, action: str | None = None) -> TemporaryCard:
    """A card of the viewer's subtree (for `action`); 404 for everybody else's."""
    card = (
        TemporaryCard.objects.visible_to(viewer, action)
        .for_display()
        .with_current_state(timezone.localdate())
        .filter(pk=pk)
        .first()
    )
    if card is None:
        raise Http404("未找到该临时居民身份证")
    return card


def held_card(person_id: int) -> TemporaryCard | None:
    """The person's temporary card in force, if any: what the formal card's handover asks about."""
    return TemporaryCard.objects.filter(person_id=person_id, state__in=rules.IN_FORCE).first()


def card_open(*, viewer: User, card: TemporaryCard, how: str) -> None:
    """Record that a full temporary card (name, number, photo) was shown (`how`: "page", "api",
    "print")."""
    record(
        actor=viewer,
        action=AuditAction.TEMPORARY_VIEW,
        object_type="temporary.temporarycard",
        object_id=card.pk,
        detail={"how": how},
    )


def unit_of_subtree(viewer: User, code: str) -> Unit:
    """A unit of the viewer's subtree by code, to narrow a list; 404 for any other (a list is
    never silently widened or emptied)."""
    unit = Unit.objects.subtree(viewer.unit).filter(code=code).first() if viewer.unit else None
    if unit is None:
        raise Http404("未找到该单位")
    return unit


@dataclass(frozen=True)
class Filters:
    """The 登记簿's filters: a unit of the subtree, the state (已过期 included) and the days of
    acceptance (both ends included)."""

    unit: Unit | None = None
    state: str = ""
    start: datetime.date | None = None
    end: datetime.date | None = None


def register(viewer: User, filters: Filters) -> QuerySet[TemporaryCard]:
    """登记簿: the subtree's temporary cards, newest first, with their current state."""
    today = timezone.localdate()
    cards = TemporaryCard.objects.visible_to(viewer).for_display().with_current_state(today)
    if filters.unit is not None:
        cards = cards.filter(unit__in=Unit.objects.subtree_ids(filters.unit))
    if filters.state:
        cards = cards.in_state(filters.state, today)
    if filters.start is not None:
        cards = cards.filter(accepted_at__date__gte=filters.start)
    if filters.end is not None:
        cards = cards.filter(accepted_at__date__lte=filters.end)
    return cards


def register_page(viewer: User, filters: Filters, *, after: int | None) -> Page[TemporaryCard, int]:
    return page_after(register(viewer, filters), ["-pk"], after, limit=PAGE_SIZE)


@dataclass(frozen=True)
class Waiting:
    """A card waiting for 签发, with its deadline as the queue shows it."""

    card: TemporaryCard
    days_left: int  # working days: 0 due today, negative overdue

    @property
    def overdue(self) -> bool:
        return self.days_left < 0


def issue_queue(viewer: User) -> list[Waiting]:
    """The county bureau's cards waiting for 签发, the earliest deadline first."""
    if viewer.unit is None or not viewer.can("temporary.issue"):
        return []
    cards = list(
        TemporaryCard.objects.visible_to(viewer, "temporary.issue")
        .for_display()
        .with_current_state(timezone.localdate())
        .filter(issuing_unit=viewer.unit, state=rules.PENDING)
        .order_by("due", "pk")
    )
    today = timezone.localdate()
    return [Waiting(card, workdays_until(today, card.due)) for card in cards]


@dataclass(frozen=True)
class Owed:
    """A card owed back (未收回) and since when."""

    card: TemporaryCard
    due: datetime.date

    @property
    def reason(self) -> str:
        if self.card.formal_collected_at is not None:
            return "正式证件已领取" + (
                f"（{self.card.unreturned_reason}）" if self.card.unreturned_reason else ""
            )
        formal = self.card.application
        if formal.status in ENDED_WITHOUT_CARD:
            return f"居民身份证申领{formal.get_status_display()}"
        return "已过期未交回"


def unreturned(viewer: User) -> list[Owed]:
    """未收回: the subtree's cards in the holder's hand past the formal card's handover, past the
    end of a formal application withdrawn or refused, or past their end date, the longest owed
    first."""
    today = timezone.localdate()
    cards = TemporaryCard.objects.visible_to(viewer).for_display().with_current_state(today).owed(today)
    owed = []
    for card in cards:
        collected = timezone.localdate(card.formal_collected_at) if card.formal_collected_at else None
        formal = card.application
        closed = formal.closed_at if formal.status in ENDED_WITHOUT_CARD else None
        due = rules.return_due(
            formal_collected_on=collected,
            valid_until=card.valid_until,
            formal_closed_on=timezone.localdate(closed) if closed else None,
        )
        if due is not None:
            owed.append(Owed(card, due))
    return sorted(owed, key=lambda item: (item.due, item.card.pk))


EXPORT_HEADERS = (
    "临时证号",
    "姓名",
    "公民身份号码",
    "受理单位",
    "受理时间",
    "签发期限",
    "签发机关",
    "有效期限",
    "状态",
    "发放时间",
    "收回时间",
    "未收回原因",
    "票据号",
    "工本费（元）",
)


def export_rows(cards: QuerySet[TemporaryCard]) -> Iterator[list[Cell]]:
    for card in cards.iterator(chunk_size=1000):
        yield [
            card.number,
            card.name,
            card.id_number,
            card.unit.name,
            card.accepted_at,
            card.due,
            card.issuing_authority,
            card.validity_label,
            card.current_state_label,
            card.handed_out_at,
            card.returned_at,
            card.unreturned_reason,
            card.receipt_number,
            card.fee_amount,
        ]


def card_document(card: TemporaryCard) -> CardDocument:
    """What the printed card shows, from an issued card."""
    return CardDocument(
        number=card.number,
        name=card.name,
        sex=card.sex,
        ethnicity=card.ethnicity,
        birth_date=card.birth_date,
        address=card.address,
        id_number=card.id_number,
        photo=bytes(card.photo),
        issuing_authority=card.issuing_authority,
        validity=card.validity_label,
    )
