"""The review work queue (我的待办 / 辖区在办) with its deadline buckets, search and numbered keyset
pages; what the reviewer compares; what a reviewer can do on one item now."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tongban.core import idnumber
from tongban.intake import rules
from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.intake.selectors import FaceCandidate, comparisons
from tongban.intake.selectors import face_candidates as intake_face_candidates
from tongban.intake.services import local_today
from tongban.registry.access import Viewer
from tongban.registry.calendar import work_calendar
from tongban.registry.models import FloatingRegistration, Person, WantedPerson
from tongban.review.models import ReviewStep, VerificationNote
from tongban.review.services import elsewhere_notice

BUCKETS = {
    "all": "全部",
    "overdue": "已超期",
    "due_today": "今日到期",
    "at_risk": "临近到期",
    "mine": "我领取的",
    "verification": "核实中",
}
# 我的待办: what the viewer holds, and what waits at their own unit for somebody to take it.
# 辖区在办: everything in review in the viewer's subtree, including the other units' items and
# the items colleagues hold (read-only there).
SCOPES = {"mine": "我的待办", "subtree": "辖区在办"}
# Sortable columns: the key in `sort=` (a leading "-" sorts descending) and the model field.
SORTS = {"due": "review_due", "accepted": "accepted_at", "name": "name"}
SORT_LABELS = {"due": "办理期限", "accepted": "受理时间", "name": "姓名"}
PAGE_SIZE = 50
# Numbered navigation: how many pages either side of the current one are linked. Their cursors
# come from one key-only query ahead and one behind, so no page costs an OFFSET.
PAGES_AROUND = 2


def queue_base(viewer: Viewer) -> QuerySet[Application]:
    """Items in review in the queues of the viewer's subtree (辖区在办)."""
    return Application.objects.visible_to(viewer, "review.decide").filter(status__in=IN_REVIEW_STATUSES)


def mine_filter(viewer: Viewer) -> Q:
    """我的待办: held by the viewer, or at the viewer's unit and held by nobody."""
    unit_pk = viewer.unit.pk if viewer.unit is not None else None
    return Q(assignee_id=viewer.pk) | Q(review_unit_id=unit_pk, assignee__isnull=True)


@dataclass(frozen=True)
class DueDays:
    today: datetime.date
    next_workday: datetime.date


def due_days(today: datetime.date | None = None) -> DueDays:
    today = today or local_today()
    calendar = work_calendar(today, today + datetime.timedelta(days=30))
    return DueDays(today, calendar.next_workday(today))


def _bucket_filter(bucket: str, viewer: Viewer, days: DueDays) -> Q:
    return {
        "all": Q(),
        "overdue": Q(review_due__lt=days.today),
        "due_today": Q(review_due=days.today),
        "at_risk": Q(review_due__gt=days.today, review_due__lte=days.next_workday),
        "mine": Q(assignee_id=viewer.pk),
        "verification": Q(status=Application.Status.UNDER_VERIFICATION),
    }[bucket]


def _scope_filter(scope: str, viewer: Viewer) -> Q:
    return mine_filter(viewer) if scope == "mine" else Q()


def queue_counts(
    viewer: Viewer, days: DueDays, base: QuerySet[Application] | None = None
) -> dict[str, dict[str, int]]:
    """Every bucket of both scopes, in one aggregate query: {scope: {bucket: n}}."""
    aggregates = {}
    for scope in SCOPES:
        for bucket in BUCKETS:
            condition = _scope_filter(scope, viewer) & _bucket_filter(bucket, viewer, days)
            aggregates[f"{scope}__{bucket}"] = Count("pk", filter=condition) if condition else Count("pk")
    base = queue_base(viewer) if base is None else base
    totals = base.aggregate(**aggregates) if viewer.can("review.decide") else {}
    return {scope: {bucket: totals.get(f"{scope}__{bucket}") or 0 for bucket in BUCKETS} for scope in SCOPES}


# ---------------------------------------------------------------------------------------------
# Search (a scanner fills the box: 受理号 or 公民身份号码)


