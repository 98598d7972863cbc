"""The built-in ABIS: 1:N face search over the sealed templates of the database.

The database is the source of truth (`BiometricTemplate`, sealed with SM4-GCM). `TemplateStore`
writes it: each insert or delete with its audit row and change-log row (`TemplateChange`) in the
caller's transaction. `BuiltinABIS` adds the search: one `VectorIndex` per gallery for faces,
loaded from settings.BIOMETRICS["INDEX_DIR"] or rebuilt from the rows, and brought up to date from
the change log before every search, so a template inserted through one process is found by every
other, and a restart loses nothing. A saved index whose state the database does not explain (a
restored database, a damaged file, another dimension, another shard) is thrown away and rebuilt.

Writers take no lock for the change log. On PostgreSQL a change's id is drawn at insert, so a
change may commit after one with a higher id that an index has already applied; the catch-up
therefore asks not for the ids past the last one but for the changes of the transactions its
last snapshot did not see (`Snapshot`, the `xid` of each row), and keeps the snapshot it read
them with, saved with the index. On SQLite one writer at a time commits, so the ids are in
commit order and the catch-up asks for the ids past the last one applied.

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
from django.db.models import Max, QuerySet

from tongban.audit.actions import AuditAction
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


@dataclass(frozen=True)
class Snapshot:
    """A PostgreSQL snapshot, `pg_current_snapshot()` ("xmin:xmax:xip,…" as text): the
    transactions below `xmin` had ended when it was taken, those from `xmax` on had not begun,
    and of those between, the ones in `xip` were running. A change-log row is seen by it when
    its transaction had ended (committed, or rolled back and so left no row), exactly as
    `pg_visible_in_snapshot(xid, snapshot)`; a row without `xid` (written before migration
    biometrics/0003) counts as seen by every snapshot."""

    xmin: int
    xmax: int
    xip: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        try:
            low, high, running = text.split(":")
            snapshot = cls(int(low), int(high), tuple(sorted({int(x) for x in running.split(",") if x})))
        except ValueError:
            raise ValueError(f"not a snapshot: {text!r}") from None
        if not 0 < snapshot.xmin <= snapshot.xmax or any(
            not snapshot.xmin <= x < snapshot.xmax for x in snapshot.xip
        ):
            raise ValueError(f"not a snapshot: {text!r}")
        return snapshot

    def __str__(self) -> str:
        return f"{self.xmin}:{self.xmax}:{','.join(map(str, self.xip))}"

    def sees(self, xid: int | None) -> bool:
        if xid is None:
            return True
        return xid < self.xmin or (xid < self.xmax and xid not in self.xip)

    def running(self, xid: int) -> Snapshot:
        """This snapshot with `xid` still running. PostgreSQL leaves the taking transaction's own
        id out of `xip` (it sees its own rows); for the others it was running."""
        if not self.sees(xid):
            return self
        return Snapshot(min(self.xmin, xid), self.xmax, tuple(sorted({*self.xip, xid})))

    def seen_sql(self, column: str) -> tuple[str, list[Any]]:
        """The rows this snapshot sees, as a PostgreSQL condition on `column` and its parameters."""
        return (
            f"({column} IS NULL OR {column} < %s OR ({column} < %s AND {column} <> ALL(%s::bigint[])))",
            [self.xmin, self.xmax, list(self.xip)],
        )

    def unseen_sql(self, column: str) -> tuple[str, list[Any]]:
        """The rows this snapshot does not see: `xid >= xmin AND NOT pg_visible_in_snapshot(xid,
        snapshot)`, written as the range and the list an index on `xid` answers without reading
        the rows seen between xmin and xmax."""
        return f"({column} >= %s OR {column} = ANY(%s::bigint[]))", [self.xmax, list(self.xip)]


def _database_now() -> tuple[str, Snapshot]:
    """PostgreSQL: the cluster's system identifier (transaction ids mean something only within
    one cluster) and a snapshot taken now, the caller's own transaction counted as running."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()), "
            "pg_current_snapshot()::text, pg_current_xact_id_if_assigned()::text"
        )
        cluster, text, own = cursor.fetchone()
    snapshot = Snapshot.parse(text)
    return cluster, snapshot.running(int(own)) if own is not None else snapshot


