"""网上预约 services: booking against the register and the counter's rules, capacity (under
concurrency too), cancel and rebook, the counter's draft from a booking, no-shows and reminders."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tongban.appointments import services
from tongban.appointments.models import Booking, SlotCount
from tongban.appointments.rules import HalfDay, State
from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.notifications import services as notifications
from tongban.notifications.models import Message
from tongban.registry.models import Person, Unit
from tongban.testing.appointments import book, open_day
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


def refusal(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def test_a_booking_holds_the_pre_application_and_sends_the_code(
    person: Person, outbox: list[notifications.Notification], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(
            person, collection="post", postal_recipient="刘晓燕", postal_address="南昌市八一大道1号"
        )
    assert booking.state == State.BOOKED and len(booking.code) == 8
    assert booking.reason_id == "12" and booking.postal_address == "南昌市八一大道1号"
    assert booking.postal_phone == "13907910001"  # the contact phone, as the counter needs one
    assert SlotCount.objects.get(station=booking.station, date=booking.date, half="am").booked == 1
    (sms,) = outbox
    assert sms.phone == "13907910001" and booking.display_code in sms.message
    event = AuditEvent.objects.get(action="appointment.booked")
    assert person.id_number not in str(event.detail)


def test_unknown_numbers_and_wrong_names_are_refused_alike(person: Person) -> None:
    other = PersonFactory.build(registration_unit=station())
    unknown = refusal(lambda: book(other, type="first", reason="12"))
    wrong_name = refusal(lambda: book(person, name="王五"))
    assert unknown.code == wrong_name.code == "not_in_register"
    assert unknown.message == wrong_name.message and "户籍" in unknown.message
    bad = refusal(lambda: book(person, id_number="360102199005171000"))
    assert bad.code == "invalid" and "id_number" in bad.fields
    assert not Booking.objects.exists()


def test_the_counter_rules_refuse_before_booking(person: Person) -> None:
    CardFactory.create(person=person)
    first = refusal(lambda: book(person, type="first", reason="12"))
    assert first.code == "not_eligible" and "换领或补领预约" in first.message
    never = PersonFactory.create()
    renewal = refusal(lambda: book(never, type="renewal", reason="21"))
    assert renewal.code == "not_eligible" and "首次申领" in renewal.message
    wrong_age = refusal(lambda: book(never, reason="11"))
    assert wrong_age.code == "reason_age_mismatch"
    dead = PersonFactory.create(status=Person.Status.DECEASED)
    assert refusal(lambda: book(dead)).code == "not_eligible"
    assert not Booking.objects.exists()


def test_a_minor_books_with_the_guardian() -> None:
    child = PersonFactory.create(birth_date=timezone.localdate() - datetime.timedelta(days=365 * 10))
    missing = refusal(lambda: book(child))
    assert missing.code == "invalid" and set(missing.fields) == {
        "guardian_name",
        "guardian_id_number",
        "guardian_relation",
        "guardianship",
    }
    parent = PersonFactory.create()
    booking = book(
        child,
        guardian_name=parent.name,
        guardian_id_number=parent.id_number,
        guardian_relation="母亲",
        guardianship="birth_certificate",
    )
    from tongban.appointments.selectors import checklist

    codes = [m.code for m in checklist(booking)]
    assert codes == [
        "household_book",
        "guardian_id_card",
        "minor_residence_proof",
        "birth_certificate",
        "pledge",
    ]


def test_past_closed_far_and_full_half_days_are_refused(person: Person) -> None:
    today = services.local_now().date()
    assert refusal(lambda: book(person, date=today - datetime.timedelta(days=1))).code == "date_past"
    saturday = today + datetime.timedelta(days=(5 - today.weekday()) % 7 or 7)
    assert refusal(lambda: book(person, date=saturday)).code == "slot_closed"
    far = today + datetime.timedelta(days=settings.APPOINTMENT_DAYS_AHEAD + 1)
    assert refusal(lambda: book(person, date=far)).code == "slot_closed"
    clerk = UserFactory.create(role="clerk", unit=station())
    services.override_set(actor=clerk, station=station(), date=open_day(), half=HalfDay.MORNING, capacity=1)
    book(PersonFactory.create())
    full = refusal(lambda: book(person))
    assert full.code == "slot_full" and full.status == 409
    assert book(person, half=HalfDay.AFTERNOON).half == "pm"


def test_one_active_booking_per_person(person: Person) -> None:
    first = book(person)
    assert refusal(lambda: book(person, date=open_day(1))).code == "already_booked"
    services.booking_cancel(booking=first)
    assert book(person, date=open_day(1)).state == State.BOOKED


def test_cancel_frees_the_place_and_rebook_moves_it(
    person: Person, outbox: list[notifications.Notification], django_capture_on_commit_callbacks: Any
) -> None:
    booking = book(person)
    found = services.booking_find(code=booking.display_code.lower(), id_tail=person.id_number[-6:])
    assert found.pk == booking.pk
    assert refusal(lambda: services.booking_find(code=booking.code, id_tail="000000")).code == "not_found"
    moved = services.booking_rebook(booking=booking, date=open_day(1), half=HalfDay.AFTERNOON)
    assert (moved.date, moved.half, moved.code) == (open_day(1), "pm", booking.code)
    counts = dict(SlotCount.objects.values_list("half", "booked"))
    assert counts == {"am": 0, "pm": 1}
    with django_capture_on_commit_callbacks(execute=True):
        services.booking_cancel(booking=moved)
    assert SlotCount.objects.get(half="pm").booked == 0
    assert "已取消" in outbox[-1].message
    again = refusal(lambda: services.booking_cancel(booking=moved))
    assert again.code == "booking_closed"


def test_the_clerk_opens_the_draft_prefilled_and_the_booking_arrives(
    personas: Personas, person: Person
) -> None:
    booking = book(
        person, phone="13907910002", residence_address="南昌市红谷滩区丰和中大道9号", date=open_day()
    )
    Booking.objects.filter(pk=booking.pk).update(date=services.local_now().date())
    booking.refresh_from_db()
    ganzhou = refusal(lambda: services.booking_open(actor=personas.ganzhou_clerk, booking=booking))
    assert ganzhou.code == "other_station"
    application = services.booking_open(actor=personas.nanchang_clerk, booking=booking)
    assert application.status == Application.Status.DRAFT
    assert (application.phone, application.residence_address, application.reason_id) == (
        "13907910002",
        "南昌市红谷滩区丰和中大道9号",
        "12",
    )
    assert application.name == person.name and application.id_number == person.id_number
    booking.refresh_from_db()
    assert booking.state == State.ARRIVED and booking.application_id == application.pk
    assert services.booking_open(actor=personas.nanchang_clerk, booking=booking).pk == application.pk


def test_a_booking_of_another_day_does_not_open(personas: Personas, person: Person) -> None:
    booking = book(person)
    assert (
        refusal(lambda: services.booking_open(actor=personas.nanchang_clerk, booking=booking)).code
        == "wrong_day"
    )


def test_no_shows_after_the_half_day(person: Person) -> None:
    booking = book(person)
    afternoon = book(PersonFactory.create(), half=HalfDay.AFTERNOON)
    noon = datetime.datetime.combine(booking.date, datetime.time(12, 5))
    assert services.no_shows_mark(now=noon) == 1
    booking.refresh_from_db()
    afternoon.refresh_from_db()
    assert booking.state == State.NO_SHOW and afternoon.state == State.BOOKED
    assert services.no_shows_mark(now=noon) == 0
    assert AuditEvent.objects.filter(action="appointment.no_show").count() == 1


def test_reminders_the_working_day_before_once(
    person: Person, outbox: list[notifications.Notification]
) -> None:
    booking = book(person, date=open_day(1))
    day_before = open_day()
    assert services.reminders_notify(today=day_before) == 1
    assert services.reminders_notify(today=day_before) == 0
    assert Message.objects.filter(template="appointment.reminder").count() == 1
    assert booking.display_code in Message.objects.get(template="appointment.reminder").text


def test_settings_are_the_stations_own(personas: Personas) -> None:
    data = services.ScheduleInput(open=True, morning_capacity=3, afternoon_capacity=0, days_ahead=7)
    schedule = services.schedule_update(actor=personas.nanchang_clerk, station=station(), data=data)
    assert (schedule.morning_capacity, schedule.days_ahead) == (3, 7)
    slots = services.slots_between(station(), open_day(), open_day())
    assert [(s.half.value, s.capacity) for s in slots] == [("am", 3), ("pm", 0)]
    other = station("360702001")
    assert refusal(
        lambda: services.schedule_update(actor=personas.nanchang_clerk, station=other, data=data)
    ).code == ("not_found")
    bad = services.ScheduleInput(open=True, morning_capacity=-1, afternoon_capacity=900, days_ahead=0)
    assert set(
        refusal(
            lambda: services.schedule_update(actor=personas.nanchang_clerk, station=station(), data=bad)
        ).fields
    ) == {
        "morning_capacity",
        "afternoon_capacity",
        "days_ahead",
    }
    county = Unit.objects.get(code="360102")
    assert services.slots_between(county, open_day(), open_day())  # computed for any unit; pages check kinds


# The audit tables are append-only (triggers): a transactional test leaves them alone.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_no_overbooking_under_concurrency(reference_data: None) -> None:
    clerk = UserFactory.create(role="clerk", unit=station())
    services.override_set(actor=clerk, station=station(), date=open_day(), half=HalfDay.MORNING, capacity=3)
    people = [PersonFactory.create() for _ in range(8)]
    start = threading.Barrier(len(people))
    outcomes: list[object] = []

    def attempt(person: Person) -> None:
        try:
            start.wait()
            book(person)
            outcomes.append("booked")
        except ServiceError as error:
            outcomes.append(error.code)
        except BaseException as exc:  # anything else fails the test below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["booked"] * 3 + ["slot_full"] * 5
    assert Booking.objects.count() == 3
    assert SlotCount.objects.get().booked == 3


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_one_person_booking_twice_at_once_gets_one(reference_data: None) -> None:
    person = PersonFactory.create()
    start = threading.Barrier(4)
    outcomes: list[object] = []

    def attempt(n: int) -> None:
        try:
            start.wait()
            book(person, date=open_day(n))
            outcomes.append("booked")
        except ServiceError as error:
            outcomes.append(error.code)
        except BaseException as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["already_booked"] * 3 + ["booked"]
    assert sum(SlotCount.objects.values_list("booked", flat=True)) == 1
