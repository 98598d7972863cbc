"""The built-in ABIS: 1:N face search over the sealed templates of the database.

The database is the source of truth (`BiometricTemplate`, sealed with SM4-GCM). `TemplateStore`
writes it: each insert or delete with its audit row and change-log row (`TemplateChange`) in the
caller's transaction. `BuiltinABIS` adds the search: one `VectorIndex` per gallery for faces,
loaded from settings.BIOMETRICS["INDEX_DIR"] or rebuilt from the rows, and brought up to date from
the change log before every search, so a template inserted through one process is found by every
other, and a restart loses nothing. A saved index whose state the database does not explain (a
restored database, a damaged file, another dimension, another shard) is thrown away and rebuilt.

It runs in each web process (engine `builtin`) or once per machine in the engine service
(`tongban abis serve`, `service.py`), where it may hold only the regions of its shard
(`shards.Shard`); the web processes then write through `TemplateStore` and search through
`client.ServiceABIS`.

Fingerprint templates are stored here too (for 1:1 comparison at handover); 1:N over fingers is
not offered by this engine.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from tongban.audit.services import AuditActor, record
from tongban.biometrics.interfaces import ABIS, BiometricError, Candidate, Gallery, Modality, Template
from tongban.biometrics.models import BiometricTemplate, TemplateChange
from tongban.biometrics.regions import ref_region
from tongban.biometrics.shards import Shard
from tongban.biometrics.vector_index import CALIBRATION_COSINE, IndexFileError, VectorIndex

logger = logging.getLogger(__name__)

FACE_FORMAT = "dlib-128-f32"
FACE_DIM = 128
FACE_BYTES = FACE_DIM * 4
MAX_TEMPLATE_BYTES = 64 * 1024
MAX_RESULTS = 1000
REBUILD_BATCH = 5000
SYNC_BATCH = 5000
INDEX_FORMAT = "face-index-1"
# pg_advisory_xact_lock key of the change log ("tbtc", Tongban template changes).
CHANGE_LOG_LOCK = 0x74627463

UNSUPPORTED_MESSAGE = "本系统的指纹仅支持一比一核验，不支持一比多检索。"


def face_vector(template: Template) -> np.ndarray:
    """The unit vector of a face template; BiometricError for anything else."""
    if template.modality != Modality.FACE:
        raise BiometricError("wrong_modality", "需要人像特征模板。")
    if template.format != FACE_FORMAT:
        raise BiometricError("bad_format", f"人像特征模板格式不受支持（应为 {FACE_FORMAT}）。")
    if len(template.data) != FACE_BYTES:
        raise BiometricError("bad_template", "人像特征模板长度不正确，请重新采集相片。")
    vector = np.frombuffer(template.data, dtype="<f4").astype(np.float32)
    norm = float(np.linalg.norm(vector))
    if not math.isfinite(norm) or norm < 1e-6:
        raise BiometricError("bad_template", "人像特征模板数据无效，请重新采集相片。")
    return vector / norm


def _check_template(template: Template) -> str:
    """Validates a template for storage; returns its position code ("" for faces)."""
    if template.modality == Modality.FACE:
        face_vector(template)
        if template.position:
            raise BiometricError("bad_template", "人像特征模板不应带有指位。")
        return ""
    if template.modality != Modality.FINGER:
        raise BiometricError("wrong_modality", "不支持的生物特征类型。")
    position = template.position or ""
    if not (position.isdigit() and len(position) == 2):
        raise BiometricError("bad_position", "指纹模板缺少有效的指位代码。")
    if not template.format or len(template.format) > 32:
        raise BiometricError("bad_format", "指纹模板格式无效。")
    if not template.data or len(template.data) > MAX_TEMPLATE_BYTES:
        raise BiometricError("bad_template", "指纹模板数据无效。")
    return position


def _check_ref(ref_id: str) -> None:
    if not isinstance(ref_id, str) or not ref_id or len(ref_id) > 64 or not ref_id.isprintable():
        raise BiometricError("bad_ref", "比对对象标识无效。")


def lock_change_log() -> None:
    """Take the change log's lock, held to the end of the caller's transaction, before writing
    `TemplateChange` rows: their ids then grow in commit order, so an index that has applied
    the changes up to id N never meets a change below N committing later (it would never apply
    it). PostgreSQL hands out ids at insert time, hence a transaction-scoped advisory lock
    (released at commit or rollback, no row to keep); SQLite has one writer at a time already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHANGE_LOG_LOCK])


