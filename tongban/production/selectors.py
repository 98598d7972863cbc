"""Reads of production: the centre's queue (issued applications routed to it), its batches and
feedback uploads. A centre sees only what production needs, and only its own: another centre's
records are 404, a role that does not work at a centre is refused (403)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet
from django.http import Http404

from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.production.models import Batch, BatchItem, FeedbackUpload
from tongban.registry.access import Viewer
from tongban.registry.models import Unit, centre_station_ids
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


def production_queue(centre: Unit, *, station_ids: list[int] | None = None) -> QuerySet[Application]:
    """已签发, waiting for a batch at `centre`: oldest issue first."""
    ids = centre_station_ids(centre) if station_ids is None else station_ids
    return Application.objects.filter(status=Application.Status.ISSUED, acceptance_unit_id__in=ids).order_by(
        "issued_at", "pk"
    )


@dataclass(frozen=True)
class QueueRow:
    """待制证 per acceptance unit: counts only, no personal data."""

    unit_id: int
    code: str
    name: str
    count: int
    oldest: datetime.datetime | None


def queue_counts(centre: Unit, *, station_ids: list[int] | None = None) -> list[QueueRow]:
    rows = (
        production_queue(centre, station_ids=station_ids)
        .order_by()
        .values("acceptance_unit_id", "acceptance_unit__code", "acceptance_unit__name")
        .annotate(count=Count("pk"), oldest=Min("issued_at"))
        .order_by("acceptance_unit__code")
    )
    return [
        QueueRow(
            row["acceptance_unit_id"],
            row["acceptance_unit__code"],
            row["acceptance_unit__name"],
            row["count"],
            row["oldest"],
        )
        for row in rows
    ]


QUEUE_SORTING = Sorting(
    [
        Column("issued", "签发时间", "issued_at", "datetime"),
        Column("number", "受理号", "number"),
        Column("name", "姓名", "name"),
        Column("unit", "受理单位", "acceptance_unit__code"),
    ],
    "issued",
)


def queue_page(
    centre: Unit,
    *,
    station_ids: list[int] | None = None,
    unit_id: int | None = None,
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = PAGE,
) -> KeysetPage[Application]:
    """待制证 one by one (受理号, name, masked number), oldest issue first by default: the order
    a batch takes them in."""
    applications = production_queue(centre, station_ids=station_ids).filter(search_filter(search or Search()))
    if unit_id is not None:
        applications = applications.filter(acceptance_unit_id=unit_id)
    applications = applications.select_related("acceptance_unit").only(
        "number", "name", "id_number", "issued_at", "acceptance_unit__code", "acceptance_unit__name"
    )
    return paginate(applications, order or QUEUE_SORTING.default, after=after, page=page, limit=limit)


def centre_whereabouts(centre: Unit, search: Search) -> Application | None:
    """For an exact search that found nothing in the centre's lists: the one application of the
    centre's stations it names, so the page can say where it is."""
    if not search.exact:
        return None
    found = list(
        Application.objects.filter(search_filter(search), acceptance_unit_id__in=centre_station_ids(centre))
        .exclude(status=Application.Status.DRAFT)
        .only("number", "status")
        .order_by("-pk")[:2]
    )
    return found[0] if len(found) == 1 else None


def viewer_centre(viewer: Viewer, action: str = "production.view") -> Unit:
    """The viewer's production centre, if their role may take `action` there; everybody else is
    refused with 403 `permission_denied` (the pages answer 404 instead)."""
    unit = viewer.unit
    if not viewer.can(action) or unit is None or unit.kind != Unit.Kind.CENTRE:
        raise ServiceError("permission_denied", "无权执行此操作：仅限制证中心的操作员。", status=403)
    return unit


BATCH_SORTING = Sorting(
    [
        Column("id", "调度时间", "pk", "int"),
        Column("number", "批次号", "number"),
        Column("size", "证件数", "size", "int"),
        Column("state", "状态", "state"),
    ],
    "-id",
)


