"""Fees at the counter (工本费): charged when an application is accepted, refunded when it is
withdrawn or refused. Called by intake and review inside their own transactions; finance knows an
application only by its 受理号, never by importing intake."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.core.errors import ServiceError
from tongban.finance import rules
from tongban.finance.models import Payment, ReceiptCounter, Refund, Remittance, SettlementRate
from tongban.registry.access import Viewer
from tongban.registry.calendar import day_start
from tongban.registry.models import Person, Unit
from tongban.registry.sequences import next_in_sequence


def _next_receipt_number(unit: Unit, year: int) -> str:
    """The next 票据号 of `unit` in `year` (concurrent charges never share one)."""
    sequence = next_in_sequence(ReceiptCounter, unit_id=unit.pk, year=year)
    if sequence > rules.YEARLY_SEQUENCE_MAX:
        raise ServiceError("receipt_limit", "本单位本年度票据号已用尽。", status=409)
    return rules.receipt_number(unit.code, year, sequence)


@transaction.atomic
def fee_charge(
    *,
    actor: AuditActor,
    unit: Unit,
    person: Person,
    application_number: str,
    item: str,
    amount: Decimal,
    waived: bool = False,
    waiver_evidence: str = "",
) -> Payment:
    """收费: record the fee of an accepted application and give it a receipt number.

    A payment is recorded for every acceptance, free first applications and waivers (amount 0)
    included: settlement of free first cards and the daily reconciliation count from this one
    table, and the applicant gets a receipt either way."""
    if amount < 0:
        raise ServiceError("bad_amount", "收费金额不能为负数。")
    waiver_evidence = waiver_evidence.strip()
    if waived and not waiver_evidence:
        raise ServiceError("waiver_evidence_required", "减免工本费须登记减免依据（如低保证号）。")
    if waived and amount != 0:
        raise ServiceError("bad_amount", "减免后的收费金额应为 0。")
    if Payment.objects.filter(application_number=application_number).exists():
        raise ServiceError("already_charged", f"受理号 {application_number} 已收费。", status=409)
    now = timezone.now()
    payment = Payment.objects.create(
        application_number=application_number,
        person=person,
        unit=unit,
        item=item,
        amount=amount,
        waived=waived,
        waiver_evidence=waiver_evidence if waived else "",
        receipt_number=_next_receipt_number(unit, timezone.localdate(now).year),
        charged_at=now,
        charged_by_id=actor.pk,
    )
    record(
        actor=actor,
        action=AuditAction.FEE_CHARGED,
        object_type="finance.payment",
        object_id=payment.pk,
        detail={
            "number": application_number,
            "receipt": payment.receipt_number,
            "item": item,
            "amount": str(payment.amount),
            "waived": waived,
        },
    )
    return payment


@transaction.atomic
def fee_refund(*, actor: AuditActor | None, application_number: str, reason: str) -> Refund | None:
    """退费: give back the fee of a withdrawn or refused application. None when there is nothing to
    give back (free, waived, never charged, or refunded already), so callers need not check."""
    # Lock the payment, then look for its refund: concurrent callers queue on the row lock.
    payment = Payment.objects.select_for_update().filter(application_number=application_number).first()
    if payment is None or Refund.objects.filter(payment=payment).exists():
        return None
    if payment.amount <= 0:
        # Nothing to give back, but a free first application that ends here is no card the
        # county owes the province 17 yuan for: settlement leaves voided payments out.
        if payment.voided_at is None:
            payment.voided_at = timezone.now()
            payment.save(update_fields=["voided_at"])
        return None
    refund = Refund.objects.create(
        payment=payment,
        amount=payment.amount,
        reason=reason.strip()[:500],
        refunded_at=timezone.now(),
        refunded_by_id=actor.pk if actor is not None else None,
    )
    record(
        actor=actor,
        action=AuditAction.FEE_REFUNDED,
        object_type="finance.refund",
        object_id=refund.pk,
        detail={
            "number": application_number,
            "receipt": payment.receipt_number,
            "amount": str(refund.amount),
        },
    )
    return refund


# ---------------------------------------------------------------------------------------------
# 收支两条线: the takings of each station's day are paid over to the treasury.


@dataclass(frozen=True)
class StationDay:
    """The takings of one station on one local day: payments charged that day (amount > 0) less
    refunds paid that day for that station's payments."""

    unit: Unit
    day: datetime.date
    payments: int
    refunds: int
    amount: Decimal
    # The two sides of the reconciliation: money taken (收费) and money given back (退费).
    charged: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)


