"""Reads of distribution and handover, always through the viewer's jurisdiction (404 outside)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tongban.handover.models import Shipment, ShipmentItem, Verification
from tongban.handover.services import awaiting_forward
from tongban.intake.models import Application
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.models import Card, Unit
from tongban.registry.worklist import (
    Column,
    KeysetPage,
    Order,
    Search,
    Sorting,
    item_sorting,
    items_page,
    paginate,
    search_filter,
)

PAGE = 50


# ---------------------------------------------------------------------------------------------
# Shipments

SHIPMENT_VIEWS = {"incoming": "待签收", "outgoing": "已发出", "all": "全部"}


def shipment_get(viewer: Viewer, pk: int) -> Shipment:
    shipment = Shipment.objects.visible_to(viewer).for_display().filter(pk=pk).first()
    if shipment is None:
        raise Http404("未找到该分发单")
    return shipment


SHIPMENT_SORTING = Sorting(
    [
        Column("id", "分发单", "pk", "int"),
        Column("state", "状态", "state"),
        Column("origin", "发出单位", "origin__code"),
    ],
    "-id",
)


def _shipments_in_view(viewer: Viewer, view: str) -> QuerySet[Shipment]:
    """incoming: in transit to the viewer's subtree; outgoing: sent from it; all: both."""
    shipments = Shipment.objects.visible_to(viewer).for_display()
    if view == "incoming":
        shipments = shipments.filter(
            destination__in=Unit.objects.subtree_ids(viewer.unit), state=Shipment.State.IN_TRANSIT
        )
    elif view == "outgoing":
        shipments = shipments.filter(origin__in=Unit.objects.subtree_ids(viewer.unit))
    return shipments


def shipments_search(viewer: Viewer, view: str, search: Search) -> QuerySet[Shipment]:
    """The shipments of a tab; with a search, those of every tab holding a matching card."""
    if not search:
        return _shipments_in_view(viewer, view)
    holding = ShipmentItem.objects.filter(search_filter(search, "application__")).values("shipment_id")
    return Shipment.objects.visible_to(viewer).for_display().filter(pk__in=holding)


def shipments_page(
    viewer: Viewer,
    view: str = "all",
    *,
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = PAGE,
) -> KeysetPage[Shipment]:
    """Newest first by default (keyset on the sort column and the primary key)."""
    return paginate(
        shipments_search(viewer, view, search or Search()),
        order or SHIPMENT_SORTING.default,
        after=after,
        page=page,
        limit=limit,
    )


def shipment_holding(viewer: Viewer, search: Search) -> tuple[Shipment, str] | None:
    """An exact search's shipment and the card's 受理号: the latest shipment holding the card (a
    card forwarded by a county bureau travelled twice; the latest leg is where it is now), when
    the search names one application."""
    if not search.exact:
        return None
    items = ShipmentItem.objects.filter(
        search_filter(search, "application__"), shipment__in=Shipment.objects.visible_to(viewer).values("pk")
    )
    found = list(items.order_by("-shipment_id").values_list("shipment_id", "application__number")[:50])
    if not found or len({number for _, number in found}) > 1:
        return None
    return Shipment.objects.visible_to(viewer).for_display().get(pk=found[0][0]), found[0][1] or ""


SHIPMENT_ITEM_SORTING = item_sorting(Column("outcome", "结果", "outcome"))


def shipment_items_page(
    shipment: Shipment,
    *,
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = 100,
) -> KeysetPage[ShipmentItem]:
    items = shipment.items.select_related("application", "application__acceptance_unit", "card")
    return items_page(
        items, SHIPMENT_ITEM_SORTING, search=search, order=order, after=after, page=page, limit=limit
    )


def shipment_items(shipment: Shipment) -> list[ShipmentItem]:
    return list(
        shipment.items.select_related(
            "application", "application__acceptance_unit", "application__person", "card"
        ).order_by("pk")
    )


def produced_page(viewer: Viewer, *, after: int | None = None, limit: int = 200) -> Page[Application, str]:
    """已制证: the centre's produced cards waiting to be shipped, oldest first."""
    applications = _produced(viewer).select_related("acceptance_unit")
    return page_after(applications, ["pk"], after, limit=limit, cursor=lambda row: str(row.pk))


def _centre_applications(viewer: Viewer) -> QuerySet[Application]:
    """The applications of the centre the viewer works at; none at any other unit (only a centre
    ships what it made)."""
    if viewer.unit is None or viewer.unit.kind != Unit.Kind.CENTRE:
        return Application.objects.none()
    return Application.objects.visible_to(viewer, "shipment.create")


def _produced(viewer: Viewer) -> QuerySet[Application]:
    return _centre_applications(viewer).filter(status=Application.Status.PRODUCED)


def produced_count(viewer: Viewer) -> int:
    return _produced(viewer).count()


def produced_numbered(viewer: Viewer, numbers: list[str]) -> list[Application]:
    """The centre's produced cards among `numbers` (ticked on another page of the form)."""
    if not numbers:
        return []
    return list(_produced(viewer).filter(number__in=numbers).select_related("acceptance_unit").order_by("pk"))