def batches_search(viewer: Viewer, *, state: str = "", search: Search | None = None) -> QuerySet[Batch]:
    """The centre's batches, of one state; with a search, those holding a matching card."""
    batches = Batch.objects.visible_to(viewer).for_display()
    if state:
        batches = batches.filter(state=state)
    if search:
        holding = BatchItem.objects.filter(search_filter(search, "application__")).values("batch_id")
        batches = batches.filter(pk__in=holding)
    return batches


def batches_page(
    viewer: Viewer,
    *,
    state: str = "",
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = PAGE,
) -> KeysetPage[Batch]:
    """Newest first by default."""
    return paginate(
        batches_search(viewer, state=state, search=search),
        order or BATCH_SORTING.default,
        after=after,
        page=page,
        limit=limit,
    )


def batch_holding(viewer: Viewer, search: Search) -> tuple[Batch, str] | None:
    """An exact search's batch and the card's 受理号: the latest batch holding the card (a
    reprint makes a second), when the search names one application."""
    if not search.exact:
        return None
    found = list(
        BatchItem.objects.filter(
            search_filter(search, "application__"), batch__in=Batch.objects.visible_to(viewer)
        )
        .order_by("-batch_id")
        .values_list("batch_id", "application__number")[:50]
    )
    if not found or len({number for _, number in found}) > 1:
        return None
    return Batch.objects.visible_to(viewer).for_display().get(pk=found[0][0]), found[0][1] or ""


def batch_by_number(viewer: Viewer, text: str) -> Batch | None:
    """A batch number typed or scanned into the search box (批次号)."""
    number = "".join(text.split())
    if not (number.isascii() and number.isdigit() and len(number) > 22):
        return None
    return Batch.objects.visible_to(viewer).for_display().filter(number=number).first()


def batch_get(viewer: Viewer, pk: int) -> Batch:
    batch = Batch.objects.visible_to(viewer).for_display().filter(pk=pk).first()
    if batch is None:
        raise Http404("未找到该批次")
    return batch


_ITEM_FIELDS = (
    "result",
    "reason",
    "card_serial",
    "note",
    "feedback_at",
    "batch_id",
    "application__number",
    "application__name",
    "application__id_number",
    "application__status",
    "application__acceptance_unit__code",
    "application__acceptance_unit__name",
)


def batch_items(batch: Batch) -> list[BatchItem]:
    """The items with only what a centre needs to see in a list (the number is masked there)."""
    return list(
        batch.items.select_related("application", "application__acceptance_unit")
        .only(*_ITEM_FIELDS)
        .order_by("pk")
    )


BATCH_ITEM_SORTING = item_sorting(Column("result", "回馈", "result"))


def batch_items_page(
    batch: Batch,
    *,
    search: Search | None = None,
    order: Order | None = None,
    after: str | None = None,
    page: int | None = None,
    limit: int = 100,
) -> KeysetPage[BatchItem]:
    """The cards of a batch (up to 10,000), the number masked in the list."""
    items = batch.items.select_related("application", "application__acceptance_unit").only(*_ITEM_FIELDS)
    return items_page(
        items, BATCH_ITEM_SORTING, search=search, order=order, after=after, page=page, limit=limit
    )


def batch_progress(batch: Batch) -> dict[str, int]:
    counts = dict(batch.items.order_by().values_list("result").annotate(n=Count("pk")))
    return {
        "pending": counts.get("", 0),
        "produced": counts.get(BatchItem.Result.PRODUCED, 0),
        "failed": counts.get(BatchItem.Result.FAILED, 0),
    }


def feedback_uploads(viewer: Viewer, limit: int = 20) -> list[FeedbackUpload]:
    unit = viewer.unit
    if not viewer.can("production.feedback") or unit is None or unit.kind != Unit.Kind.CENTRE:
        return []
    return list(FeedbackUpload.objects.filter(centre=unit).select_related("uploaded_by")[:limit])


def feedback_upload_get(viewer: Viewer, pk: int) -> FeedbackUpload:
    unit = viewer.unit
    upload = None
    if viewer.can("production.feedback") and unit is not None:
        upload = FeedbackUpload.objects.filter(centre=unit, pk=pk).first()
    if upload is None:
        raise Http404("未找到该回馈")
    return upload
