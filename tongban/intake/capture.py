"""What the counter captures (采集): the photo with its standard check and face search, the 同框
photo of a minor with the guardian, the fingerprints, and their re-collection after a quality
failure at the production centre. The slow biometric work (`photo_prepare`, `fingers_prepare`)
runs before any transaction; `photo_keep`, `guardian_photo_keep` and `fingers_keep` store what it
made inside the caller's transaction (the one-call acceptance holds one for all of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction, EventAction
from tongban.audit.services import Entry, record_many
from tongban.biometrics import photo as photo_standard
from tongban.biometrics.engine import get_abis, get_sdk
from tongban.biometrics.finger import TEMPLATE_FORMAT as FINGER_TEMPLATE_FORMAT
from tongban.biometrics.interfaces import BiometricError, Gallery, Modality, Sample, Template
from tongban.biometrics.services import enrolled_face, group_photo_check, person_ref
from tongban.core.errors import ServiceError
from tongban.intake import rules
from tongban.intake.access import require_own_counter
from tongban.intake.models import (
    OPEN_STATUSES,
    Application,
    Fingerprint,
)
from tongban.intake.transitions import Transition, application_event, application_transition, lock
from tongban.production.package import CardImages, seal_card_images
from tongban.registry.models import Person

Status = Application.Status

APPLICATIONS_GALLERY_PREFIX = "application:"
FACE_SEARCH_RESULTS = 5


def application_ref(application: Application) -> str:
    """How an application is named in the biometric galleries (never by ID number)."""
    return f"{APPLICATIONS_GALLERY_PREFIX}{application.pk}"


# ---------------------------------------------------------------------------------------------
# Photo, 同框 photo, face search


@dataclass(frozen=True)
class PhotoOutcome:
    passed: bool
    messages: tuple[str, ...]  # Chinese, one per failed rule
    conformed: bool  # the upload was cropped and scaled into the standard layout


def _standard_photo(image: bytes) -> tuple[bytes, bool]:
    """The upload as a standard photo: as is when it already has the standard size, else cropped
    and scaled into the layout (a camera frame at the counter)."""
    std = photo_standard.PhotoStandard.from_settings()
    report = photo_standard.check_photo(image, std)
    size_rule = next((rule for rule in report.rules if rule.code == "size"), None)
    if size_rule is not None and size_rule.passed:
        return image, False
    try:
        return photo_standard.conform_photo(image, std), True
    except BiometricError:
        return image, False


def _face_hits(template: Template, *, person_id: int, own_ref: str | None) -> dict[str, list[dict[str, Any]]]:
    """1:N searches of the applicant's face in every gallery the reviewer sees (DOMAIN.md §4)."""
    abis = get_abis()
    own = person_ref(person_id)
    hits: dict[str, list[dict[str, Any]]] = {}
    for gallery in (Gallery.PERMANENT, Gallery.APPLICATIONS, Gallery.WANTED, Gallery.FLOATING):
        found = abis.identify(template, gallery, max_results=FACE_SEARCH_RESULTS)
        hits[gallery.value] = [
            {"ref_id": candidate.ref_id, "score": round(candidate.score, 4), "self": candidate.ref_id == own}
            for candidate in found
            if candidate.ref_id != own_ref
        ]
    # The 1:1 comparison with the applicant's own register photo, found or not by the search.
    if not any(row["self"] for row in hits[Gallery.PERMANENT.value]):
        reference = _register_face(person_id, template.format)
        if reference is not None:
            result = get_sdk(Modality.FACE).match(template, [reference])[0]
            hits["self"] = [{"ref_id": own, "score": round(result.score, 4), "self": True}]
    return hits


def _register_face(person_id: int, template_format: str) -> Template | None:
    """The face of the person's register photo: the template enrolled from it when there is one
    of the probe's format (read and unsealed in a millisecond), else extracted from the photo
    again (~70 ms); None without a usable photo."""
    enrolled = enrolled_face(person_id)
    if enrolled is not None and enrolled.format == template_format:
        return enrolled
    register_photo = Person.objects.filter(pk=person_id).values_list("photo", flat=True).first()
    if not register_photo:
        return None
    try:
        return get_sdk(Modality.FACE).extract_template(Sample(Modality.FACE, bytes(register_photo)))
    except BiometricError:
        return None