def _takings(stations: list[Unit], before: datetime.date) -> dict[tuple[int, datetime.date], StationDay]:
    """Every (station, day) before `before` with money taken or given back, counted from the rows."""
    by_pk = {unit.pk: unit for unit in stations}
    end = day_start(before)
    payments: dict[tuple[int, datetime.date], list[Decimal]] = defaultdict(list)
    refunds: dict[tuple[int, datetime.date], list[Decimal]] = defaultdict(list)
    for unit_id, charged_at, amount in Payment.objects.filter(
        unit_id__in=by_pk, amount__gt=0, charged_at__lt=end
    ).values_list("unit_id", "charged_at", "amount"):
        payments[(unit_id, timezone.localdate(charged_at))].append(amount)
    for unit_id, refunded_at, amount in Refund.objects.filter(
        payment__unit_id__in=by_pk, refunded_at__lt=end
    ).values_list("payment__unit_id", "refunded_at", "amount"):
        refunds[(unit_id, timezone.localdate(refunded_at))].append(amount)
    return {
        key: StationDay(
            unit=by_pk[key[0]],
            day=key[1],
            payments=len(payments[key]),
            refunds=len(refunds[key]),
            amount=sum(payments[key], Decimal(0)) - sum(refunds[key], Decimal(0)),
            charged=sum(payments[key], Decimal(0)),
            refunded=sum(refunds[key], Decimal(0)),
        )
        for key in payments.keys() | refunds.keys()
    }


def unremitted(root: Unit) -> list[StationDay]:
    """The station days of `root`'s subtree still to be paid over: days before today with takings
    above zero and no `Remittance` yet, oldest first. A day whose refunds equal or exceed its
    takings has nothing to pay over and is not listed."""
    stations = list(Unit.objects.subtree(root).stations())
    today = timezone.localdate()
    remitted = set(Remittance.objects.filter(unit__in=stations).values_list("unit_id", "day"))
    rows = [row for key, row in _takings(stations, today).items() if key not in remitted and row.amount > 0]
    return sorted(rows, key=lambda row: (row.day, row.unit.path))


@transaction.atomic
def remittance_record(
    *, actor: Viewer, unit: Unit, day: datetime.date, treasury_reference: str
) -> Remittance:
    """缴库登记: record that the takings of `unit` on `day` were paid over, under the treasury's
    reference (缴款书号). The amount is computed from the payments and refunds of that day, never
    typed. Only a finance officer's own subtree (`finance.remit`); only days before today."""
    if not actor.can("finance.remit") or actor.unit is None or not actor.unit.contains(unit):
        raise ServiceError("permission_denied", "无权登记该单位的缴库。", status=403)
    if unit.kind != Unit.Kind.STATION:
        raise ServiceError("not_a_station", "缴库按派出所逐日登记。")
    treasury_reference = treasury_reference.strip()
    if not treasury_reference:
        raise ServiceError(
            "treasury_reference_required", "须填写缴款书号。", fields={"treasury_reference": "必填"}
        )
    if day >= timezone.localdate():
        raise ServiceError("day_not_closed", "只能登记今日以前的收费缴库。")
    # Lock the station row: two officers recording the same day queue here.
    Unit.objects.select_for_update().filter(pk=unit.pk).first()
    if Remittance.objects.filter(unit=unit, day=day).exists():
        raise ServiceError("already_remitted", f"{unit.name} {day.isoformat()} 已登记缴库。", status=409)
    row = _takings([unit], day + datetime.timedelta(days=1)).get((unit.pk, day))
    if row is None or row.amount <= 0:
        raise ServiceError("nothing_to_remit", f"{unit.name} {day.isoformat()} 无应缴款项。", status=409)
    remittance = Remittance.objects.create(
        unit=unit,
        day=day,
        amount=row.amount,
        payments=row.payments,
        refunds=row.refunds,
        treasury_reference=treasury_reference,
        remitted_at=timezone.now(),
        remitted_by_id=actor.pk,
    )
    record(
        actor=actor,
        action=AuditAction.FEE_REMITTED,
        object_type="finance.remittance",
        object_id=remittance.pk,
        detail={
            "unit": unit.code,
            "day": day.isoformat(),
            "amount": str(remittance.amount),
            "payments": row.payments,
            "refunds": row.refunds,
            "treasury_reference": treasury_reference,
        },
    )
    return remittance


# ---------------------------------------------------------------------------------------------
# Settlement of free first cards (首次申领免费证件结算): so many yuan per card, central + provincial.

FIRST_ITEM = "first"


@dataclass(frozen=True)
class SettlementLine:
    """One free first application behind a settlement figure."""

    application_number: str
    station: Unit
    day: datetime.date
    rate: rules.Rate
    receipt_number: str = ""
    name: str = ""
    id_number: str = ""


