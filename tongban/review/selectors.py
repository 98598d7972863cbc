"""The review work queue (待办) with its deadline buckets, and what the reviewer compares."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from tongban.core.masking import mask_id_number
from tongban.intake import rules
from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.intake.selectors import comparisons
from tongban.intake.services import APPLICATIONS_GALLERY_PREFIX, local_today
from tongban.registry.access import Viewer
from tongban.registry.calendar import work_calendar
from tongban.registry.models import FloatingRegistration, Person, Unit, WantedPerson
from tongban.review.models import ReviewStep, VerificationNote

BUCKETS = {
    "all": "全部待办",
    "overdue": "已超期",
    "due_today": "今日到期",
    "at_risk": "临近到期",
    "mine": "我领取的",
    "verification": "核实中",
}


def queue_base(viewer: Viewer) -> QuerySet[Application]:
    """Items in review in the queues of the viewer's subtree (a reviewer's 待办)."""
    if not viewer.can("review.decide") or viewer.unit is None:
        return Application.objects.none()
    return Application.objects.filter(
        status__in=IN_REVIEW_STATUSES, review_unit__in=Unit.objects.subtree(viewer.unit).values("pk")
    )


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


@dataclass(frozen=True)
class QueuePage:
    rows: list[Application]
    next_after: str | None  # "<due>:<pk>" of the last row
    counts: dict[str, int]
    days: DueDays


def review_queue(
    viewer: Viewer, bucket: str = "all", *, after: str | None = None, limit: int = 50
) -> QueuePage:
    """Oldest deadline first, keyset-paginated on (deadline, id); counts for every bucket."""
    if bucket not in BUCKETS:
        bucket = "all"
    days = due_days()
    base = queue_base(viewer)
    counts = {name: base.filter(_bucket_filter(name, viewer, days)).count() for name in BUCKETS}
    rows_qs = base.filter(_bucket_filter(bucket, viewer, days)).select_related(
        "reason", "acceptance_unit", "review_unit", "assignee", "sex"
    )
    if after:
        due_text, _, pk_text = after.partition(":")
        try:
            due, pk = datetime.date.fromisoformat(due_text), int(pk_text)
        except ValueError:
            due, pk = None, None
        if due is not None:
            rows_qs = rows_qs.filter(Q(review_due__gt=due) | Q(review_due=due, pk__gt=pk))
    rows = list(rows_qs.order_by("review_due", "pk")[: limit + 1])
    next_after = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_after = f"{last.review_due.isoformat() if last.review_due else ''}:{last.pk}"
    return QueuePage(rows[:limit], next_after, counts, days)


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
class FaceCandidate:
    gallery: str
    gallery_label: str
    ref_id: str
    score: float
    is_self: bool
    label: str  # who the candidate is (masked number), or the other application's 受理号


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


GALLERY_LABELS = {
    "self": "本人常住人口相片（1:1）",
    "permanent": "省内常住人口相片库",
    "applications": "受理相片库",
    "wanted": "全国在逃人员库",
    "floating": "省内流动人口库",
}
FLAG_LABELS = {"wanted": "申请人在全国在逃人员库中有在逃记录"}


def _candidate_labels(refs: set[str]) -> dict[str, str]:
    people = {f"person:{pk}": (name, number) for pk, name, number in _people(refs, "person:")}
    labels = {ref: f"{name} {mask_id_number(number)}" for ref, (name, number) in people.items()}
    wanted_ids = [int(ref.split(":", 1)[1]) for ref in refs if ref.startswith("wanted:")]
    for entry in WantedPerson.objects.filter(pk__in=wanted_ids):
        labels[f"wanted:{entry.pk}"] = (
            f"{entry.name} {mask_id_number(entry.id_number)} 案件 {entry.case_number}"
        )
    floating_ids = [int(ref.split(":", 1)[1]) for ref in refs if ref.startswith("floating:")]
    for reg in FloatingRegistration.objects.filter(pk__in=floating_ids).select_related(
        "person", "residence_unit"
    ):
        labels[f"floating:{reg.pk}"] = (
            f"{reg.person.name} {mask_id_number(reg.person.id_number)} 居住地 {reg.residence_unit}"
        )
    app_ids = [int(ref.split(":", 1)[1]) for ref in refs if ref.startswith(APPLICATIONS_GALLERY_PREFIX)]
    for pk, number, name in Application.objects.filter(pk__in=app_ids).values_list("pk", "number", "name"):
        labels[f"{APPLICATIONS_GALLERY_PREFIX}{pk}"] = f"受理号 {number} {name}"
    return labels


def _people(refs: set[str], prefix: str) -> list[tuple[int, str, str]]:
    ids = [int(ref.split(":", 1)[1]) for ref in refs if ref.startswith(prefix)]
    return list(Person.objects.filter(pk__in=ids).values_list("pk", "name", "id_number"))


def face_candidates(application: Application) -> list[FaceCandidate]:
    hits = application.face_hits or {}
    refs = {hit["ref_id"] for rows in hits.values() for hit in rows}
    labels = _candidate_labels(refs)
    found = []
    for gallery, rows in hits.items():
        for hit in rows:
            found.append(
                FaceCandidate(
                    gallery=gallery,
                    gallery_label=GALLERY_LABELS.get(gallery, gallery),
                    ref_id=hit["ref_id"],
                    score=hit["score"],
                    is_self=bool(hit.get("self")),
                    label=labels.get(hit["ref_id"], "（已不在库中）"),
                )
            )
    return found


def review_application(viewer: Viewer, pk: int) -> Application:
    """An application a reviewer may open: in a queue of their subtree, or registered or accepted
    there (its history after the decision); 404 for everybody else."""
    application = None
    if viewer.can("review.decide"):
        application = (
            Application.objects.visible_to(viewer)
            .select_related(
                "reason", "sex", "ethnicity", "acceptance_unit", "household_unit", "review_unit", "assignee"
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
        faces=face_candidates(application),
        wanted=list(WantedPerson.objects.filter(id_number=person.id_number, active=True)),
        floating=list(
            FloatingRegistration.objects.filter(person=person, active=True).select_related("residence_unit")
        ),
        steps=list(application.review_steps.select_related("unit", "decided_by")),
        notes=list(application.verification_notes.select_related("author")),
        flags=[FLAG_LABELS.get(flag, flag) for flag in application.flags],
    )
