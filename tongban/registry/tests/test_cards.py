"""Card states follow the calendar (DOMAIN.md §8): a card whose validity ended is 已过期 from the
day after its end date, on the record, the lookup, the lists and the API; 长期 never expires."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongban.registry.models import Card, Person
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def states(today: datetime.date) -> dict[str, str]:
    return {card.card_serial: vars(card)["current_state"] for card in Card.objects.with_current_state(today)}


def test_the_day_after_the_end_date_a_card_is_expired() -> None:
    today = timezone.localdate()
    person = PersonFactory.create()
    CardFactory.create(person=person, card_serial="ENDS-TODAY", valid_until=today)
    CardFactory.create(person=PersonFactory.create(), card_serial="ENDED-YESTERDAY", valid_until=today - DAY)
    CardFactory.create(person=PersonFactory.create(), card_serial="LONG", valid_until=None)
    CardFactory.create(
        person=PersonFactory.create(), card_serial="MADE", valid_until=today - DAY, state=Card.State.PRODUCED
    )
    CardFactory.create(person=person, card_serial="OLD", valid_until=today - DAY, state=Card.State.SUPERSEDED)
    assert states(today) == {
        "ENDS-TODAY": "active",
        "ENDED-YESTERDAY": "expired",
        "LONG": "active",  # 长期
        "MADE": "expired",  # made and never collected
        "OLD": "superseded",  # already void: says why
    }
    assert states(today + DAY)["ENDS-TODAY"] == "expired"
    assert states(datetime.date(2100, 1, 1))["LONG"] == "active"


def test_a_person_holds_the_valid_card_first() -> None:
    today = timezone.localdate()
    person = PersonFactory.create()
    CardFactory.create(
        person=person,
        valid_from=datetime.date(2001, 1, 1),
        valid_until=datetime.date(2011, 1, 1),
        state=Card.State.SUPERSEDED,
    )
    CardFactory.create(person=person, valid_from=datetime.date(2011, 1, 1), valid_until=today - DAY)
    never = PersonFactory.create()
    found = {p.pk: p for p in Person.objects.with_card_state(today)}
    assert found[person.pk].card_state_label == "已过期"
    assert found[never.pk].card_state_label == "未申领"


@pytest.fixture
def expired_holder() -> Person:
    person = PersonFactory.create(name="过期人")
    CardFactory.create(
        person=person,
        card_serial="E1",
        valid_from=datetime.date(2006, 3, 1),
        valid_until=datetime.date(2016, 3, 1),
    )
    return person


def test_the_record_and_the_lookup_page_show_expired(
    client: Client, personas: Personas, expired_holder: Person
) -> None:
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("registry:person_detail", args=[expired_holder.pk])).content.decode()
    assert "已过期" in page and "<td>有效</td>" not in page
    looked_up = client.post(reverse("registry:person_lookup"), {"id_number": expired_holder.id_number})
    assert "已过期" in looked_up.content.decode()


def test_the_people_list_shows_the_card_state(
    client: Client, personas: Personas, expired_holder: Person
) -> None:
    PersonFactory.create(name="无证人")
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("registry:person_list")).content.decode()
    assert "证件状态" in page and "已过期" in page and "未申领" in page


def test_the_api_says_expired(personas: Personas, expired_holder: Person) -> None:
    api = api_client(personas.nanchang_clerk)
    record = api.post("/api/v1/people/lookup", {"id_number": expired_holder.id_number}, format="json").json()
    [card] = record["cards"]
    assert (card["state"], card["state_label"]) == ("expired", "已过期")
    rows = {row["name"]: row for row in api.get("/api/v1/people").json()["results"]}
    assert (rows["过期人"]["card_state"], rows["过期人"]["card_state_label"]) == ("expired", "已过期")