def check_identify(template: Template, max_results: int) -> np.ndarray:
    """The probe's unit vector, once the request is one this engine answers."""
    if template.modality == Modality.FINGER:
        raise BiometricError("unsupported", UNSUPPORTED_MESSAGE)
    vector = face_vector(template)
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= MAX_RESULTS
    ):
        raise BiometricError("bad_request", f"候选人数应在 1 到 {MAX_RESULTS} 之间。")
    return vector


class TemplateStore:
    """Writes and counts of the stored templates, without any index: the row, the audit record
    and the change log in one transaction (the caller's, when it has one). `BuiltinABIS` adds
    its index on top; in `service` mode the web processes write through this alone and the
    engine nodes catch up from the change log."""

    def __init__(self, *, shard: Shard | None = None) -> None:
        self.shard = shard if shard is not None else Shard.everything()

    def insert(
        self,
        ref_id: str,
        template: Template,
        gallery: Gallery,
        *,
        actor: AuditActor | None = None,
        region: str | None = None,
    ) -> None:
        """Add or replace the template of `ref_id`; `region` (the household's region code) is
        looked up from the ref when not given (`regions.ref_region`)."""
        gallery = Gallery(gallery)
        _check_ref(ref_id)
        position = _check_template(template)
        if region is None:
            region = ref_region(ref_id)
        for attempt in range(3):
            try:
                with transaction.atomic():
                    self._insert_row(ref_id, template, gallery, position, region, actor)
                break
            except IntegrityError:
                # Another transaction inserted the same ref meanwhile; replace its row.
                if attempt == 2:
                    raise
        if template.modality == Modality.FACE:
            self._written(gallery)

    def _insert_row(
        self,
        ref_id: str,
        template: Template,
        gallery: Gallery,
        position: str,
        region: str,
        actor: AuditActor | None,
    ) -> None:
        old = (
            BiometricTemplate.objects.select_for_update()
            .filter(gallery=gallery, ref_id=ref_id, modality=template.modality, position=position)
            .values_list("pk", "region")
            .first()
        )
        if old is not None:
            BiometricTemplate.objects.filter(pk=old[0]).delete()
        row = BiometricTemplate.objects.create(
            gallery=gallery,
            ref_id=ref_id,
            modality=template.modality,
            position=position,
            format=template.format,
            region=region,
            template=template.data,
        )
        record(
            actor=actor,
            action="biometrics.insert",
            object_type="template",
            object_id=row.pk,
            detail={
                "gallery": str(gallery),
                "modality": str(template.modality),
                "position": position,
                "format": template.format,
                "replaced": old[0] if old is not None else None,
            },
        )
        lock_change_log()
        if old is not None and old[1] != region:
            # The person's household moved: the node of the old region lets the ref go.
            TemplateChange.objects.create(
                gallery=gallery,
                modality=template.modality,
                ref_id=ref_id,
                position=position,
                op=TemplateChange.Op.DELETE,
                template_id=old[0],
                region=old[1],
            )
        TemplateChange.objects.create(
            gallery=gallery,
            modality=template.modality,
            ref_id=ref_id,
            position=position,
            op=TemplateChange.Op.INSERT,
            template_id=row.pk,
            region=region,
        )

    def delete(self, ref_id: str, gallery: Gallery | None = None, *, actor: AuditActor | None = None) -> int:
        """Removes every template (face and fingers) of `ref_id` in one gallery or in all."""
        _check_ref(ref_id)
        galleries = [Gallery(gallery)] if gallery is not None else list(Gallery)
        touched: set[Gallery] = set()
        with transaction.atomic():
            rows = list(
                BiometricTemplate.objects.select_for_update()
                .filter(ref_id=ref_id, gallery__in=galleries)
                .order_by("pk")
                .values_list("pk", "gallery", "modality", "position", "region")
            )
            BiometricTemplate.objects.filter(pk__in=[r[0] for r in rows]).delete()
            if rows:
                lock_change_log()
            for pk, row_gallery, modality, position, region in rows:
                record(
                    actor=actor,
                    action="biometrics.delete",
                    object_type="template",
                    object_id=pk,
                    detail={"gallery": row_gallery, "modality": modality, "position": position},
                )
                TemplateChange.objects.create(
                    gallery=row_gallery,
                    modality=modality,
                    ref_id=ref_id,
                    position=position,
                    op=TemplateChange.Op.DELETE,
                    template_id=pk,
                    region=region,
                )
                if modality == Modality.FACE:
                    touched.add(Gallery(row_gallery))
        for each in touched:
            self._written(each)
        return len(rows)

    def _written(self, gallery: Gallery) -> None:
        """Called after a face of `gallery` was written (inside the caller's transaction)."""

    def count(self, gallery: Gallery) -> int:
        """Stored templates of the gallery, faces and fingers (what `delete` counts), of this
        store's shard."""
        return BiometricTemplate.objects.filter(self.shard.q(), gallery=Gallery(gallery)).count()


