"""Work lists a clerk drives with a barcode scanner (issue 12 §4): one search box for a 受理号 or a
公民身份号码, the total count, sortable columns and numbered pages over keyset cursors.

A page is "the `limit` rows after this key" in the chosen order, so a page deep in a
million-row list costs what the first one does: no OFFSET over the list is ever taken. The page
numbers come from the same keys. The rows just before and just after the current page are read
as keys only (a few pages' worth, from the index), which gives the cursors of the neighbouring
pages; the last page's cursor is read from the other end of the order. A far page is reached
through 末页 or by walking, never by a jump into the middle. The page number itself travels in
the link (`page`) and is corrected whenever the keys read show the true position.

Search: a 22-digit 受理号 and an 18- (or old 15-) digit 公民身份号码 are exact. A number is found
through the person (its index, and an old number changed by an approved correction), the same
way the register finds it. Part of a 受理号 (4 digits or more) narrows the list; a part of an ID
number is not searchable, since the list shows the number masked and a partial search would
unmask it digit by digit. Anything else is taken as the beginning of a name.
"""

from __future__ import annotations

import datetime
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from rest_framework import serializers

from tongban.api_schema import page_of
from tongban.core import idnumber
from tongban.registry.models import NumberRedirect, Person

M = TypeVar("M", bound=Model)

SEARCH_MAX = 40
PART_MIN = 4
_NUMBER = re.compile(r"^\d{22}$")
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")
_DIGITS = re.compile(r"^\d+$")
_NAME = re.compile(r"^[^\d\s]{1,50}$")


# ---------------------------------------------------------------------------------------------
# Search


@dataclass(frozen=True)
class Search:
    """What was typed in the search box, and how it reads.

    kind: "" (nothing typed), "number" (受理号), "id_number" (公民身份号码), "number_part" (part of a
    受理号), "name" (the beginning of a name) or "invalid" (none of these: matches nothing)."""

    text: str = ""
    kind: str = ""
    value: str = ""

    def __bool__(self) -> bool:
        return bool(self.kind)

    @property
    def exact(self) -> bool:
        """A whole 受理号 or 公民身份号码: one hit opens the item."""
        return self.kind in ("number", "id_number")

    @property
    def message(self) -> str:
        if self.kind == "invalid":
            return (
                "请输入完整的受理号（22 位）或公民身份号码（18 位），"
                f"或受理号中至少 {PART_MIN} 位数字，或姓名。"
            )
        return ""


def parse_search(raw: str | None) -> Search:
    text = (raw or "").strip()[:SEARCH_MAX]
    folded = idnumber.normalize(text)
    if not folded:
        return Search()
    if _NUMBER.match(folded):
        return Search(text, "number", folded)
    if _ID18.match(folded) or _ID15.match(folded):
        return Search(text, "id_number", idnumber.canonical(folded))
    if _DIGITS.match(folded):
        if len(folded) >= PART_MIN and folded.isascii():
            return Search(text, "number_part", folded)
        return Search(text, "invalid", folded)
    if _NAME.match(text):
        return Search(text, "name", text)
    return Search(text, "invalid", folded)


def people_numbered(number: str) -> list[int]:
    """The people holding `number` now, or who held it before an approved correction: two
    lookups on their indexes (one OR over both would scan the register)."""
    holding = Person.objects.filter(id_number=number).values_list("pk", flat=True)[:100]
    held = NumberRedirect.objects.filter(old_number=number).values_list("person_id", flat=True)[:100]
    return sorted({*holding, *held})


def search_filter(search: Search, prefix: str = "") -> Q:
    """The condition on applications (`prefix` leads from the listed model to the application,
    e.g. "application__")."""
    if search.kind == "number":
        return Q(**{f"{prefix}number": search.value})
    if search.kind == "id_number":
        return Q(**{f"{prefix}person_id__in": people_numbered(search.value)})
    if search.kind == "number_part":
        return Q(**{f"{prefix}number__contains": search.value})
    if search.kind == "name":
        return Q(**{f"{prefix}name__startswith": search.value})
    if search.kind == "invalid":
        return Q(pk__in=[])
    return Q()


