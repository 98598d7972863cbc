"""The client address of an audit row comes from the audit context, which the middleware sets for
each request (page or API); services never see the request. `X-Real-IP` counts only behind the
configured proxy."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongban.audit.actions import AuditAction
from tongban.audit.context import audit_context, current
from tongban.audit.models import AuditEvent
from tongban.audit.services import record
from tongban.registry.models import Person
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

PEER = "10.0.0.7"  # the connecting address (nginx, when behind the proxy)
CLIENT = "203.0.113.9"  # what the proxy says the client was


@pytest.fixture
def person() -> Person:
    return PersonFactory.create(name="南昌人")


def _lookup(person: Person) -> AuditEvent:
    return AuditEvent.objects.get(action="person.view", object_id=str(person.pk))


@pytest.mark.parametrize(("behind_proxy", "expected"), [(False, PEER), (True, CLIENT)])
def test_a_page_post_records_the_client_address(
    client: Client,
    personas: Personas,
    person: Person,
    settings: Any,
    behind_proxy: bool,
    expected: str,
) -> None:
    settings.BEHIND_PROXY = behind_proxy
    login(client, personas.ganzhou_clerk)
    response = client.post(
        "/people/lookup/", {"id_number": person.id_number}, REMOTE_ADDR=PEER, HTTP_X_REAL_IP=CLIENT
    )
    assert response.status_code == 200
    assert _lookup(person).remote_addr == expected
    assert current().remote_addr is None  # the request's context ended with it


@pytest.mark.parametrize(("behind_proxy", "expected"), [(False, PEER), (True, CLIENT)])
def test_an_api_call_records_the_client_address(
    personas: Personas, person: Person, settings: Any, behind_proxy: bool, expected: str
) -> None:
    settings.BEHIND_PROXY = behind_proxy
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/people/lookup",
        {"id_number": person.id_number},
        format="json",
        REMOTE_ADDR=PEER,
        HTTP_X_REAL_IP=CLIENT,
    )
    assert response.status_code == 200
    assert _lookup(person).remote_addr == expected


def test_behind_the_proxy_without_the_header_the_peer_counts(
    personas: Personas, person: Person, settings: Any
) -> None:
    settings.BEHIND_PROXY = True
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/people/lookup", {"id_number": person.id_number}, format="json", REMOTE_ADDR=PEER
    )
    assert response.status_code == 200
    assert _lookup(person).remote_addr == PEER


def test_audit_context_outside_a_request() -> None:
    assert record(actor=None, action=AuditAction.DEMO_SEED).remote_addr is None
    with audit_context(remote_addr="192.0.2.1"):
        with audit_context(remote_addr="192.0.2.2"):
            assert record(actor=None, action=AuditAction.DEMO_SEED).remote_addr == "192.0.2.2"
        assert record(actor=None, action=AuditAction.DEMO_SEED).remote_addr == "192.0.2.1"
    assert current().remote_addr is None


def test_a_visitor_without_an_account_is_told_apart_from_the_command_line(client: Client) -> None:
    assert record(actor=None, action=AuditAction.DEMO_SEED).actor_username.startswith("cli")
    client.post("/accounts/login/", {"username": "nobody", "password": "wrong"}, REMOTE_ADDR=PEER)
    event = AuditEvent.objects.filter(actor_id=None).latest("pk")
    assert event.actor_username == "web:anonymous" and event.remote_addr == PEER
