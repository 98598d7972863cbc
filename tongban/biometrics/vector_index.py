"""A 1:N index over L2-normalised float32 vectors with string ids (numpy + FAISS, no Django).

Scores are inner products, which for unit vectors is the cosine similarity of
tongban.biometrics.interfaces. Two ways to search, chosen by size:

- **exact**: brute force over every stored vector (FAISS `knn`: SIMD dot products, BLAS for
  batches). Right answers by construction; ~3 ms per 100k vectors for one query on one core.
- **ivf**: FAISS `IndexIVFPQFastScan` (inverted lists over k-means cells, 4-bit product
  quantisation scanned with SIMD lookup tables) proposes candidates, and every candidate is
  re-scored from its stored row (below), so only which vectors get looked at is approximate.
  `nlist` ≈ √N (see `ivf_nlist`); the coarse quantizer is flat (exact) up to 16384 lists and an
  HNSW graph over the centroids beyond (galleries of ~540M and more): on these embeddings HNSW
  assigned a vector to one of 8192 centroids 3.4× slower than the flat product (119 µs against
  35 µs of CPU, and only 98% to the same cell), which at 45M is the build's largest part. `nprobe` is
  calibrated after training so that probes whose cosine to their enrolled vector is only
  `calibration_cosine` (0.80, or the face threshold if lower) are still found (≥ 99.5%).

The index switches to IVF when it holds more than `exact_max` vectors and back to exact search
when it shrinks below half of that; it re-trains when it has grown fourfold since training.

Every vector lives in a row ("slot") of one array; the FAISS index stores slot numbers. Rows are
float32 while the index holds at most `exact_max` vectors; past that (or when `reserve` asks for
more) they become **int8** (each row scaled by its largest component, with one float32 for 1/‖row‖):
132 bytes a 128-d template instead of 512, which is what lets a province's 45 million faces fit in
one process. IVF candidates are then re-scored from the 8-bit rows, and exact search over a compact
index reads them too: a returned score is the cosine to the stored row's direction, within ~0.003
of the float32 cosine (bench/abis_identify measures it), which moves recall@1 by nothing measurable.

Ids are strings for callers, but a ref of the form "<kind>:<number>" (`person:123`, as every
gallery of the system names its templates; see regions.py) is kept as one int64 (4 bits of kind,
59 of number) in a slot → code array, and found again through a sorted array of codes (with a
small dict of recent additions merged in now and then): ~24 bytes an id instead of ~160 for a
Python string in a list and a dict. Other refs (another form, a number with leading zeros, a
17th kind) are kept as strings beside them.

`save()` writes a complete generation of files next to the previous one and then swaps a
`CURRENT` pointer with one atomic rename, so a crash leaves either the old or the new generation;
`load()` checks sizes and SHA-256 checksums (hashed while reading, one pass over each file) and
raises `IndexFileError` for anything missing, damaged, of another shape or of an older format
(the caller then rebuilds from its source of truth).

Thread safety: searches run concurrently (FAISS and BLAS release the GIL); changes take a
writer lock that waits for running searches to finish.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Idle OpenMP threads sleep instead of spinning: on a 2-core server shared with gunicorn workers
# and the database, spinning threads stole the cores (PQ training ran 20 s instead of 0.7 s
# under load). Only effective when this module is the first to load FAISS/OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# FAISS logs at INFO which of its builds it tried; operators' command output need not say.
logging.getLogger("faiss.loader").setLevel(logging.WARNING)

import faiss  # noqa: E402  (after the OpenMP and logging settings above)
import numpy as np  # noqa: E402

FORMAT_VERSION = 2  # 2: int8 rows past exact_max, ids as int64 codes (1: float32 rows, ref text)
CURRENT = "CURRENT"
MAX_REF_LENGTH = 200

# Ref ids "<kind>:<number>" as one int64: the kind's number in the top bits, the number below.
KIND_BITS = 4
KEY_BITS = 63 - KIND_BITS
KEY_MASK = (1 << KEY_BITS) - 1
MAX_KINDS = 1 << KIND_BITS
MAX_KEY_DIGITS = 18
NO_REF = -1  # code of an empty slot
OTHER_REF = -2  # code of a slot whose ref is kept as a string
MAP_BULK = 256  # ids added in one call from which they may go straight into the sorted map
READ_CHUNK = 1 << 24

# IVF parameters (see bench/README.md for the measurements behind them).
PQ_BITS = 4  # fast-scan codes: 4 bits per sub-vector
HNSW_QUANTIZER_MIN_NLIST = 32768  # from here on the centroids are searched through an HNSW graph
TRAIN_POINTS_PER_LIST = 16  # k-means sample size per cell (FAISS warns below 39; 16 is ample here)
TRAIN_POINTS_MAX = 256 * 1024
RERANK_MIN = 32  # candidates re-scored exactly per query (at least; 4·k when k is larger)
RETRAIN_GROWTH = 4  # re-train when the index has grown this much since training
CALIBRATION_QUERIES = 400
CALIBRATION_RECALL = 0.995  # aim above the 99% goal: calibration probes are a sample
CALIBRATION_COSINE = 0.80  # a genuine probe this far from its enrolled vector must still be found


class IndexFileError(Exception):
    """A saved index that cannot be used: missing, damaged, or not the shape asked for."""


@dataclass(frozen=True)
class Hit:
    ref_id: str
    score: float


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as contiguous float32 (zero rows stay zero)."""
    x = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.divide(x, norms, out=x, where=norms > 0)
    return x