# ---------------------------------------------------------------------------------------------
# Sorting


@dataclass(frozen=True)
class Column:
    """A sortable column: `key` in the URL (`sort=key`, `sort=-key` for descending), the ORM
    `field` it orders by (never null), and how a cursor's value reads back (`kind`)."""

    key: str
    label: str
    field: str
    kind: str = "str"  # str | int | date | datetime


@dataclass(frozen=True)
class Order:
    column: Column
    descending: bool = False

    @property
    def param(self) -> str:
        return ("-" if self.descending else "") + self.column.key

    def fields(self, reverse: bool = False) -> list[str]:
        down = self.descending != reverse
        names = [self.column.field] if self.column.field != "pk" else []
        return [("-" if down else "") + name for name in [*names, "pk"]]


class Sorting:
    """The sortable columns of one list and its default order (the first element of `default`
    is the column key, with "-" for descending)."""

    def __init__(self, columns: Sequence[Column], default: str) -> None:
        self.columns = {column.key: column for column in columns}
        self.default = self.resolve(default, strict=True)

    def choices(self) -> list[str]:
        return [choice for key in self.columns for choice in (key, f"-{key}")]

    def resolve(self, raw: str | None, *, strict: bool = False) -> Order:
        text = (raw or "").strip()
        key = text.removeprefix("-")
        column = self.columns.get(key)
        if column is None:
            if strict:
                raise ValueError(f"unknown sort {raw!r}")
            return self.default
        return Order(column, descending=text.startswith("-"))


# ---------------------------------------------------------------------------------------------
# Cursors


