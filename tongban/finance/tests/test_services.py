"""Fees charged at acceptance, receipts and refunds, through the counter and review services."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.finance import services
from tongban.finance.documents import receipt_pdf
from tongban.finance.models import Payment, Refund
from tongban.intake import rules
from tongban.intake import services as intake_services
from tongban.registry.models import Unit
from tongban.review.services import review_refuse
from tongban.testing.factories import CardFactory, PersonFactory, station

pytestmark = pytest.mark.django_db


def renew(accept, clerk, **changes):
    card = CardFactory.create()
    return accept(clerk, card.person, rules.ApplicationType.RENEWAL, "21", **changes)


def test_a_renewal_is_charged_20_with_a_receipt(personas, accept):
    application = renew(accept, personas.nanchang_clerk)
    payment = Payment.objects.get(application_number=application.number)
    assert payment.amount == Decimal("20") and payment.item == "renewal" and not payment.waived
    assert payment.unit.code == "360102001" and payment.person_id == application.person_id
    assert payment.charged_by == personas.nanchang_clerk
    assert payment.receipt_number.startswith(f"360102001{payment.charged_at.year}")
    assert len(payment.receipt_number) == 19
    assert AuditEvent.objects.filter(action="fee.charged", object_id=str(payment.pk)).exists()


def test_a_first_application_is_recorded_free(personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    payment = Payment.objects.get(application_number=application.number)
    assert payment.amount == 0 and payment.item == "first" and payment.receipt_number


def test_a_waiver_records_its_evidence(personas, accept):
    application = renew(
        accept, personas.nanchang_clerk, fee_waived=True, fee_waiver_evidence="低保证 360102-0042"
    )
    payment = Payment.objects.get(application_number=application.number)
    assert payment.waived and payment.amount == 0
    assert payment.waiver_evidence == "低保证 360102-0042"


def test_a_waiver_without_evidence_is_refused(personas):
    with pytest.raises(ServiceError) as refused:
        services.fee_charge(
            actor=personas.nanchang_clerk,
            unit=station("360102001"),
            person=PersonFactory.create(),
            application_number="3601020012026010100001",
            item="renewal",
            amount=Decimal("0"),
            waived=True,
        )
    assert refused.value.code == "waiver_evidence_required"


def test_withdrawal_refunds_the_fee_once(personas, accept):
    application = renew(accept, personas.nanchang_clerk)
    intake_services.application_withdraw(
        actor=personas.nanchang_clerk, application=application, reason="不办了"
    )
    refund = Refund.objects.get(payment__application_number=application.number)
    assert refund.amount == Decimal("20") and "不办了" in refund.reason
    assert refund.refunded_by == personas.nanchang_clerk
    assert AuditEvent.objects.filter(action="fee.refunded", object_id=str(refund.pk)).exists()
    again = services.fee_refund(
        actor=personas.nanchang_clerk, application_number=application.number, reason="再退"
    )
    assert again is None and Refund.objects.count() == 1


def test_refusal_refunds_the_fee(personas, accept, household_reviewer):
    application = renew(accept, personas.ganzhou_clerk)
    review_refuse(
        actor=household_reviewer,
        application=application,
        step=1,
        refusal_reason="02",
        remark="出生日期与户籍不一致",
    )
    refund = Refund.objects.get(payment__application_number=application.number)
    assert refund.amount == Decimal("20") and refund.refunded_by == household_reviewer


def test_nothing_to_refund_for_a_free_application(personas, accept):
    application = accept(personas.nanchang_clerk, PersonFactory.create())
    intake_services.application_withdraw(
        actor=personas.nanchang_clerk, application=application, reason="不办了"
    )
    assert not Refund.objects.exists()
    assert services.fee_refund(actor=None, application_number="0" * 22, reason="无") is None


def test_receipt_numbers_count_up_per_station(personas):
    unit = station("360102001")
    numbers = [
        services.fee_charge(
            actor=personas.nanchang_clerk,
            unit=unit,
            person=PersonFactory.create(),
            application_number=f"36010200120260101{sequence:05d}",
            item="renewal",
            amount=Decimal("20"),
        ).receipt_number
        for sequence in range(1, 4)
    ]
    assert len(set(numbers)) == 3
    assert [int(number[-6:]) for number in numbers] == [1, 2, 3]
    other = services.fee_charge(
        actor=personas.ganzhou_clerk,
        unit=station("360702001"),
        person=PersonFactory.create(),
        application_number="3607020012026010100001",
        item="renewal",
        amount=Decimal("20"),
    )
    assert other.receipt_number.startswith("360702001") and other.receipt_number.endswith("000001")


def test_one_application_is_charged_once(personas, accept):
    application = renew(accept, personas.nanchang_clerk)
    with pytest.raises(ServiceError) as refused:
        services.fee_charge(
            actor=personas.nanchang_clerk,
            unit=station("360102001"),
            person=application.person,
            application_number=application.number,
            item="renewal",
            amount=Decimal("20"),
        )
    assert refused.value.code == "already_charged"


def test_the_receipt_pdf_shows_the_receipt_number(personas, accept):
    application = renew(accept, personas.nanchang_clerk)
    payment = Payment.objects.get(application_number=application.number)
    text = PdfReader(io.BytesIO(receipt_pdf(payment))).pages[0].extract_text()
    assert payment.receipt_number in text and "¥20.00" in text and "换领" in text
    assert "贰拾元整" in text and payment.unit.name in text
    assert "电话" not in text  # the station has no telephone registered: nothing is invented
    Unit.objects.filter(pk=payment.unit_id).update(
        phone="0791-86210001", address="江西省南昌市东湖区八一大道1号"
    )
    payment = Payment.objects.select_related("unit").get(pk=payment.pk)
    text = PdfReader(io.BytesIO(receipt_pdf(payment))).pages[0].extract_text()
    assert "0791-86210001" in text and "八一大道1号" in text


def test_a_free_receipt_says_zero_in_words(personas, accept):
    application = accept(personas.nanchang_clerk, PersonFactory.create())
    payment = Payment.objects.get(application_number=application.number)
    text = PdfReader(io.BytesIO(receipt_pdf(payment))).pages[0].extract_text()
    assert "零元整" in text and "¥0.00" in text and "首次申领" in text
    assert "first" not in text and personas.nanchang_clerk.username not in text
