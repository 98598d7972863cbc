"""A 1:N index over L2-normalised float32 vectors with string ids (numpy + FAISS, no Django).

Scores are inner products, which for unit vectors is the cosine similarity of
tongban.biometrics.interfaces. Two ways to search, chosen by size:

- **exact**: brute force over every stored vector (FAISS `knn`: SIMD dot products, BLAS for
  batches). Right answers by construction; ~3 ms per 100k vectors for one query on one core.
- **ivf**: FAISS `IndexIVFPQFastScan` (inverted lists over k-means cells, 4-bit product
  quantisation scanned with SIMD lookup tables) proposes candidates, and every candidate is
  re-scored exactly from the stored float32 vector, so the returned scores are exact and only
  which vectors get looked at is approximate. `nlist` ≈ √N (see `ivf_nlist`); the coarse
  quantizer is an HNSW graph over the centroids once there are many of them (≥ 8192 lists,
  galleries of ~34M and more), which keeps assigning millions of vectors cheap. `nprobe` is
  calibrated after training so that probes whose cosine to their enrolled vector is only
  `calibration_cosine` (0.80, or the face threshold if lower) are still found (≥ 99.5%).

The index switches to IVF when it holds more than `exact_max` vectors and back to exact search
when it shrinks below half of that; it re-trains when it has grown fourfold since training.

Every vector lives in a float32 row ("slot") of one array; the FAISS index stores slot numbers.
`save()` writes a complete generation of files next to the previous one and then swaps a
`CURRENT` pointer with one atomic rename, so a crash leaves either the old or the new generation;
`load()` checks sizes and SHA-256 checksums and raises `IndexFileError` for anything missing,
damaged or of another shape (the caller then rebuilds from its source of truth).

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

FORMAT_VERSION = 1
CURRENT = "CURRENT"
MAX_REF_LENGTH = 200

# IVF parameters (see bench/README.md for the measurements behind them).
PQ_BITS = 4  # fast-scan codes: 4 bits per sub-vector
HNSW_QUANTIZER_MIN_NLIST = 8192  # from here on the centroids are searched through an HNSW graph
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
        self._vectors = np.zeros((0, dim), dtype=np.float32)
        self._refs: list[str | None] = []  # slot -> ref
        self._slots: dict[str, int] = {}  # ref -> slot
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
        return len(self._slots)

    def __contains__(self, ref_id: object) -> bool:
        return ref_id in self._slots

    @property
    def mode(self) -> str:
        return "ivf" if self._ivf is not None else "exact"

    @property
    def params(self) -> dict[str, Any]:
        """What a report needs: mode, size, and the IVF parameters when in IVF mode."""
        out: dict[str, Any] = {"mode": self.mode, "count": len(self), "dim": self.dim}
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
        return list(self._slots)

    def vector(self, ref_id: str) -> np.ndarray:
        return self._vectors[self._slots[ref_id]].copy()

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
            refs = self._refs
            for row_scores, row_slots in zip(scores, slots, strict=True):
                hits: list[Hit] = []
                for score, slot in zip(row_scores.tolist(), row_slots.tolist(), strict=True):
                    if slot < 0 or (threshold is not None and score < threshold):
                        break
                    ref = refs[slot]
                    if ref is not None:
                        hits.append(Hit(ref, score))
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
        """Like `search_slots`, but always by brute force over every vector, whatever the mode:
        the baseline that IVF recall is measured against."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must have shape (n, {self.dim})")
        with self._lock.read(), _threads_for(q.shape[0]):
            return self._search_exact(q, max(1, int(k)))

    def _search_exact(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        nq = q.shape[0]
        top_scores = np.full((nq, k), -np.inf, dtype=np.float32)
        top_slots = np.full((nq, k), -1, dtype=np.int64)
        used = len(self._refs)
        if not self._slots:
            return top_scores, top_slots
        any_dead = used > len(self._slots)
        chunk = 1 << 20  # FAISS keeps only k per query (no score matrix), in BLAS-sized tiles
        for start in range(0, used, chunk):
            block = self._vectors[start : min(used, start + chunk)]
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
        # Exact re-scoring: gather each query's candidates and take their dot products.
        exact = np.einsum("qkd,qd->qk", self._vectors[safe], q, optimize=False)
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
        """Make room for `n` vectors in all, so bulk loads do not copy the array as it grows."""
        with self._lock.write():
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
            replaced = [self._slots[r] for r in ref_ids if r in self._slots]
            if replaced:
                self._remove_slots(replaced)
                for ref in ref_ids:
                    self._slots.pop(ref, None)
            slots = self._take_slots(len(ref_ids))
            self._vectors[slots] = x
            self._alive[slots] = True
            for ref, slot in zip(ref_ids, slots.tolist(), strict=True):
                self._refs[slot] = ref
                self._slots[ref] = slot
            if self._ivf is not None:
                self._ivf_add(slots)
            self.generation += 1
            if adapt:
                self._adapt()

    def remove(self, ref_ids: Iterable[str]) -> int:
        """Remove the given ids; returns how many were present."""
        with self._lock.write():
            slots = [self._slots.pop(r) for r in set(ref_ids) if r in self._slots]
            if slots:
                self._remove_slots(slots)
                self.generation += 1
                self._adapt()
            return len(slots)

    def clear(self) -> None:
        with self._lock.write():
            self._vectors = np.zeros((0, self.dim), dtype=np.float32)
            self._alive = np.zeros(0, dtype=bool)
            self._refs, self._slots, self._free, self._tombstones = [], {}, [], []
            self._ivf, self._nprobe, self._trained_n = None, 0, 0
            self.generation += 1

    def optimize(self, *, force: bool = False) -> None:
        """Choose the search method for the current size now (re-training IVF if `force`)."""
        with self._lock.write():
            self._adapt(force=force)

    def _grow(self, n: int) -> None:
        if n <= self._vectors.shape[0]:
            return
        grown = np.zeros((n, self.dim), dtype=np.float32)
        used = len(self._refs)
        grown[:used] = self._vectors[:used]
        alive = np.zeros(n, dtype=bool)
        alive[:used] = self._alive[:used]
        self._vectors, self._alive = grown, alive

    def _take_slots(self, n: int) -> np.ndarray:
        reused = [self._free.pop() for _ in range(min(n, len(self._free)))]
        start = len(self._refs)
        fresh = n - len(reused)
        if start + fresh > self._vectors.shape[0]:
            self._grow(max(start + fresh, int(self._vectors.shape[0] * 1.5), 1024))
        self._refs.extend([None] * fresh)
        return np.array(reused + list(range(start, start + fresh)), dtype=np.int64)

    def _remove_slots(self, slots: list[int]) -> None:
        arr = np.array(slots, dtype=np.int64)
        self._alive[arr] = False
        self._vectors[arr] = 0.0
        for slot in slots:
            self._refs[slot] = None
        if self._ivf is None:
            self._free.extend(slots)
            return
        self._tombstones.extend(slots)
        if len(self._tombstones) > max(1024, len(self._slots) // 4):
            self._reindex()

    def _reindex(self) -> None:
        """Rebuild the IVF lists from the live vectors, keeping the trained quantizers."""
        self._ivf.reset()
        self._free.extend(self._tombstones)
        self._tombstones = []
        self._ivf_add(np.sort(self._live_slots()))

    def _ivf_add(self, slots: np.ndarray) -> None:
        chunk = 1 << 18  # gathered a chunk at a time: no second copy of a large gallery
        for start in range(0, len(slots), chunk):
            part = slots[start : start + chunk]
            self._ivf.add_with_ids(self._vectors[part], part)

    def _adapt(self, *, force: bool = False) -> None:
        n = len(self._slots)
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
        return np.fromiter(self._slots.values(), dtype=np.int64, count=len(self._slots))

    def _train(self) -> None:
        live = np.sort(self._live_slots())
        n = len(live)
        nlist = ivf_nlist(n)
        rng = np.random.default_rng(self.seed)
        n_train = min(n, max(nlist * TRAIN_POINTS_PER_LIST, 10_000), TRAIN_POINTS_MAX)
        sample = self._vectors[np.sort(rng.choice(live, n_train, replace=False))]
        index = _new_ivf(self.dim, nlist)
        index.cp.seed = self.seed
        index.cp.niter = 10
        index.cp.min_points_per_centroid = TRAIN_POINTS_PER_LIST // 2  # (silences FAISS's warning)
        started = time.perf_counter()
        index.train(sample)
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
        base = self._vectors[targets]
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
            used = len(self._refs)
            files: dict[str, str] = {}
            files["vectors"] = _write_atomic(
                root / f"{name}.vectors.npy", lambda f: np.save(f, self._vectors[:used])
            )
            refs_blob = "\n".join(r or "" for r in self._refs).encode()
            files["refs"] = _write_atomic(root / f"{name}.refs.txt", lambda f: f.write(refs_blob))
            if self._ivf is not None:
                blob = faiss.serialize_index(self._ivf)
                files["faiss"] = _write_atomic(root / f"{name}.faiss", lambda f: f.write(blob.tobytes()))
            meta = {
                "format": FORMAT_VERSION,
                "dim": self.dim,
                "used": used,
                "count": len(self._slots),
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
        """The generation `CURRENT` names; IndexFileError when it is missing, damaged or of
        another dimension. `exact_max` overrides the saved one (the mode then follows it)."""
        root = Path(directory)
        name = _read_current(root)
        if not name:
            raise IndexFileError("no saved index")
        try:
            meta = json.loads((root / f"{name}.meta.json").read_bytes())
            if meta.get("format") != FORMAT_VERSION or meta.get("dim") != dim:
                raise IndexFileError("saved index has another format or dimension")
            sums = meta["sha256"]
            vectors_path = root / f"{name}.vectors.npy"
            refs_path = root / f"{name}.refs.txt"
            faiss_path = root / f"{name}.faiss"
            if _sha256(vectors_path) != sums["vectors"] or _sha256(refs_path) != sums["refs"]:
                raise IndexFileError("saved index does not match its checksums")
            vectors = np.load(vectors_path, allow_pickle=False)
            refs_text = refs_path.read_bytes().decode()
            refs: list[str | None] = [r or None for r in refs_text.split("\n")] if meta["used"] else []
            if vectors.shape != (meta["used"], dim) or len(refs) != meta["used"]:
                raise IndexFileError("saved index has inconsistent sizes")
            ivf: Any = None
            if meta["mode"] == "ivf":
                if _sha256(faiss_path) != sums.get("faiss"):
                    raise IndexFileError("saved FAISS index does not match its checksum")
                ivf = faiss.read_index(str(faiss_path))
        except IndexFileError:
            raise
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise IndexFileError(f"saved index unreadable: {exc}") from exc
        index = cls(
            dim,
            exact_max=meta["exact_max"] if exact_max is None else exact_max,
            calibration_cosine=float(meta.get("calibration_cosine", CALIBRATION_COSINE)),
        )
        index._vectors = vectors.astype(np.float32, copy=False)
        index._refs = refs
        index._slots = {r: i for i, r in enumerate(refs) if r is not None}
        index._alive = np.array([r is not None for r in refs], dtype=bool)
        dead = [i for i, r in enumerate(refs) if r is None]
        if len(index._slots) != meta["count"]:
            raise IndexFileError("saved index has repeated or missing ids")
        if ivf is None:
            index._free = dead
        else:
            # Which dead slots are in the FAISS lists is not saved; none is reused until the
            # lists are rebuilt.
            index._tombstones = dead
            if ivf.ntotal != meta["count"] + meta["tombstones"] or ivf.d != dim:
                raise IndexFileError("saved FAISS index does not match the vectors")
            index._ivf = ivf
            index._nprobe = int(meta["nprobe"])
            index._trained_n = int(meta["trained_n"])
            ivf.nprobe = index._nprobe
        index.generation = int(meta["generation"])
        index.meta = dict(meta["meta"])
        index._adapt()
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
