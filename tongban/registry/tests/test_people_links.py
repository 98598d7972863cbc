"""The people list links to the full record only for roles that may open it (a link that answers
404 is a dead end: 换发工作负责人 browse the register for the campaign without opening records)."""

from __future__ import annotations

import pytest
from django.test import Client

from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def test_only_roles_that_open_records_get_links(client: Client, personas: Personas) -> None:
    person = PersonFactory.create()
    record = f'href="/people/{person.pk}/"'
    login(client, personas.nanchang_clerk)
    assert record in client.get("/people/").content.decode()
    assert client.get(f"/people/{person.pk}/").status_code == 200
    client.logout()
    login(client, personas.campaign_manager)
    listed = client.get("/people/").content.decode()
    assert person.name in listed and record not in listed
    assert client.get(f"/people/{person.pk}/").status_code == 404
