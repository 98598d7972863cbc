"""Pinned query counts for the busy pages: a change that adds a query per row fails here."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [5, 60])
def test_person_list_query_count_does_not_grow_with_rows(
    client: Client, personas: Personas, django_assert_num_queries: DjangoAssertNumQueries, rows: int
) -> None:
    PersonFactory.create_batch(rows)
    login(client, personas.nanchang_clerk)
    # session, user, the user's TOTP devices (second-factor middleware), the user's unit (scope),
    # the page of people joined with sex and station
    with django_assert_num_queries(5):
        assert client.get("/people/").status_code == 200


@pytest.mark.parametrize("members", [1, 6])
def test_full_record_query_count_does_not_grow_with_household_or_cards(
    client: Client, personas: Personas, django_assert_num_queries: DjangoAssertNumQueries, members: int
) -> None:
    person = PersonFactory.create(household_no="H1")
    PersonFactory.create_batch(members, household_no="H1")
    CardFactory.create_batch(3, person=person, state="superseded")
    login(client, personas.nanchang_clerk)
    # session, user, TOTP devices, the user's unit, the person joined with codes and station;
    # the audit row (one insert); then the subtree check, household (joined with codes), cards,
    # floating registrations, the 变更更正记录 and the 临时居民身份证.
    with django_assert_num_queries(12):
        assert client.get(f"/people/{person.pk}/").status_code == 200


def test_api_list_query_count(personas: Personas, django_assert_num_queries: DjangoAssertNumQueries) -> None:
    PersonFactory.create_batch(30)
    api = api_client(personas.donghu_supervisor)
    with django_assert_num_queries(3):  # token+user, unit of the user, the page
        assert len(api.get("/api/v1/people").json()["results"]) == 30
