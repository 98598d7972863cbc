"""受理台账 as a page: the scanner's search box (an exact hit opens the application), the tab's
total, sortable columns, numbered keyset pages, and a pinned number of queries."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.urls import reverse
from django.utils import timezone

from tongban.intake import selectors
from tongban.intake.models import Application
from tongban.registry.models import Person
from tongban.testing.factories import ApplicationFactory, PersonFactory, station
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db

COUNTER = reverse("intake:counter")


@pytest.fixture
def make(personas: Personas) -> Callable[..., Application]:
    """An accepted application of the nanchang clerk's station (受理号 and 受理时间 as given)."""
    sequence = iter(range(1, 10_000))

    def make(person: Person | None = None, *, status: str = Application.Status.PENDING_REVIEW) -> Application:
        person = person or PersonFactory.create()
        n = next(sequence)
        accepted = timezone.now() - datetime.timedelta(hours=n)
        return ApplicationFactory.create(
            status=status,
            number=f"360102001{accepted:%Y%m%d}{n:05d}",
            person=person,
            acceptance_unit=station("360102001"),
            created_by=personas.nanchang_clerk,
            accepted_at=accepted,
        )

    return make


def test_a_scanned_number_opens_the_application(client, personas, make):
    application = make()
    make()
    login(client, personas.nanchang_clerk)
    page = client.get(COUNTER).content.decode()
    # The box a scanner types into: focused on arrival, submitted by Enter (a GET form).
    assert 'type="search" id="list-q" name="q"' in page and "autofocus" in page
    assert '<input type="hidden" name="view" value="all">' in page
    for scanned in (application.number, application.id_number, application.id_number.lower()):
        response = client.get(COUNTER, {"q": scanned, "view": "all"})
        assert response.status_code == 302
        assert response["Location"] == reverse("intake:detail", args=[application.pk])


def test_a_search_with_several_hits_lists_them_masked(client, personas, make):
    person = PersonFactory.create()
    old = make(person, status=Application.Status.VERIFIED)
    new = make(person)
    login(client, personas.nanchang_clerk)
    response = client.get(COUNTER, {"q": person.id_number, "view": "all"})
    assert response.status_code == 200
    page = response.content.decode()
    assert old.number in page and new.number in page
    assert person.id_number not in page.split("<tbody>")[1]  # masked in the rows
    assert "共 <strong>2</strong> 条" in page
    nothing = client.get(COUNTER, {"q": "3601020012000010100001", "view": "all"}).content.decode()
    assert "没有符合查询条件的申领" in nothing and "共 <strong>0</strong> 条" in nothing


def test_tabs_show_their_total_and_keep_the_search(client, personas, make):
    for _ in range(3):
        make()
    make(status=Application.Status.WITHDRAWN)
    login(client, personas.nanchang_clerk)
    page = client.get(COUNTER, {"view": "in_review"}).content.decode()
    assert "审核中：共 <strong>3</strong> 条" in page
    searched = client.get(COUNTER, {"view": "all", "q": "王"}).content.decode()
    assert 'href="?view=withdrawn&amp;q=%E7%8E%8B' in searched


def test_columns_sort_both_ways_and_pages_are_numbered(client, personas, make, monkeypatch):
    monkeypatch.setattr(selectors, "COUNTER_PAGE_SIZE", 3)
    rows = [make() for _ in range(10)]
    login(client, personas.nanchang_clerk)
    page = client.get(COUNTER, {"view": "all"}).content.decode()
    # Newest first by default; the 受理时间 header turns it round, the others sort ascending.
    assert '<th aria-sort="descending"><a class="sort" href="?view=all&amp;sort=accepted">受理时间' in page
    assert 'href="?view=all&amp;sort=name">姓名' in page
    assert "（第 1 / 4 页）" in page and 'aria-label="第 4 页"' in page
    assert page.index(rows[0].number) < page.index(rows[1].number)
    oldest = client.get(COUNTER, {"view": "all", "sort": "accepted"}).content.decode()
    assert rows[-1].number in oldest and rows[0].number not in oldest
    # 下一页 follows a cursor; 末页 and numbers go by number.
    next_link = page.split('rel="next"')[0].rsplit('href="', 1)[1].rstrip('" ').replace("&amp;", "&")
    assert "after=" in next_link and "page=2" in next_link
    second = client.get(COUNTER + next_link).content.decode()
    assert rows[3].number in second and rows[2].number not in second and "（第 2 / 4 页）" in second
    last = client.get(COUNTER, {"view": "all", "page": 4}).content.decode()
    assert rows[9].number in last and "第 10–10 条" in last
    # An edited cursor is no error: the page by its number.
    assert client.get(COUNTER, {"view": "all", "after": "garbage", "page": 2}).status_code == 200


def test_counter_page_query_count_is_pinned(client, personas, make, django_assert_num_queries):
    """Session, user, its second-factor device and its unit, the unit's subtree, the count and the
    rows (their units joined): the same for 3 rows as for 50, on any tab, sort or page."""
    login(client, personas.nanchang_clerk)
    for _ in range(3):
        make()
    with django_assert_num_queries(7):
        assert client.get(COUNTER, {"view": "all"}).status_code == 200
    for _ in range(60):
        make()
    with django_assert_num_queries(7):
        response = client.get(COUNTER, {"view": "all", "q": "", "sort": "name"})
    assert response.content.decode().count('<tr>\n      <td><a href="/applications/') == 50
    with django_assert_num_queries(7):
        client.get(COUNTER, {"view": "in_review", "page": 2})
