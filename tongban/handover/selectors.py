"""Reads of distribution and handover, always through the viewer's jurisdiction (404 outside)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tongban.handover.models import Shipment, ShipmentItem, Verification
from tongban.handover.services import awaiting_forward, centre_applications
from tongban.intake.models import Application
from tongban.registry.access import Viewer
from tongban.registry.models import Card, Unit

Row = TypeVar("Row")
PAGE = 50


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next_after: str | None


# ---------------------------------------------------------------------------------------------
# Shipments

SHIPMENT_VIEWS = {"incoming": "待签收", "outgoing": "已发出", "all": "全部"}


def shipments_visible(viewer: Viewer) -> QuerySet[Shipment]:
    return Shipment.objects.visible_to(viewer).select_related(
        "origin", "destination", "created_by", "received_by"
    )


def shipment_get(viewer: Viewer, pk: int) -> Shipment:
    shipment = shipments_visible(viewer).filter(pk=pk).first()
    if shipment is None:
        raise Http404("未找到该分发单")
    return shipment


def shipments_page(
    viewer: Viewer, view: str = "all", *, after: int | None = None, limit: int = PAGE
) -> Page[Shipment]:
    """Newest first, keyset on the primary key. incoming: in transit to the viewer's subtree;
    outgoing: sent from it."""
    shipments = shipments_visible(viewer)
    if view == "incoming":
        shipments = shipments.filter(
            destination__in=Unit.objects.subtree_ids(viewer.unit), state=Shipment.State.IN_TRANSIT
        )
    elif view == "outgoing":
        shipments = shipments.filter(origin__in=Unit.objects.subtree_ids(viewer.unit))
    if after is not None:
        shipments = shipments.filter(pk__lt=after)
    rows = list(shipments.order_by("-pk")[: limit + 1])
    return Page(rows[:limit], str(rows[limit - 1].pk) if len(rows) > limit else None)


def shipment_items(shipment: Shipment) -> list[ShipmentItem]:
    return list(
        shipment.items.select_related("application", "application__acceptance_unit", "card").order_by("pk")
    )


def produced_page(viewer: Viewer, *, after: int | None = None, limit: int = 200) -> Page[Application]:
    """已制证: the centre's produced cards waiting to be shipped, oldest first."""
    unit = viewer.unit
    if not viewer.can("shipment.create") or unit is None or unit.kind != Unit.Kind.CENTRE:
        return Page([], None)
    applications = Application.objects.filter(
        centre_applications(unit), status=Application.Status.PRODUCED
    ).select_related("acceptance_unit")
    if after is not None:
        applications = applications.filter(pk__gt=after)
    rows = list(applications.order_by("pk")[: limit + 1])
    return Page(rows[:limit], str(rows[limit - 1].pk) if len(rows) > limit else None)


def forward_queue(viewer: Viewer) -> list[ShipmentItem]:
    """At a county bureau: received cards that passed its check, waiting to go to stations."""
    unit = viewer.unit
    if not viewer.can("shipment.receive") or unit is None or unit.kind != Unit.Kind.COUNTY:
        return []
    return list(
        awaiting_forward(unit)
        .select_related("application", "application__acceptance_unit", "shipment")
        .order_by("application__acceptance_unit__code", "application_id")
    )


# ---------------------------------------------------------------------------------------------
# Handover and verification


def ready(viewer: Viewer) -> QuerySet[Application]:
    """待领取: cards received at the viewer's acceptance units."""
    if not viewer.can("handover.perform") or viewer.unit is None:
        return Application.objects.none()
    return Application.objects.filter(
        status=Application.Status.AT_SITE, acceptance_unit__in=Unit.objects.subtree_ids(viewer.unit)
    )


def ready_page(viewer: Viewer, *, after: int | None = None, limit: int = PAGE) -> Page[Application]:
    """待领取, oldest first (keyset on the primary key)."""
    applications = ready(viewer).select_related("acceptance_unit")
    if after is not None:
        applications = applications.filter(pk__gt=after)
    rows = list(applications.order_by("pk")[: limit + 1])
    return Page(rows[:limit], str(rows[limit - 1].pk) if len(rows) > limit else None)


def handover_card(application: Application) -> Card | None:
    """The card to hand over or verify: produced and waiting, or the one made valid by it."""
    return (
        Card.objects.with_current_state(timezone.localdate())
        .filter(person_id=application.person_id, application_number=application.number or "")
        .exclude(state=Card.State.CANCELLED)
        .order_by("-pk")
        .first()
    )


VERIFICATION_VIEWS = {"due": "待核验", "overdue": "已逾期", "done": "已核验"}


def verifications_visible(viewer: Viewer) -> QuerySet[Verification]:
    """Verifications owed to the viewer's subtree: the acceptance or the household unit."""
    if not viewer.can("verification.perform") or viewer.unit is None:
        return Verification.objects.none()
    verifications = Verification.objects.select_related(
        "application", "application__acceptance_unit", "application__household_unit"
    )
    if viewer.unit.kind == Unit.Kind.PROVINCE:
        return verifications
    units = Unit.objects.subtree_ids(viewer.unit)
    return verifications.filter(
        Q(application__acceptance_unit__in=units) | Q(application__household_unit__in=units)
    )


def _parse_after(after: str | None) -> tuple[datetime.date, int] | None:
    if not after:
        return None
    day, _, pk = after.partition(":")
    try:
        return datetime.date.fromisoformat(day), int(pk)
    except ValueError:
        return None


def verifications_page(
    viewer: Viewer, view: str = "due", *, after: str | None = None, limit: int = PAGE
) -> Page[Verification]:
    """due: owed and not yet late; overdue: the due date is before today; done: verified. By due
    date then id (keyset: "YYYY-MM-DD:id")."""
    today = timezone.localdate()
    rows = verifications_visible(viewer)
    if view == "overdue":
        rows = rows.filter(verified_at=None, due__lt=today)
    elif view == "done":
        rows = rows.exclude(verified_at=None)
    else:
        rows = rows.filter(verified_at=None, due__gte=today)
    position = _parse_after(after)
    if position is not None:
        due, pk = position
        rows = rows.filter(Q(due__gt=due) | Q(due=due, pk__gt=pk))
    found = list(rows.order_by("due", "pk")[: limit + 1])
    last = found[limit - 1] if len(found) > limit else None
    return Page(found[:limit], f"{last.due.isoformat()}:{last.pk}" if last else None)


def verification_counts(viewer: Viewer) -> dict[str, int]:
    today = timezone.localdate()
    owed = verifications_visible(viewer).filter(verified_at=None)
    return {"due": owed.filter(due__gte=today).count(), "overdue": owed.filter(due__lt=today).count()}
