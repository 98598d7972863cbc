"""`tongban.listing.page_after`: read on from a cursor, each row once, one query a page, in an
order on the id alone and on a value with the id as tie-break (ties included)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from tongban.intake.models import Application
from tongban.listing import page_after
from tongban.testing.factories import ApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows() -> list[Application]:
    """Seven applications accepted at three moments (ties in time, to exercise the id)."""
    start = timezone.now().replace(microsecond=0)
    return [ApplicationFactory.create(accepted_at=start - datetime.timedelta(hours=n % 3)) for n in range(7)]


def walk(order: list[str], key: Any, django_assert_num_queries: Any) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        with django_assert_num_queries(1):
            page = page_after(Application.objects.all(), order, after, limit=3, cursor=key)
        seen += [row.pk for row in page.rows]
        if page.next_after is None:
            return seen
        after = page.next_after


def test_by_id_newest_first(rows: list[Application], django_assert_num_queries: Any) -> None:
    seen = walk(["-pk"], lambda row: row.pk, django_assert_num_queries)
    assert seen == sorted((row.pk for row in rows), reverse=True)


def test_by_a_value_then_the_id(rows: list[Application], django_assert_num_queries: Any) -> None:
    seen = walk(["accepted_at", "pk"], lambda row: (row.accepted_at, row.pk), django_assert_num_queries)
    assert seen == [row.pk for row in sorted(rows, key=lambda row: (row.accepted_at, row.pk))]


def test_the_last_page_has_no_cursor_and_the_total_is_passed_on() -> None:
    ApplicationFactory.create()
    page = page_after(Application.objects.all(), ["pk"], None, limit=1, total=1)
    assert len(page.rows) == 1 and page.next_after is None and page.total == 1
