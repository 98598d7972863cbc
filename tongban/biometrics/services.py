"""Biometric actions on the register. Writes go through the engine (`engine.get_abis()`), which
records the audit rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tongban.audit.services import AuditActor
from tongban.biometrics import face, photo
from tongban.biometrics.engine import get_abis, get_sdk
from tongban.biometrics.imaging import decode_image
from tongban.biometrics.interfaces import BiometricError, Gallery, Modality, QualityResult, Sample
from tongban.registry.models import FloatingRegistration, Person, Unit, WantedPerson


def person_ref(person_pk: int) -> str:
    """How a register person is named in the galleries (never by ID number)."""
    return f"person:{person_pk}"


@dataclass
class EnrolResult:
    enrolled: int = 0
    unusable: int = 0  # photo without exactly one usable face


def register_photos_enrol(
    *, actor: AuditActor | None, unit: Unit | None = None, progress: Callable[[int], None] | None = None
) -> EnrolResult:
    """Put the register's reference photos (of `unit`'s subtree, or all) into the `permanent`
    gallery (常住人口相片库), replacing earlier templates of the same people. Idempotent."""
    people = Person.objects.exclude(photo=None).order_by("pk")
    if unit is not None:
        people = people.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))
    rows = (
        (person_ref(pk), photo) for pk, photo in people.values_list("pk", "photo").iterator(chunk_size=200)
    )
    return _enrol_photos(rows, Gallery.PERMANENT, actor=actor, progress=progress)


def watchlist_photos_enrol(
    *, actor: AuditActor | None, progress: Callable[[int], None] | None = None
) -> dict[str, EnrolResult]:
    """The photos of people on the wanted list (在逃人员库, "wanted:<entry>") and of active floating
    registrations (流动人口库, "floating:<registration>") into their galleries, so that the face of
    every application is compared with them at review. Idempotent."""
    wanted = (
        WantedPerson.objects.filter(active=True)
        .exclude(person__photo=None)
        .exclude(person=None)
        .order_by("pk")
        .values_list("pk", "person__photo")
    )
    floating = (
        FloatingRegistration.objects.filter(active=True)
        .exclude(person__photo=None)
        .order_by("pk")
        .values_list("pk", "person__photo")
    )
    return {
        Gallery.WANTED.value: _enrol_photos(
            ((f"wanted:{pk}", photo) for pk, photo in wanted.iterator(chunk_size=200)),
            Gallery.WANTED,
            actor=actor,
            progress=progress,
        ),
        Gallery.FLOATING.value: _enrol_photos(
            ((f"floating:{pk}", photo) for pk, photo in floating.iterator(chunk_size=200)),
            Gallery.FLOATING,
            actor=actor,
            progress=progress,
        ),
    }


def _enrol_photos(
    rows: Iterable[tuple[str, bytes | None]],
    gallery: Gallery,
    *,
    actor: AuditActor | None,
    progress: Callable[[int], None] | None,
) -> EnrolResult:
    sdk, abis = get_sdk(Modality.FACE), get_abis()
    result = EnrolResult()
    for ref_id, image in rows:
        if image is None:  # excluded by the callers' queries; keeps the type checker informed
            continue
        try:
            template = sdk.extract_template(Sample(Modality.FACE, bytes(image)))
        except BiometricError:
            result.unusable += 1
        else:
            abis.insert(ref_id, template, gallery, actor=actor)
            result.enrolled += 1
        if progress is not None:
            progress(1)
    return result


def group_photo_check(image: bytes, *, min_faces: int = 2) -> QualityResult:
    """The photo of a minor together with the guardian (同框): at least `min_faces` usable faces."""
    decoded = decode_image(
        image, max_bytes=photo.CONFORM_MAX_BYTES, max_pixels=photo.CONFORM_MAX_PIXELS, upright=True
    )
    rgb = face.rgb_array(decoded.image.convert("RGB"))
    result = photo.free_photo_quality(rgb, photo.PhotoStandard.from_settings())
    found = len(face.detect_faces(rgb))
    if found < min_faces:
        return QualityResult(
            Modality.FACE,
            result.score,
            False,
            (f"同框相片应同时拍到申请人和监护人（检测到 {found} 张人脸）", *result.reasons),
        )
    return result
