"""Production (制证) actions: keys, batches (调度打包), data packages and feedback (制证回馈/
质量回馈). Applications move only through intake's named transitions (`intake/transitions.py`): ISSUED →
IN_PRODUCTION when batched (BATCH), then PRODUCED (PRODUCE), RECOLLECT (FAIL_QUALITY: the station
re-collects the photo) or ISSUED again (REPRINT).
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import BinaryField, Count, ExpressionWrapper, F, Q
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.biometrics.interfaces import BiometricError
from tongban.biometrics.photo import chip_photo
from tongban.core.crypto import SM2Error, SM2KeyPair, sm2_generate, sm2_public_key, sm3_hex
from tongban.core.errors import ServiceError
from tongban.core.keys import (
    SYSTEM_KEY_KIND,
    UNLOCK_HELP,
    KeyLocked,
    SystemKeyInvalid,
    SystemKeyMissing,
    key_file_json,
    key_file_pair,
    keys_passphrase,
    load_system_key,
    system_key_path,
    write_key_file,
)
from tongban.intake.models import Application, Fingerprint
from tongban.intake.transitions import LISTENED_FIELDS, Transition, application_transition
from tongban.notifications.services import compose, notify
from tongban.production import package as package_format
from tongban.production.feedback import FeedbackLine
from tongban.production.models import Batch, BatchItem, CentreKey, FeedbackUpload
from tongban.production.selectors import production_queue, queue_counts, viewer_centre
from tongban.registry.models import Card, Unit, centre_station_ids

Status = Application.Status
NOT_FOUND = "未找到。"


def _conf() -> dict[str, Any]:
    return dict(settings.CARD_PRODUCTION)


def _require_own(actor: User | None, centre_id: int, action: str) -> None:
    """Only the operators of the centre itself: 403 for a role that does not work at a centre,
    404 for another centre's (nobody learns what a centre holds). `actor=None` is the command
    line or a scheduled job, acting for the centre."""
    if actor is not None and viewer_centre(actor, action).pk != centre_id:
        raise ServiceError("not_found", NOT_FOUND, status=404)


# ---------------------------------------------------------------------------------------------
# Keys (`tongban keys ...`)

CENTRE_KEY_KIND = "tongban.centre-key/1"


def system_key_generate(*, force: bool = False) -> SM2KeyPair:
    """The system's SM2 signing pair (签名密钥), stored under TONGBAN_KEYS_DIR, its private half
    encrypted with the keys passphrase when one is configured. Centres verify packages with its
    public half, which their key files carry."""
    pair = sm2_generate()
    passphrase = keys_passphrase()
    write_key_file(system_key_path(), key_file_json(SYSTEM_KEY_KIND, pair, passphrase), force=force)
    record(
        actor=None,
        action=AuditAction.PRODUCTION_SYSTEM_KEY_GENERATED,
        detail={"fingerprint": pair.fingerprint, "encrypted": bool(passphrase)},
    )
    return pair


def key_file_encrypt(path: Path) -> SM2KeyPair:
    """Seal the private key of a plain key file (the system's, or a centre's) with the keys
    passphrase, in place; the key itself is unchanged."""
    passphrase = keys_passphrase()
    if not passphrase:
        raise ServiceError("no_passphrase", UNLOCK_HELP)
    try:
        data = json.loads(path.read_text())
        if "sealed_private_key" in data:
            raise ServiceError("already_encrypted", f"{path} 的私钥已经加密。", status=409)
        pair = key_file_pair(data, path)
    except (OSError, ValueError, KeyError, TypeError, SM2Error) as exc:
        raise ServiceError("bad_key_file", f"{path} 不是有效的密钥文件：{exc}") from exc
    extra = {k: v for k, v in data.items() if k not in ("kind", "private_key", "public_key")}
    write_key_file(path, key_file_json(str(data["kind"]), pair, passphrase, **extra), force=True)
    record(
        actor=None,
        action=AuditAction.PRODUCTION_KEY_ENCRYPTED,
        detail={"path": str(path), "fingerprint": pair.fingerprint},
    )
    return pair


def system_key() -> SM2KeyPair:
    try:
        return load_system_key()
    except SystemKeyMissing as exc:
        raise ServiceError(
            "no_system_key", "系统签名密钥尚未生成，请运行 tongban keys generate-system。", status=409
        ) from exc
    except KeyLocked as exc:
        raise ServiceError("bad_system_key", str(exc), status=500) from exc
    except SystemKeyInvalid as exc:
        raise ServiceError("bad_system_key", f"系统签名密钥文件 {exc} 无效。", status=500) from exc


@dataclass(frozen=True)
class CentreKeyFile:
    """What a centre holds: its private key and the system's public key (the trust anchor)."""

    centre: str
    key: SM2KeyPair
    system_public: str


