"""Payments of the finance pages' and exports' tests (test_api.py keeps its own takings)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tongban.finance import services
from tongban.finance.models import SettlementRate
from tongban.finance.tests.helpers import charge, refund


@pytest.fixture
def days():
    today = timezone.localdate()
    return today - datetime.timedelta(days=2), today - datetime.timedelta(days=1), today


@pytest.fixture
def takings(personas, days):
    """Two stations of 东湖分局 over two days with a refund, today's takings, a Ganzhou payment."""
    d1, d2, today = days
    clerk = personas.nanchang_clerk
    first = charge(clerk, "360102001", d1, "20")
    charge(clerk, "360102001", d1, "40", item="replacement")
    charge(clerk, "360102001", d1, "0", item="first")
    charge(clerk, "360102002", d1, "20")
    charge(clerk, "360102001", d2, "40", item="damaged")
    refund(clerk, first, d2)
    charge(clerk, "360102001", today, "40")
    charge(personas.ganzhou_clerk, "360702001", d1, "20")
    return first


@pytest.fixture
def first_cards(personas):
    """Free first cards in 2025 across two Nanchang counties and Ganzhou, a rate change on
    2025-03-01 (20 = 15 + 5), a voided one and a renewal that must not count."""
    SettlementRate.objects.create(
        effective_from=datetime.date(2025, 3, 1),
        amount=Decimal(20),
        central=Decimal(15),
        provincial=Decimal(5),
    )
    clerk = personas.nanchang_clerk
    made = []
    for code, day in [
        ("360102001", datetime.date(2025, 1, 15)),
        ("360102002", datetime.date(2025, 2, 10)),
        ("360102001", datetime.date(2025, 2, 28)),
        ("360102001", datetime.date(2025, 3, 1)),
        ("360102002", datetime.date(2025, 3, 31)),
        ("360102001", datetime.date(2025, 4, 1)),
        ("360103001", datetime.date(2025, 2, 12)),
        ("360702001", datetime.date(2025, 2, 12)),
    ]:
        made.append(charge(clerk, code, day, "0", item="first"))
    charge(clerk, "360102001", datetime.date(2025, 2, 11), "20")
    voided = charge(clerk, "360102001", datetime.date(2025, 2, 13), "0", item="first")
    services.fee_refund(actor=clerk, application_number=voided.application_number, reason="撤回")
    return made
