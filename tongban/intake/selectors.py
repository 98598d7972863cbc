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
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.finance.models import Payment
from tongban.intake import documents, rules
from tongban.intake.capture import APPLICATIONS_GALLERY_PREFIX
from tongban.intake.models import UNFINISHED_STATUSES, Application, ApplicationEvent, Fingerprint
from tongban.intake.services import (
    acceptance_problems,
    checklist_for,
    held_card,
    local_today,
)
from tongban.listing import ListPage, SortKey, keyset_page, parse_sort
from tongban.registry.access import Viewer
from tongban.registry.calendar import deadline
from tongban.registry.models import (
    ApplicationReason,
    Card,
    FloatingRegistration,
    Person,
    Unit,
    WantedPerson,
)


def application_get(viewer: Viewer, pk: int) -> Application:
    application = Application.objects.visible_to(viewer).for_display().filter(pk=pk).first()
    if application is None:
        raise Http404("未找到该申领")
    return application


def application_by_number(viewer: Viewer, number: str) -> Application:
    application = Application.objects.visible_to(viewer).for_display().filter(number=number).first()
    if application is None:
        raise Http404("未找到该受理号")
    return application


def application_for_progress(number: str) -> Application | None:
    """办理进度查询 (portal): the application with this 受理号 and what the citizen's answer names
    (the acceptance unit); None for an unknown number. A draft has no 受理号; one that somehow had
    is not found either. Not scoped to a viewer: the portal shows nothing before the citizen's
    proof (the last digits of the number or the name) matches."""
    return (
        Application.objects.select_related("acceptance_unit")
        .filter(number=number)
        .exclude(status=Application.Status.DRAFT)
        .first()
    )


def latest_with_status(status: str, collection: str) -> Application | None:
    """The newest application with a 受理号 in `status`, collected in that way: an example to try
    办理进度查询 with on demo data (`tongban progress examples`)."""
    return (
        Application.objects.select_related("acceptance_unit")
        .filter(status=status, collection=collection, number__isnull=False)
        .order_by("-pk")
        .first()
    )


def cross_province_application(*, province: str, number: str, exchange: str) -> Application:
    """The 跨省通办 application with 受理号 `number` exchanged with `province` in direction
    `exchange` (Application.Exchange), for the exchange's messages about it; 404 otherwise."""
    application = (
        Application.objects.select_related("acceptance_unit", "household_unit", "review_unit")
        .filter(number=number, exchange=exchange, remote_province=province)
        .exclude(exchange="")
        .first()
    )
    if application is None:
        raise ServiceError("not_found", "未找到该跨省通办申领。", status=404)
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
_LIST_DEFERRED = (
    "photo",
    "card_images",
    "card_images_key",
    "guardian_photo",
    "face_hits",
    "photo_report",
    "review_chain",
    "flags",
)

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
    # As values, a station's page walks its own index in order (22 → 1 ms at a station with
    # 5,000 applications) where a subquery made PostgreSQL sort them all.
    return Application.objects.filter(acceptance_unit__in=viewer.unit.subtree_pks)


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
    own = Application.objects.visible_to(viewer).filter(
        acceptance_unit__in=Unit.objects.subtree_ids(viewer.unit)
    )
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


# ---------------------------------------------------------------------------------------------
# Face comparisons (人像比对): who each candidate is, in words


GALLERY_LABELS = {
    "self": "本人常住人口相片（1:1）",
    "permanent": "省内常住人口相片库",
    "applications": "受理相片库",
    "wanted": "全国在逃人员库",
    "floating": "省内流动人口库",
}
MISSING_CANDIDATE = "（该候选已不在比对库中）"


@dataclass(frozen=True)
class FaceCandidate:
    """One hit of the 1:N searches (or the 1:1 with the register photo), named as a person: the
    name and the masked number, where the person is registered, lives or applied. `ref_id` is the
    engine's opaque reference ("person:812") for the API only; pages show `label`.

    Jurisdiction: clerks and reviewers may look anybody in the province up by exact number
    (`person.lookup`), so a name and a masked number say less than they may already see. A
    candidate application is named by its 受理号 and acceptance unit wherever it was accepted
    (what the other unit needs to be called about it); it opens (`application_pk`) only for a
    viewer whose jurisdiction holds it."""

    gallery: str
    gallery_label: str
    ref_id: str
    score: float
    is_self: bool
    kind: str  # person / application / wanted / floating / missing
    name: str
    id_number: str  # masked
    number: str  # the candidate application's 受理号, else ""
    unit: str  # 户籍地派出所, 受理单位 or 居住地派出所
    label: str
    application_pk: int | None = None


