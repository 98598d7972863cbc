"""Reads for the finance officer (财政人员): payments and refunds, takings per unit and day, the
treasury remittances and the settlement of free first cards, always within the viewer's subtree.

One scope per record kind (`Payment.objects.visible_to`, `Remittance.objects.visible_to`) feeds the pages,
the Excel exports and the API alike, so they always agree. Anything outside the subtree is a 404.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils import timezone

from tongban.core.errors import ServiceError
from tongban.finance import services
from tongban.finance.documents import ITEM_LABELS
from tongban.finance.models import Payment, Refund, Remittance, SettlementRate
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.calendar import day_start
from tongban.registry.models import Unit

PAGE = 50
# A settlement is asked for a city or a county (or the whole province); stations roll up into them.
SETTLEMENT_KINDS = (Unit.Kind.PROVINCE, Unit.Kind.CITY, Unit.Kind.COUNTY)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


# ---------------------------------------------------------------------------------------------
# Scope


def finance_unit(viewer: Viewer, code: str = "", *, kinds: tuple[str, ...] = ()) -> Unit:
    """The unit a finance page is about: the viewer's own, or one of its subtree by code (of one
    of `kinds` when given). 403 `permission_denied` for anyone without `finance.view` (the pages
    answer 404 before asking), 404 for any unit outside."""
    if not viewer.can("finance.view") or viewer.unit is None:
        raise ServiceError("permission_denied", "无权查看财政信息。", status=403)
    if not code or code == viewer.unit.code:
        unit = viewer.unit
    else:
        found = Unit.objects.visible_to(viewer, "finance.view").filter(code=code).first()
        if found is None:
            raise Http404("不在本辖区")
        unit = found
    if kinds and unit.kind not in kinds:
        raise Http404("该单位不适用")
    return unit


def finance_units(viewer: Viewer, *, kinds: tuple[str, ...] = ()) -> list[Unit]:
    """The units a finance officer may pick (their subtree, production centres left out)."""
    units = Unit.objects.visible_to(viewer, "finance.view").administrative()
    if kinds:
        units = units.filter(kind__in=kinds)
    return list(units.order_by("path"))


# Who may print a receipt again: a finance officer (their subtree), a clerk (their station).
RECEIPT_ACTIONS = ("finance.view", "application.accept")


def receipt_get(viewer: Viewer, receipt_number: str) -> Payment:
    """One payment by 票据号, for its receipt PDF: a finance officer of the subtree or a clerk of
    the station that charged it; 404 for everybody else."""
    for action in RECEIPT_ACTIONS:
        payment = (
            Payment.objects.visible_to(viewer, action)
            .select_related("unit", "person", "charged_by")
            .filter(receipt_number=receipt_number)
            .first()
        )
        if payment is not None:
            return payment
    raise Http404("未找到该票据")


# ---------------------------------------------------------------------------------------------
# 收费明细


@dataclass(frozen=True)
class PaymentFilters:
    unit: Unit
    start: datetime.date
    end: datetime.date
    item: str = ""


def default_period(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """The current month up to today: what an officer checks first."""
    today = today or timezone.localdate()
    return today.replace(day=1), today


def _payments(viewer: Viewer, filters: PaymentFilters) -> QuerySet[Payment]:
    payments = Payment.objects.visible_to(viewer).filter(
        unit_id__in=Unit.objects.subtree_ids(filters.unit),
        charged_at__gte=day_start(filters.start),
        charged_at__lt=day_start(filters.end + datetime.timedelta(days=1)),
    )
    if filters.item:
        payments = payments.filter(item=filters.item)
    return payments


def cursor_of(payment: Payment) -> str:
    """Keyset position of a payment in the newest-first list: `<µs since 1970>:<pk>`."""
    micros = (payment.charged_at - _EPOCH) // datetime.timedelta(microseconds=1)
    return f"{micros}:{payment.pk}"


def _parse_cursor(after: str) -> tuple[datetime.datetime, int] | None:
    micros, _, pk = after.partition(":")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    return _EPOCH + datetime.timedelta(microseconds=int(micros)), int(pk)


def payments_page(
    viewer: Viewer, filters: PaymentFilters, *, after: str = "", limit: int = PAGE
) -> Page[Payment, str]:
    """收费明细, newest first, keyset on (charged_at, pk): page N costs what page 1 does. Each
    row comes with its unit, payer and refund (if any) in the same query."""
    payments = _payments(viewer, filters).select_related("unit", "person", "refund")
    position = _parse_cursor(after) if after else None
    return page_after(payments, ["-charged_at", "-pk"], position, limit=limit, cursor=cursor_of)


def payments_count(viewer: Viewer, filters: PaymentFilters) -> int:
    return _payments(viewer, filters).count()


def payments_all(viewer: Viewer, filters: PaymentFilters, *, chunk: int = 2000) -> Iterator[Payment]:
    """Every row of the list, in the page's order, fetched page by page (for the Excel export)."""
    after = ""
    while True:
        page = payments_page(viewer, filters, after=after, limit=chunk)
        yield from page.rows
        if page.next_after is None:
            return
        after = page.next_after


@dataclass
class DayTotal:
    """The takings of one unit on one local day (收费 by charge day, 退费 by refund day, as the
    treasury remittance counts them), and whether that day was paid over."""

    unit: Unit
    day: datetime.date
    receipts: int = 0  # every receipt issued, free ones included
    paid: int = 0  # receipts with money
    charged: Decimal = Decimal(0)
    refunds: int = 0
    refunded: Decimal = Decimal(0)
    remittance: Remittance | None = None

    @property
    def net(self) -> Decimal:
        return self.charged - self.refunded