@dataclass(frozen=True)
class PreparedPhoto:
    """The biometric work on an uploaded photo, done before any transaction opens."""

    image: bytes  # what is kept: the upload, or its crop into the standard layout
    report: dict[str, Any]  # the photo-standard result, rule by rule
    messages: tuple[str, ...]  # Chinese, one per failed rule
    conformed: bool
    template: Template | None  # the face template when the photo passed
    hits: dict[str, Any]  # the 1:N searches when the photo passed
    # The photo and its copy for the card's chip, encrypted for production, when the photo passed.
    images: CardImages | None = None

    @property
    def passed(self) -> bool:
        return bool(self.report["passed"])


def keep_card_images(application: Application, images: CardImages | None) -> None:
    """The photo's production segment and its key (sealed at rest): both, or neither."""
    application.card_images = images.segment if images is not None else None
    application.card_images_key = images.record() if images is not None else None


def photo_prepare(image: bytes, *, person_id: int, own_ref: str | None = None) -> PreparedPhoto:
    """Check a photo against the standard (cropping a camera frame into the layout first) and,
    when it passes, extract the face and search the galleries. Slow (a tenth of a second or more)
    and writes nothing, so callers run it outside their transactions."""
    candidate, conformed = _standard_photo(image)
    report = photo_standard.check_photo(candidate)
    summary = {
        "passed": report.passed,
        "conformed": conformed,
        "rules": [rule.to_dict() for rule in report.rules],
    }
    messages = tuple(rule.message for rule in report.rules if not rule.passed)
    if not report.passed:
        return PreparedPhoto(candidate, summary, messages, conformed, None, {})
    # The chip's copy is made here, once, and encrypted with the photo for production, so that a
    # batch copies the two as they are instead of scaling, digesting and encrypting every photo
    # again (a passed photo has the standard size the copy needs).
    images = seal_card_images(candidate, photo_standard.chip_photo(candidate))
    template = get_sdk(Modality.FACE).extract_template(Sample(Modality.FACE, candidate))
    hits = _face_hits(template, person_id=person_id, own_ref=own_ref)
    return PreparedPhoto(candidate, summary, messages, conformed, template, hits, images)


def photo_refusal(field: str, outcome: PhotoOutcome) -> ServiceError:
    """An unfit photo as a refusal named at `field` (`photo_rejected`)."""
    messages = "；".join(outcome.messages) or "相片不符合标准。"
    return ServiceError("photo_rejected", f"相片不符合标准：{messages}", fields={field: messages})


@contextmanager
def biometric_refusals(field: str) -> Iterator[None]:
    """The biometric engine's refusal of a photo (or its failure: 503) as a ServiceError named at
    `field`; the work it interrupts has written nothing."""
    try:
        yield
    except BiometricError as exc:
        raise ServiceError(exc.code, exc.message, fields={field: exc.message}, status=exc.status) from exc


def _prepare_for(application: Application, image: bytes | None) -> PreparedPhoto:
    if image is None:
        raise ValueError("a photo service needs an image or a prepared photo")
    return photo_prepare(image, person_id=application.person_id, own_ref=application_ref(application))


def application_photo_attach(
    *,
    actor: User,
    application: Application,
    image: bytes | None = None,
    prepared: PreparedPhoto | None = None,
) -> PhotoOutcome:
    """Check an uploaded or captured photo against the photo standard and, when it passes, keep
    it with the face searches (查重) it leads to. A failed photo is not kept: the clerk retakes.
    `prepared` is `photo_prepare`'s result when the caller did the biometric work already."""
    require_own_counter(actor, application)
    if application.status != Status.DRAFT:
        raise ServiceError("not_draft", "已受理的申领不能再修改。", status=409)
    prepared = prepared or _prepare_for(application, image)
    with transaction.atomic(durable=True):
        photo_keep(actor=actor, application=application, prepared=prepared)
    return PhotoOutcome(prepared.passed, prepared.messages, prepared.conformed)


