"""The stations' side of 网上预约: the day's bookings (masked, scoped), the counter's draft from a
code, 预约设置, on pages and in the API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.appointments import services
from tongban.appointments.models import Booking
from tongban.appointments.rules import State
from tongban.audit.models import AuditEvent
from tongban.registry.models import Person
from tongban.testing.appointments import book, open_day
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


def today_booking(person: Person, **changes: Any) -> Booking:
    """A booking for today (made for the next working day, then moved: today may be a day off)."""
    booking = book(person, **changes)
    Booking.objects.filter(pk=booking.pk).update(date=services.local_now().date())
    booking.refresh_from_db()
    return booking


def test_the_day_list_masks_and_counts(client: Client, personas: Personas, person: Person) -> None:
    booking = book(person)
    services.booking_cancel(booking=book(PersonFactory.create(), half=services.rules.HalfDay.AFTERNOON))
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("appointments:day"), {"date": open_day().isoformat()})
    text = page.content.decode()
    assert page.status_code == 200 and booking.display_code in text
    assert person.id_number not in text and person.id_number[-4:] in text
    assert page.context["counts"] == {"booked": 1, "cancelled": 1, "arrived": 0, "no_show": 0}
    assert "网上预约" in text  # the navigation's link
    api = api_client(personas.nanchang_clerk)
    answer = api.get("/api/v1/appointments", {"date": open_day().isoformat(), "state": "booked"}).json()
    assert [row["code"] for row in answer["results"]] == [booking.display_code]
    assert answer["counts"]["cancelled"] == 1 and answer["results"][0]["id_number"] != person.id_number


def test_a_supervisor_picks_the_station_and_another_city_sees_nothing(
    client: Client, personas: Personas, person: Person
) -> None:
    booking = book(person)
    login(client, personas.donghu_supervisor)
    picker = client.get(reverse("appointments:day"))
    assert picker.status_code == 200 and "360102001" in picker.content.decode()
    chosen = client.get(reverse("appointments:day"), {"station": "360102001", "date": open_day().isoformat()})
    assert booking.display_code in chosen.content.decode()
    ganzhou = api_client(personas.ganzhou_clerk)
    assert ganzhou.get(f"/api/v1/appointments/{booking.code}").status_code == 404
    assert ganzhou.get("/api/v1/appointments", {"station": "360102001"}).status_code == 404
    assert api_client(personas.nanchang_reviewer).get("/api/v1/appointments").status_code == 403


def test_the_detail_is_full_and_audited(client: Client, personas: Personas, person: Person) -> None:
    booking = book(person, residence_address="南昌市东湖区阳明路1号")
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("appointments:detail", args=[booking.code])).content.decode()
    assert person.id_number in page and "南昌市东湖区阳明路1号" in page
    detail = api_client(personas.nanchang_clerk).get(f"/api/v1/appointments/{booking.display_code}").json()
    assert detail["id_number"] == person.id_number and detail["residence_address"] == "南昌市东湖区阳明路1号"
    assert AuditEvent.objects.filter(action="appointment.view").count() == 2


def test_the_counter_opens_the_draft_from_the_code(
    client: Client, personas: Personas, person: Person
) -> None:
    booking = today_booking(
        person,
        phone="13907910009",
        collection="post",
        postal_recipient="刘晓燕",
        postal_address="南昌市八一大道1号",
    )
    login(client, personas.nanchang_clerk)
    start = client.get(reverse("intake:start")).content.decode()
    assert reverse("appointments:open") in start
    wrong = client.post(reverse("appointments:open"), {"code": "ZZZZ-ZZZZ"})
    assert "未找到该预约码" in wrong.content.decode()
    opened = client.post(reverse("appointments:open"), {"code": booking.display_code.lower()})
    booking.refresh_from_db()
    assert booking.state == State.ARRIVED and booking.application is not None
    assert opened["Location"] == reverse("intake:detail", kwargs={"pk": booking.application_id})
    draft = booking.application
    assert (draft.phone, draft.collection, draft.postal_address) == (
        "13907910009",
        "post",
        "南昌市八一大道1号",
    )
    workspace = client.get(opened["Location"]).content.decode()
    assert "南昌市八一大道1号" in workspace
    listed = client.get(reverse("appointments:day")).content.decode()
    assert "已到场" in listed


def test_the_api_opens_the_draft(personas: Personas, person: Person) -> None:
    booking = today_booking(person)
    api = api_client(personas.nanchang_clerk)
    answer = api.post(f"/api/v1/appointments/{booking.code}/open")
    assert answer.status_code == 200
    assert answer.json()["application_id"] == Booking.objects.get().application_id
    assert api.post(f"/api/v1/appointments/{booking.code}/open").json() == answer.json()  # the same draft


def test_settings_pages_and_api(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("appointments:schedule"))
    assert page.status_code == 200 and "上午可预约人数" in page.content.decode()
    saved = client.post(
        reverse("appointments:schedule"),
        {
            "action": "settings",
            "open": "on",
            "morning_capacity": 5,
            "afternoon_capacity": 4,
            "days_ahead": 10,
        },
    )
    assert saved.status_code == 302
    closed = client.post(
        reverse("appointments:schedule"),
        {
            "action": "override",
            "date": open_day().isoformat(),
            "half": "am",
            "capacity": 0,
            "note": "业务培训",
        },
    )
    assert closed.status_code == 302
    api = api_client(personas.nanchang_clerk)
    schedule = api.get("/api/v1/appointments/stations/360102001/schedule").json()
    assert (schedule["morning_capacity"], schedule["days_ahead"]) == (5, 10)
    assert schedule["overrides"] == [
        {"date": open_day().isoformat(), "half": "am", "capacity": 0, "note": "业务培训"}
    ]
    slots = client.get(reverse("booking:slots", args=["360102001"])).content.decode()
    assert "业务培训" in slots
    reopened = api.post(
        "/api/v1/appointments/stations/360102001/overrides",
        {"date": open_day().isoformat(), "half": "am", "capacity": None},
        format="json",
    )
    assert reopened.status_code == 200 and reopened.json()["overrides"] == []
    put = api.put(
        "/api/v1/appointments/stations/360102001/schedule",
        {"open": False, "morning_capacity": 1, "afternoon_capacity": 1, "days_ahead": 3},
        format="json",
    )
    assert put.status_code == 200 and put.json()["open"] is False
    supervisor = api_client(personas.nanchang_supervisor)
    assert supervisor.get("/api/v1/appointments/stations/360102001/schedule").status_code == 200
    assert (
        api_client(personas.ganzhou_clerk).get("/api/v1/appointments/stations/360102001/schedule").status_code
        == 404
    )


def test_the_dashboard_counts_booked_served_and_no_shows(
    client: Client, personas: Personas, person: Person
) -> None:
    served = today_booking(person)
    services.booking_open(actor=personas.nanchang_clerk, booking=served)
    missed = book(PersonFactory.create())
    services.no_shows_mark(now=services.local_now().replace(year=open_day().year + 1))
    missed.refresh_from_db()
    assert missed.state == State.NO_SHOW
    book(PersonFactory.create())  # still to come
    login(client, personas.nanchang_supervisor)
    board = client.get(reverse("supervision:dashboard")).context["board"]
    table = board.table("appointments")
    total = table.rows[-1]
    assert table.headers[:6] == ["单位", "预约", "已到场", "未到场", "待到场", "已取消"]
    assert total[1:6] == [3, 1, 1, 1, 0] and total[6] == 50.0
    api = api_client(personas.nanchang_supervisor).get("/api/v1/supervision/dashboard").json()
    assert any(t["key"] == "appointments" for t in api["tables"])