@dataclass
class Totals:
    days: list[DayTotal]
    receipts: int = 0
    paid: int = 0
    charged: Decimal = Decimal(0)
    refunds: int = 0
    refunded: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        return self.charged - self.refunded


def day_totals(viewer: Viewer, filters: PaymentFilters) -> Totals:
    """Per unit and local day, over the whole filtered period: receipts, money charged, refunds
    paid, net, and the remittance of that day. Grouped in SQL (four queries in all)."""
    start = day_start(filters.start)
    end = day_start(filters.end + datetime.timedelta(days=1))
    rows: dict[tuple[int, datetime.date], DayTotal] = {}
    units: dict[int, Unit] = {}
    charged = (
        _payments(viewer, filters)
        .annotate(day=TruncDate("charged_at"))
        .values("unit_id", "day")
        .annotate(receipts=Count("pk"), paid=Count("pk", filter=Q(amount__gt=0)), charged=Sum("amount"))
    )
    refunds = Refund.objects.filter(
        payment__in=Payment.objects.visible_to(viewer).filter(
            unit_id__in=Unit.objects.subtree_ids(filters.unit)
        ),
        refunded_at__gte=start,
        refunded_at__lt=end,
    )
    if filters.item:
        refunds = refunds.filter(payment__item=filters.item)
    refunded = (
        refunds.annotate(day=TruncDate("refunded_at"), unit_id=F("payment__unit_id"))
        .values("unit_id", "day")
        .annotate(refunds=Count("pk"), refunded=Sum("amount"))
    )
    for row in charged:
        total = rows.setdefault((row["unit_id"], row["day"]), DayTotal(unit=None, day=row["day"]))  # type: ignore[arg-type]
        total.receipts, total.paid, total.charged = row["receipts"], row["paid"], row["charged"] or Decimal(0)
    for row in refunded:
        total = rows.setdefault((row["unit_id"], row["day"]), DayTotal(unit=None, day=row["day"]))  # type: ignore[arg-type]
        total.refunds, total.refunded = row["refunds"], row["refunded"] or Decimal(0)
    if rows:
        unit_ids = {unit_id for unit_id, _day in rows}
        units = {unit.pk: unit for unit in Unit.objects.filter(pk__in=unit_ids)}
        for remittance in Remittance.objects.filter(
            unit_id__in=unit_ids, day__gte=filters.start, day__lte=filters.end
        ):
            if (remittance.unit_id, remittance.day) in rows:
                rows[(remittance.unit_id, remittance.day)].remittance = remittance
    for (unit_id, _day), total in rows.items():
        total.unit = units[unit_id]
    days = sorted(rows.values(), key=lambda total: (total.day, total.unit.path), reverse=True)
    return Totals(
        days=days,
        receipts=sum(total.receipts for total in days),
        paid=sum(total.paid for total in days),
        charged=sum((total.charged for total in days), Decimal(0)),
        refunds=sum(total.refunds for total in days),
        refunded=sum((total.refunded for total in days), Decimal(0)),
    )


# ---------------------------------------------------------------------------------------------
# 待缴库 and the remittance history


@dataclass
class Unremitted:
    rows: list[services.StationDay]
    charged: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    amount: Decimal = Decimal(0)
    payments: int = 0
    refunds: int = 0
    # Per station: (station, days, amount), the stations with the most owed first.
    stations: list[tuple[Unit, int, Decimal]] = field(default_factory=list)


def unremitted(root: Unit) -> Unremitted:
    rows = services.unremitted(root)
    per_station: dict[int, tuple[Unit, int, Decimal]] = {}
    for row in rows:
        _unit, days, amount = per_station.get(row.unit.pk, (row.unit, 0, Decimal(0)))
        per_station[row.unit.pk] = (row.unit, days + 1, amount + row.amount)
    return Unremitted(
        rows=rows,
        charged=sum((row.charged for row in rows), Decimal(0)),
        refunded=sum((row.refunded for row in rows), Decimal(0)),
        amount=sum((row.amount for row in rows), Decimal(0)),
        payments=sum(row.payments for row in rows),
        refunds=sum(row.refunds for row in rows),
        stations=sorted(per_station.values(), key=lambda item: (-item[2], item[0].path)),
    )


def unremitted_total(viewer: Viewer) -> Decimal | None:
    """The home card's figure: all that the viewer's subtree has not paid over yet."""
    if not viewer.can("finance.view") or viewer.unit is None:
        return None
    return sum((row.amount for row in services.unremitted(viewer.unit)), Decimal(0))


def remittances_page(
    viewer: Viewer, root: Unit, *, after: int | None = None, limit: int = PAGE
) -> Page[Remittance, int]:
    """缴库记录 of `root`'s subtree, latest registered first (keyset on the primary key)."""
    remittances = (
        Remittance.objects.visible_to(viewer)
        .filter(unit_id__in=Unit.objects.subtree_ids(root))
        .select_related("unit", "remitted_by")
    )
    return page_after(remittances, ["-pk"], after, limit=limit)


# ---------------------------------------------------------------------------------------------
# 免费首证结算


def rates() -> list[SettlementRate]:
    return list(SettlementRate.objects.order_by("effective_from"))


def item_label(item: str) -> str:
    return ITEM_LABELS.get(item, item)