def photo_keep(*, actor: User | None, application: Application, prepared: PreparedPhoto) -> None:
    application = lock(application)
    if application.status != Status.DRAFT:
        raise ServiceError("not_draft", "已受理的申领不能再修改。", status=409)
    application.photo_report = prepared.report
    if prepared.passed:
        application.photo = prepared.image
        keep_card_images(application, prepared.images)
        application.face_hits = prepared.hits
    application.save()
    failed = [rule["code"] for rule in prepared.report["rules"] if not rule["passed"]]
    application_event(
        application,
        actor=actor,
        action=EventAction.PHOTO_CHECKED,
        detail={"passed": prepared.passed, "failed": failed, "conformed": prepared.conformed},
    )


def guardian_photo_check(image: bytes) -> PhotoOutcome:
    """Whether a 同框 photo shows both faces usably (slow: run it outside transactions)."""
    try:
        quality = group_photo_check(image)
    except BiometricError as exc:
        return PhotoOutcome(False, (exc.message,), False)
    return PhotoOutcome(quality.passed, quality.reasons, False)


def application_guardian_photo_attach(
    *,
    actor: User,
    application: Application,
    image: bytes,
    checked: PhotoOutcome | None = None,
) -> PhotoOutcome:
    """The photo of a minor together with the guardian (同框): kept when both faces are usable.
    `checked` is `guardian_photo_check(image)` when the caller ran it already."""
    require_own_counter(actor, application)
    quality = checked or guardian_photo_check(image)
    with transaction.atomic(durable=True):
        guardian_photo_keep(actor=actor, application=application, image=image, quality=quality)
    return quality


def guardian_photo_keep(
    *, actor: User | None, application: Application, image: bytes, quality: PhotoOutcome
) -> None:
    application = lock(application)
    if application.status != Status.DRAFT:
        raise ServiceError("not_draft", "已受理的申领不能再修改。", status=409)
    if quality.passed:
        application.guardian_photo = image
        application.save()
    application_event(
        application,
        actor=actor,
        action=EventAction.GUARDIAN_PHOTO_CHECKED,
        detail={"passed": quality.passed},
    )


# ---------------------------------------------------------------------------------------------
# Fingerprints


@dataclass(frozen=True)
class FingerCapture:
    """One finger from the counter: an image (or a template from the capture device) when it was
    taken, or the outcome 注册失败 / 未注册 with its reason."""

    position: str
    outcome: rules.FingerOutcome
    image: bytes | None = None
    template: bytes | None = None  # in the engine's format, from a capture client
    reason: str = ""


@dataclass(frozen=True)
class FingerRow:
    """A finger ready to store: its result and, when registered, its template."""

    position: str
    result: str
    reason: str
    quality: float | None
    template: Template | None


def _finger_row(capture: FingerCapture) -> FingerRow:
    if capture.outcome != rules.FingerOutcome.REGISTERED:
        if not capture.reason.strip():
            raise ServiceError(
                "reason_required",
                "注册失败或未注册的手指须填写原因。",
                fields={capture.position: "请填写原因（如：手指受伤、残疾、无法提取特征）。"},
            )
        return FingerRow(capture.position, capture.outcome.value, capture.reason.strip()[:200], None, None)
    sdk = get_sdk(Modality.FINGER)
    if capture.template is not None:
        template = Template(Modality.FINGER, FINGER_TEMPLATE_FORMAT, capture.template, capture.position)
        try:
            sdk.match(template, [template])  # parses it: a broken template is refused now
        except BiometricError as exc:
            raise ServiceError(
                exc.code, exc.message, fields={capture.position: exc.message}, status=exc.status
            ) from exc
        return FingerRow(capture.position, capture.outcome.value, "", None, template)
    if capture.image is None:
        raise ServiceError(
            "finger_missing", "注册成功的手指须提供指纹图像。", fields={capture.position: "缺少指纹图像"}
        )
    sample = Sample(Modality.FINGER, capture.image, capture.position)
    try:
        quality = sdk.check_quality(sample)
        if not quality.passed:
            raise ServiceError(
                "finger_quality",
                "；".join(quality.reasons),
                fields={capture.position: "；".join(quality.reasons)},
            )
        template = sdk.extract_template(sample)
    except BiometricError as exc:
        raise ServiceError(
            exc.code, exc.message, fields={capture.position: exc.message}, status=exc.status
        ) from exc
    return FingerRow(capture.position, capture.outcome.value, "", quality.score, template)