@dataclass
class SettlementFigure:
    """A count of free first cards and what they settle for."""

    unit: Unit
    count: int = 0
    amount: Decimal = Decimal(0)
    central: Decimal = Decimal(0)
    provincial: Decimal = Decimal(0)
    lines: list[SettlementLine] = field(default_factory=list)

    def add(self, line: SettlementLine, keep: bool = True) -> None:
        self.count += 1
        self.amount += line.rate.amount
        self.central += line.rate.central
        self.provincial += line.rate.provincial
        if keep:
            self.lines.append(line)


@dataclass
class Settlement:
    period_start: datetime.date
    period_end: datetime.date
    cities: list[SettlementFigure]
    counties: list[SettlementFigure]
    total: SettlementFigure


def _rates() -> list[rules.Rate]:
    return [
        rules.Rate(rate.effective_from, rate.amount, rate.central, rate.provincial)
        for rate in SettlementRate.objects.all()
    ]


def _first_cards(
    root: Unit, period_start: datetime.date, period_end: datetime.date, within: Unit | None
) -> QuerySet[Payment]:
    if period_end < period_start:
        raise ServiceError("bad_period", "结算期间的结束日期早于开始日期。")
    if within is not None and not root.contains(within):
        return Payment.objects.none()
    scope = within or root
    return Payment.objects.filter(
        item=FIRST_ITEM,
        voided_at=None,
        unit__path__startswith=scope.path,
        charged_at__gte=day_start(period_start),
        charged_at__lt=day_start(period_end + datetime.timedelta(days=1)),
    )


def settlement_line_count(
    root: Unit, period_start: datetime.date, period_end: datetime.date, within: Unit | None = None
) -> int:
    """How many lines `settlement_lines` gives (one query, nothing read)."""
    return _first_cards(root, period_start, period_end, within).count()


def iter_settlement_lines(
    root: Unit,
    period_start: datetime.date,
    period_end: datetime.date,
    within: Unit | None = None,
    *,
    chunk: int = 2000,
) -> Iterator[SettlementLine]:
    """`settlement_lines` read `chunk` rows at a time (an export of a province's year holds no
    more than one chunk in memory)."""
    rates = _rates()
    payments = (
        _first_cards(root, period_start, period_end, within)
        .select_related("unit", "person")
        .order_by("charged_at", "application_number")
    )
    for payment in payments.iterator(chunk_size=chunk):
        day = timezone.localdate(payment.charged_at)
        try:
            rate = rules.rate_on(rates, day)
        except ValueError as missing:
            raise ServiceError("no_settlement_rate", f"{day.isoformat()} 无结算标准。") from missing
        yield SettlementLine(
            payment.application_number,
            payment.unit,
            day,
            rate,
            receipt_number=payment.receipt_number,
            name=payment.person.name,
            id_number=payment.person.id_number,
        )


def settlement_lines(
    root: Unit, period_start: datetime.date, period_end: datetime.date, within: Unit | None = None
) -> list[SettlementLine]:
    """The free first applications (payment item "first") charged at stations of `root`'s subtree
    (or of `within`'s, a unit inside it) from `period_start` to `period_end`, both included, each
    with the rate in force on its day."""
    return list(iter_settlement_lines(root, period_start, period_end, within))


def settlement(
    root: Unit, period_start: datetime.date, period_end: datetime.date, *, keep_lines: bool = True
) -> Settlement:
    """结算: free first cards of `root`'s subtree in the period, per city and per county (the
    station's ancestors by code path), each figure with the lines behind it and a total. Without
    `keep_lines` the figures only count (an export reads the lines again as it writes them)."""
    # The cities and counties a line can fall in: the units above the stations of root's subtree,
    # and root's own ancestors (a province's are a few hundred rows).
    units = {
        unit.code: unit
        for unit in Unit.objects.filter(
            Q(path__startswith=root.path) | Q(code__in=root.path.split("/"))
        ).exclude(kind=Unit.Kind.STATION)
    }
    cities: dict[str, SettlementFigure] = {}
    counties: dict[str, SettlementFigure] = {}
    total = SettlementFigure(unit=root)
    for line in iter_settlement_lines(root, period_start, period_end):
        city_code, county_code = line.station.path.split("/")[1:3]
        cities.setdefault(city_code, SettlementFigure(unit=units[city_code])).add(line, keep_lines)
        counties.setdefault(county_code, SettlementFigure(unit=units[county_code])).add(line, keep_lines)
        total.add(line, keep_lines)
    return Settlement(
        period_start=period_start,
        period_end=period_end,
        cities=[cities[code] for code in sorted(cities)],
        counties=[counties[code] for code in sorted(counties)],
        total=total,
    )
