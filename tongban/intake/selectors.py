"""Reads of applications, always through the viewer's jurisdiction (404 outside it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404

from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core import idnumber
from tongban.core.dates import age_on
from tongban.finance.models import Payment
from tongban.intake import documents, rules
from tongban.intake.models import UNFINISHED_STATUSES, Application, ApplicationEvent, Fingerprint
from tongban.intake.services import acceptance_problems, checklist_for, local_today
from tongban.listing import ListPage, SortKey, keyset_page, parse_sort
from tongban.registry.access import Viewer
from tongban.registry.calendar import deadline
from tongban.registry.models import EXPIRED, ApplicationReason, Card, Person, Unit

_RELATED = (
    "reason",
    "sex",
    "ethnicity",
    "acceptance_unit",
    "household_unit",
    "review_unit",
    "assignee",
    "person",
)


def applications_visible(viewer: Viewer) -> QuerySet[Application]:
    return Application.objects.visible_to(viewer).select_related(*_RELATED)


def application_get(viewer: Viewer, pk: int) -> Application:
    application = applications_visible(viewer).filter(pk=pk).first()
    if application is None:
        raise Http404("未找到该申领")
    return application


def application_by_number(viewer: Viewer, number: str) -> Application:
    application = applications_visible(viewer).filter(number=number).first()
    if application is None:
        raise Http404("未找到该受理号")
    return application


def application_events(application: Application) -> list[ApplicationEvent]:
    return list(application.events.select_related("actor", "unit").order_by("pk"))


def fingerprints(application: Application) -> list[Fingerprint]:
    return list(application.fingerprints.defer("template").order_by("position"))


COUNTER_VIEWS: dict[str, tuple[str, ...]] = {
    "draft": (Application.Status.DRAFT,),
    "in_review": (Application.Status.PENDING_REVIEW, Application.Status.UNDER_VERIFICATION),
    "refused": (Application.Status.REJECTED,),
    "recollect": (Application.Status.RECOLLECT,),
    "issued": (Application.Status.ISSUED, Application.Status.IN_PRODUCTION, Application.Status.PRODUCED),
    "distribution": (Application.Status.SHIPPED, Application.Status.AT_SITE),
    "handed_over": (
        Application.Status.HANDED_OVER,
        Application.Status.PENDING_VERIFICATION,
        Application.Status.VERIFIED,
    ),
    "withdrawn": (Application.Status.WITHDRAWN,),
}

# 受理台账's sort orders, each served by an index on (value, id) so that a page costs the same at
# any depth (migration 0007): 受理时间, a draft (not accepted) by the time it was started, and 姓名.
# Within a station the 受理号 follows the 受理时间, so it is not an order of its own.
ACCEPTED_OR_STARTED = Coalesce("accepted_at", "created_at")
COUNTER_SORTS = {
    "accepted": SortKey("accepted", "listed_at", "datetime", expression=ACCEPTED_OR_STARTED),
    "name": SortKey("name", "name"),
}
COUNTER_DEFAULT_SORT = "-accepted"
COUNTER_PAGE_SIZE = 50
# What a list row never shows: the photos, the face searches and the routing.
_LIST_DEFERRED = ("photo", "guardian_photo", "face_hits", "photo_report", "review_chain", "flags")

NUMBER_LENGTH = 22
ID_NUMBER_SHAPE = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class CounterSearch:
    """What the search box of 受理台账 was given (a barcode scanner types a 受理号 or a
    公民身份号码 and Enter): `kind` is number (a whole 受理号), number_prefix (its beginning,
    e.g. a station's day), id_number, old_id_number (15 digits: an old number or a 受理号's
    beginning), name, or "" for no search."""

    text: str
    kind: str
    value: str
    prefix: str = ""  # old_id_number: the digits as typed, also tried as a 受理号's beginning

    @property
    def identifies(self) -> bool:
        """A whole 受理号 or 公民身份号码: one hit is the application sought, opened at once."""
        return self.kind in {"number", "id_number"}

    def condition(self) -> Q:
        if self.kind == "number":
            return Q(number=self.value)
        if self.kind == "number_prefix":
            return _number_prefix(self.value)
        if self.kind == "id_number":
            return Q(id_number=self.value)
        if self.kind == "old_id_number":
            return Q(id_number=self.value) | _number_prefix(self.prefix)
        if self.kind == "name":
            return Q(name=self.value)
        return Q()


def _number_prefix(digits: str) -> Q:
    """受理号 beginning with `digits`: a range over the 22-digit numbers, which any index on
    `number` serves (LIKE 'x%' needs a C collation on PostgreSQL)."""
    pad = NUMBER_LENGTH - len(digits)
    return Q(number__gte=digits + "0" * pad, number__lte=digits + "9" * pad)


def counter_search(text: str | None) -> CounterSearch:
    text = (text or "").strip()[:60]
    compact = re.sub(r"\s+", "", text).upper()
    if not compact:
        return CounterSearch("", "", "")
    if compact.isdigit() and len(compact) == NUMBER_LENGTH:
        return CounterSearch(text, "number", compact)
    if ID_NUMBER_SHAPE.match(compact):
        # Exactly as stored; a wrong check digit simply finds nothing.
        return CounterSearch(text, "id_number", compact)
    if compact.isdigit() and len(compact) == 15:
        # An old 15-digit 公民身份号码, or the beginning of a 受理号 (a station's month): both.
        try:
            return CounterSearch(text, "old_id_number", idnumber.validate(compact), compact)
        except idnumber.InvalidIdNumber:
            pass
    if compact.isdigit() and len(compact) < NUMBER_LENGTH:
        return CounterSearch(text, "number_prefix", compact)
    return CounterSearch(text, "name", text)


def counter_applications(viewer: Viewer) -> QuerySet[Application]:
    """The applications accepted in the viewer's subtree: the part of `visible_to` that a
    station (or a supervisor's area) keeps as its own 受理台账, as one indexable condition (none
    for the province, whose subtree is everything, as in `visible_to`)."""
    if not viewer.can("application.view") or viewer.unit is None:
        return Application.objects.none()
    if viewer.unit.kind == Unit.Kind.PROVINCE:
        return Application.objects.all()
    return Application.objects.filter(acceptance_unit__in=Unit.objects.subtree_ids(viewer.unit))


def counter_page(
    viewer: Viewer,
    view: str,
    *,
    q: str = "",
    sort: str | None = None,
    after: str | None = None,
    before: str | None = None,
    page: int | None = None,
    limit: int | None = None,
) -> ListPage[Application]:
    """受理台账: a station's own applications in one state (`view`, "" or "all" for every state),
    found by 受理号, 公民身份号码 or name (`q`), sorted (`sort`, e.g. "-accepted", "name"), one
    keyset page with the tab's total. Two queries. A cursor from elsewhere raises BadCursor."""
    applications = counter_applications(viewer)
    if view == "refused_unnotified":
        applications = applications.filter(status=Application.Status.REJECTED, refusal_notified_at=None)
    elif view in COUNTER_VIEWS:
        applications = applications.filter(status__in=COUNTER_VIEWS[view])
    applications = applications.filter(counter_search(q).condition())
    applications = applications.select_related("reason", "acceptance_unit", "household_unit").defer(
        *_LIST_DEFERRED
    )
    order = parse_sort(sort, COUNTER_SORTS, COUNTER_DEFAULT_SORT)
    return keyset_page(
        applications, order, after=after, before=before, page=page, size=limit or COUNTER_PAGE_SIZE
    )