def centre_key_generate(*, centre: Unit, out: Path, force: bool = False, rotate: bool = False) -> CentreKey:
    """A new SM2 pair for `centre`: the public half becomes its active key (packages are
    encrypted for it from now on), the private half goes to `out` for the centre, and is not kept.
    The file is plain: the centre encrypts it with its own passphrase (`tongban keys encrypt`).

    `rotate` (`tongban keys rotate-centre`): the centre must have an active key, which is retired,
    not deleted: the batches made before keep pointing at it, and their packages, which name it by
    fingerprint, still open with the old private key file."""
    if centre.kind != Unit.Kind.CENTRE:
        raise ServiceError("not_a_centre", f"{centre.code} 不是制证中心。")
    system = system_key()
    with transaction.atomic():
        previous = CentreKey.objects.select_for_update().filter(centre=centre, active=True).first()
        if rotate and previous is None:
            raise ServiceError(
                "no_centre_key",
                f"制证中心 {centre.code} 尚无密钥，请运行 tongban keys generate-centre。",
                status=409,
            )
        pair = sm2_generate()
        write_key_file(
            out,
            key_file_json(CENTRE_KEY_KIND, pair, "", centre=centre.code, system_public_key=system.public),
            force=force,
        )
        CentreKey.objects.filter(centre=centre, active=True).update(active=False)
        key = CentreKey.objects.create(centre=centre, public_key=pair.public, fingerprint=pair.fingerprint)
        detail = {"centre": centre.code, "fingerprint": pair.fingerprint}
        if rotate:
            detail["previous"] = previous.fingerprint if previous is not None else ""
        record(
            actor=None,
            action=AuditAction.PRODUCTION_CENTRE_KEY_ROTATED
            if rotate
            else AuditAction.PRODUCTION_CENTRE_KEY_GENERATED,
            object_type="production.centrekey",
            object_id=key.pk,
            detail=detail,
        )
    return key


def read_centre_key_file(path: Path) -> CentreKeyFile:
    try:
        data = json.loads(path.read_text())
        if data.get("kind") != CENTRE_KEY_KIND:
            raise ValueError("not a centre key file")
        pair = key_file_pair(data, path)
        system_public = sm2_public_key(data["system_public_key"])
    except KeyLocked as exc:
        raise ServiceError("key_locked", str(exc)) from exc
    except (OSError, ValueError, KeyError, TypeError, SM2Error) as exc:
        raise ServiceError("bad_key_file", f"{path} 不是有效的制证中心密钥文件：{exc}") from exc
    return CentreKeyFile(centre=str(data.get("centre", "")), key=pair, system_public=system_public)


# ---------------------------------------------------------------------------------------------
# Batches (调度打包)


def _batch_size(size: int | None) -> int:
    conf = _conf()
    size = size or int(conf["BATCH_SIZE"])
    if not 1 <= size <= int(conf["BATCH_MAX"]):
        message = f"批次证件数应为 1–{conf['BATCH_MAX']}。"
        raise ServiceError("bad_size", message, fields={"size": message})
    return size


