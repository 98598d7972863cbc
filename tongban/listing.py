"""Work lists that stay fast at a million rows: keyset pages over any sort order, numbered.

A list is sorted on one value plus the primary key as tie-break, in either direction, and each
order has an index on `(value, id)`. The value is never NULL: a nullable column is sorted through
an expression that fills it in (`Coalesce`), with an index on that expression. Moving one page on
or back reads the next page from the cursor of the current page's last (or first) row,
`(value, id) < (cursor value, cursor id)`, an index range: the cost is the page, never its depth.
A numbered page reached directly (“第 N 页”, 末页) is sought by offset from whichever end of the
list is nearer, walking the index for the keys alone, so page numbers cost at most half the
list's index once, and the usual first, next, previous and last pages nothing extra. The page
number shown with a cursor is the one counted on the way there: it can be off by the rows others
add meanwhile, which a work list accepts (the cursor itself never skips or repeats a row).

Cursors are opaque to clients (base64url of `[sort, value, id]`); one from another sort order is
refused (`BadCursor`). `ListPage` carries what the pages need to draw (total, page number,
neighbouring pages, cursors) and what the API answers (`next_after`, `count`).

A list that is only ever read on (an API list, 下一页 alone) is a `Page`: `page_after` reads the
rows after the previous page's last key in one query, and each list keeps the cursor it has
always written (an id, a code path, “<时刻>|<id>”).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from django.db.models import F, Model, Q, QuerySet
from django.db.models.expressions import Combinable
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

M = TypeVar("M", bound=Model)
C = TypeVar("C")
# Below this many rows an offset is read with the page itself; beyond it, keys first (a subquery
# of ids), so that the rows skipped are never fetched whole nor joined.
OFFSET_BY_KEYS = 1000


def _datetime(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def _date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


PARSERS: dict[str, Callable[[str], Any]] = {"text": str, "datetime": _datetime, "date": _date}


@dataclass(frozen=True)
class SortKey:
    """A value a list can be sorted on: `name` in URLs; `column`, a non-null field, or the name
    the `expression` is annotated as (e.g. `Coalesce("accepted_at", "created_at")`)."""

    name: str
    column: str
    kind: str = "text"  # how a cursor's value is read back: text, datetime, date
    expression: Combinable | None = None


@dataclass(frozen=True)
class Sort:
    key: SortKey
    descending: bool

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.key.name

    def order_by(self, *, reverse: bool = False) -> list[Any]:
        column, pk = F(self.key.column), F("pk")
        if self.descending != reverse:
            return [column.desc(), pk.desc()]
        return [column.asc(), pk.asc()]

    def prepare(self, queryset: QuerySet[M]) -> QuerySet[M]:
        if self.key.expression is None:
            return queryset
        return queryset.annotate(**{self.key.column: self.key.expression})


def parse_sort(text: str | None, keys: dict[str, SortKey], default: str) -> Sort:
    """`name` ascending or `-name` descending; anything else is the default."""
    text = (text or "").strip()
    descending = text.startswith("-")
    key = keys.get(text.removeprefix("-"))
    if key is None:
        return parse_sort(default, keys, default)
    return Sort(key, descending)


class BadCursor(ValueError):
    """A cursor that this list did not write (or wrote for another sort order)."""


def encode_cursor(sort: Sort, row: Model) -> str:
    value = getattr(row, sort.key.column)
    if isinstance(value, datetime.date):
        value = value.isoformat()
    raw = json.dumps([sort.param, value, row.pk], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        param, value, pk = json.loads(raw)
        if param != sort.param or not isinstance(value, str) or type(pk) is not int:
            raise BadCursor(cursor)
        return PARSERS[sort.key.kind](value), pk
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise BadCursor(cursor) from exc


def _beyond(sort: Sort, value: Any, pk: int, *, reverse: bool) -> Q:
    """The rows after (value, pk) in the sort order (before it with `reverse`): one row
    comparison, which an index on (value, id) serves as a range."""
    pair = Tuple(F(sort.key.column), F("pk"))
    if sort.descending != reverse:
        return Q(TupleLessThan(pair, (value, pk)))
    return Q(TupleGreaterThan(pair, (value, pk)))


@dataclass(frozen=True)
class ListPage(Generic[M]):
    rows: list[M]
    total: int
    number: int  # 1-based
    pages: int  # at least 1
    size: int
    sort: str  # the sort's URL form: "-accepted"
    next_after: str | None  # cursor of the last row, when a page follows
    prev_before: str | None  # cursor of the first row, when a page precedes

    @property
    def has_next(self) -> bool:
        return self.next_after is not None

    @property
    def has_previous(self) -> bool:
        return self.prev_before is not None

    @property
    def first_row(self) -> int:
        """The position of the first row shown (1-based; 0 on an empty list)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1 if self.rows else 0

    def numbers(self, around: int = 2) -> list[int | None]:
        """Page numbers to offer: the first, the last, and `around` either side of this one;
        None where numbers are left out (drawn as “…”)."""
        shown = {1, self.pages} | set(range(self.number - around, self.number + around + 1))
        numbers: list[int | None] = []
        previous = 0
        for n in sorted(n for n in shown if 1 <= n <= self.pages):
            if previous and n - previous > 1:
                numbers.append(None)
            numbers.append(n)
            previous = n
        return numbers


