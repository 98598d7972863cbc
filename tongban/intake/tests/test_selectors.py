"""受理台账 (selectors.counter_page): search by 受理号 / 公民身份号码 / name, every sort order walked
page by page forwards and backwards and by number, the tab's total, masked rows."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tongban import listing
from tongban.intake import selectors
from tongban.intake.models import Application
from tongban.listing import BadCursor
from tongban.registry.models import Person
from tongban.testing.factories import ApplicationFactory, PersonFactory, station
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db

Status = Application.Status


@pytest.fixture
def make(personas: Personas) -> Callable[..., Application]:
    """An application row accepted at 东湖区城关派出所 (360102001), the nanchang clerk's station."""

    def make(
        person: Person,
        *,
        name: str | None = None,
        accepted: datetime.datetime | None = None,
        number: str | None = None,
        status: str = Status.PENDING_REVIEW,
    ) -> Application:
        return ApplicationFactory.create(
            status=status,
            number=number,
            person=person,
            name=name or person.name,
            acceptance_unit=station("360102001"),
            created_by=personas.nanchang_clerk,
            accepted_at=accepted,
        )

    return make


@pytest.fixture
def ledger(make: Callable[..., Application]) -> list[Application]:
    """23 rows: 18 accepted (ties in time and in name, to exercise the tie-break on id), 3 drafts
    (no 受理号, no 受理时间: listed by when they were started, now) and 2 withdrawn."""
    base = timezone.now().replace(microsecond=0) - datetime.timedelta(days=30)
    names = itertools.cycle(["王芳", "李娜", "张伟", "刘洋", "陈静"])
    rows = []
    for i in range(18):
        accepted = base + datetime.timedelta(hours=(i // 2) * 5)  # two rows a time
        number = f"360102001{(accepted.date()).strftime('%Y%m%d')}{i + 1:05d}"
        rows.append(make(PersonFactory.create(), name=next(names), accepted=accepted, number=number))
    for _ in range(3):
        rows.append(make(PersonFactory.create(), name=next(names), status=Status.DRAFT))
    for i in range(2):
        accepted = base - datetime.timedelta(days=1, hours=i)
        rows.append(
            make(
                PersonFactory.create(),
                name=next(names),
                accepted=accepted,
                number=f"360102001{accepted:%Y%m%d}{90 + i:05d}",
                status=Status.WITHDRAWN,
            )
        )
    return rows


def expected_order(rows: list[Application], sort: str) -> list[int]:
    """The order the list must have: 受理时间 (a draft's: when it was started) or name, then id,
    both in the sort's direction."""
    if sort.removeprefix("-") == "accepted":
        value: Callable[[Application], Any] = lambda row: row.accepted_at or row.created_at  # noqa: E731
    else:
        value = lambda row: row.name  # noqa: E731
    ordered = sorted(rows, key=lambda row: (value(row), row.pk), reverse=sort.startswith("-"))
    return [row.pk for row in ordered]


@pytest.mark.parametrize("sort", ["accepted", "-accepted", "name", "-name"])
def test_every_sort_order_pages_forwards_backwards_and_by_number(personas, ledger, sort):
    clerk = personas.nanchang_clerk
    expected = expected_order(ledger, sort)
    size = 4
    # Forwards through the cursors, from page 1 to the last.
    seen: list[int] = []
    page = selectors.counter_page(clerk, "all", sort=sort, limit=size)
    numbers = []
    while True:
        assert page.total == len(ledger) and page.pages == 6
        numbers.append(page.number)
        seen += [row.pk for row in page.rows]
        if page.next_after is None:
            break
        page = selectors.counter_page(
            clerk, "all", sort=sort, after=page.next_after, page=page.number + 1, limit=size
        )
    assert seen == expected
    assert numbers == [1, 2, 3, 4, 5, 6]
    # Backwards from the last page (reached by number) through the cursors.
    page = selectors.counter_page(clerk, "all", sort=sort, page=6, limit=size)
    assert [row.pk for row in page.rows] == expected[20:]
    back: list[int] = []
    while True:
        back = [row.pk for row in page.rows] + back
        if page.prev_before is None:
            break
        page = selectors.counter_page(
            clerk, "all", sort=sort, before=page.prev_before, page=page.number - 1, limit=size
        )
    assert back == expected
    assert page.number == 1
    # Any page by its number, sought from the nearer end, holds the same rows as the walk.
    for number in range(1, 7):
        page = selectors.counter_page(clerk, "all", sort=sort, page=number, limit=size)
        assert [row.pk for row in page.rows] == expected[(number - 1) * size : number * size]
        assert page.has_previous == (number > 1) and page.has_next == (number < 6)


@pytest.mark.parametrize("sort", ["-accepted", "name"])
def test_deep_numbered_pages_seek_by_keys_alone(
    personas, ledger, sort, monkeypatch, django_assert_num_queries
):
    """Far from both ends a numbered page first walks the index for ids (here from the 2nd row on)."""
    monkeypatch.setattr(listing, "OFFSET_BY_KEYS", 1)
    expected = expected_order(ledger, sort)
    assert personas.nanchang_clerk.unit.subtree_pks  # the viewer's units: read once per request
    for number in range(1, 9):
        with django_assert_num_queries(2):
            page = selectors.counter_page(personas.nanchang_clerk, "all", sort=sort, page=number, limit=3)
            assert [row.pk for row in page.rows] == expected[(number - 1) * 3 : number * 3]


def test_default_order_is_newest_first_with_drafts_on_top(personas, ledger):
    page = selectors.counter_page(personas.nanchang_clerk, "all")
    assert page.sort == "-accepted"
    assert [row.pk for row in page.rows] == expected_order(ledger, "-accepted")
    assert [row.status for row in page.rows[:3]] == [Status.DRAFT] * 3


def test_tabs_count_their_own_rows(personas, ledger):
    clerk = personas.nanchang_clerk
    assert selectors.counter_page(clerk, "draft").total == 3
    assert selectors.counter_page(clerk, "in_review").total == 18
    assert selectors.counter_page(clerk, "withdrawn").total == 2
    assert selectors.counter_page(clerk, "all").total == selectors.counter_page(clerk, "").total == 23
    # Another station's clerk sees none of them; a supervisor above sees them all.
    assert selectors.counter_page(personas.ganzhou_clerk, "all").total == 0
    assert selectors.counter_page(personas.donghu_supervisor, "all").total == 23
    assert selectors.counter_page(personas.centre_operator, "all").total == 0


def test_search_by_number_id_number_prefix_and_name(personas, ledger):
    clerk = personas.nanchang_clerk
    target = ledger[5]
    hit = selectors.counter_page(clerk, "all", q=f" {target.number} ")
    assert [row.pk for row in hit.rows] == [target.pk] and hit.total == 1
    by_id = selectors.counter_page(clerk, "all", q=target.id_number.lower())
    assert [row.pk for row in by_id.rows] == [target.pk]
    # The beginning of a 受理号: a station's day.
    day = target.number[:17]
    by_day = selectors.counter_page(clerk, "all", q=day)
    assert {row.pk for row in by_day.rows} == {row.pk for row in ledger if (row.number or "").startswith(day)}
    assert by_day.total >= 2
    by_name = selectors.counter_page(clerk, "all", q="王芳")
    assert by_name.total == sum(row.name == "王芳" for row in ledger) == 5
    # A search and a tab together; a search that finds nothing.
    assert selectors.counter_page(clerk, "draft", q="王芳").total == sum(
        row.name == "王芳" and row.status == Status.DRAFT for row in ledger
    )
    assert selectors.counter_page(clerk, "all", q="3601021990010112345").total == 0
    # Applications of another station are not found by a clerk here, whatever the number.
    other = selectors.counter_page(personas.ganzhou_clerk, "all", q=target.number)
    assert other.total == 0


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("3601020012026112300001", "number"),
        ("3601020012026", "number_prefix"),
        ("360102001202611", "old_id_number"),  # or a station's month: both are searched
        ("360102199005170027", "id_number"),
        ("36010219900517002x", "id_number"),
        ("360102900517002", "old_id_number"),  # made 18 digits
        ("刘晓燕", "name"),
        ("   ", ""),
    ],
)
def test_what_the_search_box_understands(text, kind):
    search = selectors.counter_search(text)
    assert search.kind == kind
    assert search.identifies == (kind in {"number", "id_number"})
    if kind in {"id_number", "old_id_number"}:
        assert len(search.value) == 18 and search.value == search.value.upper()