def batch_create(
    *,
    actor: User | None,
    centre: Unit,
    acceptance_unit: Unit | None = None,
    size: int | None = None,
) -> Batch:
    """调度打包: a batch of up to `size` issued applications from the centre's queue, oldest issue
    first, optionally of one acceptance unit. Each application lands in one batch even when two
    operators batch at once: the rows are locked (on PostgreSQL, rows another operator holds are
    skipped), the transition ISSUED → IN_PRODUCTION is checked, and a partial unique constraint
    allows one pending batch item per application."""
    _require_own(actor, centre.pk, "production.batch")
    size = _batch_size(size)
    stations = centre_station_ids(centre)
    if acceptance_unit is not None:
        if acceptance_unit.pk not in stations:
            message = "该受理单位的申领不由本制证中心制作。"
            raise ServiceError("not_this_centre", message, fields={"acceptance_unit": message})
        stations = [acceptance_unit.pk]
    try:
        with transaction.atomic():
            candidates = Application.objects.filter(status=Status.ISSUED, acceptance_unit_id__in=stations)
            if connection.features.has_select_for_update_skip_locked:
                candidates = candidates.select_for_update(skip_locked=True)
            # Only what the transition writes: save() then updates these columns alone.
            picked = list(
                candidates.only(
                    "pk", "status", "number", "issued_at", "updated_at", *LISTENED_FIELDS
                ).order_by("issued_at", "pk")[:size]
            )
            if not picked:
                raise ServiceError("queue_empty", "没有待调度的已签发申领。", status=409)
            batch = Batch.objects.create(
                number=f"tmp-{secrets.token_hex(8)}",
                centre=centre,
                acceptance_unit=acceptance_unit,
                created_by=actor,
                size=len(picked),
            )
            batch.number = f"{centre.code}{timezone.localdate():%Y%m%d}{batch.pk:06d}"
            batch.save(update_fields=["number"])
            BatchItem.objects.bulk_create([BatchItem(batch=batch, application=a) for a in picked])
            for application in picked:
                application_transition(
                    application,
                    Transition.BATCH,
                    actor=actor,
                    note=f"调度打包：批次 {batch.number}",
                    detail={"batch": batch.number},
                )
            record(
                actor=actor,
                action=AuditAction.PRODUCTION_BATCH_CREATED,
                object_type="production.batch",
                object_id=batch.pk,
                detail={
                    "number": batch.number,
                    "size": batch.size,
                    "acceptance_unit": acceptance_unit.code if acceptance_unit else "",
                },
            )
    except IntegrityError as exc:  # another batch took one of them meanwhile
        raise ServiceError("batch_conflict", "部分申领已被其他批次调度，请重试。", status=409) from exc
    return batch


@dataclass(frozen=True)
class BatchRule:
    """A centre's 调度 rule: batches of `size`, and what is left batched once its oldest
    application has waited `max_wait`."""

    size: int
    max_wait: datetime.timedelta


def batch_rule(centre: Unit) -> BatchRule:
    """The centre's own rule (TONGBAN_BATCH_CENTRES), or TONGBAN_BATCH_SIZE and
    TONGBAN_BATCH_MAX_WAIT_HOURS."""
    conf = _conf()
    default = (conf["BATCH_SIZE"], conf["BATCH_MAX_WAIT_HOURS"])
    size, hours = conf["CENTRE_RULES"].get(centre.code, default)
    return BatchRule(_batch_size(size), datetime.timedelta(hours=hours))


def batch_schedule(
    *, size: int | None = None, centre: Unit | None = None, flush: bool = False
) -> list[Batch]:
    """调度打包 by each centre's rule (`batch_rule`), per acceptance unit: every full batch
    waiting, then what is left as one batch once its oldest application has waited the rule's
    time, or at once with `flush`. `size` replaces the rules' size. For every centre or one: the
    schedule and `tongban production schedule` call it.

    Each acceptance unit is counted again and batched under a lock on the centre's row, so a
    second scheduler at the same moment (two workers, the command beside the schedule) waits and
    then finds what the first left: it neither batches an application twice (batch_create's row
    locks would stop that too) nor makes a short batch of what the first one holds."""
    centres = [centre] if centre is not None else list(Unit.objects.filter(kind=Unit.Kind.CENTRE))
    made: list[Batch] = []
    for each in centres:
        rule = batch_rule(each)
        per_batch = _batch_size(size) if size else rule.size
        waited = timezone.now() - rule.max_wait
        for row in queue_counts(each):
            with transaction.atomic():
                Unit.objects.select_for_update().filter(pk=each.pk).first()
                counts = production_queue(each, station_ids=[row.unit_id]).aggregate(
                    total=Count("pk"), waited=Count("pk", filter=Q(issued_at__lte=waited))
                )
                batches, rest = divmod(counts["total"], per_batch)
                # Full batches take the oldest first: what they leave holds one that has waited
                # the rule's time when more have waited than they take.
                if rest and (flush or counts["waited"] > batches * per_batch):
                    batches += 1
                unit = Unit.objects.get(pk=row.unit_id)
                for _ in range(batches):
                    try:
                        made.append(
                            batch_create(actor=None, centre=each, acceptance_unit=unit, size=per_batch)
                        )
                    except ServiceError as error:
                        if error.code != "queue_empty":
                            raise
                        break  # an operator batched them meanwhile
    return made