def ivf_nlist(n: int) -> int:
    """About √n cells, rounded to a power of two, between 64 and 65536.

    The textbook 4·√n balances the coarse search against scanning full vectors; with 4-bit
    fast-scan codes a scanned vector costs ~2 ns, and on these (near-uniform) embeddings the
    share of the gallery that must be scanned for 99% recall barely shrinks with more cells, so
    more cells only add training and assignment time (k-means over 16384 centroids took
    185 s for a 10M gallery on 2 cores, 4096 took 25 s). See bench/README.md."""
    target = math.sqrt(max(n, 1))
    return int(min(65536, max(64, 2 ** round(math.log2(target)))))


def set_threads(n: int | None = None) -> int:
    """OpenMP threads for FAISS in the calling thread (OpenMP keeps the setting per thread).

    Defaults to the machine's cores. Single queries run on one thread anyway (FAISS parallelises
    over queries); batches and training use all of them.
    """
    n = n or os.cpu_count() or 1
    faiss.omp_set_num_threads(n)
    return n


SINGLE_THREAD_BELOW = 8  # queries in one call


@contextmanager
def _threads_for(n_queries: int) -> Iterator[None]:
    """One OpenMP thread for single queries: FAISS would split little work across cores and
    then wait for a sleeping second thread (on a busy 2-core machine, a 4 ms scheduler tick).
    The setting is per calling thread, so concurrent searches do not disturb each other."""
    if n_queries >= SINGLE_THREAD_BELOW:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