@dataclass
class _GalleryState:
    gallery: Gallery
    index: VectorIndex
    applied: int  # the last TemplateChange id reflected in the index
    unsaved: int = 0  # changes applied since the index was last written to disk
    lock: threading.Lock = field(default_factory=threading.Lock)


class BuiltinABIS(TemplateStore, ABIS):
    """Insert, identify, delete and count over the database, with a FAISS/numpy index per
    gallery for faces. One instance per process is enough (`engine.get_abis()`); it is thread-safe.
    With a `shard`, it indexes (and counts) only the templates of the shard's regions."""

    def __init__(
        self,
        *,
        index_dir: str | Path | None = None,
        exact_max: int | None = None,
        threshold: float | None = None,
        shard: Shard | None = None,
    ) -> None:
        super().__init__(shard=shard)
        config: dict[str, Any] = settings.BIOMETRICS
        self.index_dir = Path(index_dir if index_dir is not None else config["INDEX_DIR"])
        self.exact_max = int(exact_max if exact_max is not None else config["EXACT_SEARCH_MAX"])
        self.threshold = float(threshold if threshold is not None else config["FACE_THRESHOLD"])
        self._states: dict[Gallery, _GalleryState] = {}
        self._states_lock = threading.Lock()

    def _written(self, gallery: Gallery) -> None:
        # Only galleries this process already holds in memory are brought up to date; others
        # load (and catch up) on their first search.
        if gallery in self._states:
            transaction.on_commit(lambda: self._sync_logged(gallery), robust=True)

    def _sync_logged(self, gallery: Gallery) -> None:
        try:
            self._sync(self._states[gallery])
        except Exception:  # the next search retries; the database already holds the change
            logger.exception("biometric index update failed for gallery %s", gallery)

    # -----------------------------------------------------------------------------------------
    # Reads

    def identify(
        self, template: Template, gallery: Gallery, max_results: int = 10, threshold: float | None = None
    ) -> list[Candidate]:
        gallery = Gallery(gallery)
        vector = check_identify(template, max_results)
        limit = self.threshold if threshold is None else float(threshold)
        state = self._state(gallery)
        self._sync(state)
        hits = state.index.search(vector, k=max_results, threshold=limit)[0]
        return [Candidate(hit.ref_id, hit.score) for hit in hits]

    def index_info(self, gallery: Gallery) -> dict[str, Any]:
        """The in-memory face index of `gallery` (loading it if needed): mode, size, parameters."""
        state = self._state(Gallery(gallery))
        self._sync(state)
        return state.index.params | {"applied_change": state.applied}

    def loaded(self) -> list[Gallery]:
        """The galleries held in memory."""
        return list(self._states)

    def held(self) -> dict[str, dict[str, int]]:
        """Size and last applied change of each gallery held in memory."""
        return {g.value: {"count": len(s.index), "applied": s.applied} for g, s in list(self._states.items())}

    def refresh(self) -> None:
        """Catch every loaded gallery up with the change log (and save those due)."""
        for gallery in self.loaded():
            self._sync(self._states[gallery])

    def save_loaded(self) -> None:
        """Save every loaded gallery with changes not yet on disk (at shutdown)."""
        for state in list(self._states.values()):
            with state.lock:
                if state.unsaved:
                    self._save(state)

    # -----------------------------------------------------------------------------------------
    # The index: load, catch up, rebuild, save

    def _dir(self, gallery: Gallery) -> Path:
        if self.shard.whole:
            return self.index_dir / f"face-{gallery.value}"
        return self.index_dir / f"face-{gallery.value}@{self.shard.key}"

    def _meta(self, state: _GalleryState) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "format": INDEX_FORMAT,
            "gallery": state.gallery.value,
            "applied": state.applied,
        }
        if not self.shard.whole:
            meta["shard"] = self.shard.key
        return meta

    def _state(self, gallery: Gallery) -> _GalleryState:
        state = self._states.get(gallery)
        if state is not None:
            return state
        with self._states_lock:
            state = self._states.get(gallery)
            if state is None:
                state = self._load_or_rebuild(gallery)
                self._states[gallery] = state
            return state

    def _load_or_rebuild(self, gallery: Gallery) -> _GalleryState:
        try:
            index = VectorIndex.load(self._dir(gallery), dim=FACE_DIM, exact_max=self.exact_max)
            index.calibration_cosine = self._calibration_cosine()
            meta = index.meta
            if (
                meta.get("format") != INDEX_FORMAT
                or meta.get("gallery") != gallery.value
                or meta.get("shard") != (None if self.shard.whole else self.shard.key)
            ):
                raise IndexFileError("saved index belongs to another gallery, shard or format")
            applied = int(meta["applied"])
            if applied > self._last_change(gallery):
                raise IndexFileError("saved index is newer than the database")
            state = _GalleryState(gallery, index, applied)
            self._sync(state)
            if len(index) != self._face_rows(gallery).count():
                raise IndexFileError("saved index does not match the stored templates")
            return state
        except IndexFileError as exc:
            logger.info("rebuilding face index of gallery %s: %s", gallery, exc)
        return self._build(gallery)

    def rebuild(self, gallery: Gallery) -> dict[str, Any]:
        """Rebuild the face index of `gallery` from the database, save it, and use it."""
        gallery = Gallery(gallery)
        started = time.perf_counter()
        state = self._build(gallery)
        with self._states_lock:
            self._states[gallery] = state
        return state.index.params | {
            "gallery": gallery.value,
            "seconds": round(time.perf_counter() - started, 3),
        }

    def save(self, gallery: Gallery) -> None:
        state = self._state(Gallery(gallery))
        with state.lock:
            self._save(state)

    def _calibration_cosine(self) -> float:
        # Genuine probes down to the decision threshold (and down to 0.80 when it is higher,
        # for searches with a lower explicit threshold) must be found.
        return min(CALIBRATION_COSINE, self.threshold)

    def _face_rows(self, gallery: Gallery) -> Any:
        return BiometricTemplate.objects.filter(self.shard.q(), gallery=gallery, modality=Modality.FACE)

    def _last_change(self, gallery: Gallery) -> int:
        last = TemplateChange.objects.filter(gallery=gallery, modality=Modality.FACE).aggregate(m=Max("id"))
        return int(last["m"] or 0)

    def _build(self, gallery: Gallery) -> _GalleryState:
        # Changes committed after this point are applied again by the catch-up below;
        # applying an insert or delete twice leaves the same state.
        applied = self._last_change(gallery)
        rows = self._face_rows(gallery)
        index = VectorIndex(FACE_DIM, exact_max=self.exact_max, calibration_cosine=self._calibration_cosine())
        index.reserve(rows.count())
        refs: list[str] = []
        vectors: list[np.ndarray] = []
        for ref_id, fmt, data in (
            rows.order_by("pk").values_list("ref_id", "format", "template").iterator(chunk_size=REBUILD_BATCH)
        ):
            vector = _stored_vector(ref_id, fmt, data)
            if vector is None:
                continue
            refs.append(ref_id)
            vectors.append(vector)
            if len(refs) >= REBUILD_BATCH:
                index.add(refs, np.stack(vectors), normalised=True, adapt=False)
                refs, vectors = [], []
        if refs:
            index.add(refs, np.stack(vectors), normalised=True, adapt=False)
        index.optimize()
        state = _GalleryState(gallery, index, applied)
        with state.lock:
            self._save(state)
        self._sync(state)
        return state

    def _sync(self, state: _GalleryState) -> None:
        """Apply the change log past `state.applied` to the index."""
        index, gallery = state.index, state.gallery
        with state.lock:
            while True:
                changes = list(
                    TemplateChange.objects.filter(
                        self.shard.q(), gallery=gallery, modality=Modality.FACE, id__gt=state.applied
                    )
                    .order_by("id")
                    .values_list("id", "op", "ref_id", "template_id")[:SYNC_BATCH]
                )
                if not changes:
                    break
                self._apply(index, changes)
                state.applied = changes[-1][0]
                state.unsaved += len(changes)
                if len(changes) < SYNC_BATCH:
                    break
            if state.unsaved and state.unsaved >= max(1000, len(index) // 100):
                self._save(state)

    def _apply(self, index: VectorIndex, changes: list[tuple[int, str, str, int | None]]) -> None:
        # The last change of each ref decides; an insert reads the row it names, which a later
        # change may already have replaced or deleted (then that change decides).
        final: dict[str, tuple[str, int | None]] = {}
        for _, op, ref_id, template_id in changes:
            final[ref_id] = (op, template_id)
        wanted = [tid for op, tid in final.values() if op == TemplateChange.Op.INSERT and tid is not None]
        rows = {
            pk: (ref_id, fmt, data)
            for pk, ref_id, fmt, data in BiometricTemplate.objects.filter(pk__in=wanted).values_list(
                "pk", "ref_id", "format", "template"
            )
        }
        removed: list[str] = []
        refs: list[str] = []
        vectors: list[np.ndarray] = []
        for ref_id, (op, template_id) in final.items():
            row = (
                rows.get(template_id) if op == TemplateChange.Op.INSERT and template_id is not None else None
            )
            vector = _stored_vector(*row) if row is not None else None
            if vector is None:
                removed.append(ref_id)
            else:
                refs.append(ref_id)
                vectors.append(vector)
        if removed:
            index.remove(removed)
        if refs:
            index.add(refs, np.stack(vectors), normalised=True)

    def _save(self, state: _GalleryState) -> None:
        gallery = state.gallery
        state.index.meta = self._meta(state)
        try:
            state.index.save(self._dir(gallery))
            state.unsaved = 0
        except OSError:  # the index still works from memory; the next save retries
            logger.exception("could not save the face index of gallery %s", gallery)


def _stored_vector(ref_id: str, fmt: str, data: bytes | memoryview) -> np.ndarray | None:
    try:
        return face_vector(Template(Modality.FACE, fmt, bytes(data)))
    except BiometricError:
        logger.warning("stored face template of %s is unusable; left out of the index", ref_id)
        return None