# ---------------------------------------------------------------------------------------------
# Data packages


# Applications read at once while packaging: two queries per chunk (the applications with their
# code names and units, then their fingers), none per card.
PACKAGE_CHUNK = 500
_CARD_COLUMNS = (
    "pk",
    "number",
    "name",
    "sex_id",
    "sex__name",
    "ethnicity_id",
    "ethnicity__name",
    "birth_date",
    "household_address",
    "id_number",
    "issuing_authority",
    "valid_from",
    "valid_until",
    "acceptance_unit__code",
    "acceptance_unit__name",
)
_PHOTO = Application._meta.get_field("photo")
_IMAGES_KEY = Application._meta.get_field("card_images_key")
_TEMPLATE = Fingerprint._meta.get_field("template")


def _stored(name: str) -> ExpressionWrapper:
    """A sealed column as stored: unsealed apart (`_unsealed`), off the thread that reads."""
    return ExpressionWrapper(F(name), output_field=BinaryField())


def _unsealed(column: Any, value: Any) -> bytes | None:
    return column.from_db_value(value, None, connection)


def package_cards(batch: Batch) -> Iterator[package_format.PackageCard]:
    """The cards of a batch as the package needs them, in order of application, read in chunks
    of PACKAGE_CHUNK. Each card's photo and chip photo are the segment the counter encrypted when
    it kept the photo (`Application.card_images`), copied as they are; an application kept
    before there were segments has its photo read and its segment made here, the same content,
    only slower (`tongban applications card-images` fills them in).

    The database is read here, in the caller's thread; a second thread unseals the keys and
    templates of a chunk (and makes any missing segment) while the caller packages the chunk
    before."""
    ids = list(batch.items.order_by("application_id").values_list("application_id", flat=True))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="package-unseal") as unsealing:
        ready: Future[list[package_format.PackageCard]] | None = None
        for start in range(0, len(ids), PACKAGE_CHUNK):
            chunk = ids[start : start + PACKAGE_CHUNK]
            fingers = list(
                Fingerprint.objects.filter(application_id__in=chunk)
                .order_by("application_id", "position")
                .values_list("application_id", "position", "result", "reason", "format", _stored("template"))
            )
            rows = list(
                Application.objects.filter(pk__in=chunk)
                .order_by("pk")
                .values_list(*_CARD_COLUMNS, "card_images", _stored("card_images_key"))
            )
            without = [row[0] for row in rows if row[-2] is None or row[-1] is None]
            photos = (
                dict(Application.objects.filter(pk__in=without).values_list("pk", _stored("photo")))
                if without
                else {}
            )
            following = unsealing.submit(_chunk_cards, rows, fingers, photos)
            if ready is not None:
                yield from ready.result()
            ready = following
        if ready is not None:
            yield from ready.result()