def keyset_page(
    queryset: QuerySet[M],
    sort: Sort,
    *,
    after: str | None = None,
    before: str | None = None,
    page: int | None = None,
    size: int = 50,
    total: int | None = None,
) -> ListPage[M]:
    """One page of `queryset` in `sort` order: the page after the cursor `after`, the page
    before the cursor `before`, or page number `page` (1 when none is given). `page` with a
    cursor is the number of the page the cursor leads to, for display. Two queries: the count
    (unless `total` is given) and the rows (none to read on an empty list). A cursor that does not
    fit raises BadCursor."""
    total = queryset.count() if total is None else total
    queryset = sort.prepare(queryset)
    pages = max(1, math.ceil(total / size))
    number = min(max(page or 1, 1), pages)
    if after:
        value, pk = decode_cursor(sort, after)
        rows = list(
            queryset.filter(_beyond(sort, value, pk, reverse=False)).order_by(*sort.order_by())[: size + 1]
        )
        more_after, more_before = len(rows) > size, True
        rows = rows[:size]
        number = max(number, 2)
    elif before:
        value, pk = decode_cursor(sort, before)
        rows = list(
            queryset.filter(_beyond(sort, value, pk, reverse=True)).order_by(*sort.order_by(reverse=True))[
                : size + 1
            ]
        )
        more_after, more_before = True, len(rows) > size
        rows = rows[:size][::-1]
        number = max(2, number) if more_before else 1
    else:
        start = (number - 1) * size
        end = min(start + size, total)
        reverse = start > total - end  # nearer the end: offset from the last row, backwards
        skip, count = (total - end if reverse else start), end - start
        ordered = queryset.order_by(*sort.order_by(reverse=reverse))
        if not count:  # nothing to read (and an ordered scan for nothing can be the slowest)
            rows = []
        elif skip < OFFSET_BY_KEYS:
            rows = list(ordered[skip : skip + count])
        else:
            ids = ordered.values("pk")[skip : skip + count]
            rows = list(queryset.filter(pk__in=ids).order_by(*sort.order_by(reverse=reverse)))
        if reverse:
            rows.reverse()
        more_after, more_before = end < total, start > 0
    return ListPage(
        rows=rows,
        total=total,
        number=number,
        pages=max(pages, number),
        size=size,
        sort=sort.param,
        next_after=encode_cursor(sort, rows[-1]) if rows and more_after else None,
        prev_before=encode_cursor(sort, rows[0]) if rows and more_before else None,
    )


# ---------------------------------------------------------------------------------------------
# Reading on: one page after another, from the previous page's last key.


