"""Payments and refunds on chosen days, through the real services (the clock is set after)."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone

from tongban.finance import services
from tongban.finance.models import Payment, Refund
from tongban.testing.factories import PersonFactory, station

_numbers = itertools.count(1)


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def charge(
    actor: Any, code: str, day: datetime.date, amount: str, item: str = "renewal", **person: Any
) -> Payment:
    payment = services.fee_charge(
        actor=actor,
        unit=station(code),
        person=PersonFactory.create(**person),
        application_number=f"{code}{day:%Y%m%d}{next(_numbers):05d}",
        item=item,
        amount=Decimal(amount),
    )
    Payment.objects.filter(pk=payment.pk).update(charged_at=at(day))
    payment.refresh_from_db()
    return payment


def refund(actor: Any, payment: Payment, day: datetime.date) -> Refund:
    made = services.fee_refund(actor=actor, application_number=payment.application_number, reason="撤回")
    assert made is not None
    Refund.objects.filter(pk=made.pk).update(refunded_at=at(day, 15))
    made.refresh_from_db()
    return made