def _chunk_cards(
    rows: list[tuple[Any, ...]], finger_rows: list[tuple[Any, ...]], photos: dict[int, Any]
) -> list[package_format.PackageCard]:
    fingers: dict[int, list[package_format.PackageFinger]] = {}
    for application_id, position, result, reason, template_format, template in finger_rows:
        fingers.setdefault(application_id, []).append(
            package_format.PackageFinger(
                position=position,
                result=result,
                reason=reason,
                format=template_format,
                template=_unsealed(_TEMPLATE, template),
            )
        )
    cards = []
    for (
        pk,
        number,
        name,
        sex_code,
        sex_name,
        ethnicity_code,
        ethnicity_name,
        birth_date,
        address,
        id_number,
        authority,
        valid_from,
        valid_until,
        unit_code,
        unit_name,
        segment,
        sealed_key,
    ) in rows:
        if valid_from is None:
            raise _incomplete(number)
        cards.append(
            package_format.PackageCard(
                number=number or "",
                name=name,
                sex_code=sex_code,
                sex_name=sex_name,
                ethnicity_code=ethnicity_code,
                ethnicity_name=ethnicity_name,
                birth_date=birth_date,
                address=address,
                id_number=id_number,
                issuing_authority=authority,
                valid_from=valid_from,
                valid_until=valid_until,
                acceptance_unit_code=unit_code,
                acceptance_unit_name=unit_name,
                images=(
                    _card_images(number, segment, _unsealed(_IMAGES_KEY, sealed_key))
                    if pk not in photos
                    else _images_from_photo(number, _unsealed(_PHOTO, photos[pk]))
                ),
                fingers=tuple(fingers.get(pk, ())),
            )
        )
    return cards


def _incomplete(number: str | None) -> ServiceError:
    return ServiceError(
        "incomplete_application", f"受理号 {number} 缺少相片或有效期限，无法打包。", status=409
    )


def _card_images(number: str | None, segment: Any, record: bytes | None) -> package_format.CardImages:
    try:
        return package_format.CardImages.from_record(bytes(segment), record or b"")
    except ValueError as exc:  # only a damaged row: the counter writes both or neither
        raise _incomplete(number) from exc


def _images_from_photo(number: str | None, photo: bytes | None) -> package_format.CardImages:
    """The segment of an application kept before the counter made one."""
    if photo is None:
        raise _incomplete(number)
    try:
        return package_format.seal_card_images(photo, chip_photo(photo))
    except BiometricError as exc:
        raise ServiceError(
            "chip_photo_failed",
            f"受理号 {number} 的相片无法生成芯片相片：{exc.message}",
            status=409,
        ) from exc


def package_path(batch: Batch) -> Path:
    return Path(_conf()["PACKAGE_DIR"]) / batch.package_file


def _check_packable(batch: Batch) -> None:
    if batch.state == Batch.State.CLOSED or batch.items.exclude(result="").exists():
        raise ServiceError("has_feedback", "该批次已有制证回馈，不能重新打包。", status=409)


def batch_package(*, actor: User | None, batch: Batch) -> Batch:
    """数据包: sign, digest and encrypt the batch's cards for its centre into one stored file.
    The slow part (reading and unsealing the cards, SM3, SM4) runs before the short transaction
    that records it; a batch packaged again (while no feedback came) gets a new file with a new
    content key."""
    _require_own(actor, batch.centre_id, "production.batch")
    _check_packable(batch)
    system = system_key()
    centre_key = CentreKey.objects.filter(centre_id=batch.centre_id, active=True).first()
    if centre_key is None:
        raise ServiceError(
            "no_centre_key",
            "本制证中心尚未配置密钥，请由管理员运行 tongban keys generate-centre。",
            status=409,
        )
    created = timezone.now()
    centre_code = Unit.objects.values_list("code", flat=True).get(pk=batch.centre_id)
    relative = f"{centre_code}/{batch.number}-{created:%Y%m%d%H%M%S}-{secrets.token_hex(3)}.tbpkg"
    path = Path(_conf()["PACKAGE_DIR"]) / relative
    info = package_format.write_package(
        path,
        batch=batch.number,
        centre=centre_code,
        created_at=created,
        cards=package_cards(batch),
        system_key=system,
        centre_public=centre_key.public_key,
    )
    try:
        with transaction.atomic(durable=True):
            locked = Batch.objects.select_for_update().get(pk=batch.pk)
            _check_packable(locked)
            previous = locked.package_file
            locked.state = Batch.State.PACKAGED
            locked.packaged_at = created
            locked.package_file = relative
            locked.package_size = info.size
            locked.package_sm3 = info.header_sm3
            locked.centre_key = centre_key
            locked.save()
            record(
                actor=actor,
                action=AuditAction.PRODUCTION_BATCH_PACKAGED,
                object_type="production.batch",
                object_id=locked.pk,
                detail={
                    "number": locked.number,
                    "cards": info.cards,
                    "size": info.size,
                    "sm3": info.header_sm3,
                    "centre_key": centre_key.fingerprint,
                },
            )
            if previous:
                old = Path(_conf()["PACKAGE_DIR"]) / previous
                transaction.on_commit(lambda: old.unlink(missing_ok=True))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return locked


