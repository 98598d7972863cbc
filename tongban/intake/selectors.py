"""Reads of applications, always through the viewer's jurisdiction (404 outside it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404

from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core.dates import age_on
from tongban.core.masking import mask_id_number
from tongban.finance.models import Payment
from tongban.intake import documents, rules
from tongban.intake.models import Application, ApplicationEvent, Fingerprint
from tongban.intake.services import (
    APPLICATIONS_GALLERY_PREFIX,
    acceptance_problems,
    checklist_for,
    local_today,
)
from tongban.registry.access import Viewer
from tongban.registry.calendar import deadline
from tongban.registry.models import FloatingRegistration, Person, Unit, WantedPerson

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


@dataclass(frozen=True)
class Page:
    rows: list[Application]
    next_after: int | None


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


def counter_page(viewer: Viewer, view: str, *, after: int | None = None, limit: int = 50) -> Page:
    """A station's own applications by state, newest first (keyset on the primary key)."""
    applications = applications_visible(viewer).filter(
        acceptance_unit__in=Unit.objects.subtree_ids(viewer.unit)
    )
    if view == "refused_unnotified":
        applications = applications.filter(status=Application.Status.REJECTED, refusal_notified_at=None)
    elif view in COUNTER_VIEWS:
        applications = applications.filter(status__in=COUNTER_VIEWS[view])
    if after is not None:
        applications = applications.filter(pk__lt=after)
    rows = list(applications.order_by("-pk")[: limit + 1])
    return Page(rows[:limit], rows[limit - 1].pk if len(rows) > limit else None)


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
        acceptance_unit=application.acceptance_unit.name,
        acceptance_unit_phone=application.acceptance_unit.phone,
        accepted_at=application.accepted_at,
        clerk=accepted_by.display_name if accepted_by else "",
        validity=application.validity_label,
        fingers=fingers,
        photo_jpeg=bytes(application.photo) if application.photo else None,
        phone=application.phone,
        collection=application.get_collection_display(),
        postal_address=application.postal_address,
        fee=fee + ("（减免）" if application.fee_waived else ""),
        guardian=guardian,
        expected_ready=deadline(application.accepted_at, settings.DEADLINES["EXPECTED_READY_DAYS"]).due,
    )


def application_payment(application: Application) -> Payment | None:
    """The fee record (票据) of an accepted application; drafts have none."""
    if not application.number:
        return None
    return Payment.objects.filter(application_number=application.number).first()
