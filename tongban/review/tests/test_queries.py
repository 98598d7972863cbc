"""Pinned query counts for the busy work lists: a change that adds a query per row fails here."""

from __future__ import annotations

import pytest

from tongban.intake.models import Application
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db


def copies(application: Application, n: int) -> None:
    """`n` more accepted applications like `application`, each for another person."""
    prefix = (application.number or "")[:17]
    for k in range(n):
        application.pk = None
        application.person = PersonFactory.create()
        application.number = f"{prefix}{90000 + k:05d}"
        application.save()


@pytest.mark.parametrize("rows", [1, 12])
def test_review_queue_query_count(
    client, personas, accept, household_reviewer, django_assert_num_queries, rows
):
    copies(accept(personas.ganzhou_clerk, PersonFactory.create()), rows - 1)
    login(client, household_reviewer)
    # session, user, TOTP devices, the user's unit; two calendar queries (today's due days);
    # six bucket counts; the page joined with reason, units, assignee and sex.
    with django_assert_num_queries(13):
        page = client.get("/review/")
    assert page.content.decode().count("/review/") >= rows


@pytest.mark.parametrize("rows", [1, 12])
def test_counter_list_query_count(client, personas, accept, django_assert_num_queries, rows):
    copies(accept(personas.ganzhou_clerk, PersonFactory.create()), rows - 1)
    login(client, personas.ganzhou_clerk)
    # session, user, TOTP devices, the user's unit, the tab's count, the page joined with its
    # related rows.
    with django_assert_num_queries(6):
        assert client.get("/applications/?view=in_review").status_code == 200