def produced_search(viewer: Viewer, search: Search) -> list[Application]:
    """The centre's produced cards an exact search names (a scan into the 分发 form)."""
    return list(_produced(viewer).filter(search_filter(search)).select_related("acceptance_unit")[:2])


def produced_whereabouts(viewer: Viewer, search: Search) -> str:
    """Why a scanned card cannot be ticked: where it is, if it is one of the centre's."""
    found = (
        _centre_applications(viewer)
        .filter(search_filter(search))
        .exclude(status=Application.Status.DRAFT)
        .order_by("-pk")
        .first()
    )
    if found is not None:
        return f"受理号 {found.number} 当前为“{found.get_status_display()}”，不在待分发的证件中。"
    return "本中心没有该待分发的证件。"


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
    return Application.objects.visible_to(viewer, "handover.perform").filter(
        status=Application.Status.AT_SITE
    )


READY_SORTING = Sorting(
    [
        Column("order", "到达顺序", "pk", "int"),
        Column("number", "受理号", "number"),
        Column("name", "姓名", "name"),
        Column("unit", "受理单位", "acceptance_unit__code"),
    ],
    "order",
)


def ready_page(
    viewer: Viewer,
    *,
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = PAGE,
) -> KeysetPage[Application]:
    """待领取, oldest first by default (keyset on the sort column and the primary key)."""
    applications = ready(viewer).filter(search_filter(search or Search())).select_related("acceptance_unit")
    return paginate(applications, order or READY_SORTING.default, after=after, page=page, limit=limit)


def application_whereabouts(viewer: Viewer, search: Search) -> Application | None:
    """For an exact search that found nothing in a list: the one application it names, if the
    viewer may see it, so the page can say where it is instead."""
    if not search.exact or not viewer.can("application.view"):
        return None
    found = list(
        Application.objects.visible_to(viewer)
        .filter(search_filter(search))
        .exclude(status=Application.Status.DRAFT)
        .order_by("-pk")[:2]
    )
    return found[0] if len(found) == 1 else None


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


VERIFICATION_SORTING = Sorting(
    [
        Column("due", "核验期限", "due", "date"),
        Column("number", "受理号", "application__number"),
        Column("name", "姓名", "application__name"),
    ],
    "due",
)


def verifications_search(viewer: Viewer, view: str, search: Search) -> QuerySet[Verification]:
    """due: owed and not yet late; overdue: the due date is before today; done: verified. A
    search covers all three."""
    rows = Verification.objects.visible_to(viewer).select_related(
        "application", "application__acceptance_unit", "application__household_unit"
    )
    if search:
        return rows.filter(search_filter(search, "application__"))
    today = timezone.localdate()
    if view == "overdue":
        return _owed(rows).filter(due__lt=today)
    if view == "done":
        return rows.exclude(verified_at=None).filter(application__status=Application.Status.VERIFIED)
    return _owed(rows).filter(due__gte=today)


def _owed(verifications: QuerySet[Verification]) -> QuerySet[Verification]:
    """Not verified yet. The application is 待核验 exactly then (its only way out is 已核验); saying
    so lets PostgreSQL start from the unit's 待核验 applications (their unit and status index)
    instead of every verification owed in the province (a station's page and counts at a million
    applications: 100 → 4 ms of database time)."""
    return verifications.filter(verified_at=None, application__status=Application.Status.PENDING_VERIFICATION)


def verifications_page(
    viewer: Viewer,
    view: str = "due",
    *,
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = PAGE,
) -> KeysetPage[Verification]:
    """By due date then id by default (keyset: "YYYY-MM-DD:id")."""
    rows = verifications_search(viewer, view, search or Search())
    return paginate(rows, order or VERIFICATION_SORTING.default, after=after, page=page, limit=limit)


def verification_counts(viewer: Viewer) -> dict[str, int]:
    """待核验 and 已逾期 of the viewer's subtree, in one query."""
    today = timezone.localdate()
    counts = _owed(Verification.objects.visible_to(viewer)).aggregate(
        owed=Count("pk", filter=Q(due__gte=today)), late=Count("pk", filter=Q(due__lt=today))
    )
    return {"due": counts["owed"] or 0, "overdue": counts["late"] or 0}


# ---------------------------------------------------------------------------------------------
# 办理进度查询 (portal): what the citizen may read of their own card's way, once the portal has
# checked their proof. Not scoped to a viewer: the portal asks only about the one application.


def postal_tracking_number(application_id: int) -> str:
    """The 邮件号 the card was last posted under ("" if it never went by post)."""
    number = (
        ShipmentItem.objects.filter(application_id=application_id, shipment__method=Shipment.Method.POST)
        .exclude(tracking_number="")
        .order_by("-pk")
        .values_list("tracking_number", flat=True)
        .first()
    )
    return number or ""


def verification_owed(application_id: int) -> Verification | None:
    """The applicant's own verification (核验) still owed after a proxy or postal handover."""
    return Verification.objects.filter(application_id=application_id, verified_at=None).first()
