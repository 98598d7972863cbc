"""Reads of production: the centre's queue (issued applications routed to it), its batches and
feedback uploads. A centre sees only what production needs, and only its own; everybody else
gets 404."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Min, QuerySet
from django.http import Http404

from tongban.intake.models import Application
from tongban.production.models import Batch, BatchItem, FeedbackUpload
from tongban.registry.access import Viewer
from tongban.registry.models import ProductionRoute, Unit


def routed_stations() -> dict[int, list[int]]:
    """Station ids per centre by the routing rule (制证路由, longest prefix of the acceptance
    station's code). Two small queries: units are few (a province has a couple of thousand
    stations), so the matching is done here rather than in SQL."""
    routes = sorted(
        ProductionRoute.objects.values_list("region_prefix", "centre_id"), key=lambda route: -len(route[0])
    )
    stations: dict[int, list[int]] = defaultdict(list)
    for pk, code in Unit.objects.stations().values_list("pk", "code"):
        for prefix, centre_id in routes:
            if code.startswith(prefix):
                stations[centre_id].append(pk)
                break
    return stations


def centre_station_ids(centre: Unit) -> list[int]:
    return routed_stations().get(centre.pk, [])


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


def queue_counts(centre: Unit) -> list[QueueRow]:
    rows = (
        production_queue(centre)
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


def viewer_centre(viewer: Viewer, action: str = "production.view") -> Unit:
    """The viewer's production centre, if their role works there; 404 for everybody else."""
    unit = viewer.unit
    if not viewer.can(action) or unit is None or unit.kind != Unit.Kind.CENTRE:
        raise Http404("未找到")
    return unit


def batches_visible(viewer: Viewer) -> QuerySet[Batch]:
    unit = viewer.unit
    if not viewer.can("production.view") or unit is None or unit.kind != Unit.Kind.CENTRE:
        return Batch.objects.none()
    return Batch.objects.filter(centre=unit).select_related("centre", "acceptance_unit", "created_by")


def batch_get(viewer: Viewer, pk: int) -> Batch:
    batch = batches_visible(viewer).filter(pk=pk).first()
    if batch is None:
        raise Http404("未找到该批次")
    return batch


def batch_items(batch: Batch) -> list[BatchItem]:
    """The items with only what a centre needs to see in a list (the number is masked there)."""
    return list(
        batch.items.select_related("application", "application__acceptance_unit")
        .only(
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
        .order_by("pk")
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