def package_download_record(*, actor: User, batch: Batch) -> Path:
    """The stored package file of a batch, its download audited."""
    _require_own(actor, batch.centre_id, "production.view")
    path = package_path(batch)
    if not batch.package_file or not path.is_file():
        raise ServiceError("not_packaged", "该批次尚未生成数据包。", status=404)
    record(
        actor=actor,
        action=AuditAction.PRODUCTION_PACKAGE_DOWNLOADED,
        object_type="production.batch",
        object_id=batch.pk,
        detail={"number": batch.number, "sm3": batch.package_sm3},
    )
    return path


# ---------------------------------------------------------------------------------------------
# Feedback (制证回馈/质量回馈)


@dataclass
class FeedbackReport:
    upload_id: int | None = None
    duplicate_of: int | None = None  # an earlier upload of the very same file
    applied: list[dict[str, str]] = field(default_factory=list)
    already_applied: list[dict[str, str]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "duplicate_of": self.duplicate_of,
            "counts": {
                "applied": len(self.applied),
                "already_applied": len(self.already_applied),
                "rejected": len(self.rejected),
            },
            "applied": self.applied,
            "already_applied": self.already_applied,
            "rejected": self.rejected,
        }


class _Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def feedback_apply(
    *,
    actor: User,
    centre: Unit,
    lines: list[FeedbackLine],
    source: str,
    raw: bytes | None = None,
    filename: str = "",
) -> FeedbackReport:
    """Apply a centre's feedback line by line, each in its own transaction: a bad line is
    rejected with its reason and the others still apply. Idempotent: a line already applied is
    reported as such and changes nothing, so re-uploading a file is harmless (the file's SM3
    also names the earlier upload)."""
    _require_own(actor, centre.pk, "production.feedback")
    if source not in FeedbackUpload.Source.values:
        raise ValueError(f"unknown feedback source {source!r}")
    canonical = json.dumps([line.__dict__ for line in lines], ensure_ascii=False, sort_keys=True)
    digest = sm3_hex(raw if raw is not None else canonical.encode())
    report = FeedbackReport()
    report.duplicate_of = (
        FeedbackUpload.objects.filter(centre=centre, digest=digest)
        .order_by("pk")
        .values_list("pk", flat=True)
    ).first()
    for line in lines:
        row = line.key()
        if line.error:
            report.rejected.append({**row, "code": "invalid", "message": line.error})
            continue
        try:
            with transaction.atomic(durable=True):
                applied = _apply_line(actor=actor, centre=centre, line=line)
        except IntegrityError:  # the serial was taken by a concurrent upload after the check
            message = f"卡号 {line.card_serial} 已被其他证件使用。"
            report.rejected.append({**row, "code": "serial_used", "message": message})
        except _Rejected as refusal:
            report.rejected.append({**row, "code": refusal.code, "message": refusal.message})
        except ServiceError as error:
            report.rejected.append({**row, "code": error.code, "message": error.message})
        else:
            done = {**row, "result": line.result, "reason": line.reason}
            (report.applied if applied else report.already_applied).append(done)
    with transaction.atomic(durable=True):
        upload = FeedbackUpload.objects.create(
            centre=centre,
            source=source,
            filename=filename[:200],
            digest=digest,
            uploaded_by=actor,
            applied=len(report.applied),
            already_applied=len(report.already_applied),
            rejected=len(report.rejected),
            report={},
        )
        report.upload_id = upload.pk
        upload.report = report.as_dict()
        upload.save(update_fields=["report"])
        record(
            actor=actor,
            action=AuditAction.PRODUCTION_FEEDBACK_UPLOADED,
            object_type="production.feedbackupload",
            object_id=upload.pk,
            detail={"source": source, "sm3": digest, **upload.report["counts"]},
        )
    return report