@dataclass(frozen=True)
class Page(Generic[M, C]):
    """One page of a list read on from a cursor: the API answers `{"results", "next_after"}`
    (tongban.api.page_answer). `next_after` is the cursor of the last row when more rows follow,
    None on the last page; `total` the list's length, where the list counts it."""

    rows: list[M]
    next_after: C | None
    total: int | None = None


def row_id(row: Model) -> int:
    return int(row.pk)


def page_after(
    queryset: QuerySet[M],
    order: Sequence[str],
    after: Any,
    *,
    limit: int,
    cursor: Callable[[M], Any] = row_id,
    total: int | None = None,
) -> Page[M, Any]:
    """The `limit` rows of `queryset` in `order` after the key `after` (the first `limit` rows
    when it is None), with `cursor` of the last one when more follow (its id by default).

    `order` is a unique column that is never NULL (`["-pk"]`, `["path"]`) or a value with the id
    as tie-break (`["-charged_at", "-pk"]`), all in one direction; `after` the previous page's
    last row's key: its value of the one column, or its (value, id). One query, for one row more
    than the page: whether another page follows."""
    if after is not None:
        beyond = "lt" if order[0].startswith("-") else "gt"
        column = order[0].removeprefix("-")
        if len(order) > 1:  # (value, id), as an OR (an id out of range, forged, compares as none)
            value, pk = after
            later = Q(**{f"{column}__{beyond}": value}) | Q(**{column: value, f"pk__{beyond}": pk})
        else:
            later = Q(**{f"{column}__{beyond}": after})
        queryset = queryset.filter(later)
    rows = list(queryset.order_by(*order)[: limit + 1])
    next_after = cursor(rows[limit - 1]) if len(rows) > limit else None
    return Page(rows=rows[:limit], next_after=next_after, total=total)


# ---------------------------------------------------------------------------------------------
# Drawing a list: sortable column headers and the page navigation (templates/listing/).


@dataclass(frozen=True)
class SortHeader:
    label: str
    url: str
    aria_sort: str  # ascending / descending / none
    arrow: str


def sort_headers(
    page_sort: str, columns: list[tuple[str, str]], params: dict[str, str], *, descending_first: set[str]
) -> dict[str, SortHeader]:
    """A link per sortable column (`(key, label)`): to sort on it, or to turn its order round when
    the list is sorted on it already. Changing the order starts at page 1. Columns in
    `descending_first` (times) start newest first."""
    descending = page_sort.startswith("-")
    current = page_sort.removeprefix("-")
    headers = {}
    for key, label in columns:
        if key == current:
            target = key if descending else f"-{key}"
            aria, arrow = ("descending", "↓") if descending else ("ascending", "↑")
        else:
            target = f"-{key}" if key in descending_first else key
            aria, arrow = "none", ""
        headers[key] = SortHeader(label, "?" + urlencode({**params, "sort": target}), aria, arrow)
    return headers


@dataclass(frozen=True)
class PageLink:
    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class Pager:
    first: str | None
    previous: str | None
    next: str | None
    last: str | None
    numbers: list[PageLink | None]  # None: numbers left out
    params: dict[str, str]  # for the “跳至第 N 页” form


def pager(page: ListPage[Any], params: dict[str, str]) -> Pager:
    """The links of the page navigation: 首页, 上一页 and 下一页 through cursors (cheap at any
    depth), numbered pages and 末页 by number."""
    base = {key: value for key, value in params.items() if value}

    def to(**extra: Any) -> str:
        return "?" + urlencode({**base, **{key: str(value) for key, value in extra.items()}})

    numbers = [
        None if n is None else PageLink(str(n), to(page=n), current=n == page.number) for n in page.numbers()
    ]
    return Pager(
        first=to() if page.number > 1 else None,
        previous=to(before=page.prev_before, page=page.number - 1) if page.prev_before else None,
        next=to(after=page.next_after, page=page.number + 1) if page.next_after else None,
        last=to(page=page.pages) if page.number < page.pages else None,
        numbers=numbers,
        params=base,
    )