def counter_counts(viewer: Viewer) -> dict[str, int]:
    """What waits at a station's counter: drafts, items in review, refusals to tell applicants,
    photos to take again after a quality failure at the centre."""
    own = applications_visible(viewer).filter(acceptance_unit__in=Unit.objects.subtree_ids(viewer.unit))
    return {
        "draft": own.filter(status=Application.Status.DRAFT).count(),
        "in_review": own.filter(status__in=COUNTER_VIEWS["in_review"]).count(),
        "refused_unnotified": own.filter(
            status=Application.Status.REJECTED, refusal_notified_at=None
        ).count(),
        "recollect": own.filter(status=Application.Status.RECOLLECT).count(),
    }


@dataclass(frozen=True)
class MaterialLine:
    code: str
    label: str
    alternatives: tuple[tuple[str, str], ...]
    satisfied: bool


@dataclass(frozen=True)
class CounterState:
    """Everything the counter page shows for a draft: the checklist, the finger plan, what the
    register says, and what still stops acceptance."""

    age: int
    minor: bool
    materials: list[MaterialLine]
    finger_plan: rules.FingerPlan
    comparisons: tuple[rules.FieldComparison, ...]
    problems: dict[str, str]


def register_values(person: Person) -> dict[str, str]:
    return {
        "id_number": person.id_number,
        "name": person.name,
        "sex": person.sex.name,
        "ethnicity": person.ethnicity.name,
        "birth_date": person.birth_date.isoformat(),
        "address": person.address,
    }


def entered_values(application: Application) -> dict[str, str]:
    return {
        "id_number": application.id_number,
        "name": application.name,
        "sex": application.sex.name,
        "ethnicity": application.ethnicity.name,
        "birth_date": application.birth_date.isoformat(),
        "address": application.household_address,
    }


def comparisons(application: Application) -> tuple[rules.FieldComparison, ...]:
    person = Person.objects.select_related("sex", "ethnicity").get(pk=application.person_id)
    return rules.compare_with_register(entered_values(application), register_values(person))