def test_a_cursor_from_elsewhere_is_refused(personas, ledger):
    clerk = personas.nanchang_clerk
    page = selectors.counter_page(clerk, "all", sort="name", limit=4)
    assert page.next_after
    with pytest.raises(BadCursor):
        selectors.counter_page(clerk, "all", sort="-accepted", after=page.next_after)
    for junk in ("abc", "WyJuYW1lIiwxLDJd", "%%%"):
        with pytest.raises(BadCursor):
            selectors.counter_page(clerk, "all", sort="name", after=junk)


def test_rows_added_meanwhile_never_shift_a_cursor(personas, ledger, make):
    clerk = personas.nanchang_clerk
    first = selectors.counter_page(clerk, "all", sort="-accepted", limit=5)
    make(PersonFactory.create(), status=Status.DRAFT)  # lands on top, before the cursor
    second = selectors.counter_page(clerk, "all", sort="-accepted", after=first.next_after, page=2, limit=5)
    expected = expected_order(ledger, "-accepted")
    assert [row.pk for row in second.rows] == expected[5:10]


def test_list_rows_leave_the_photos_in_the_database(personas, ledger, django_assert_num_queries):
    with django_assert_num_queries(3):  # the viewer's units, the count and the rows (units joined)
        page = selectors.counter_page(personas.nanchang_clerk, "all")
        assert [row.household_unit.name for row in page.rows]
    assert "photo" in page.rows[0].get_deferred_fields()