def fingers_prepare(captures: Iterable[FingerCapture]) -> list[FingerRow]:
    """Quality check and template extraction of each captured finger (about a second each: run
    it outside transactions). Refuses a bad position, a missing reason or an unusable image."""
    captures = list(captures)
    for capture in captures:
        if capture.position not in rules.RIGHT_HAND + rules.LEFT_HAND:
            raise ServiceError("bad_position", f"指位代码“{capture.position}”无效（应为 11–20）。")
    return [_finger_row(capture) for capture in captures]


def application_fingers_record(
    *,
    actor: User,
    application: Application,
    captures: Iterable[FingerCapture] = (),
    prepared: list[FingerRow] | None = None,
    replace: bool = False,
) -> rules.FingerPlan:
    """Record fingers in the capture order (right thumb, left thumb, next finger of a hand that
    cannot give one). `replace` starts the set again; otherwise the captures add to it. Templates
    are sealed at rest. `prepared` is `fingers_prepare(captures)` when the caller ran it already.
    Returns what is still to capture."""
    require_own_counter(actor, application)
    rows = prepared if prepared is not None else fingers_prepare(captures)
    with transaction.atomic(durable=True):
        return fingers_keep(actor=actor, application=application, rows=rows, replace=replace)


def fingers_keep(
    *, actor: User | None, application: Application, rows: list[FingerRow], replace: bool
) -> rules.FingerPlan:
    application = lock(application)
    if application.status != Status.DRAFT:
        raise ServiceError("not_draft", "已受理的申领不能再修改。", status=409)
    existing = {} if replace else dict(application.fingerprints.values_list("position", "result"))
    merged = existing | {row.position: row.result for row in rows}
    plan = rules.finger_plan({pos: rules.FingerOutcome(result) for pos, result in merged.items()})
    if plan.errors:
        raise ServiceError("finger_order", " ".join(plan.errors))
    if replace:
        application.fingerprints.all().delete()
    for row in rows:
        Fingerprint.objects.update_or_create(
            application=application,
            position=row.position,
            defaults={
                "result": row.result,
                "reason": row.reason,
                "quality": row.quality,
                "format": row.template.format if row.template else "",
                "template": bytes(row.template.data) if row.template else None,
            },
        )
    application_event(
        application,
        actor=actor,
        action=EventAction.FINGERS_RECORDED,
        detail={"fingers": {row.position: row.result for row in rows}},
    )
    return plan


# ---------------------------------------------------------------------------------------------
# Re-collection after a quality failure at the production centre (质量回馈)


