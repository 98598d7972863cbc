"""The review queue's reads: 我的待办 against 辖区在办, the counts, the scanner search, sorting and
numbered pages over keyset cursors (tongban.review.selectors)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest

from tongban.accounts.models import User
from tongban.intake.models import Application
from tongban.review import selectors, services
from tongban.testing.factories import PersonFactory, UserFactory, station
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


@pytest.fixture
def first(personas: Personas, accept: Callable[..., Application]) -> Application:
    """One application accepted at Ganzhou for a person registered at 东湖区城关派出所."""
    return accept(personas.ganzhou_clerk, PersonFactory.create(name="甲一"))


def clone(application: Application, n: int, **fields: object) -> list[Application]:
    """`n` more applications in review like `application`, each for another person."""
    made = []
    prefix = (application.number or "")[:17]
    for _ in range(n):
        copy = Application.objects.get(pk=application.pk)
        copy.pk = None
        copy.person = PersonFactory.create()
        copy.id_number = copy.person.id_number
        copy.number = f"{prefix}{90000 + Application.objects.count():05d}"
        for name, value in fields.items():
            setattr(copy, name, value)
        copy.save()
        made.append(copy)
    return made


def test_mine_holds_what_the_reviewer_holds_and_what_waits_at_their_unit(
    first: Application, household_reviewer: User, county_reviewer: User
) -> None:
    colleague = UserFactory.create(role="reviewer", unit=station("360102001"))
    held_by_me, held_by_colleague = clone(first, 2)
    services.review_take(actor=household_reviewer, application=held_by_me)
    services.review_take(actor=colleague, application=held_by_colleague)
    at_county = clone(first, 1, review_unit=station("360102"))[0]

    mine = selectors.review_queue(household_reviewer)
    assert [a.pk for a in mine.rows] == [first.pk, held_by_me.pk]  # not the colleague's
    subtree = selectors.review_queue(household_reviewer, scope="subtree")
    assert {a.pk for a in subtree.rows} == {first.pk, held_by_me.pk, held_by_colleague.pk}
    assert mine.scope_counts == {"mine": 2, "subtree": 3}
    assert (mine.total, subtree.total) == (2, 3)
    assert mine.counts["mine"] == 1  # 我领取的 within 我的待办
    # The county's 我的待办 is its own step's item; its 辖区在办 has its stations' items too.
    county = selectors.review_queue(county_reviewer)
    assert [a.pk for a in county.rows] == [at_county.pk]
    assert county.scope_counts == {"mine": 1, "subtree": 4}
    # Unknown scope, bucket and sort fall back to the defaults.
    fallback = selectors.review_queue(household_reviewer, "urgent", scope="all", sort="colour")
    assert (fallback.scope, fallback.bucket, fallback.sort.param) == ("mine", "all", "due")


def test_counts_of_every_bucket_in_one_query(
    first: Application, household_reviewer: User, django_assert_num_queries: Any
) -> None:
    days = selectors.due_days()
    clone(first, 2, review_due=days.today - datetime.timedelta(days=3))
    clone(first, 1, review_due=days.today, status=Application.Status.UNDER_VERIFICATION)
    base = selectors.queue_base(household_reviewer)
    with django_assert_num_queries(1):
        counts = selectors.queue_counts(household_reviewer, days, base)
    assert counts["mine"]["all"] == counts["subtree"]["all"] == 4
    assert (counts["mine"]["overdue"], counts["mine"]["due_today"], counts["mine"]["verification"]) == (
        2,
        1,
        1,
    )


def test_search_by_number_or_id_number_in_the_whole_subtree(
    first: Application, household_reviewer: User, county_reviewer: User
) -> None:
    other = clone(first, 1)[0]
    assert first.number
    found = selectors.review_queue(county_reviewer, q=first.number)  # not in the county's 我的待办
    assert [a.pk for a in found.rows] == [first.pk] and found.total == 1
    lower = first.person.id_number.lower()
    by_person = selectors.review_queue(household_reviewer, "overdue", q=f" {lower} ")
    assert [a.pk for a in by_person.rows] == [first.pk]  # search ignores the bucket too
    assert selectors.review_queue(household_reviewer, q="3607020012026112399999").rows == []
    bad = selectors.review_queue(household_reviewer, q="刘晓燕")
    assert bad.search_error == "“刘晓燕”不是受理号或公民身份号码，请重新扫描或输入。"
    assert [a.pk for a in bad.rows] == [first.pk, other.pk] and bad.total == 2  # the list stays
    # The scanner's exact hit: any application the reviewer may open, in review or not.
    assert selectors.application_search(household_reviewer, other.number or "") == other
    Application.objects.filter(pk=other.pk).update(status=Application.Status.ISSUED)
    assert selectors.application_search(household_reviewer, other.number or "") == other
    outsider = UserFactory.create(role="reviewer", unit=station("360702002"))
    assert selectors.application_search(outsider, other.number or "") is None
    with pytest.raises(selectors.SearchError):
        selectors.application_search(household_reviewer, "12345")


def test_sorting_by_name_accepted_and_deadline(first: Application, household_reviewer: User) -> None:
    today = selectors.due_days().today
    Application.objects.filter(pk=first.pk).update(name="丙", review_due=today + datetime.timedelta(days=3))
    b = clone(first, 1, name="甲", review_due=today + datetime.timedelta(days=1))[0]
    c = clone(first, 1, name="乙", review_due=today + datetime.timedelta(days=2))[0]
    assert first.accepted_at is not None
    Application.objects.filter(pk=c.pk).update(accepted_at=first.accepted_at - datetime.timedelta(days=1))

    def order(sort: str) -> list[int]:
        return [a.pk for a in selectors.review_queue(household_reviewer, sort=sort).rows]

    assert order("due") == [b.pk, c.pk, first.pk]
    assert order("-due") == [first.pk, c.pk, b.pk]
    names = {first.pk: "丙", b.pk: "甲", c.pk: "乙"}
    assert order("name") == sorted(names, key=lambda pk: names[pk])
    assert order("accepted")[0] == c.pk and order("-accepted")[-1] == c.pk


@pytest.mark.parametrize("sort", ["due", "-due", "name", "-accepted"])
def test_numbered_pages_over_keyset_cursors(first: Application, household_reviewer: User, sort: str) -> None:
    """11 items, pages of 2: every page reached by its number link shows the right rows, the
    links around it carry working cursors, and 末页 finds the last page."""
    today = selectors.due_days().today
    for k, item in enumerate([first, *clone(first, 10)]):
        Application.objects.filter(pk=item.pk).update(
            name=f"申请人{k % 4}", review_due=today + datetime.timedelta(days=k % 3)
        )
    everything = [a.pk for a in selectors.review_queue(household_reviewer, sort=sort, limit=50).rows]
    assert len(everything) == 11
    expected = [everything[i : i + 2] for i in range(0, 11, 2)]

    page = selectors.review_queue(household_reviewer, sort=sort, limit=2)
    assert (page.page, page.pages, page.total) == (1, 6, 11)
    assert [link.number for link in page.links] == [1, 2, 3] and page.last and page.first is None
    visited = {1: [a.pk for a in page.rows]}
    # Walk with 下一页 to the end, following the numbered links' cursors.
    while page.next is not None:
        page = selectors.review_queue(
            household_reviewer, sort=sort, limit=2, after=page.next.after, page=page.next.number
        )
        visited[page.page] = [a.pk for a in page.rows]
        around = [link.number for link in page.links]
        assert around == [n for n in range(page.page - 2, page.page + 3) if 1 <= n <= 6]
        for link in page.links:  # every link opens the page it names
            if link.after is not None:
                target = selectors.review_queue(
                    household_reviewer, sort=sort, limit=2, after=link.after, page=link.number
                )
                assert [a.pk for a in target.rows] == expected[link.number - 1]
    assert visited == {n + 1: rows for n, rows in enumerate(expected)}
    last = selectors.review_queue(household_reviewer, sort=sort, limit=2, page="last")
    assert (last.page, [a.pk for a in last.rows], last.next) == (6, expected[5], None)
    assert last.previous is not None and last.previous.number == 5


def test_a_stale_page_number_is_corrected_and_a_bad_cursor_opens_page_one(
    first: Application, household_reviewer: User
) -> None:
    items = [first, *clone(first, 4)]
    page2 = selectors.review_queue(household_reviewer, limit=2).next
    assert page2 is not None
    claimed = selectors.review_queue(household_reviewer, limit=2, after=page2.after, page=9)
    assert claimed.page == 2 and claimed.previous == selectors.PageLink(1, None)
    for junk in ("x", "2026-13-40:5", ":", "2026-01-01:abc"):
        page = selectors.review_queue(household_reviewer, limit=2, after=junk, page=3)
        assert page.page == 1 and [a.pk for a in page.rows] == [a.pk for a in items[:2]]