def _encode(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _decode(kind: str, text: str) -> Any:
    if kind == "int":
        return int(text)
    if kind == "date":
        return datetime.date.fromisoformat(text)
    if kind == "datetime":
        value = datetime.datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError("a cursor's time carries its zone")
        return value
    return text


Key = tuple[Any, ...]  # (value, pk), or (pk,) when the order is the primary key alone


def cursor_of(order: Order, key: Key) -> str:
    """`pk` alone for the primary-key order (the lists' old cursors stay valid), otherwise
    `value:pk`; the pk is the part after the last colon."""
    if order.column.field == "pk":
        return str(key[-1])
    return f"{_encode(key[0])}:{key[-1]}"


def parse_cursor(order: Order, text: str | None) -> Key | None:
    """The key in a cursor, or None when there is none. ValueError when it does not read."""
    if not text:
        return None
    if order.column.field == "pk":
        pk = int(text)
        if pk < 1:
            raise ValueError("bad cursor")
        return (pk,)
    value, sep, pk_text = text.rpartition(":")
    if not sep:
        raise ValueError("bad cursor")
    pk = int(pk_text)
    return (_decode(order.column.kind, value), pk)


def _after(order: Order, key: Key, *, inclusive: bool = False, backwards: bool = False) -> Q:
    """Rows after `key` in the order (or before it, walking backwards), optionally with it."""
    down = order.descending != backwards
    beyond = "lt" if down else "gt"
    last = f"{beyond}e" if inclusive else beyond
    if order.column.field == "pk":
        return Q(**{f"pk__{last}": key[-1]})
    name = order.column.field
    # The first conjunct is implied by the second; it lets the database walk the column's index
    # from the key instead of scanning the table for the OR.
    reach = Q(**{f"{name}__{beyond}e": key[0]})
    return reach & (Q(**{f"{name}__{beyond}": key[0]}) | Q(**{name: key[0], f"pk__{last}": key[-1]}))


def _key(order: Order, row: Any) -> Key:
    """The key of a row fetched as a model instance (the field path followed through relations)."""
    if order.column.field == "pk":
        return (row.pk,)
    value: Any = row
    for part in order.column.field.split("__"):
        value = getattr(value, part)
    return (value, row.pk)


def _keys(order: Order, queryset: QuerySet[M], *, reverse: bool, start: int, stop: int) -> list[Key]:
    names = [name.lstrip("-") for name in order.fields()]
    return [tuple(row) for row in queryset.order_by(*order.fields(reverse)).values_list(*names)[start:stop]]


# ---------------------------------------------------------------------------------------------
# Pages


@dataclass(frozen=True)
class PageLink:
    number: int
    after: str | None
    current: bool = False


@dataclass
class KeysetPage(Generic[M]):
    """One page of a work list: its rows, the total, where it stands and the numbered links
    (None marks a gap, "…")."""

    rows: list[M]
    total: int
    order: Order
    number: int = 1
    pages: int = 1
    after: str | None = None
    next_after: str | None = None
    links: list[PageLink | None] = field(default_factory=list)

    @property
    def previous(self) -> PageLink | None:
        return next((link for link in self.links if link and link.number == self.number - 1), None)

    @property
    def next(self) -> PageLink | None:
        return next((link for link in self.links if link and link.number == self.number + 1), None)


def paginate(
    queryset: QuerySet[M],
    order: Order,
    *,
    after: str | None = None,
    page: int | None = None,
    limit: int = 50,
    window: int = 2,
    total: int | None = None,
) -> KeysetPage[M]:
    """The page after the cursor `after` (the first page without one), with the total and the
    links to the first and last pages and to `window` pages on either side.

    Queries: the count (unless `total` is given), the rows, and, where there are any, the keys
    of the next pages, of the previous pages and of the last page's start."""
    position = parse_cursor(order, after)  # ValueError for a cursor that does not read
    count = queryset.count() if total is None else total
    rows = list(
        (queryset.filter(_after(order, position)) if position else queryset).order_by(*order.fields())[:limit]
    )
    # Rows before the page, nearest first: the previous pages and whether page 1 is in reach.
    before: list[Key] = []
    if position is not None:
        before = _keys(
            order,
            queryset.filter(_after(order, position, inclusive=True, backwards=True)),
            reverse=True,
            start=0,
            stop=window * limit + 1,
        )
    # Rows after the page: the next pages' cursors and whether the last page is in reach.
    ahead: list[Key] = []
    if len(rows) == limit:
        ahead = _keys(
            order,
            queryset.filter(_after(order, _key(order, rows[-1]))),
            reverse=False,
            start=0,
            stop=(window - 1) * limit + 1,
        )
    known_before = len(before) <= window * limit  # the keys read reach the first row
    if known_before:
        number = math.ceil(len(before) / limit) + 1
        rows_before = len(before)
    else:
        highest = max(window + 2, math.ceil((count - len(rows) - len(ahead)) / limit) + 1)
        number = min(max(page or 0, window + 2), highest)
        rows_before = (number - 1) * limit
    if len(ahead) <= (window - 1) * limit:
        remaining = len(ahead)
    else:
        remaining = max(count - rows_before - len(rows), len(ahead))
    pages = number + math.ceil(remaining / limit)

    links: dict[int, str | None] = {1: None, number: after if number > 1 else None}
    for step in range(1, window + 1):
        if number - step <= 1:
            break
        if step * limit < len(before):
            links[number - step] = cursor_of(order, before[step * limit])
    if ahead:
        links[number + 1] = cursor_of(order, _key(order, rows[-1]))
        for step in range(2, window + 1):
            if len(ahead) > (step - 1) * limit:
                links[number + step] = cursor_of(order, ahead[(step - 1) * limit - 1])
    if pages not in links:
        last_rows = remaining - (pages - number - 1) * limit
        start = _keys(order, queryset, reverse=True, start=last_rows, stop=last_rows + 1)
        links[pages] = cursor_of(order, start[0]) if start else None
    ordered: list[PageLink | None] = []
    for link_number in sorted(links):
        if ordered and ordered[-1] is not None and link_number > ordered[-1].number + 1:
            ordered.append(None)
        ordered.append(PageLink(link_number, links[link_number], current=link_number == number))
    return KeysetPage(
        rows=rows,
        total=count,
        order=order,
        number=number,
        pages=max(pages, 1),
        after=after,
        next_after=links.get(number + 1),
        links=ordered,
    )


# The pages' search box posts, and what was typed is kept in the session under a short key that
# the list's links carry (`s=…`): an ID number or a name never appears in a URL, a browser's
# history or an access log (the register's lookup is a POST for the same reason).
def item_sorting(outcome: Column) -> Sorting:
    """The columns of the cards of a batch or a shipment, one an application: the place in the list,
    受理号, 姓名, 受理单位, and what became of the card there (`outcome`)."""
    return Sorting(
        [
            Column("order", "序号", "pk", "int"),
            Column("number", "受理号", "application__number"),
            Column("name", "姓名", "application__name"),
            Column("unit", "受理单位", "application__acceptance_unit__code"),
            outcome,
        ],
        "order",
    )


def items_page(
    items: QuerySet[M],
    sorting: Sorting,
    *,
    search: Search | None,
    order: Order | None,
    after: str | None,
    page: int | None,
    limit: int,
) -> KeysetPage[M]:
    """A page of such cards, searched by their application's 受理号 or 公民身份号码."""
    searched = items.filter(search_filter(search or Search(), "application__"))
    return paginate(searched, order or sorting.default, after=after, page=page, limit=limit)


SESSION_KEY = "worklist_searches"
SESSION_KEEP = 30
_SEARCH_KEY = re.compile(r"^[A-Za-z0-9_-]{8,16}$")


def remember_search(session: Any, text: str) -> str:
    kept: dict[str, str] = dict(session.get(SESSION_KEY) or {})
    key = secrets.token_urlsafe(8)
    kept[key] = text[:SEARCH_MAX]
    session[SESSION_KEY] = dict(list(kept.items())[-SESSION_KEEP:])
    return key


def recall_search(session: Any, key: str) -> str | None:
    if not _SEARCH_KEY.match(key):
        return None
    value = (session.get(SESSION_KEY) or {}).get(key)
    return value if isinstance(value, str) else None


def search_posted(request: HttpRequest, keep: Sequence[str] = ()) -> HttpResponse | None:
    """The answer to a POST of a list's search box: the list again (GET) with the search kept
    in the session and the parameters named in `keep` (the tab, the order …). None for any
    other request."""
    if request.method != "POST":
        return None
    values = {name: request.POST.get(name, "") for name in keep if request.POST.get(name)}
    text = request.POST.get("q", "").strip()
    if text:
        values["s"] = remember_search(request.session, text)
    return redirect(f"{request.path}?{urlencode(values)}" if values else request.path)


@dataclass(frozen=True)
class ListParams:
    """A work list's query string, read leniently (a page never fails on a stale link): an
    unknown order is the default one, a cursor that does not read is the first page, a search
    key no longer in the session is no search (`expired`)."""

    search: Search
    order: Order
    after: str | None
    page: int | None
    search_key: str = ""
    expired: bool = False


def list_params(query: Mapping[str, str], sorting: Sorting, session: Any = None) -> ListParams:
    order = sorting.resolve(query.get("sort"))
    after = query.get("after") or None
    try:
        parse_cursor(order, after)
    except ValueError:
        after = None
    text = query.get("page") or ""
    page = int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 8 else None
    key = query.get("s") or ""
    if key and session is not None:
        kept = recall_search(session, key)
        if kept is None:
            return ListParams(Search(), order, None, None, expired=True)
        return ListParams(parse_search(kept), order, after, page, search_key=key)
    return ListParams(parse_search(query.get("q")), order, after, page)


# ---------------------------------------------------------------------------------------------
# What a page's template needs


@dataclass(frozen=True)
class Header:
    label: str
    href: str
    arrow: str  # "▲" / "▼" on the sorted column
    aria_sort: str  # "ascending" / "descending" / "none"


@dataclass
class Worklist(Generic[M]):
    """A page of a work list with its links: the search box, the sortable headers and the
    numbered pages keep the list's other parameters (`params`, e.g. the tab)."""

    page: KeysetPage[M]
    search: Search
    sorting: Sorting
    params: Mapping[str, str]
    path: str = ""  # the list's own URL, where a page shown after a POST elsewhere links to
    search_key: str = ""  # the session's key of the search (links carry it, not the text)
    expired: bool = False  # the link named a search the session no longer holds
    headers: dict[str, Header] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {}
        order = self.page.order
        for key, column in self.sorting.columns.items():
            current = order.column.key == key
            descending = not order.descending if current else False
            param = ("-" if descending else "") + key
            if param == self.sorting.default.param:
                param = ""
            self.headers[key] = Header(
                label=column.label,
                href=self.href(sort=param, after=None, page=None),
                arrow=("▼" if order.descending else "▲") if current else "",
                aria_sort=("descending" if order.descending else "ascending") if current else "none",
            )

    @property
    def rows(self) -> list[M]:
        return self.page.rows

    def query(self, **changes: str | int | None) -> dict[str, str]:
        values: dict[str, str] = {key: str(value) for key, value in self.params.items() if value}
        if self.search_key:
            values["s"] = self.search_key
        elif self.search.text:
            values["q"] = self.search.text
        if self.page.order != self.sorting.default:
            values["sort"] = self.page.order.param
        for key, value in changes.items():
            if value is None or value == "":
                values.pop(key, None)
            else:
                values[key] = str(value)
        return values

    def href(self, **changes: str | int | None) -> str:
        return f"{self.path}?{urlencode(self.query(**changes))}"

    @property
    def clear(self) -> str:
        """The list without the search (the tab and the order stay)."""
        return self.href(q=None, s=None, after=None, page=None)

    def link(self, link: PageLink | None) -> str:
        if link is None:
            return ""
        return self.href(after=link.after, page=link.number if link.number > 1 else None)

    @property
    def previous_href(self) -> str:
        return self.link(self.page.previous)

    @property
    def next_href(self) -> str:
        return self.link(self.page.next)

    @property
    def nav(self) -> list[tuple[PageLink | None, str]]:
        return [(link, self.link(link)) for link in self.page.links]

    @property
    def hidden(self) -> dict[str, str]:
        """The parameters the search form carries along (the tab, the order), not the page."""
        return {key: value for key, value in self.query(q=None, s=None, after=None, page=None).items()}


# ---------------------------------------------------------------------------------------------
# The REST API's side: the same search, order and cursor as query parameters


SEARCH_HELP = (
    "受理号（22 位）或公民身份号码（18 位，旧 15 位亦可）精确查询；受理号中至少 4 位数字为部分查询；"
    "其他文字按姓名开头查询"
)


def list_query(name: str, sorting: Sorting, **extra: serializers.Field) -> type[serializers.Serializer]:
    """The query serializer of a work list: `q`, `sort` (a column key, `-` for descending),
    `after` (the previous page's `next_after`), plus the list's own filters. A cursor or a
    search that does not read is refused (400 `invalid`)."""

    def validate(self: serializers.Serializer, data: dict[str, Any]) -> dict[str, Any]:
        order = sorting.resolve(data.get("sort"))
        try:
            parse_cursor(order, data.get("after") or None)
        except ValueError as exc:
            raise serializers.ValidationError(
                {"after": "无效的分页位置，请使用上一页返回的 next_after。"}
            ) from exc
        search = parse_search(data.get("q"))
        if search.kind == "invalid":
            raise serializers.ValidationError({"q": search.message})
        data["order"], data["search"] = order, search
        return data

    fields: dict[str, Any] = {
        "q": serializers.CharField(
            required=False, allow_blank=True, max_length=SEARCH_MAX, help_text=SEARCH_HELP
        ),
        "sort": serializers.ChoiceField(
            choices=sorting.choices(),
            required=False,
            allow_blank=True,
            help_text=f"排序列（前加 - 为降序），默认 {sorting.default.param}",
        ),
        "after": serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text="上一页的 next_after（同一排序下）"
        ),
        **extra,
        "validate": validate,
    }
    return type(name, (serializers.Serializer,), fields)


def page_schema(name: str, rows: serializers.BaseSerializer[Any], **extra: serializers.Field) -> Any:
    """The schema of a work-list page: `{"count", "results", "next_after", ...}`."""
    count = serializers.IntegerField(help_text="符合条件的总数")
    return page_of(name, rows, cursor=serializers.CharField, count=count, **extra)