class SearchError(ValueError):
    """What was typed is neither a 受理号 nor a 公民身份号码."""


SEARCH_HELP = "请输入或扫描 22 位受理号或 18 位公民身份号码（15 位旧号码亦可）。"


def search_filter(q: str) -> Q:
    """An exact 受理号 (22 digits) or the applicant's 公民身份号码 (as the register holds it)."""
    text = idnumber.canonical(q)
    if len(text) == 22 and text.isascii() and text.isdigit():
        return Q(number=text)
    if len(text) == 18 and text[:17].isascii() and text[:17].isdigit():
        return Q(person__in=Person.objects.filter(id_number=text).values("pk"))
    raise SearchError(SEARCH_HELP)


def application_search(viewer: Viewer, q: str) -> Application | None:
    """The one application the viewer may open under `q`, in review or not (the newest when a
    person has had several), for the scanner's exact hit; None when there is none."""
    if not viewer.can("review.decide"):
        return None
    return Application.objects.visible_to(viewer).filter(search_filter(q)).order_by("-pk").first()


# ---------------------------------------------------------------------------------------------
# The queue, keyset-paginated with page numbers


@dataclass(frozen=True)
class Sort:
    key: str  # due / accepted / name
    descending: bool

    @classmethod
    def parse(cls, text: str | None) -> Sort:
        text = text or "due"
        descending = text.startswith("-")
        key = text.lstrip("-")
        return cls(key, descending) if key in SORTS else cls("due", False)

    @property
    def field(self) -> str:
        return SORTS[self.key]

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    def order(self, *, reverse: bool = False) -> list[str]:
        down = self.descending != reverse
        return [f"-{self.field}", "-pk"] if down else [self.field, "pk"]

    def after(self, value: Any, pk: int) -> Q:
        """Rows after (value, pk) in this order."""
        beyond = "lt" if self.descending else "gt"
        return Q(**{f"{self.field}__{beyond}": value}) | Q(**{self.field: value, f"pk__{beyond}": pk})

    def up_to(self, value: Any, pk: int) -> Q:
        """Rows up to and including (value, pk) in this order."""
        before = "gt" if self.descending else "lt"
        return Q(**{f"{self.field}__{before}": value}) | Q(**{self.field: value, f"pk__{before}e": pk})

    def cursor(self, value: Any, pk: int) -> str:
        text = value.isoformat() if isinstance(value, datetime.date) else str(value)
        return f"{text}:{pk}"

    def decode(self, cursor: str) -> tuple[Any, int] | None:
        """(value, pk) of a cursor, or None when it is not one of this order's."""
        text, _, pk_text = cursor.rpartition(":")
        if not pk_text.isascii() or not pk_text.isdigit() or not text:
            return None
        try:
            if self.key == "due":
                return datetime.date.fromisoformat(text), int(pk_text)
            if self.key == "accepted":
                moment = datetime.datetime.fromisoformat(text)
                return (moment, int(pk_text)) if moment.tzinfo else None
        except ValueError:
            return None
        return text, int(pk_text)


@dataclass(frozen=True)
class PageLink:
    number: int
    after: str | None  # the cursor that opens it; None for the first page
    current: bool = False


@dataclass(frozen=True)
class QueuePage:
    rows: list[Application]
    next_after: str | None  # "<value>:<pk>" of the last row, when more follow
    counts: dict[str, int]  # the buckets of the scope
    days: DueDays
    scope: str = "mine"
    bucket: str = "all"
    sort: Sort = field(default_factory=lambda: Sort("due", False))
    q: str = ""
    total: int = 0  # rows of the scope and bucket (or of the search)
    scope_counts: dict[str, int] = field(default_factory=dict)  # mine / subtree, every bucket
    page: int = 1
    pages: int = 1
    links: list[PageLink] = field(default_factory=list)
    previous: PageLink | None = None
    next: PageLink | None = None
    first: PageLink | None = None  # shown when page 1 is outside the window
    last: bool = False  # whether a 末页 link is shown (its cursor is found when followed)
    search_error: str = ""


