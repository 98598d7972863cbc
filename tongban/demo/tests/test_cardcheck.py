"""The demo of 居民身份证核查: a bank with the documented demo key, a holder with the demo serials."""

from __future__ import annotations

import datetime

from rest_framework.test import APIClient

from tongban.demo.cardcheck import DEMO_KEY, cardcheck_demo_facts, cardcheck_seed_demo
from tongban.registry.models import Card, Person
from tongban.testing.factories import CardFactory, PersonFactory


def test_the_demo_bank_and_holder_answer_with_the_demo_key(db: None) -> None:
    assert cardcheck_demo_facts() is None
    holder = PersonFactory.create()
    CardFactory.create(person=holder, state=Card.State.SUPERSEDED, valid_from=datetime.date(2006, 1, 1))
    CardFactory.create(person=holder, valid_until=datetime.date(2040, 1, 1))
    people = Person.objects.count()
    assert cardcheck_seed_demo() == 2
    assert cardcheck_seed_demo() == 0  # once
    assert Person.objects.count() == people  # the register keeps its size
    facts = cardcheck_demo_facts()
    assert facts is not None
    assert (facts["id_number"], facts["name"], facts["key"]) == (holder.id_number, holder.name, DEMO_KEY)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Institution {DEMO_KEY}")
    body = {"id_number": holder.id_number, "name": holder.name, "card_serial": str(facts["card_serial"])}
    assert api.post("/api/v1/card-checks", body, format="json").json()["result_label"] == "一致且有效"
    old = {**body, "card_serial": str(facts["old_card_serial"])}
    assert api.post("/api/v1/card-checks", old, format="json").json()["result_label"] == "已换领作废"
    assert DEMO_KEY in str(facts["curl"])
