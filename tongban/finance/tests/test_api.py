"""The finance API: the same figures as the pages, for the finance officer only (403
`permission_denied` for other roles, 404 for units outside), the remittance written through the
service, and the receipt PDF."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.finance.models import Payment, Remittance, SettlementRate
from tongban.finance.tests.helpers import at, charge, refund
from tongban.registry.models import Unit
from tongban.testing.personas import api_client

pytestmark = pytest.mark.django_db

GETS = [
    "/api/v1/finance/payments",
    "/api/v1/finance/unremitted",
    "/api/v1/finance/remittances",
    "/api/v1/finance/settlement?period=2025Q1",
    "/api/v1/finance/settlement/lines?period=2025Q1",
]


@pytest.fixture
def takings(personas, days):
    d1, d2, today = days
    clerk = personas.nanchang_clerk
    first = charge(clerk, "360102001", d1, "20")
    charge(clerk, "360102001", d1, "40", item="replacement")
    charge(clerk, "360102002", d1, "20")
    charge(clerk, "360102001", d2, "40", item="damaged")
    refund(clerk, first, d2)
    charge(clerk, "360102001", today, "40")
    charge(personas.ganzhou_clerk, "360702001", d1, "20")
    return first


@pytest.mark.parametrize("url", GETS)
def test_finance_officer_reads_every_endpoint(personas, takings, url):
    assert api_client(personas.finance).get(url).status_code == 200


@pytest.mark.parametrize(
    "who", ["nanchang_clerk", "ganzhou_clerk", "donghu_supervisor", "province_supervisor", "auditor", "admin"]
)
def test_other_roles_are_refused(personas, takings, who, days):
    api = api_client(getattr(personas, who))
    for url in GETS:
        response = api.get(url)
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", url
    d1, _d2, _today = days
    response = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360102001", "day": str(d1), "treasury_reference": "X"},
        format="json",
    )
    assert response.status_code == 403 and not Remittance.objects.exists()


def test_anonymous_is_refused(client):
    for url in GETS:
        assert client.get(url).status_code in (401, 403)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/finance/payments?unit=360702001",
        "/api/v1/finance/unremitted?unit=3607",
        "/api/v1/finance/remittances?unit=36",
        "/api/v1/finance/settlement?unit=3607&period=2025Q1",
        "/api/v1/finance/settlement/lines?unit=360102&period=2025Q1&within=360702",
    ],
)
def test_outside_units_are_404(personas, takings, url):
    response = api_client(personas.finance).get(url)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_payments_are_masked_and_paged(personas, takings, days):
    d1, _d2, today = days
    body = api_client(personas.finance).get(f"/api/v1/finance/payments?start={d1}&end={today}").json()
    mine = Payment.objects.filter(unit__path__startswith=Unit.objects.get(code="360102").path)
    assert sorted(row["receipt_number"] for row in body["results"]) == sorted(
        mine.values_list("receipt_number", flat=True)
    )
    refunded = next(row for row in body["results"] if row["receipt_number"] == takings.receipt_number)
    assert refunded["refund"]["amount"] == "20.00"
    assert all("*" in row["id_number"] for row in body["results"]) and body["next_after"] is None


def test_unremitted_agrees_with_the_database(personas, takings):
    body = api_client(personas.finance).get("/api/v1/finance/unremitted").json()
    start = at(timezone.localdate(), 0)
    path = Unit.objects.get(code="360102").path
    taken = Payment.objects.filter(unit__path__startswith=path, amount__gt=0, charged_at__lt=start)
    given = Payment.objects.filter(unit__path__startswith=path, refund__refunded_at__lt=start)
    expected = taken.aggregate(s=Sum("amount"))["s"] - given.aggregate(s=Sum("refund__amount"))["s"]
    assert Decimal(body["amount"]) == expected == Decimal(100)
    assert sum(Decimal(row["amount"]) for row in body["results"]) == expected


def test_recording_a_remittance(personas, takings, days):
    d1, _d2, today = days
    api = api_client(personas.finance)
    response = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360102001", "day": str(d1), "treasury_reference": "缴2026-1"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["amount"] == "60.00"
    again = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360102001", "day": str(d1), "treasury_reference": "缴2026-2"},
        format="json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_remitted"
    today_refused = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360102002", "day": str(today), "treasury_reference": "缴2026-3"},
        format="json",
    )
    assert today_refused.status_code == 400 and today_refused.json()["code"] == "day_not_closed"
    outside = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360702001", "day": str(d1), "treasury_reference": "缴2026-4"},
        format="json",
    )
    assert outside.status_code == 404
    assert list(Remittance.objects.values_list("treasury_reference", flat=True)) == ["缴2026-1"]
    listed = api.get("/api/v1/finance/remittances").json()["results"]
    assert [row["treasury_reference"] for row in listed] == ["缴2026-1"]


def test_settlement_figures_and_lines(personas):
    SettlementRate.objects.create(
        effective_from=datetime.date(2025, 3, 1),
        amount=Decimal(20),
        central=Decimal(15),
        provincial=Decimal(5),
    )
    clerk = personas.nanchang_clerk
    for code, day in [
        ("360102001", datetime.date(2025, 2, 1)),
        ("360102002", datetime.date(2025, 3, 2)),
        ("360102002", datetime.date(2025, 4, 2)),
    ]:
        charge(clerk, code, day, "0", item="first")
    api = api_client(personas.finance)
    body = api.get("/api/v1/finance/settlement?period=2025Q1").json()
    assert body["unit"]["code"] == "360102" and body["period_start"] == "2025-01-01"
    assert body["total"]["count"] == 2 and body["total"]["amount"] == "37.00"
    assert body["total"]["central"] == "28.00" and body["total"]["provincial"] == "9.00"
    assert [row["unit"]["code"] for row in body["counties"]] == ["360102"]
    lines = api.get("/api/v1/finance/settlement/lines?period=2025Q1&within=360102002").json()
    assert lines["count"] == 1 and "*" in lines["results"][0]["id_number"]
    assert lines["results"][0]["rate"]["amount"] == "20.00"
    bad = api.get("/api/v1/finance/settlement?period=2025Q9")
    assert bad.status_code == 400 and "period" in bad.json()["fields"]


@pytest.mark.parametrize(
    ("who", "status"),
    [("finance", 200), ("nanchang_clerk", 200), ("ganzhou_clerk", 404), ("auditor", 403)],
)
def test_receipt_pdf(personas, takings, who, status):
    user = getattr(personas, who)
    response = api_client(user).get(f"/api/v1/finance/receipts/{takings.receipt_number}")
    assert response.status_code == status
    printed = AuditEvent.objects.filter(action="fee.receipt_printed", actor_id=user.pk)
    assert printed.exists() == (status == 200)
    if status == 200:
        assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/finance/settlement?period=2025-3",
        "/api/v1/finance/settlement?period=2025q1",
        "/api/v1/finance/settlement?period=%202025Q1",
        "/api/v1/finance/settlement?period=",
        "/api/v1/finance/settlement",
        "/api/v1/finance/settlement/lines?period=2025-13",
        "/api/v1/finance/payments?after=yesterday",
        "/api/v1/finance/payments?start=",
        "/api/v1/finance/remittances?after=",
        "/api/v1/finance/payments?item=stamp",
        "/api/v1/finance/remittances?after=0",
    ],
)
def test_parameters_the_schema_forbids_are_refused(personas, url):
    response = api_client(personas.finance).get(url)
    assert response.status_code == 400 and response.json()["code"] == "invalid", response.json()


def test_empty_filters_are_the_defaults(personas, takings):
    api = api_client(personas.finance)
    assert (
        api.get("/api/v1/finance/payments?unit=&item=&after=").json()
        == api.get("/api/v1/finance/payments").json()
    )
    assert api.get("/api/v1/finance/unremitted?unit=").status_code == 200


def test_payments_ending_before_they_start_are_refused(personas, days):
    d1, d2, _today = days
    response = api_client(personas.finance).get(f"/api/v1/finance/payments?start={d2}&end={d1}")
    assert response.status_code == 400 and response.json()["code"] == "bad_period"


def test_a_remittance_is_for_one_station_with_its_reference(personas, takings, days):
    d1, _d2, _today = days
    api = api_client(personas.finance)
    county = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360102", "day": str(d1), "treasury_reference": "缴1"},
        format="json",
    )
    assert county.status_code == 400 and county.json()["code"] == "not_a_station"
    blank = api.post(
        "/api/v1/finance/remittances",
        {"unit": "360102001", "day": str(d1), "treasury_reference": "   "},
        format="json",
    )
    assert blank.status_code == 400 and "treasury_reference" in blank.json()["fields"]
    form = api.post(
        "/api/v1/finance/remittances", {"unit": "360102001", "day": str(d1), "treasury_reference": "缴1"}
    )
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    assert not Remittance.objects.exists()
