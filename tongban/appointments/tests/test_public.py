"""The citizen's doors of 网上预约: the public API and pages, their limits and what they show."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tongban.appointments import doors
from tongban.appointments.models import Booking
from tongban.appointments.rules import State
from tongban.audit.models import AuditEvent
from tongban.registry.models import Person
from tongban.testing.appointments import book, open_day
from tongban.testing.factories import CardFactory, PersonFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/public/appointments"


def body(person: Person, **changes: Any) -> dict[str, Any]:
    return {
        "station": "360102001",
        "date": open_day().isoformat(),
        "half": "am",
        "name": person.name,
        "id_number": person.id_number,
        "type": "first",
        "reason": "12",
        "phone": "13907910001",
        **changes,
    }


def test_book_through_the_api_shows_only_what_the_citizen_needs(person: Person) -> None:
    api = APIClient()
    stations = api.get(f"{API}/stations", {"q": "东湖"}).json()["results"]
    assert any(s["code"] == "360102001" for s in stations)
    slots = api.get(f"{API}/stations/360102001/slots").json()
    assert slots["station"]["code"] == "360102001" and slots["days_ahead"] == 14
    day = next(s for s in slots["slots"] if s["date"] == open_day().isoformat() and s["half"] == "am")
    assert day["bookable"] and day["free"] == 20
    answer = api.post(API, body(person), format="json")
    assert answer.status_code == 201, answer.json()
    data = answer.json()
    assert data["state"] == "booked" and len(data["code"]) == 9  # ABCD-2345
    assert data["id_number"] != person.id_number and data["id_number"].endswith(person.id_number[-4:])
    assert data["phone"] == "139****0001"
    assert [m["code"] for m in data["checklist"]] == ["household_book", "residence_proof", "pledge"]
    after = api.get(f"{API}/stations/360102001/slots").json()
    assert (
        next(s for s in after["slots"] if s["date"] == open_day().isoformat() and s["half"] == "am")["free"]
        == 19
    )


def test_refusals_are_chinese_and_before_booking(person: Person) -> None:
    api = APIClient()
    CardFactory.create(person=person)
    answer = api.post(API, body(person), format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "not_eligible"
    unknown = api.post(API, body(person, name="不存在"), format="json").json()
    assert unknown["code"] == "not_in_register" and "户籍" in unknown["message"]
    past = (open_day() - datetime.timedelta(days=7)).isoformat()
    assert api.post(API, body(PersonFactory.create(), date=past), format="json").json()["code"] == "date_past"
    assert not Booking.objects.exists()


def test_lookup_cancel_and_rebook_need_the_code_and_the_id_tail(person: Person) -> None:
    api = APIClient()
    booking = book(person)
    proof = {"code": booking.display_code, "id_tail": person.id_number[-6:]}
    assert api.post(f"{API}/lookup", proof, format="json").json()["code"] == booking.display_code
    wrong = api.post(f"{API}/lookup", {**proof, "id_tail": "000000"}, format="json")
    assert wrong.status_code == 404 and wrong.json()["message"].startswith("未查询到")
    moved = api.post(f"{API}/rebook", {**proof, "date": open_day(1).isoformat(), "half": "pm"}, format="json")
    assert moved.status_code == 200 and moved.json()["half"] == "pm"
    cancelled = api.post(f"{API}/cancel", proof, format="json")
    assert cancelled.json()["state"] == "cancelled"
    again = api.post(f"{API}/cancel", proof, format="json")
    assert again.status_code == 409 and again.json()["code"] == "booking_closed"
    assert AuditEvent.objects.filter(action="appointment.lookup").count() == 4


def test_wrong_tails_lock_the_code(person: Person) -> None:
    api = APIClient()
    booking = book(person)
    for _ in range(doors.CODE_FAILURES.count):
        api.post(
            f"{API}/lookup",
            {"code": booking.code, "id_tail": "000000"},
            format="json",
            REMOTE_ADDR="10.0.0.1",
        )
    # Locked for everyone, the right tail included, from any address.
    locked = api.post(
        f"{API}/lookup",
        {"code": booking.code, "id_tail": person.id_number[-6:]},
        format="json",
        REMOTE_ADDR="10.0.0.2",
    )
    assert locked.status_code == 429 and locked.json()["code"] == "rate_limited"
    assert int(locked["Retry-After"]) > 0


def test_bookings_are_limited_per_address(person: Person, settings: Any) -> None:
    api = APIClient()
    for _ in range(doors.BOOK.count):
        api.post(API, body(person, name="不存在"), format="json", REMOTE_ADDR="10.0.0.3")
    refused = api.post(API, body(person), format="json", REMOTE_ADDR="10.0.0.3")
    assert refused.status_code == 429 and "请求过于频繁" in refused.json()["message"]
    assert api.post(API, body(person), format="json", REMOTE_ADDR="10.0.0.4").status_code == 201


def test_the_pages_book_show_the_code_and_cancel(client: Client, person: Person) -> None:
    found = client.get(reverse("booking:stations"), {"area": "360102"})
    assert "东湖区城关派出所" in found.content.decode()
    slots = client.get(reverse("booking:slots", args=["360102001"]))
    assert slots.status_code == 200 and "余 20" in slots.content.decode()
    url = reverse("booking:book", args=["360102001"]) + f"?date={open_day().isoformat()}&half=am"
    form = client.get(url)
    assert "所需材料" in form.content.decode() and "居民户口簿" in form.content.decode()
    data = {
        "date": open_day().isoformat(),
        "half": "am",
        "name": person.name,
        "id_number": person.id_number,
        "type": "first",
        "reason": "12",
        "phone": "13907910001",
        "collection": "station",
        "consent": "on",
    }
    missing = client.post(url, {**data, "consent": ""})
    assert "请阅读并勾选承诺" in missing.content.decode()
    wrong = client.post(url, {**data, "name": "不存在"})
    assert "未能按该公民身份号码和姓名找到" in wrong.content.decode()
    done = client.post(url, data)
    booking = Booking.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("booking:booking", args=[booking.code])
    page = client.get(done["Location"]).content.decode()
    assert booking.display_code in page and "<svg" in page and person.id_number not in page
    assert "签署《告知承诺书》" in page
    # Another browser must prove the booking first.
    other = Client()
    assert other.get(done["Location"])["Location"].startswith(reverse("booking:manage"))
    proven = other.post(
        reverse("booking:manage"), {"code": booking.code.lower(), "id_tail": person.id_number[-6:]}
    )
    assert proven["Location"] == done["Location"]
    other.post(reverse("booking:cancel", args=[booking.code]))
    booking.refresh_from_db()
    assert booking.state == State.CANCELLED


def test_rebook_page_moves_the_booking(client: Client, person: Person) -> None:
    booking = book(person)
    client.post(reverse("booking:manage"), {"code": booking.code, "id_tail": person.id_number[-6:]})
    page = client.get(reverse("booking:rebook", args=[booking.code]))
    assert page.status_code == 200 and "改约" in page.content.decode()
    moved = client.post(
        reverse("booking:rebook", args=[booking.code]), {"slot": f"{open_day(1).isoformat()}|pm"}
    )
    assert moved.status_code == 302
    booking.refresh_from_db()
    assert (booking.date, booking.half) == (open_day(1), "pm")


def test_a_closed_station_answers_404(client: Client) -> None:
    assert client.get(reverse("booking:slots", args=["360102"])).status_code == 404
    assert APIClient().get(f"{API}/stations/360102/slots").status_code == 404
