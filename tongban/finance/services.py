"""Fees at the counter (工本费): charged when an application is accepted, refunded when it is
withdrawn or refused. Called by intake and review inside their own transactions; finance knows an
application only by its 受理号, never by importing intake."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from tongban.audit.services import AuditActor, record
from tongban.core.errors import ServiceError
from tongban.finance import rules
from tongban.finance.models import Payment, Refund
from tongban.registry.models import Person, Unit


def _next_receipt_number(unit: Unit, year: int) -> str:
    """The next 票据号 of `unit` in `year`: one atomic upsert on the counter row, so concurrent
    charges never share a number (a rolled-back acceptance may leave a gap, as paper books do)."""
    table = "finance_receiptcounter"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (unit_id, year, last) VALUES (%s, %s, 1) "  # noqa: S608
            f"ON CONFLICT (unit_id, year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [unit.pk, year],
        )
        sequence = cursor.fetchone()[0]
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
        action="fee.charged",
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
    if payment is None or payment.amount <= 0 or Refund.objects.filter(payment=payment).exists():
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
        action="fee.refunded",
        object_type="finance.refund",
        object_id=refund.pk,
        detail={
            "number": application_number,
            "receipt": payment.receipt_number,
            "amount": str(refund.amount),
        },
    )
    return refund