# The first batch of a catch-up, read in the statement that takes its snapshot (one statement, one
# snapshot, whatever the isolation level), with the reading transaction's own id when it has one
# (its uncommitted rows are among those read). Only rows of transactions that had begun by that
# snapshot: every committed row of this cluster and the reader's own, not rows restored from a
# dump of another cluster with ids this one has not reached yet: those are read once it has
# (they were in the rebuilt index already), not at every catch-up till then.
_FIRST_BATCH = (
    "SELECT s.snapshot, s.own, c.id, c.ref_id, c.xid "
    "FROM (SELECT pg_current_snapshot()::text AS snapshot, "
    "pg_current_xact_id_if_assigned()::text AS own) AS s "
    "LEFT JOIN ({rows}(b.xid IS NULL OR b.xid < pg_snapshot_xmax(pg_current_snapshot())::text::bigint "
    "OR b.xid = pg_current_xact_id_if_assigned()::text::bigint) ORDER BY b.id LIMIT %s) AS c ON TRUE "
    "ORDER BY c.id"
)


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
    and the change log in one transaction (the caller's, when it has one). It locks nothing but
    the ref's own rows (a second writer of the same ref waits for the first): no lock orders the
    change log, whose readers catch up without one (`Snapshot`). `BuiltinABIS` adds its index
    on top; in `service` mode the web processes write through this alone and the engine nodes
    catch up from the change log."""

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
            action=AuditAction.BIOMETRICS_INSERT,
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
            for pk, row_gallery, modality, position, region in rows:
                record(
                    actor=actor,
                    action=AuditAction.BIOMETRICS_DELETE,
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
    applied: int  # the highest TemplateChange id applied (SQLite: and every id below it)
    # PostgreSQL: the snapshot of the last catch-up (or of the build): the index reflects the
    # changes of every transaction it sees. None on SQLite, and for an index saved before
    # snapshots were kept, until its first catch-up (by id: those ids were in commit order).
    snapshot: Snapshot | None = None
    # PostgreSQL: refs applied from the catching-up transaction's own uncommitted changes; the
    # next catch-up reads their rows again, whatever became of that transaction.
    provisional: set[str] = field(default_factory=set)
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
        self._cluster_id: str | None = None  # PostgreSQL's system identifier, saved with snapshots
        self._changes_sql: dict[Gallery, tuple[str, list[Any]]] = {}

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
        if state.snapshot is not None:
            meta["snapshot"] = str(state.snapshot)
            meta["cluster"] = self._cluster()
        if not self.shard.whole:
            meta["shard"] = self.shard.key
        return meta

    def _cluster(self) -> str:
        if self._cluster_id is None:
            self._cluster_id = _database_now()[0]
        return self._cluster_id

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
            state = _GalleryState(gallery, index, applied, self._saved_snapshot(meta))
            self._sync(state)
            if len(index) != self._face_rows(gallery).count():
                raise IndexFileError("saved index does not match the stored templates")
            return state
        except IndexFileError as exc:
            logger.info("rebuilding face index of gallery %s: %s", gallery, exc)
        return self._build(gallery)

    def _saved_snapshot(self, meta: dict[str, Any]) -> Snapshot | None:
        """The snapshot a saved index was caught up to (PostgreSQL), once the database explains
        it: the same cluster, and a snapshot not ahead of the database's (a restored base backup
        is behind). None for an index saved before snapshots were kept, and on SQLite."""
        if connection.vendor != "postgresql" or "snapshot" not in meta:
            return None
        cluster, now = _database_now()
        self._cluster_id = cluster
        if meta.get("cluster") != cluster:
            raise IndexFileError("saved index belongs to another database cluster")
        try:
            snapshot = Snapshot.parse(str(meta["snapshot"]))
        except ValueError as exc:
            raise IndexFileError(str(exc)) from None
        if snapshot.xmax > now.xmax:
            raise IndexFileError("saved index is newer than the database")
        return snapshot

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

    def _face_changes(self, gallery: Gallery) -> QuerySet[TemplateChange, TemplateChange]:
        return TemplateChange.objects.filter(self.shard.q(), gallery=gallery, modality=Modality.FACE)

    def _face_changes_sql(self, gallery: Gallery) -> tuple[str, list[Any]]:
        """`_face_changes` (id, ref_id, xid) as SQL, compiled once: a catch-up runs before every
        search, and compiling the ORM's query cost more than running it."""
        compiled = self._changes_sql.get(gallery)
        if compiled is None:
            rows = self._face_changes(gallery).order_by().values_list("id", "ref_id", "xid")
            sql, params = rows.query.get_compiler(connection=connection).as_sql()
            compiled = self._changes_sql[gallery] = (sql, list(params))
        return compiled

    def _last_change(self, gallery: Gallery) -> int:
        last = TemplateChange.objects.filter(gallery=gallery, modality=Modality.FACE).aggregate(m=Max("id"))
        return int(last["m"] or 0)

    def _build(self, gallery: Gallery) -> _GalleryState:
        # Taken before the rows are read, which may then hold changes committed after: the
        # catch-up below applies those again, which leaves the same index (`_apply`).
        applied = self._last_change(gallery)
        snapshot = None
        if connection.vendor == "postgresql":
            self._cluster_id, snapshot = _database_now()
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
        state = _GalleryState(gallery, index, applied, snapshot)
        with state.lock:
            self._save(state)
        self._sync(state)
        return state

    def _sync(self, state: _GalleryState) -> None:
        """Apply to the index the changes it has not seen."""
        with state.lock:
            if connection.vendor == "postgresql":
                self._catch_up_by_snapshot(state)
            else:
                self._catch_up_by_id(state)
            if state.unsaved and state.unsaved >= max(1000, len(state.index) // 100):
                self._save(state)

    def _catch_up_by_id(self, state: _GalleryState) -> None:
        # SQLite: one writer at a time, so every change below the last applied id has committed.
        while True:
            changes = list(
                self._face_changes(state.gallery)
                .filter(id__gt=state.applied)
                .order_by("id")
                .values_list("id", "ref_id")[:SYNC_BATCH]
            )
            if not changes:
                break
            self._apply(state, [ref_id for _, ref_id in changes])
            state.applied = changes[-1][0]
            state.unsaved += len(changes)
            if len(changes) < SYNC_BATCH:
                break

    def _catch_up_by_snapshot(self, state: _GalleryState) -> None:
        """PostgreSQL: apply the changes of the transactions the last snapshot did not see, read
        with a new snapshot, and keep that one. A change committing after a change with a higher
        id was applied is still unseen by the snapshot of that catch-up (its transaction was
        running), so the next catch-up applies it: no writer needs to wait for another."""
        base, params = self._face_changes_sql(state.gallery)
        if state.snapshot is None:
            # An index saved before snapshots were kept: its changes were applied in commit order.
            unseen, unseen_params = "b.id > %s", [state.applied]
        else:
            unseen, unseen_params = state.snapshot.unseen_sql("b.xid")
        rows_sql = f"SELECT b.id, b.ref_id, b.xid FROM ({base}) AS b WHERE {unseen} AND "  # noqa: S608 - the ORM's SQL; values are parameters
        with connection.cursor() as cursor:
            cursor.execute(_FIRST_BATCH.format(rows=rows_sql), [*params, *unseen_params, SYNC_BATCH])
            result = cursor.fetchall()
        taken = Snapshot.parse(result[0][0])
        own = int(result[0][1]) if result[0][1] is not None else None
        rows: list[tuple[int, str, int | None]] = [(r[2], r[3], r[4]) for r in result if r[2] is not None]
        if own is not None:
            # This transaction's own changes are read but not committed: the snapshot kept counts
            # it as running, so the next catch-up reads them again once it has ended.
            taken = taken.running(own)
        # The other batches: the rest of what that snapshot sees (a row it sees has committed and
        # stays), whenever read, and the reader's own rows.
        seen, seen_params = taken.seen_sql("b.xid")
        again, state.provisional = state.provisional, set()
        while True:
            refs = [ref_id for _, ref_id, _ in rows]
            state.provisional.update(ref_id for _, ref_id, xid in rows if own is not None and xid == own)
            if refs or again:
                self._apply(state, [*again, *refs])
                again = set()
            committed = [change_id for change_id, _, xid in rows if own is None or xid != own]
            if committed:
                state.applied = max(state.applied, committed[-1])
            state.unsaved += len(rows)
            if len(rows) < SYNC_BATCH:
                break
            with connection.cursor() as cursor:
                cursor.execute(
                    f"{rows_sql}({seen} OR b.xid = %s) AND b.id > %s ORDER BY b.id LIMIT %s",
                    [*params, *unseen_params, *seen_params, own, rows[-1][0], SYNC_BATCH],
                )
                rows = cursor.fetchall()
        state.snapshot = taken

    def _apply(self, state: _GalleryState, refs: list[str]) -> None:
        """Bring these refs of the index in line with their stored face as read now: added or
        replaced, or removed when it is gone, unusable, or of another shard. Whatever the order
        of the changes that named them, and however often, the index ends up as the rows are."""
        wanted = list(dict.fromkeys(refs))
        rows = {
            ref_id: (fmt, data)
            for ref_id, fmt, data in self._face_rows(state.gallery)
            .filter(ref_id__in=wanted)
            .values_list("ref_id", "format", "template")
        }
        removed: list[str] = []
        added: list[str] = []
        vectors: list[np.ndarray] = []
        for ref_id in wanted:
            row = rows.get(ref_id)
            vector = _stored_vector(ref_id, *row) if row is not None else None
            if vector is None:
                removed.append(ref_id)
            else:
                added.append(ref_id)
                vectors.append(vector)
        if removed:
            state.index.remove(removed)
        if added:
            state.index.add(added, np.stack(vectors), normalised=True)

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
