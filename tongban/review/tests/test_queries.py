"""Pinned query counts for the busy work lists: a change that adds a query per row fails here."""

from __future__ import annotations

import re

import pytest

from tongban.intake.models import Application
from tongban.review.services import review_take
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
    # the subtree's unit ids; one aggregate for every count of both scopes; the keys of this
    # page and the cursors of the pages after it; the page's rows with reason, units, assignee
    # and sex.
    with django_assert_num_queries(10):
        page = client.get("/review/")
    assert page.content.decode().count("/review/") >= rows


@pytest.mark.parametrize("rows", [110, 230])
def test_review_queue_numbered_pages_query_count(
    client, personas, accept, household_reviewer, django_assert_num_queries, rows
):
    """A page in the middle costs one key query more (the cursors behind it), the last page
    one more again (its cursor), whatever the number of rows: no OFFSET, no count per page."""
    copies(accept(personas.ganzhou_clerk, PersonFactory.create()), rows - 1)
    login(client, household_reviewer)
    first = client.get("/review/").content.decode()
    second = re.search(r'<a href="(\?[^"]*page=2[^"]*)" rel="next">', first)
    assert second is not None
    with django_assert_num_queries(11):
        page = client.get("/review/" + second.group(1).replace("&amp;", "&"))
    assert f"第 2/{-(-rows // 50)} 页" in page.content.decode()
    with django_assert_num_queries(12):
        last = client.get("/review/?page=last")
    assert f"第 {-(-rows // 50)}/{-(-rows // 50)} 页" in last.content.decode()


@pytest.mark.parametrize("held", [False, True])
def test_review_item_query_count(
    client, personas, accept, household_reviewer, django_assert_num_queries, held
):
    """session, user, TOTP devices, unit; the application, the register twice (the comparisons),
    watch lists, steps, notes; the audit row (one insert);
    the history, its notifications and their units' names, the fingers, two calendar queries;
    held: the refusal reasons of the decision form."""
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    if held:
        review_take(actor=household_reviewer, application=application)
    login(client, household_reviewer)
    client.get(f"/review/{application.pk}/")
    with django_assert_num_queries(19 if held else 18):
        assert client.get(f"/review/{application.pk}/").status_code == 200


@pytest.mark.parametrize("rows", [1, 12])
def test_counter_list_query_count(client, personas, accept, django_assert_num_queries, rows):
    copies(accept(personas.ganzhou_clerk, PersonFactory.create()), rows - 1)
    login(client, personas.ganzhou_clerk)
    # session, user, TOTP devices, the user's unit, its subtree, the tab's count, the page joined
    # with its related rows.
    with django_assert_num_queries(7):
        assert client.get("/applications/?view=in_review").status_code == 200


def test_an_empty_queue_reads_no_rows(client, household_reviewer, django_assert_num_queries):
    login(client, household_reviewer)
    client.get("/review/")
    with django_assert_num_queries(8):  # the counts say 0: no keys, no rows
        assert "暂无待办事项。" in client.get("/review/").content.decode()