def _keys(queryset: QuerySet[Application], sort: Sort) -> QuerySet[Application, tuple[Any, int]]:
    return queryset.values_list(sort.field, "pk")


def review_queue(
    viewer: Viewer,
    bucket: str = "all",
    *,
    after: str | None = None,
    limit: int = PAGE_SIZE,
    scope: str = "mine",
    sort: str | None = None,
    q: str = "",
    page: int | str | None = None,
) -> QueuePage:
    """One page of the queue: `scope` (我的待办 / 辖区在办), `bucket`, ordered by `sort` with the
    primary key as tie-break, keyset-paginated (`after` is the previous page's last row); `page`
    is the page number `after` opens, or "last". `q` (受理号 or 公民身份号码) searches 辖区在办
    whatever the scope and bucket.

    Queries: one aggregate for every count, one key-only query for this page and the cursors of
    the pages after it, one for the cursors of the pages before it (from page 2), one for the
    cursor of the last page (only when asked for), and the page's rows with their units."""
    bucket = bucket if bucket in BUCKETS else "all"
    scope = scope if scope in SCOPES else "mine"
    order = Sort.parse(sort)
    days = due_days()
    base = queue_base(viewer)
    counts = queue_counts(viewer, days, base)
    scope_counts = {name: counts[name]["all"] for name in SCOPES}
    empty = QueuePage(
        [], None, counts[scope], days, scope=scope, bucket=bucket, sort=order, scope_counts=scope_counts
    )

    search_error = ""
    if q.strip():
        try:
            match = search_filter(q)
        except SearchError:  # said beside the box; the list stays as it was
            search_error = f"“{q.strip()[:40]}”不是受理号或公民身份号码，请重新扫描或输入。"
        else:
            found = list(_with_related(base.filter(match)).order_by(*order.order())[:limit])
            return replace(empty, rows=found, q=q.strip(), total=len(found))

    filtered = base.filter(_scope_filter(scope, viewer) & _bucket_filter(bucket, viewer, days))
    total = counts[scope][bucket]
    pages = max(1, math.ceil(total / limit))
    number = 1
    cursor = order.decode(after) if after else None
    if page == "last" and pages > 1:
        on_last = total - (pages - 1) * limit
        before_last = list(_keys(filtered.order_by(*order.order(reverse=True)), order)[on_last : on_last + 1])
        cursor, number = (before_last[0], pages) if before_last else (None, 1)
    elif cursor is not None:
        try:
            number = max(2, int(page or 2))
        except (TypeError, ValueError):
            number = 2

    ahead_from = filtered if cursor is None else filtered.filter(order.after(*cursor))
    keys = (
        list(_keys(ahead_from.order_by(*order.order()), order)[: limit * (PAGES_AROUND + 1) + 1])
        if total
        else []
    )
    shown = keys[:limit]

    behind: list[tuple[Any, int]] = []
    if cursor is not None:
        back = filtered.filter(order.up_to(*cursor)).order_by(*order.order(reverse=True))
        behind = list(_keys(back, order)[: limit * PAGES_AROUND + 1])
        if len(behind) <= limit * PAGES_AROUND:  # all rows before this page are known: renumber
            number = math.ceil(len(behind) / limit) + 1
        else:
            number = max(number, PAGES_AROUND + 2)

    links: list[PageLink] = []
    for k in range(PAGES_AROUND, 0, -1):
        if number - k < 1:
            continue
        if number - k == 1:
            links.append(PageLink(1, None))
        elif len(behind) > k * limit:  # the last row of page number-k-1 opens page number-k
            value, pk = behind[k * limit]
            links.append(PageLink(number - k, order.cursor(value, pk)))
    links.append(PageLink(number, order.cursor(*cursor) if cursor else None, current=True))
    for k in range(1, PAGES_AROUND + 1):
        if len(keys) > k * limit:
            value, pk = keys[k * limit - 1]
            links.append(PageLink(number + k, order.cursor(value, pk)))

    by_pk = {row.pk: row for row in _with_related(Application.objects.filter(pk__in=[pk for _, pk in shown]))}
    rows = [by_pk[pk] for _, pk in shown if pk in by_pk]
    following = next((link for link in links if link.number == number + 1), None)
    preceding = next((link for link in links if link.number == number - 1), None)
    pages = max(pages, links[-1].number)
    return replace(
        empty,
        rows=rows,
        next_after=following.after if following else None,
        total=total,
        page=number,
        pages=pages,
        links=links,
        previous=preceding,
        next=following,
        first=None if links[0].number == 1 else PageLink(1, None),
        last=links[-1].number < pages,
        q=q.strip() if search_error else "",
        search_error=search_error,
    )