class _RWLock:
    """Many readers or one writer; a waiting writer holds new readers back."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class _Refs:
    """Slot ↔ ref id for `VectorIndex` (callers hold its lock): `codes[slot]` is the ref's int64
    code (NO_REF for an empty slot, OTHER_REF for a ref kept as a string in `other`); the way back
    is `map` = (sorted codes, their slots), which may still list entries since removed (checked
    against `codes` on every look-up, dropped at the next merge), plus `recent`, a dict of the few
    codes added since the last merge. `map` is replaced, never changed, so a reader that took it
    sees one consistent pair."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self._kind_no: dict[str, int] = {}
        self.codes = np.full(0, NO_REF, dtype=np.int64)
        self.other: dict[int, str] = {}  # slot -> ref, for refs not of the "<kind>:<number>" form
        self.other_slots: dict[str, int] = {}
        self.map: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.recent: dict[int, int] = {}
        self.stale = 0  # entries of `map` removed since the last merge (about)
        self.count = 0

    def grow(self, n: int) -> None:
        if n > len(self.codes):
            codes = np.full(n, NO_REF, dtype=np.int64)
            codes[: len(self.codes)] = self.codes
            self.codes = codes

    def code(self, ref: str, *, create: bool = False) -> int:
        """The int64 code of `ref`, or OTHER_REF when it is not "<kind>:<number>" (canonical
        digits, at most 59 bits) or its kind is unknown (and not `create`d, or the kinds are full)."""
        kind, sep, key = ref.partition(":")
        if (
            not sep
            or not key.isascii()
            or not key.isdigit()
            or len(key) > MAX_KEY_DIGITS
            or (key[0] == "0" and len(key) > 1)
        ):
            return OTHER_REF
        number = int(key)
        if number > KEY_MASK:
            return OTHER_REF
        no = self._kind_no.get(kind)
        if no is None:
            if not create or len(self.kinds) >= MAX_KINDS:
                return OTHER_REF
            no = self._kind_no[kind] = len(self.kinds)
            self.kinds.append(kind)
        return (no << KEY_BITS) | number

    def ref(self, slot: int) -> str | None:
        code = int(self.codes[slot])
        if code >= 0:
            return f"{self.kinds[code >> KEY_BITS]}:{code & KEY_MASK}"
        if code == OTHER_REF:
            return self.other[slot]
        return None

    def find(self, ref: str) -> int:
        """The slot of `ref`, or -1."""
        if not isinstance(ref, str):
            return -1
        code = self.code(ref)
        if code == OTHER_REF:
            return self.other_slots.get(ref, -1)
        slot = self.recent.get(code)
        if slot is not None:
            return slot
        keys, slots = self.map
        i = int(np.searchsorted(keys, code))
        if i < len(keys) and int(keys[i]) == code:
            slot = int(slots[i])
            if int(self.codes[slot]) == code:
                return slot
        return -1

    def find_many(self, codes: np.ndarray, refs: Sequence[str]) -> np.ndarray:
        """The slots of these refs (their `codes`), -1 where absent."""
        out = np.full(len(codes), -1, dtype=np.int64)
        keys, slots = self.map
        numbered = codes >= 0
        if len(keys) and numbered.any():
            c = codes[numbered]
            i = np.minimum(np.searchsorted(keys, c), len(keys) - 1)
            s = slots[i]
            found = (keys[i] == c) & (self.codes[s] == c)
            out[np.flatnonzero(numbered)[found]] = s[found]
        if self.recent and numbered.any() and numbered.sum() <= len(self.recent):
            get = self.recent.get
            for j in np.flatnonzero(numbered).tolist():
                slot = get(int(codes[j]))
                if slot is not None:
                    out[j] = slot
        elif self.recent and numbered.any():
            rc = np.fromiter(self.recent.keys(), np.int64, len(self.recent))
            rs = np.fromiter(self.recent.values(), np.int64, len(self.recent))
            order = np.argsort(rc)
            rc, rs = rc[order], rs[order]
            i = np.minimum(np.searchsorted(rc, codes), len(rc) - 1)
            found = numbered & (rc[i] == codes)
            out[found] = rs[i[found]]
        for j in np.flatnonzero(~numbered).tolist():
            out[j] = self.other_slots.get(refs[j], -1)
        return out

    def put(self, slots: np.ndarray, codes: np.ndarray, refs: Sequence[str]) -> None:
        """Name these (empty) slots."""
        self.codes[slots] = codes
        other = codes == OTHER_REF
        for j in np.flatnonzero(other).tolist():
            slot = int(slots[j])
            self.other[slot] = refs[j]
            self.other_slots[refs[j]] = slot
        c, s = codes[~other], slots[~other]
        # A merge copies the whole map: only a batch large beside it is merged at once, smaller
        # ones wait in `recent` (a rebuild adding 5,000 at a time copies the map some 64 times its
        # final size in all, instead of once a batch).
        if len(c) >= max(MAP_BULK, len(self.map[0]) >> 6):
            self.merge(c, s)
        else:
            self.recent.update(zip(c.tolist(), s.tolist(), strict=True))
        self.count += len(slots)
        if len(self.recent) > max(1 << 16, len(self.map[0]) >> 6):
            self.merge()

    def drop(self, slots: np.ndarray) -> None:
        """Empty these (named) slots."""
        for slot, code in zip(slots.tolist(), self.codes[slots].tolist(), strict=True):
            if code == OTHER_REF:
                self.other_slots.pop(self.other.pop(slot), None)
            elif code >= 0 and self.recent.pop(code, None) is None:
                self.stale += 1
            if code != NO_REF:
                self.count -= 1
        self.codes[slots] = NO_REF
        if self.stale > max(1 << 16, len(self.map[0]) >> 3):
            self.merge()

    def merged(
        self, c: np.ndarray | None = None, s: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """`map` with `recent` and (c, s) in and removed entries out, as new arrays."""
        c = np.zeros(0, np.int64) if c is None else c
        s = np.zeros(0, np.int64) if s is None else s
        if self.recent:
            n = len(self.recent)
            c = np.concatenate([c, np.fromiter(self.recent.keys(), np.int64, n)])
            s = np.concatenate([s, np.fromiter(self.recent.values(), np.int64, n)])
        keys, slots = self.map
        if len(keys):
            keep = self.codes[slots] == keys
            if len(c):  # an identical entry of a code reused in its old slot
                i = np.minimum(np.searchsorted(keys, c), len(keys) - 1)
                keep[i[keys[i] == c]] = False
            if not keep.all():
                keys, slots = keys[keep], slots[keep]
        order = np.argsort(c, kind="stable")
        c, s = c[order], s[order]
        at = np.searchsorted(keys, c)
        return np.insert(keys, at, c), np.insert(slots, at, s)

    def merge(self, c: np.ndarray | None = None, s: np.ndarray | None = None) -> None:
        self.map = self.merged(c, s)
        self.recent = {}
        self.stale = 0


class VectorIndex:
    """Top-k inner-product search over unit vectors, keyed by string ids."""

    def __init__(
        self,
        dim: int = 128,
        *,
        exact_max: int = 100_000,
        calibration_cosine: float = CALIBRATION_COSINE,
        seed: int = 1234,
    ) -> None:
        if dim % 4:
            raise ValueError("dim must be a multiple of 4")
        self.dim = dim
        self.exact_max = exact_max
        # IVF's nprobe is chosen so that probes this close to their enrolled vector are found.
        self.calibration_cosine = calibration_cosine
        self.seed = seed
        # Bumped by every change; with `meta`, lets an owner tell which state a file holds.
        self.generation = 0
        self.meta: dict[str, Any] = {}
        # Rows: float32, or int8 once compact (then `_scales` holds each row's 1/‖row‖).
        self._vectors: np.ndarray = np.zeros((0, dim), dtype=np.float32)
        self._scales: np.ndarray | None = None
        self._refs = _Refs()
        self._used = 0  # slots handed out so far (the rest of the arrays is spare capacity)
        self._alive = np.zeros(0, dtype=bool)  # slot holds a current vector
        # Free slots, reusable. Slots removed while in IVF mode become tombstones instead: FAISS
        # fast-scan lists do not take new vectors correctly after `remove_ids` (FAISS 1.15: an
        # id removed and added again is never found), so removed entries stay in the lists,
        # are filtered out by `_alive`, and go when the lists are rebuilt (`_reindex`).
        self._free: list[int] = []
        self._tombstones: list[int] = []
        self._ivf: Any = None  # faiss.IndexIVFPQFastScan when in IVF mode
        self._nprobe = 0
        self._trained_n = 0
        self._lock = _RWLock()
        self.build_seconds: dict[str, float] = {}  # of the last IVF training

    # -----------------------------------------------------------------------------------------
    # Reading

    def __len__(self) -> int:
        return self._refs.count

    def __contains__(self, ref_id: object) -> bool:
        if not isinstance(ref_id, str):
            return False
        with self._lock.read():
            return self._refs.find(ref_id) >= 0

    @property
    def mode(self) -> str:
        return "ivf" if self._ivf is not None else "exact"

    @property
    def storage(self) -> str:
        """How the rows are kept: "float32", or "int8" once the index is large."""
        return "float32" if self._scales is None else "int8"

    @property
    def params(self) -> dict[str, Any]:
        """What a report needs: mode, size, storage, and the IVF parameters when in IVF mode."""
        out: dict[str, Any] = {
            "mode": self.mode,
            "count": len(self),
            "dim": self.dim,
            "storage": self.storage,
        }
        if self._ivf is not None:
            out |= {
                "nlist": int(self._ivf.nlist),
                "nprobe": self._nprobe,
                "codes": f"PQ{self.dim // 4}x{PQ_BITS}fs",
                "quantizer": "hnsw" if self._ivf.nlist >= HNSW_QUANTIZER_MIN_NLIST else "flat",
                "trained_n": self._trained_n,
            }
        return out

    @property
    def nprobe(self) -> int:
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self._ivf is None:
            raise ValueError("nprobe applies to IVF mode only")
        self._nprobe = max(1, min(int(value), int(self._ivf.nlist)))
        self._ivf.nprobe = self._nprobe

    def ref_ids(self) -> list[str]:
        with self._lock.read():
            return [self._refs.ref(slot) or "" for slot in self._live_slots().tolist()]

    def ref_of(self, slot: int) -> str | None:
        """The ref held by a slot (as `search_slots` returns them), None for an empty one."""
        with self._lock.read():
            return self._refs.ref(slot) if 0 <= slot < self._used else None

    def vector(self, ref_id: str) -> np.ndarray:
        """The stored vector of `ref_id` (as float32; decoded from int8 when compact)."""
        with self._lock.read():
            slot = self._refs.find(ref_id)
            if slot < 0:
                raise KeyError(ref_id)
            return self._rows(np.array([slot]))[0]

    def search(self, queries: np.ndarray, k: int = 10, threshold: float | None = None) -> list[list[Hit]]:
        """For each query row, at most `k` hits, best first, scoring at least `threshold`."""
        q = self._queries(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim})")
        k = max(1, int(k))
        out: list[list[Hit]] = []
        # Slots are turned into ids under the same read lock: a writer may reuse a slot after.
        with self._lock.read(), _threads_for(q.shape[0]):
            scores, slots = self._search_ivf(q, k) if self._ivf is not None else self._search_exact(q, k)
            ref = self._refs.ref
            for row_scores, row_slots in zip(scores, slots, strict=True):
                hits: list[Hit] = []
                for score, slot in zip(row_scores.tolist(), row_slots.tolist(), strict=True):
                    if slot < 0 or (threshold is not None and score < threshold):
                        break
                    ref_id = ref(slot)
                    if ref_id is not None:
                        hits.append(Hit(ref_id, score))
                out.append(hits)
        return out

    def search_slots(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, slots), each (nq, k), best first; empty places hold (-inf, -1).

        `queries` must be unit rows of float32 (see `normalise`)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim})")
        k = max(1, int(k))
        with self._lock.read(), _threads_for(q.shape[0]):
            if self._ivf is not None:
                return self._search_ivf(q, k)
            return self._search_exact(q, k)

    def _queries(self, queries: np.ndarray) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        return normalise(q)

    def exact_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Like `search_slots`, but always by brute force over every stored row, whatever the
        mode (over the int8 rows once compact: the float32 originals are not kept)."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim})")
        with self._lock.read(), _threads_for(q.shape[0]):
            return self._search_exact(q, max(1, int(k)))

    def _rows(self, slots: np.ndarray) -> np.ndarray:
        """These rows as float32 (a copy)."""
        rows = self._vectors[slots]
        if self._scales is None:
            return rows
        out = rows.astype(np.float32)
        out *= self._scales[slots][:, None]
        return out

    def _block(self, start: int, stop: int, buffer: np.ndarray | None) -> np.ndarray:
        """Rows start..stop as float32: a view, or decoded from int8 into `buffer`."""
        if self._scales is None or buffer is None:
            return self._vectors[start:stop]
        out = buffer[: stop - start]
        np.multiply(self._vectors[start:stop], self._scales[start:stop, None], out=out)
        return out

    def _search_exact(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq = q.shape[0]
        top_scores = np.full((nq, k), -np.inf, dtype=np.float32)
        top_slots = np.full((nq, k), -1, dtype=np.int64)
        used = self._used
        if not self._refs.count:
            return top_scores, top_slots
        any_dead = used > self._refs.count
        # FAISS keeps only k per query (no score matrix), in BLAS-sized tiles; int8 rows are
        # decoded a smaller block at a time.
        chunk = 1 << 20 if self._scales is None else 1 << 16
        buffer = None if self._scales is None else np.empty((min(chunk, used), self.dim), np.float32)
        for start in range(0, used, chunk):
            block = self._block(start, min(used, start + chunk), buffer)
            dead = int((~self._alive[start : start + len(block)]).sum()) if any_dead else 0
            kk = min(k + dead, len(block))  # dead rows (zeros) may take places; ask for more
            scores, found = faiss.knn(q, block, kk, metric=faiss.METRIC_INNER_PRODUCT)
            if dead:
                bad = ~self._alive[start + np.maximum(found, 0)] | (found < 0)
                scores[bad] = -np.inf
            merged_scores = np.concatenate([top_scores, scores], axis=1)
            merged_slots = np.concatenate([top_slots, np.where(found >= 0, found + start, -1)], axis=1)
            order = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
            top_scores = np.take_along_axis(merged_scores, order, axis=1)
            top_slots = np.take_along_axis(merged_slots, order, axis=1)
        top_slots[~np.isfinite(top_scores)] = -1
        return top_scores, top_slots

    def _search_ivf(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq = q.shape[0]
        kp = max(RERANK_MIN, 4 * k)
        _, cand = self._ivf.search(q, kp)
        valid = cand >= 0
        safe = np.where(valid, cand, 0)
        valid &= self._alive[safe]  # tombstones
        # Re-scoring: gather each query's candidates and take their dot products with the
        # stored rows (float32, or int8 times the row's 1/‖row‖).
        rows = self._vectors[safe]
        if self._scales is None:
            exact = np.einsum("qkd,qd->qk", rows, q, optimize=False)
        else:
            exact = np.einsum("qkd,qd->qk", rows.astype(np.float32), q, optimize=False)
            exact *= self._scales[safe]
        exact[~valid] = -np.inf
        kk = min(k, kp)
        order = np.argsort(-exact, axis=1, kind="stable")[:, :kk]
        scores = np.take_along_axis(exact, order, axis=1).astype(np.float32)
        slots = np.take_along_axis(cand, order, axis=1)
        slots[~np.isfinite(scores)] = -1
        if kk < k:
            scores = np.concatenate([scores, np.full((nq, k - kk), -np.inf, np.float32)], axis=1)
            slots = np.concatenate([slots, np.full((nq, k - kk), -1, np.int64)], axis=1)
        return scores, slots

    # -----------------------------------------------------------------------------------------
    # Writing

    def reserve(self, n: int) -> None:
        """Make room for `n` vectors in all, so bulk loads do not copy the arrays as they grow
        (int8 rows from the start when `n` is past `exact_max`). Spare room costs address space,
        not memory, until it is written."""
        with self._lock.write():
            if n > self.exact_max:
                self._compact()
            self._grow(n)

    def add(
        self, ref_ids: Sequence[str], vectors: np.ndarray, *, normalised: bool = False, adapt: bool = True
    ) -> None:
        """Add or replace vectors. Rows are normalised unless `normalised` says they already are.

        A bulk load passes `adapt=False` to every chunk and calls `optimize()` once at the end,
        so IVF is trained once on everything instead of at every fourfold growth."""
        x = np.ascontiguousarray(vectors, dtype=np.float32) if normalised else normalise(vectors)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"vectors must have shape (n, {self.dim})")
        if len(ref_ids) != x.shape[0]:
            raise ValueError("one ref_id per vector")
        if len(set(ref_ids)) != len(ref_ids):
            raise ValueError("ref_ids repeat within one call")
        for ref in ref_ids:
            _check_ref(ref)
        with self._lock.write():
            codes = np.fromiter(
                (self._refs.code(r, create=True) for r in ref_ids), dtype=np.int64, count=len(ref_ids)
            )
            present = self._refs.find_many(codes, ref_ids)
            replaced = present[present >= 0]
            if len(replaced):
                self._remove_slots(replaced)
            slots = self._take_slots(len(ref_ids))
            self._store(slots, x)
            self._alive[slots] = True
            self._refs.put(slots, codes, ref_ids)
            if self._ivf is not None:
                self._ivf_add(slots)
            self.generation += 1
            if adapt:
                self._adapt()

    def remove(self, ref_ids: Iterable[str]) -> int:
        """Remove the given ids; returns how many were present."""
        with self._lock.write():
            found = [self._refs.find(r) for r in set(ref_ids)]
            slots = np.array([s for s in found if s >= 0], dtype=np.int64)
            if len(slots):
                self._remove_slots(slots)
                self.generation += 1
                self._adapt()
            return len(slots)

    def clear(self) -> None:
        with self._lock.write():
            self._vectors = np.zeros((0, self.dim), dtype=np.float32)
            self._scales = None
            self._alive = np.zeros(0, dtype=bool)
            self._refs, self._used, self._free, self._tombstones = _Refs(), 0, [], []
            self._ivf, self._nprobe, self._trained_n = None, 0, 0
            self.generation += 1

    def optimize(self, *, force: bool = False) -> None:
        """Choose the search method for the current size now (re-training IVF if `force`)."""
        with self._lock.write():
            self._adapt(force=force)

    def _compact(self) -> None:
        """Turn the float32 rows into int8 ones (once; an index does not go back)."""
        if self._scales is not None:
            return
        capacity = self._vectors.shape[0]
        codes = np.zeros((capacity, self.dim), dtype=np.int8)
        scales = np.zeros(capacity, dtype=np.float32)
        chunk = 1 << 18
        for start in range(0, self._used, chunk):
            stop = min(self._used, start + chunk)
            codes[start:stop], scales[start:stop] = _quantise(self._vectors[start:stop])
        self._vectors, self._scales = codes, scales

    def _store(self, slots: np.ndarray, x: np.ndarray) -> None:
        if self._scales is None:
            self._vectors[slots] = x
            return
        chunk = 1 << 18
        for start in range(0, len(slots), chunk):
            part = slots[start : start + chunk]
            self._vectors[part], self._scales[part] = _quantise(x[start : start + chunk])

    def _grow(self, n: int) -> None:
        if n <= self._vectors.shape[0]:
            return
        grown = np.zeros((n, self.dim), dtype=self._vectors.dtype)
        used = self._used
        grown[:used] = self._vectors[:used]
        alive = np.zeros(n, dtype=bool)
        alive[:used] = self._alive[:used]
        if self._scales is not None:
            scales = np.zeros(n, dtype=np.float32)
            scales[:used] = self._scales[:used]
            self._scales = scales
        self._vectors, self._alive = grown, alive
        self._refs.grow(n)

    def _take_slots(self, n: int) -> np.ndarray:
        reused = [self._free.pop() for _ in range(min(n, len(self._free)))]
        start = self._used
        end = start + n - len(reused)
        if end > self.exact_max:
            self._compact()
        if end > self._vectors.shape[0]:
            self._grow(max(end, int(self._vectors.shape[0] * 1.5), 1024))
        self._used = end
        return np.concatenate([np.array(reused, dtype=np.int64), np.arange(start, end, dtype=np.int64)])

    def _remove_slots(self, slots: np.ndarray) -> None:
        self._alive[slots] = False
        self._vectors[slots] = 0
        if self._scales is not None:
            self._scales[slots] = 0.0
        self._refs.drop(slots)
        if self._ivf is None:
            self._free.extend(slots.tolist())
            return
        self._tombstones.extend(slots.tolist())
        if len(self._tombstones) > max(1024, len(self) // 4):
            self._reindex()

    def _reindex(self) -> None:
        """Rebuild the IVF lists from the live vectors, keeping the trained quantizers."""
        self._ivf.reset()
        self._free.extend(self._tombstones)
        self._tombstones = []
        self._ivf_add(self._live_slots())

    def _ivf_add(self, slots: np.ndarray) -> None:
        chunk = 1 << 18  # gathered a chunk at a time: no second copy of a large gallery
        for start in range(0, len(slots), chunk):
            part = slots[start : start + chunk]
            self._ivf.add_with_ids(self._rows(part), part)

    def _adapt(self, *, force: bool = False) -> None:
        n = len(self)
        if self._ivf is None:
            if n > self.exact_max or (force and n > 0 and n > self.exact_max):
                self._train()
        elif n < self.exact_max // 2:
            self._ivf, self._nprobe, self._trained_n = None, 0, 0
            self._free.extend(self._tombstones)
            self._tombstones = []
        elif force or n >= RETRAIN_GROWTH * self._trained_n:
            self._train()

    # -----------------------------------------------------------------------------------------
    # IVF training and calibration

    def _live_slots(self) -> np.ndarray:
        """The slots holding a vector, ascending."""
        return np.flatnonzero(self._alive[: self._used]).astype(np.int64)

    def _train(self) -> None:
        live = self._live_slots()
        n = len(live)
        nlist = ivf_nlist(n)
        rng = np.random.default_rng(self.seed)
        n_train = min(n, max(nlist * TRAIN_POINTS_PER_LIST, 10_000), TRAIN_POINTS_MAX)
        sample = self._rows(np.sort(rng.choice(live, n_train, replace=False)))
        index = _new_ivf(self.dim, nlist)
        index.cp.seed = self.seed
        index.cp.niter = 10
        index.cp.min_points_per_centroid = TRAIN_POINTS_PER_LIST // 2  # (silences FAISS's warning)
        started = time.perf_counter()
        index.train(sample)
        del sample
        trained = time.perf_counter()
        self._ivf = index
        self._free.extend(self._tombstones)
        self._tombstones = []
        self._ivf_add(live)
        self._trained_n = n
        added = time.perf_counter()
        self._calibrate(live, rng)
        self.build_seconds = {
            "train": round(trained - started, 3),
            "add": round(added - trained, 3),
            "calibrate": round(time.perf_counter() - added, 3),
        }

    def _calibrate(self, live: np.ndarray, rng: np.random.Generator) -> None:
        """Smallest nprobe finding ≥ CALIBRATION_RECALL of probes made by turning stored vectors
        away in a random direction until their cosine to the original is `calibration_cosine`.

        A probe counts as found when the best hit scores at least as high as its target (the
        target itself, or a still closer vector such as a second photo of the same person)."""
        n = min(CALIBRATION_QUERIES, len(live))
        targets = rng.choice(live, n, replace=False)
        base = self._rows(targets)
        noise = rng.standard_normal(base.shape).astype(np.float32)
        noise -= (noise * base).sum(axis=1, keepdims=True) * base  # orthogonal to the target
        noise = normalise(noise)
        c = min(max(self.calibration_cosine, 0.0), 0.999)
        probes = normalise(c * base + math.sqrt(1 - c * c) * noise)
        target_scores = (probes * base).sum(axis=1)
        nlist = int(self._ivf.nlist)
        nprobe = max(1, nlist // 64)
        while True:
            self._ivf.nprobe = nprobe
            scores, _ = self._search_ivf(probes, 1)
            recall = float((scores[:, 0] >= target_scores - 1e-5).mean())
            if recall >= CALIBRATION_RECALL or nprobe >= nlist:
                break
            nprobe = min(nlist, int(nprobe * 1.5) + 1)
        self._nprobe = nprobe
        self._ivf.nprobe = nprobe

    # -----------------------------------------------------------------------------------------
    # Persistence

    def save(self, directory: str | os.PathLike[str]) -> str:
        """Write a new generation of files and switch `CURRENT` to it atomically; returns its name.

        The previous generation stays (a reader that has just read `CURRENT` can still open
        it); older ones are removed."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        name = f"g{uuid.uuid4().hex[:16]}"
        with self._lock.read():
            used = self._used
            refs = self._refs
            arrays: dict[str, np.ndarray] = {"vectors": self._vectors[:used], "codes": refs.codes[:used]}
            if self._scales is not None:
                arrays["scales"] = self._scales[:used]
            arrays["keys"], arrays["key_slots"] = refs.merged()
            files: dict[str, str] = {}
            for part, array in arrays.items():
                files[part] = _write_atomic(
                    root / f"{name}.{part}.npy", lambda f, a=array: np.save(f, a, allow_pickle=False)
                )
            others = json.dumps({str(slot): ref for slot, ref in sorted(refs.other.items())}).encode()
            files["others"] = _write_atomic(root / f"{name}.others.json", lambda f: f.write(others))
            if self._ivf is not None:
                ivf = self._ivf
                writer = faiss.PyCallbackIOWriter  # type: ignore[attr-defined]
                files["faiss"] = _write_atomic(
                    root / f"{name}.faiss", lambda f: faiss.write_index(ivf, writer(f.write))
                )
            meta = {
                "format": FORMAT_VERSION,
                "dim": self.dim,
                "used": used,
                "count": len(self),
                "storage": self.storage,
                "kinds": list(refs.kinds),
                "mode": self.mode,
                "nprobe": self._nprobe,
                "trained_n": self._trained_n,
                "tombstones": len(self._tombstones),
                "exact_max": self.exact_max,
                "calibration_cosine": self.calibration_cosine,
                "generation": self.generation,
                "sha256": files,
                "meta": self.meta,
            }
        meta_blob = json.dumps(meta, sort_keys=True).encode()
        _write_atomic(root / f"{name}.meta.json", lambda f: f.write(meta_blob))
        previous = _read_current(root)
        _write_atomic(root / CURRENT, lambda f: f.write(name.encode()))
        _fsync_dir(root)
        keep = {name, previous}
        for path in root.iterdir():
            generation = path.name.split(".", 1)[0]
            if path.name != CURRENT and generation not in keep:
                path.unlink(missing_ok=True)
        return name

    @classmethod
    def load(
        cls, directory: str | os.PathLike[str], *, dim: int = 128, exact_max: int | None = None
    ) -> VectorIndex:
        """The generation `CURRENT` names; IndexFileError when it is missing, damaged, of another
        dimension or of an older format. `exact_max` overrides the saved one (the mode then
        follows it). Room for half as many again is reserved (address space only), so the first
        additions after a restart do not copy the rows."""
        root = Path(directory)
        name = _read_current(root)
        if not name:
            raise IndexFileError("no saved index")
        try:
            meta = json.loads((root / f"{name}.meta.json").read_bytes())
            if meta.get("format") != FORMAT_VERSION or meta.get("dim") != dim:
                raise IndexFileError("saved index has another format or dimension")
            sums = meta["sha256"]
            used, count, compact = int(meta["used"]), int(meta["count"]), meta["storage"] == "int8"
            capacity = used + max(1024, used // 2)
            vectors = np.zeros((capacity, dim), dtype=np.int8 if compact else np.float32)
            _read_npy(root / f"{name}.vectors.npy", sums["vectors"], vectors[:used])
            scales: np.ndarray | None = None
            if compact:
                scales = np.zeros(capacity, dtype=np.float32)
                _read_npy(root / f"{name}.scales.npy", sums["scales"], scales[:used])
            codes = np.full(capacity, NO_REF, dtype=np.int64)
            _read_npy(root / f"{name}.codes.npy", sums["codes"], codes[:used])
            keys = _read_npy(root / f"{name}.keys.npy", sums["keys"])
            key_slots = _read_npy(root / f"{name}.key_slots.npy", sums["key_slots"])
            others_path = root / f"{name}.others.json"
            others_blob = others_path.read_bytes()
            if hashlib.sha256(others_blob).hexdigest() != sums["others"]:
                raise IndexFileError("saved index does not match its checksums")
            others = {int(slot): ref for slot, ref in json.loads(others_blob).items()}
            kinds = meta["kinds"]
            ivf: Any = None
            if meta["mode"] == "ivf":
                ivf = _read_faiss(root / f"{name}.faiss", sums.get("faiss"))
        except IndexFileError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexFileError(f"saved index unreadable: {exc}") from exc
        live = codes[:used]
        named = live >= 0
        if (
            not isinstance(kinds, list)
            or len(kinds) > MAX_KINDS
            or not all(isinstance(kind, str) for kind in kinds)
            or keys.dtype != np.int64
            or key_slots.dtype != np.int64
            or keys.shape != key_slots.shape
            or keys.ndim != 1
            or int((live != NO_REF).sum()) != count
            or int(named.sum()) != len(keys)
            or (len(kinds) < MAX_KINDS and bool((live[named] >> KEY_BITS >= len(kinds)).any()))
            or bool((live < OTHER_REF).any())
            or sorted(others) != np.flatnonzero(live == OTHER_REF).tolist()
            or not all(isinstance(ref, str) for ref in others.values())
            or len(set(others.values())) != len(others)
            or bool((key_slots < 0).any() or (key_slots >= used).any())
            or not np.array_equal(live[key_slots], keys)
            or bool((np.diff(keys) <= 0).any())
        ):
            raise IndexFileError("saved index has inconsistent ids")
        index = cls(
            dim,
            exact_max=meta["exact_max"] if exact_max is None else exact_max,
            calibration_cosine=float(meta.get("calibration_cosine", CALIBRATION_COSINE)),
        )
        refs = index._refs
        refs.kinds = list(kinds)
        refs._kind_no = {kind: no for no, kind in enumerate(kinds)}
        refs.codes, refs.map, refs.count = codes, (keys, key_slots), count
        refs.other = others
        refs.other_slots = {ref: slot for slot, ref in others.items()}
        index._vectors, index._scales, index._used = vectors, scales, used
        index._alive = codes != NO_REF
        dead = np.flatnonzero(live == NO_REF).tolist()
        if ivf is None:
            index._free = dead
        else:
            # Which dead slots are in the FAISS lists is not saved; none is reused until the
            # lists are rebuilt.
            index._tombstones = dead
            if ivf.ntotal != count + meta["tombstones"] or ivf.d != dim:
                raise IndexFileError("saved FAISS index does not match the vectors")
            index._ivf = ivf
            index._nprobe = int(meta["nprobe"])
            index._trained_n = int(meta["trained_n"])
            ivf.nprobe = index._nprobe
        index.generation = int(meta["generation"])
        index.meta = dict(meta["meta"])
        index._adapt()
        return index


def _quantise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float32 rows as int8 (each scaled so that its largest component is ±127) and the float32
    1/‖int8 row‖ that turns a dot product with the int8 row into the cosine to its direction
    (0 for a zero row)."""
    peak = np.abs(x).max(axis=1, keepdims=True)
    np.divide(127.0, peak, out=peak, where=peak > 0)
    codes = np.rint(x * peak).astype(np.int8)
    norms = np.linalg.norm(codes.astype(np.float32), axis=1)
    scales = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return codes, scales.astype(np.float32)


def _read_npy(path: Path, digest: str | None, out: np.ndarray | None = None) -> np.ndarray:
    """A saved .npy array, read once while hashing: into `out` when given (which must have its
    shape and dtype), else into a new array. IndexFileError when it is not the file saved."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        major, _ = np.lib.format.read_magic(f)
        if major == 1:
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        header = f.tell()
        f.seek(0)
        h.update(f.read(header))
        if fortran or dtype.hasobject:
            raise IndexFileError(f"{path.name}: not a plain array")
        if out is None:
            out = np.empty(shape, dtype=dtype)
        elif out.shape != tuple(shape) or out.dtype != dtype:
            raise IndexFileError(f"{path.name}: {shape} {dtype}, expected {out.shape} {out.dtype}")
        buf = out.reshape(-1).view(np.uint8).data
        done = 0
        while done < len(buf):
            n = f.readinto(buf[done : done + READ_CHUNK])
            if not n:
                raise IndexFileError(f"{path.name} is truncated")
            h.update(buf[done : done + n])
            done += n
        h.update(f.read())
    if h.hexdigest() != digest:
        raise IndexFileError("saved index does not match its checksums")
    return out


def _read_faiss(path: Path, digest: str | None) -> Any:
    """The saved FAISS index, read once while hashing."""
    h = hashlib.sha256()
    with open(path, "rb") as f:

        def read(n: int) -> bytes:
            block = f.read(n)
            h.update(block)
            return block

        index = faiss.read_index(faiss.PyCallbackIOReader(read))  # type: ignore[attr-defined]
        h.update(f.read())
    if h.hexdigest() != digest:
        raise IndexFileError("saved FAISS index does not match its checksum")
    return index


def _new_ivf(dim: int, nlist: int) -> Any:
    m = dim // 4  # 4 dimensions a sub-quantizer: 32 bytes of 4-bit codes for 128-d
    quantizer: Any
    if nlist >= HNSW_QUANTIZER_MIN_NLIST:
        quantizer = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        quantizer.hnsw.efConstruction = 64
        quantizer.hnsw.efSearch = 128
    else:
        quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQFastScan(quantizer, dim, nlist, m, PQ_BITS, faiss.METRIC_INNER_PRODUCT)
    index.own_fields = True
    quantizer.this.disown()
    return index


def _check_ref(ref: str) -> None:
    if not isinstance(ref, str) or not ref or len(ref) > MAX_REF_LENGTH or "\n" in ref or "\r" in ref:
        raise ValueError("ref_id must be a non-empty single-line string of at most 200 characters")


def _write_atomic(path: Path, write: Any) -> str:
    """Write through a temporary file, fsync, rename; returns the file's SHA-256."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        digest = _sha256(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return digest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _read_current(root: Path) -> str | None:
    try:
        name = (root / CURRENT).read_text().strip()
    except OSError:
        return None
    return name if name.isalnum() else None


def _fsync_dir(root: Path) -> None:
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