def application_photo_recollect(
    *,
    actor: User,
    application: Application,
    image: bytes | None = None,
    prepared: PreparedPhoto | None = None,
) -> PhotoOutcome:
    """重新采集相片: the centre found the photo unfit (待重新采集); the acceptance station takes a
    new one. A photo that passes the standard replaces the old one (and its face in the
    applications gallery) and the application goes back to the production queue (已签发); a
    failing one is not kept and the clerk retakes. `prepared` is `photo_prepare`'s result when
    the caller did the biometric work already."""
    require_own_counter(actor, application)
    if application.status != Status.RECOLLECT:
        raise ServiceError("not_recollect", "只有待重新采集的申领可以重新采集相片。", status=409)
    prepared = prepared or _prepare_for(application, image)
    with transaction.atomic(durable=True):
        application = lock(application)
        if application.status != Status.RECOLLECT:
            raise ServiceError("not_recollect", "只有待重新采集的申领可以重新采集相片。", status=409)
        failed = [rule["code"] for rule in prepared.report["rules"] if not rule["passed"]]
        detail = {"passed": prepared.passed, "failed": failed, "conformed": prepared.conformed}
        if not prepared.passed:
            application_event(application, actor=actor, action=EventAction.PHOTO_CHECKED, detail=detail)
            return PhotoOutcome(False, prepared.messages, prepared.conformed)
        application.photo = prepared.image
        keep_card_images(application, prepared.images)
        application.photo_report = prepared.report
        application.face_hits = prepared.hits
        application_transition(
            application,
            Transition.RECOLLECT_PHOTO,
            actor=actor,
            note="已重新采集相片，重新进入制证队列。",
            detail=detail,
        )
        if prepared.template is not None:
            get_abis().insert(
                application_ref(application), prepared.template, Gallery.APPLICATIONS, actor=actor
            )
    return PhotoOutcome(True, prepared.messages, prepared.conformed)


# ---------------------------------------------------------------------------------------------
# Production segments of applications kept before the counter made them (补生成制证相片)

# What may still go into a data package: the applications up to the production queue and in it.
PACKAGEABLE_STATUSES = OPEN_STATUSES | {Status.ISSUED, Status.IN_PRODUCTION}
CARD_IMAGES_CHUNK = 500


@dataclass
class CardImagesBackfill:
    made: int = 0
    failed: list[str] = field(default_factory=list)  # 受理号 (or id) of photos that cannot be scaled


def card_images_backfill(
    *, actor: User | None, progress: Callable[[int, int], None] | None = None
) -> CardImagesBackfill:
    """Make the production segment (the chip photo, and the two encrypted: `CardImages`) of
    every application still to be packaged that was kept before the counter made it: the same
    chip copy (`biometrics.photo.chip_photo`) the counter makes, so that a batch of them packages
    as fast as new ones. Packaging makes a missing segment itself, so this only saves time; it is
    idempotent and can be stopped and run again.

    In chunks of CARD_IMAGES_CHUNK by id: the segments are made outside any transaction, then
    written under the rows' locks to those that still have the photo they were made from and no
    segment (a photo re-collected meanwhile came with its own), each audited. A photo that cannot
    be scaled is left as it is and reported (packaging refuses it the same way)."""
    pending = Application.objects.filter(
        status__in=PACKAGEABLE_STATUSES, photo__isnull=False, card_images__isnull=True
    )
    total = pending.count()
    report = CardImagesBackfill()
    done, last = 0, 0
    while True:
        rows = list(
            pending.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "number", "photo")[:CARD_IMAGES_CHUNK]
        )
        if not rows:
            break
        last = rows[-1][0]
        made: dict[int, tuple[bytes, CardImages]] = {}
        for pk, number, photo in rows:
            if photo is None:  # filtered out; for the type checker
                continue
            image = bytes(photo)
            try:
                made[pk] = (image, seal_card_images(image, photo_standard.chip_photo(image)))
            except BiometricError:
                report.failed.append(number or str(pk))
        with transaction.atomic(durable=True):
            locked = (
                pending.select_for_update()
                .filter(pk__in=list(made))
                .order_by("pk")
                .values_list("pk", "photo")
            )
            changed = []
            for pk, photo in locked:
                if photo is not None and bytes(photo) == made[pk][0]:
                    row = Application(pk=pk)
                    keep_card_images(row, made[pk][1])
                    changed.append(row)
            if changed:
                Application.objects.bulk_update(changed, ["card_images", "card_images_key"])
                record_many(
                    actor=actor,
                    entries=[
                        Entry(AuditAction.APPLICATION_CARD_IMAGES_MADE, "intake.application", row.pk)
                        for row in changed
                    ],
                )
        report.made += len(changed)
        done += len(rows)
        if progress is not None:
            progress(done, total)
    return report