def counter_state(application: Application) -> CounterState:
    age = age_on(application.birth_date, local_today())
    shown = frozenset(application.materials_shown)
    lines = [
        MaterialLine(m.code, m.label, m.alternatives, m.satisfied_by(shown | _pledge(application)))
        for m in checklist_for(application)
    ]
    plan = rules.finger_plan(
        {
            pos: rules.FingerOutcome(result)
            for pos, result in application.fingerprints.values_list("position", "result")
        }
    )
    return CounterState(
        age=age,
        minor=rules.needs_guardian_photo(age),
        materials=lines,
        finger_plan=plan,
        comparisons=comparisons(application),
        problems=acceptance_problems(application),
    )


def _pledge(application: Application) -> frozenset[str]:
    return frozenset({rules.PLEDGE.code}) if application.pledge_signed else frozenset()


def counter_face_hits(application: Application) -> list[dict[str, Any]]:
    """查重 hits the clerk may see: other people and other applications with a similar face.
    Watch-list hits (wanted, floating) are for the reviewer only."""
    hits = application.face_hits or {}
    shown = [hit for hit in hits.get("permanent", []) if not hit.get("self")]
    shown += hits.get("applications", [])
    return shown


@dataclass(frozen=True)
class StartApplicant:
    """What 新建受理 shows once the register is read: who it is, the cards they have had with
    their state today (已过期 included), and what the counter proposes."""

    person: Person
    age: int
    cards: list[Card]  # with current_state, the held one first
    proposal: rules.Proposal
    open_application: Application | None  # an application still in progress, if any


def start_applicant(person: Person) -> StartApplicant:
    today = local_today()
    cards = list(person.cards.held_first().with_current_state(today))
    held = cards[0] if cards else None
    proposal = rules.proposal(
        birth_date=person.birth_date,
        on=today,
        cards_ever=len(cards),
        card_expired=held is not None and vars(held)["current_state"] == EXPIRED,
    )
    pending = (
        Application.objects.filter(person=person, status__in=UNFINISHED_STATUSES)
        .exclude(number=None)
        .order_by("-pk")
        .first()
    )
    return StartApplicant(person, age_on(person.birth_date, today), cards, proposal, pending)


def application_document(application: Application) -> documents.ApplicationDocument:
    """The data printed on the 登记表, 告知承诺书 and 领证回执 of an accepted application."""
    if application.number is None or application.accepted_at is None:
        raise Http404("尚未受理的申领没有受理单据")
    accepted_by = application.accepted_by
    fingers = tuple(
        documents.FingerLine(
            position=finger.position,
            position_name=FINGER_POSITION_NAMES.get(finger.position, ""),
            result=finger.get_result_display(),
            reason=finger.reason,
        )
        for finger in fingerprints(application)
    )
    guardian = (
        documents.Guardian(
            name=application.guardian_name,
            id_number=application.guardian_id_number,
            relation=application.guardian_relation,
            phone=application.guardian_phone,
        )
        if application.guardian_name
        else None
    )
    fee = "免费" if application.fee_amount == 0 else f"{application.fee_amount:g}元"
    ready = deadline(application.accepted_at, settings.DEADLINES["EXPECTED_READY_DAYS"])
    unit = application.acceptance_unit
    return documents.ApplicationDocument(
        number=application.number,
        application_type=application.get_type_display(),
        reason=f"{application.reason.code} {application.reason.name}",
        name=application.name,
        sex=application.sex.name,
        ethnicity=application.ethnicity.name,
        birth_date=application.birth_date,
        id_number=application.id_number,
        household_address=application.household_address,
        residence_address=application.residence_address,
        household_unit=application.household_unit.name,
        acceptance_unit=unit.name,
        acceptance_unit_phone=unit.phone,
        acceptance_unit_address=unit.address,
        cross_region=application.cross_region,
        accepted_at=application.accepted_at,
        # A name, never an account name: a clerk without one registered leaves the cell empty.
        clerk=(accepted_by.get_full_name() if accepted_by else "") or "—",
        validity=application.validity_label,
        fingers=fingers,
        photo_jpeg=bytes(application.photo) if application.photo else None,
        phone=application.phone,
        collection=application.get_collection_display(),
        postal_address=application.postal_address,
        fee=fee + ("（减免）" if application.fee_waived else ""),
        guardian=guardian,
        expected_ready=ready.due,
        expected_ready_provisional=ready.provisional,
        reasons_by_type=reasons_by_type(),
    )


def reasons_by_type() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The active 申领原因 per 申领类型, as the 申领登记表's 填表说明 lists them."""
    reasons = ApplicationReason.objects.filter(active=True).order_by("code")
    return tuple(
        (kind.label, tuple(f"{r.code} {r.name}" for r in reasons if r.kind == kind.value))
        for kind in rules.ApplicationType
    )


def application_payment(application: Application) -> Payment | None:
    """The fee record (票据) of an accepted application; drafts have none."""
    if not application.number:
        return None
    return Payment.objects.filter(application_number=application.number).first()