def _with_related(queryset: QuerySet[Application]) -> QuerySet[Application]:
    return queryset.select_related("reason", "acceptance_unit", "review_unit", "assignee", "sex")


def due_state(application: Application, days: DueDays) -> str:
    """overdue / due_today / at_risk / "" for one item (for row colours)."""
    due = application.review_due
    if due is None or application.status not in IN_REVIEW_STATUSES:
        return ""
    if due < days.today:
        return "overdue"
    if due == days.today:
        return "due_today"
    if due <= days.next_workday:
        return "at_risk"
    return ""


# ---------------------------------------------------------------------------------------------
# The comparisons beside the application (DOMAIN.md §4)


@dataclass(frozen=True)
class ReviewFile:
    application: Application
    register: Person
    fields: tuple[rules.FieldComparison, ...]
    photo_report: dict[str, Any]
    faces: list[FaceCandidate]
    wanted: list[WantedPerson]
    floating: list[FloatingRegistration]
    steps: list[ReviewStep]
    notes: list[VerificationNote]
    flags: list[str] = field(default_factory=list)


FLAG_LABELS = {
    "wanted": "申请人在全国在逃人员库中有在逃记录",
    rules.CARD_HISTORY_ELSEWHERE: "由户籍地核验证件信息（外省户籍人员，本省无其证件记录）",
}


def face_candidates(application: Application, viewer: Viewer | None = None) -> list[FaceCandidate]:
    """Every comparison of the application, each candidate named (intake.selectors)."""
    return intake_face_candidates(application, viewer=viewer)


# ---------------------------------------------------------------------------------------------
# What the viewer can do on one item now


@dataclass(frozen=True)
class ReviewActions:
    """The actions a reviewer is offered on one item, and in words why not the others."""

    take: bool = False  # 领取办理
    release: bool = False  # 退回待办
    decide: bool = False  # 签发 / 审核通过, 核实, 不予签发
    last_step: bool = True  # 签发 at the last step, 审核通过 before it
    next_position: str = ""  # where 审核通过 sends it: “南昌市公安局东湖分局签发”
    notice: str = ""


def _closed_notice(application: Application) -> str:
    status = Application.Status
    if application.status == status.REJECTED:
        return (
            f"该事项已不予签发（{application.refusal_reason}），"
            f"已退回受理单位{application.acceptance_unit.name}，无需办理。"
        )
    if application.status == status.WITHDRAWN:
        return "该申领已由受理单位撤销，无需办理。"
    if application.issued_at is not None:
        issued_on = timezone.localtime(application.issued_at)
        return f"该事项已于{issued_on:%Y-%m-%d}签发，签发机关{application.issuing_authority}，无需办理。"
    return "该申领尚未流转至审核签发，无需办理。"