@dataclass
class _Who:
    kind: str
    name: str
    id_number: str
    number: str = ""
    unit: str = ""
    detail: str = ""
    application_pk: int | None = None

    def label(self) -> str:
        masked = mask_id_number(self.id_number) if self.id_number else "号码不详"
        if self.kind == "person":
            return f"{self.name}（{masked}），户籍地：{self.unit}"
        if self.kind == "application":
            return f"{self.name}（{masked}），受理号 {self.number}，{self.unit}受理"
        if self.kind == "wanted":
            return f"{self.name}（{masked}），在逃人员，案件编号 {self.detail}"
        return f"{self.name}（{masked}），流动人口，居住地：{self.unit}"


def _ids(refs: set[str], prefix: str) -> list[int]:
    return [
        int(ref[len(prefix) :]) for ref in refs if ref.startswith(prefix) and ref[len(prefix) :].isdigit()
    ]


def _candidates_named(refs: set[str], viewer: Viewer | None) -> dict[str, _Who]:
    """Who each reference stands for; one query per kind present."""
    found: dict[str, _Who] = {}
    if person_ids := _ids(refs, "person:"):
        for person in Person.objects.filter(pk__in=person_ids).select_related("registration_unit"):
            found[f"person:{person.pk}"] = _Who(
                "person", person.name, person.id_number, unit=person.registration_unit.name
            )
    if app_ids := _ids(refs, APPLICATIONS_GALLERY_PREFIX):
        others = Application.objects.filter(pk__in=app_ids).select_related("acceptance_unit")
        openable = (
            set(Application.objects.visible_to(viewer).filter(pk__in=app_ids).values_list("pk", flat=True))
            if viewer is not None
            else set()
        )
        for other in others.only("pk", "number", "name", "id_number", "acceptance_unit__name"):
            found[f"{APPLICATIONS_GALLERY_PREFIX}{other.pk}"] = _Who(
                "application",
                other.name,
                other.id_number,
                number=other.number or "",
                unit=other.acceptance_unit.name,
                application_pk=other.pk if other.pk in openable else None,
            )
    if wanted_ids := _ids(refs, "wanted:"):
        for entry in WantedPerson.objects.filter(pk__in=wanted_ids):
            found[f"wanted:{entry.pk}"] = _Who(
                "wanted", entry.name, entry.id_number, detail=entry.case_number
            )
    if floating_ids := _ids(refs, "floating:"):
        registrations = FloatingRegistration.objects.filter(pk__in=floating_ids).select_related(
            "person", "residence_unit"
        )
        for reg in registrations:
            found[f"floating:{reg.pk}"] = _Who(
                "floating", reg.person.name, reg.person.id_number, unit=reg.residence_unit.name
            )
    return found


def face_candidates(
    application: Application,
    *,
    galleries: dict[str, list[dict[str, Any]]] | None = None,
    viewer: Viewer | None = None,
) -> list[FaceCandidate]:
    """The hits of `galleries` (default: all the application's searches), each named."""
    hits = (application.face_hits or {}) if galleries is None else galleries
    refs = {hit["ref_id"] for rows in hits.values() for hit in rows}
    named = _candidates_named(refs, viewer)
    candidates = []
    for gallery, rows in hits.items():
        for hit in rows:
            who = named.get(hit["ref_id"])
            candidates.append(
                FaceCandidate(
                    gallery=gallery,
                    gallery_label=GALLERY_LABELS.get(gallery, "其他比对库"),
                    ref_id=hit["ref_id"],
                    score=hit["score"],
                    is_self=bool(hit.get("self")),
                    kind=who.kind if who else "missing",
                    name=who.name if who else "",
                    id_number=mask_id_number(who.id_number) if who and who.id_number else "",
                    number=who.number if who else "",
                    unit=who.unit if who else "",
                    label=who.label() if who else MISSING_CANDIDATE,
                    application_pk=who.application_pk if who else None,
                )
            )
    return candidates


def counter_face_hits(application: Application, viewer: Viewer | None = None) -> list[FaceCandidate]:
    """查重 hits the clerk may see: other people and other applications with a similar face,
    named (`label`). Watch-list hits (wanted, floating) are for the reviewer only."""
    hits = application.face_hits or {}
    shown = {
        "permanent": [hit for hit in hits.get("permanent", []) if not hit.get("self")],
        "applications": list(hits.get("applications", [])),
    }
    return face_candidates(application, galleries={k: v for k, v in shown.items() if v}, viewer=viewer)


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
    proposal = rules.proposal(
        birth_date=person.birth_date,
        on=today,
        cards_ever=len(cards),
        held_card=held_card(person),
        card_history_elsewhere=person.is_guest,
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
    ready = deadline(application.accepted_at, settings.DEADLINES.expected_ready_days)
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
