"""Biometric actions on the register. Writes go through the engine (`engine.get_abis()`), which
records the audit rows."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.biometrics import face, photo
from tongban.biometrics.engine import get_abis, get_sdk
from tongban.biometrics.imaging import decode_image
from tongban.biometrics.interfaces import BiometricError, Gallery, Modality, QualityResult, Sample, Template
from tongban.biometrics.models import BiometricTemplate
from tongban.core import idnumber
from tongban.registry.models import FloatingRegistration, Person, Unit, WantedPerson


def person_ref(person_pk: int) -> str:
    """How a register person is named in the galleries (never by ID number)."""
    return f"person:{person_pk}"


def enrolled_face(person_pk: int) -> Template | None:
    """The face template enrolled from the person's register photo into the 常住人口相片库, or None
    (not enrolled yet, or a vendor engine that keeps its templates to itself). Stored templates
    follow the photo: `register_photos_import` drops the template of a photo it replaces."""
    row = (
        BiometricTemplate.objects.filter(
            gallery=Gallery.PERMANENT, ref_id=person_ref(person_pk), modality=Modality.FACE, position=""
        )
        .values_list("format", "template")
        .first()
    )
    return Template(Modality.FACE, row[0], bytes(row[1])) if row is not None else None


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


# ---------------------------------------------------------------------------------------------
# Register photos from the old system (常住人口相片): `tongban biometrics import-photos FILE.csv`

PHOTO_COLUMNS = ("id_number", "name", "birth_date", "photo")


@dataclass
class PhotoImportResult:
    loaded: int = 0
    rejections: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, message)

    def counts(self) -> dict[str, int]:
        return {"loaded": self.loaded, "rejected": len(self.rejections)}


def _photo_row_person(row: dict[str, str]) -> tuple[Person | None, str, str]:
    """The one register person the row names: number, name and birth date together, since a 重号
    number alone may name several people."""
    try:
        birth = datetime.date.fromisoformat(row["birth_date"].strip())
    except ValueError:
        return None, "invalid_birth_date", "出生日期格式应为 YYYY-MM-DD"
    found = list(
        Person.objects.filter(
            id_number=idnumber.canonical(row["id_number"]), name=row["name"].strip(), birth_date=birth
        )[:2]
    )
    if not found:
        return None, "unknown_person", "人口信息中没有号码、姓名和出生日期都相符的人员"
    if len(found) > 1:
        return None, "ambiguous_person", "号码、姓名和出生日期相同的人员不止一人"
    return found[0], "", ""


@transaction.atomic
def register_photos_import(
    *, path: Path, actor: AuditActor | None, encoding: str = "utf-8-sig"
) -> PhotoImportResult:
    """Load register photos listed in a CSV (columns PHOTO_COLUMNS; `photo` is a JPEG or PNG file
    path relative to the CSV's folder) into `Person.photo`, sealed at rest. Each photo is decoded
    within bounds and stored as JPEG; a row that names no single person or an unreadable file is
    rejected with its reason, and nothing else changes. Enrolment into the permanent gallery is a
    separate step (`register_photos_enrol`); a template enrolled from a photo that the file
    replaces leaves the gallery here, so no search meets a face the register no longer holds."""
    result = PhotoImportResult()
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in PHOTO_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"missing columns: {', '.join(missing)}")
        folder = path.parent.resolve()
        for line, row in enumerate(reader, start=2):
            person, code, message = _photo_row_person(row)
            if person is None:
                result.rejections.append((line, code, message))
                continue
            file = (folder / row["photo"].strip()).resolve()
            if not file.is_relative_to(folder) or not file.is_file():
                result.rejections.append((line, "photo_missing", "相片文件不存在（路径相对于 CSV 所在目录）"))
                continue
            try:
                decoded = decode_image(
                    file.read_bytes(), max_bytes=photo.CONFORM_MAX_BYTES, max_pixels=photo.CONFORM_MAX_PIXELS
                )
            except BiometricError as error:
                result.rejections.append((line, error.code, error.message))
                continue
            out = io.BytesIO()
            decoded.image.convert("RGB").save(out, "JPEG", quality=95)
            replaced = person.photo is not None and bytes(person.photo) != out.getvalue()
            person.photo = out.getvalue()
            person.save(update_fields=["photo", "updated_at"])
            if replaced:
                get_abis().delete(person_ref(person.pk), Gallery.PERMANENT, actor=actor)
            result.loaded += 1
    record(
        actor=actor,
        action=AuditAction.REGISTRY_PHOTOS_IMPORTED,
        object_type="registry.person",
        object_id="",
        detail={**result.counts(), "file": path.name},
    )
    return result
