"""Payments and refunds on chosen days, through the real services (the clock is set after), and
the rows of an exported workbook."""

from __future__ import annotations

import datetime
import io
import itertools
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl import load_workbook

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


def xlsx_rows(response: Any, sheet: str) -> list[list[Any]]:
    """The rows of `sheet` of the workbook in `response` (or its content, to read it again)."""
    book = load_workbook(io.BytesIO(response if isinstance(response, bytes) else response.getvalue()))
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


def all_cells(content: bytes) -> str:
    """Every cell of every sheet as text, to look for what must not be there."""
    book = load_workbook(io.BytesIO(content))
    return " ".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row)


def table_rows(rows: list[list[Any]], header: tuple[str, ...]) -> list[list[Any]]:
    """The data rows below the header row (the caption lines come first)."""
    start = next(i for i, row in enumerate(rows) if tuple(row[: len(header)]) == header)
    return rows[start + 1 :]