def review_actions(viewer: Viewer, application: Application) -> ReviewActions:
    """Only what the viewer can do now, with the rules of review.services: the unit whose step
    the item is at takes it; the holder releases and decides; everybody else reads."""
    chain = application.review_chain
    last_step = application.review_step >= len(chain)
    following = chain[application.review_step] if not last_step else {}
    shape = ReviewActions(
        last_step=last_step, next_position=f"{following.get('unit_name', '')}{following.get('title', '')}"
    )
    if application.status not in IN_REVIEW_STATUSES:
        return replace(shape, notice=_closed_notice(application))
    mine = application.assignee_id == viewer.pk
    unit = viewer.unit
    if not viewer.can("review.decide") or unit is None or application.review_unit_id != unit.pk:
        notice = elsewhere_notice(application, unit) if unit is not None else "您无需办理该事项。"
        if mine:
            notice += "您仍是领取人，可退回待办。"
        return replace(shape, release=mine, notice=notice)
    if application.assignee_id is None:
        return replace(
            shape, take=True, notice="该事项尚未领取：领取后由您办理，本单位其他审核人员即不能办理。"
        )
    if mine:
        return replace(shape, release=True, decide=True, notice="该事项由您办理。")
    holder = application.assignee
    since = timezone.localtime(application.assigned_at) if application.assigned_at else None
    when = f"于{since:%m-%d %H:%M}" if since else ""
    who = holder.display_name if holder else "他人"
    return replace(shape, notice=f"该事项已由{who}{when}领取办理，您可查看，无需办理。")


def review_application(viewer: Viewer, pk: int) -> Application:
    """An application a reviewer may open: in a queue of their subtree, or registered or accepted
    there (its history after the decision); 404 for everybody else."""
    application = None
    if viewer.can("review.decide"):
        application = (
            Application.objects.visible_to(viewer)
            .select_related(
                "reason",
                "sex",
                "ethnicity",
                "acceptance_unit",
                "household_unit",
                "review_unit",
                "assignee",
                "refusal_code",
            )
            .filter(pk=pk)
            .first()
        )
    if application is None:
        raise Http404("未找到该事项")
    return application


def review_file(viewer: Viewer, pk: int) -> ReviewFile:
    """The application with everything the reviewer checks."""
    application = review_application(viewer, pk)
    person = Person.objects.select_related("sex", "ethnicity", "registration_unit").get(
        pk=application.person_id
    )
    return ReviewFile(
        application=application,
        register=person,
        fields=comparisons(application),
        photo_report=application.photo_report or {},
        faces=face_candidates(application, viewer),
        wanted=list(WantedPerson.objects.filter(id_number=person.id_number, active=True)),
        floating=list(
            FloatingRegistration.objects.filter(person=person, active=True).select_related("residence_unit")
        ),
        steps=list(application.review_steps.select_related("unit", "decided_by")),
        notes=list(application.verification_notes.select_related("author")),
        flags=[FLAG_LABELS.get(flag, "其他审核提示") for flag in application.flags],
    )


# ---------------------------------------------------------------------------------------------
# The item page's pieces


def material_names() -> dict[str, str]:
    """已交验材料 by name: every checklist line and each of its alternatives."""
    names: dict[str, str] = {}
    for material in (
        rules.HOUSEHOLD_BOOK,
        rules.ADULT_PROOF,
        rules.GUARDIAN_ID,
        rules.MINOR_PROOF,
        rules.BIRTH_CERTIFICATE,
        rules.PARENTAGE_PROOF,
        rules.PLEDGE,
    ):
        names[material.code] = material.label
        names.update(dict(material.alternatives))
    return names


@dataclass(frozen=True)
class ChainStep:
    """One step of the item's chain as the page lists it."""

    number: int
    title: str
    unit_name: str
    current: bool
    record: ReviewStep | None


def chain_steps(application: Application, records: list[ReviewStep]) -> list[ChainStep]:
    by_step = {record.step: record for record in records}
    in_review = application.status in IN_REVIEW_STATUSES
    return [
        ChainStep(
            number,
            str(step.get("title", "")),
            str(step.get("unit_name", "")),
            in_review and number == application.review_step,
            by_step.get(number),
        )
        for number, step in enumerate(application.review_chain, start=1)
    ]


def next_in_queue(viewer: Viewer, *, exclude: int) -> Application | None:
    """The next item of the viewer's 我的待办 (oldest deadline first), after an action."""
    return (
        queue_base(viewer)
        .filter(mine_filter(viewer))
        .exclude(pk=exclude)
        .order_by("review_due", "pk")
        .only("pk", "number", "name")
        .first()
    )
