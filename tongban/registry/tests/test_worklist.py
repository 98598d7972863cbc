"""Work lists (registry.worklist): reading the search box, and numbered pages over keyset cursors
walked in every direction over a real table (the Jiangxi unit tree)."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongban.registry.models import Unit
from tongban.registry.worklist import (
    Column,
    KeysetPage,
    Sorting,
    Worklist,
    cursor_of,
    paginate,
    parse_cursor,
    parse_search,
)
from tongban.testing.factories import PersonFactory

SORTING = Sorting(
    [Column("code", "机构代码", "code"), Column("name", "名称", "name"), Column("id", "编号", "pk", "int")],
    "code",
)


@pytest.mark.parametrize(
    ("typed", "kind", "value"),
    [
        ("", "", ""),
        ("  ", "", ""),
        ("3601020012026030200001", "number", "3601020012026030200001"),
        (" 3601 0200 1202 6030 2000 01 ", "number", "3601020012026030200001"),
        ("１１０１０５１９４９１００１００２x", "id_number", "11010519491001002X"),
        ("110105491001002", "id_number", "110105194910010023"),
        ("00001", "number_part", "00001"),
        ("123", "invalid", "123"),
        ("刘晓", "name", "刘晓"),
        ("刘1", "invalid", "刘1"),
    ],
)
def test_the_search_box_reads_numbers_parts_and_names(typed: str, kind: str, value: str) -> None:
    search = parse_search(typed)
    assert (search.kind, search.value) == (kind, value)
    assert search.exact == (kind in ("number", "id_number"))
    assert bool(search.message) == (kind == "invalid")


def test_cursors_round_trip_and_refuse_garbage() -> None:
    by_code = SORTING.resolve("-code")
    assert parse_cursor(by_code, cursor_of(by_code, ("36:01", 12))) == ("36:01", 12)
    by_pk = SORTING.resolve("id")
    assert cursor_of(by_pk, (12,)) == "12" and parse_cursor(by_pk, "12") == (12,)
    when = Sorting([Column("at", "时间", "created_at", "datetime")], "at").default
    moment = datetime.datetime(2026, 3, 2, 8, 30, 1, 5, tzinfo=datetime.UTC)
    assert parse_cursor(when, cursor_of(when, (moment, 3))) == (moment, 3)
    day = Sorting([Column("due", "期限", "due", "date")], "due").default
    assert cursor_of(day, (datetime.date(2026, 3, 2), 7)) == "2026-03-02:7"  # the old cursor format
    for bad in ("x", "0", "abc:def"):
        with pytest.raises(ValueError):
            parse_cursor(by_pk if bad != "abc:def" else by_code, bad)
    assert SORTING.resolve("nonsense") == SORTING.default
    assert SORTING.resolve("-name").descending


def _walk(order_param: str, limit: int) -> tuple[list[KeysetPage[Unit]], list[int]]:
    queryset = Unit.objects.filter(code__startswith="36")
    order = SORTING.resolve(order_param)
    pages, after, number = [], None, None
    while True:
        page = paginate(queryset, order, after=after, page=number, limit=limit)
        pages.append(page)
        if page.next is None:
            break
        after, number = page.next.after, page.next.number
    return pages, [unit.pk for unit in queryset.order_by(*order.fields())]


@pytest.mark.django_db
@pytest.mark.parametrize("order", ["code", "-code", "name", "-id"])
def test_walking_the_pages_visits_every_row_once_in_order(order: str) -> None:
    pages, expected = _walk(order, limit=7)
    assert [unit.pk for page in pages for unit in page.rows] == expected
    total = len(expected)
    assert all(page.total == total and page.pages == -(-total // 7) for page in pages)
    assert [page.number for page in pages] == list(range(1, len(pages) + 1))
    assert len(pages) > 6


@pytest.mark.django_db
def test_numbered_links_lead_to_the_pages_they_name() -> None:
    queryset = Unit.objects.filter(code__startswith="36")
    order = SORTING.resolve("name")
    expected = [unit.pk for unit in queryset.order_by(*order.fields())]
    pages, _ = _walk("name", limit=5)
    middle = pages[len(pages) // 2]
    numbers = [link.number for link in middle.links if link]
    assert numbers[0] == 1 and numbers[-1] == middle.pages
    assert None in middle.links  # a gap before and after the window
    for link in middle.links:
        if link is None:
            continue
        target = paginate(queryset, order, after=link.after, page=link.number, limit=5)
        assert target.number == link.number
        start = (link.number - 1) * 5
        assert [unit.pk for unit in target.rows] == expected[start : start + 5]
    last = paginate(queryset, order, after=middle.links[-1].after, page=middle.pages, limit=5)  # type: ignore[union-attr]
    assert last.next is None and last.number == last.pages


@pytest.mark.django_db
def test_a_deep_page_costs_what_the_first_does() -> None:
    queryset = Unit.objects.filter(code__startswith="36")
    order = SORTING.resolve("code")
    pages, _ = _walk("code", limit=20)
    deep = pages[len(pages) // 2]
    with CaptureQueriesContext(connection) as queries:
        paginate(queryset, order, after=deep.after, page=deep.number, limit=20)
    # count, rows, the keys before, the keys after, the last page's start: never an OFFSET
    # beyond one page.
    assert len(queries) == 5
    assert all(
        "OFFSET" not in q["sql"] or "OFFSET 2" in q["sql"] or "LIMIT 1 OFFSET" in q["sql"] for q in queries
    )


@pytest.mark.django_db
def test_a_page_number_in_the_link_is_corrected_by_the_keys() -> None:
    queryset = Unit.objects.filter(code__startswith="36")
    order = SORTING.resolve("code")
    second = paginate(queryset, order, limit=10).next
    assert second is not None
    lying = paginate(queryset, order, after=second.after, page=40, limit=10)
    assert lying.number == 2


@pytest.mark.django_db
def test_the_id_number_search_finds_people_by_their_present_or_former_number() -> None:
    from tongban.registry.worklist import people_numbered

    person = PersonFactory.create()
    assert people_numbered(person.id_number) == [person.pk]


def test_worklist_links_keep_the_tab_and_the_search() -> None:
    order = SORTING.resolve("-name")
    page: KeysetPage[Unit] = KeysetPage(rows=[], total=0, order=order)
    worklist = Worklist(page, parse_search("刘"), SORTING, {"view": "due"})
    assert worklist.headers["name"].arrow == "▼" and worklist.headers["name"].aria_sort == "descending"
    assert "sort=name" in worklist.headers["name"].href and "view=due" in worklist.headers["name"].href
    assert "q=%E5%88%98" in worklist.headers["code"].href and "sort=code" not in worklist.headers["code"].href
    assert worklist.hidden == {"view": "due", "sort": "-name"}