_APPLICATION_FIELDS = (
    "pk",
    "status",
    "number",
    "person_id",
    "phone",
    "issuing_authority",
    "valid_from",
    "valid_until",
    "acceptance_unit_id",
    "updated_at",
    *LISTENED_FIELDS,
)


def _apply_line(*, actor: User, centre: Unit, line: FeedbackLine) -> bool:
    """One line, under the batch's lock (so the last line closes its batch exactly once).
    True when applied now, False when it had been applied before."""
    batch = Batch.objects.select_for_update().filter(centre=centre, number=line.batch).first()
    if batch is None:
        raise _Rejected("unknown_batch", f"本制证中心没有批次 {line.batch}。")
    if batch.state == Batch.State.OPEN:
        raise _Rejected("not_packaged", f"批次 {line.batch} 尚未打包，不能回馈。")
    item = BatchItem.objects.select_for_update().filter(batch=batch, application__number=line.number).first()
    if item is None:  # the same answer whether the number exists elsewhere or not at all
        raise _Rejected("unknown_application", f"批次 {line.batch} 中没有受理号 {line.number}。")
    if item.result:
        if (item.result, item.card_serial, item.reason) == (line.result, line.card_serial, line.reason):
            return False
        raise _Rejected(
            "conflicting_feedback", f"该受理号在本批次已回馈为“{item.get_result_display()}”，不能更改。"
        )
    application = (
        Application.objects.select_for_update().only(*_APPLICATION_FIELDS).get(pk=item.application_id)
    )
    if application.status != Status.IN_PRODUCTION:
        raise _Rejected(
            "not_in_production", f"该申领当前为“{application.get_status_display()}”，不在制证中。"
        )
    now = timezone.now()
    detail = {"batch": batch.number}
    if line.result == BatchItem.Result.PRODUCED:
        if Card.objects.filter(card_serial=line.card_serial).exists():
            raise _Rejected("serial_used", f"卡号 {line.card_serial} 已被其他证件使用。")
        if application.valid_from is None:
            raise _Rejected("no_validity", "该申领没有有效期限，无法登记证件。")
        Card.objects.create(
            person_id=application.person_id,
            application_number=application.number or "",
            card_serial=line.card_serial,
            issuing_authority=application.issuing_authority,
            valid_from=application.valid_from,
            valid_until=application.valid_until,
            state=Card.State.PRODUCED,
        )
        application_transition(
            application,
            Transition.PRODUCE,
            actor=actor,
            note=f"制证回馈：已制证，卡号 {line.card_serial}",
            detail={**detail, "card_serial": line.card_serial},
        )
    else:
        reason = BatchItem.Reason(line.reason)
        text = f"质量回馈：{reason.label}" + (f"（{line.note}）" if line.note else "")
        if reason == BatchItem.Reason.PHOTO_QUALITY:
            application_transition(
                application,
                Transition.FAIL_QUALITY,
                actor=actor,
                note=f"{text}，请受理单位重新采集相片。",
                detail={**detail, "reason": reason.value},
            )
            station = Unit.objects.values_list("code", flat=True).get(pk=application.acceptance_unit_id)
            notify(
                compose(
                    "production.recollect.station",
                    unit_code=station,
                    application_id=application.pk,
                    number=application.number,
                )
            )
            notify(
                compose(
                    "production.recollect",
                    phone=application.phone,
                    application_id=application.pk,
                    number=application.number,
                )
            )
        else:
            application_transition(
                application,
                Transition.REPRINT,
                actor=actor,
                note=f"{text}，重新制证。",
                detail={**detail, "reason": reason.value},
            )
    item.result = line.result
    item.reason = line.reason
    item.card_serial = line.card_serial
    item.note = line.note
    item.feedback_at = now
    item.save(update_fields=["result", "reason", "card_serial", "note", "feedback_at"])
    if not batch.items.filter(result="").exists():
        batch.state = Batch.State.CLOSED
        batch.closed_at = now
        batch.save(update_fields=["state", "closed_at"])
        record(
            actor=actor,
            action=AuditAction.PRODUCTION_BATCH_CLOSED,
            object_type="production.batch",
            object_id=batch.pk,
            detail={"number": batch.number},
        )
    return True
