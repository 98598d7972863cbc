"""1:N face identify benchmark: `python -m bench.abis_identify [--sizes 1000000,10000000,45000000]
[--queries 1000] [--exact-queries 20] [--workdir var/bench-abis-identify] [--keep]
[--gpu [--gpu-size 100000000]]`.

Synthetic but clustered 128-d templates, like enrolled faces probed with a new photo: every
identity is a random unit vector; its enrolled template is the identity plus Gaussian noise
(σ per dimension drawn from 0.02–0.045), the probe the identity plus other noise, both
normalised. Probe-to-enrolled cosines then run ~0.79–0.95 (median ~0.88), while the best
stranger among 10M scores ~0.5. Uniformly spread identities are the hard case for IVF (real
embeddings cluster, which helps it).

For each gallery size, in one run, on the real `tongban.biometrics.vector_index.VectorIndex`:

1. build: generate in 1M chunks, load them (`add(..., adapt=False)` after `reserve(n)`: int8 rows
   past `exact_max`), then `optimize()`, which trains IVF (k-means + 4-bit PQ), fills the lists
   and calibrates nprobe; timed in parts; RSS after the build and at its peak (VmHWM, reset per
   size), then `save()` to `--workdir` and the index dropped;
2. exact baseline: the ground truth over the original float32 templates, which are never all in
   memory (45M would be 23 GB): every chunk is generated again (deterministic per chunk) and
   searched by brute force for all probes (FAISS `knn`), keeping the best k;
3. restart: a fresh process (`--serve`) loads the saved files (the restart time) and is the engine
   measured from then on: its RSS after loading, after the searches and at its peak; each probe
   alone through `search_slots(q, k=10)` (the path `identify` takes: candidates from compressed
   codes, re-scoring from the stored rows) for p50/p95/p99, recall@1 against the float32 truth
   and the score's distance from the float32 cosine; all probes in one batch; an nprobe sweep;
   and a few single exact searches over the stored rows (every row decoded: the latency a
   brute-force engine of this memory would have).

`--gpu` adds the same measurement with FAISS on a GPU at `--gpu-size` templates (IVF-Flat,
ground truth by brute force on the GPU); it says "skipped" when FAISS has no GPU. Prints a
table per size, then one JSON line with every figure and, per size, issue 19's goal (engine RSS
≤ 12 GB, p95 < 20 ms, recall@1 ≥ 99%, build < 30 min, restart < 1 min). The build process
needs ~0.2 KB a template plus ~2 GB of generator chunks; the saved files take ~0.2 KB a template
on disk.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tongban.biometrics.vector_index import VectorIndex, normalise, set_threads

DIM = 128
CHUNK = 1_000_000
SIGMA = (0.02, 0.045)
EXACT_MAX = 100_000  # settings.BIOMETRICS["EXACT_SEARCH_MAX"]'s default


def chunks(n: int, n_probes: int, seed: int) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """(start, enrolled chunk, probe rows of this chunk, their gallery positions)."""
    rng = np.random.default_rng(seed)
    targets = np.sort(rng.choice(n, n_probes, replace=False))
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        r = np.random.default_rng([seed, start])
        identities = normalise(r.standard_normal((size, DIM), dtype=np.float32))
        sigma = r.uniform(*SIGMA, (size, 1)).astype(np.float32)
        enrolled = identities + sigma * r.standard_normal((size, DIM), dtype=np.float32)
        enrolled /= np.linalg.norm(enrolled, axis=1, keepdims=True)
        mine = targets[(targets >= start) & (targets < start + size)]
        local = mine - start
        noise = r.standard_normal((len(local), DIM), dtype=np.float32)
        probes = normalise(identities[local] + sigma[local] * noise)
        yield start, enrolled, probes, mine


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "mean_ms": round(float(ms.mean()), 3),
    }


def timed_each(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for q in queries:
        started = time.perf_counter()
        results.append(fn(q))
        times.append(time.perf_counter() - started)
    return times, results


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


def memory_mb() -> dict[str, float]:
    """This process's resident memory now (`rss_mb`) and at its peak since the last
    `reset_peak()` (`peak_mb`), from /proc/self/status (VmRSS, VmHWM)."""
    out = {"rss_mb": -1.0, "peak_mb": -1.0}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out["rss_mb" if key == "VmRSS" else "peak_mb"] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        import resource

        out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def reset_peak() -> None:
    """Start VmHWM again from the present RSS (Linux: "5" to clear_refs), so that each size's peak
    is its own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def exact_truth(
    n: int, n_queries: int, seed: int, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Ground truth over the original float32 templates, which are never all in memory: each
    chunk is generated again (the generator is deterministic per chunk) and searched by brute
    force (FAISS `knn`), keeping the best k. Returns (scores, gallery positions, seconds of
    search, seconds of generation)."""
    import faiss

    top_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    top_ids = np.full((len(queries), k), -1, dtype=np.int64)
    search_s = gen_s = 0.0
    t0 = time.perf_counter()
    for start, enrolled, _, _ in chunks(n, n_queries, seed):
        t1 = time.perf_counter()
        gen_s += t1 - t0
        scores, found = faiss.knn(queries, enrolled, min(k, len(enrolled)), metric=faiss.METRIC_INNER_PRODUCT)
        del enrolled
        merged_scores = np.concatenate([top_scores, scores], axis=1)
        merged_ids = np.concatenate([top_ids, np.where(found >= 0, found + start, -1)], axis=1)
        order = np.argsort(-merged_scores, axis=1, kind="stable")[:, :k]
        top_scores = np.take_along_axis(merged_scores, order, axis=1)
        top_ids = np.take_along_axis(merged_ids, order, axis=1)
        t0 = time.perf_counter()
        search_s += t0 - t1
    return top_scores, top_ids, search_s, gen_s


def bench_cpu(
    n: int, n_queries: int, n_exact: int, seed: int, k: int, workdir: str, keep: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {"size": n, "queries": n_queries, "k": k, "load_before": load_average()}
    gc.collect()
    reset_peak()
    out["memory_start"] = memory_mb()
    index = VectorIndex(DIM, exact_max=EXACT_MAX)
    index.reserve(n)
    probes_parts, targets_parts = [], []
    gen_s = load_s = 0.0
    t0 = time.perf_counter()
    for start, enrolled, probes, targets in chunks(n, n_queries, seed):
        t1 = time.perf_counter()
        gen_s += t1 - t0
        ids = [f"person:{i}" for i in range(start, start + len(enrolled))]
        index.add(ids, enrolled, normalised=True, adapt=False)
        del ids, enrolled
        probes_parts.append(probes)
        targets_parts.append(targets)
        t0 = time.perf_counter()
        load_s += t0 - t1
    queries = np.concatenate(probes_parts)
    targets = np.concatenate(targets_parts)
    order = np.random.default_rng(seed + 1).permutation(len(queries))
    queries, targets = queries[order], targets[order]
    gc.collect()

    started = time.perf_counter()
    index.optimize()
    build_s = time.perf_counter() - started
    gc.collect()
    out["generate_s"] = round(gen_s, 1)
    out["build_s"] = round(build_s + load_s, 1)
    out["build_parts_s"] = {"load": round(load_s, 1), **index.build_seconds}
    out["index"] = index.params
    out["memory_built"] = memory_mb()  # peak: the build, with the generator's chunk buffers

    directory = os.path.join(workdir, f"abis-{n}")
    started = time.perf_counter()
    index.save(directory)
    out["save_s"] = round(time.perf_counter() - started, 1)
    out["files_mb"] = round(sum(e.stat().st_size for e in os.scandir(directory) if e.is_file()) / 2**20, 1)
    del index
    gc.collect()

    # Ground truth over the float32 originals, chunk by chunk (the index keeps int8 rows only).
    truth_scores, truth_ids, search_s, regen_s = exact_truth(n, n_queries, seed, queries, k)
    truth = truth_ids[:, 0]
    out["exact"] = {
        "batch_qps": round(len(queries) / search_s, 1),
        "regenerate_s": round(regen_s, 1),
        "top1_is_enrolled": round(float(np.mean(truth == targets)), 4),
        "top1_score_p5_p50": [round(float(x), 3) for x in np.percentile(truth_scores[:, 0], [5, 50])],
        "second_score_max": round(float(truth_scores[:, 1].max()), 3),
    }

    # Restart: a fresh process loads the saved files and answers the probes (the engine's state
    # after a restart); its memory is the engine's.
    np.save(os.path.join(workdir, "probes.npy"), queries)
    np.save(os.path.join(workdir, "truth.npy"), np.stack([truth.astype(np.float64), truth_scores[:, 0]]))
    started = time.perf_counter()
    child = subprocess.run(  # noqa: S603 - this benchmark itself
        [sys.executable, "-m", "bench.abis_identify", "--serve", directory, "--workdir", workdir,
         "--k", str(k), "--exact-queries", str(n_exact)],
        check=False, capture_output=True, text=True,
    )  # fmt: skip
    if child.returncode:
        raise RuntimeError(f"the restarted engine failed:\n{child.stderr}")
    out["restart_process_s"] = round(time.perf_counter() - started, 1)
    out |= json.loads(child.stdout.strip().splitlines()[-1])
    if not keep:
        shutil.rmtree(directory, ignore_errors=True)
    out["load_after"] = load_average()
    return out


def serve(directory: str, workdir: str, k: int, n_exact: int) -> dict[str, Any]:
    """The restarted engine (`--serve`): load the saved index, then every probe alone through
    IVF (p50/p95/p99, recall@1 against the float32 ground truth, score error), in one batch, an
    nprobe sweep, and `n_exact` single exact searches over the stored rows."""
    out: dict[str, Any] = {}
    reset_peak()
    before = memory_mb()
    started = time.perf_counter()
    index = VectorIndex.load(directory, dim=DIM)
    out["restart_load_s"] = round(time.perf_counter() - started, 2)
    gc.collect()
    out["memory_loaded"] = memory_mb() | {"before_load_mb": before["rss_mb"]}
    queries = np.load(os.path.join(workdir, "probes.npy"))
    truth_row = np.load(os.path.join(workdir, "truth.npy"))
    truth, truth_scores = truth_row[0].astype(np.int64), truth_row[1]

    single_exact, _ = timed_each(lambda q: index.exact_search(q[None, :], k), queries[:n_exact])
    out["exact_stored"] = {"single": percentiles(single_exact), "single_queries": len(single_exact)}

    def ivf_run(label: str) -> dict[str, Any]:
        times, tops = timed_each(lambda q: index.search_slots(q[None, :], k), queries)
        slots = np.array([t[1][0, 0] for t in tops])
        scores = np.array([t[0][0, 0] for t in tops])
        same = slots == truth
        error = np.abs(scores[same] - truth_scores[same]) if same.any() else np.zeros(1)
        # The user-facing path with Hit objects, timed on the same probes.
        hit_times, _ = timed_each(lambda q: index.search(q, k=k), queries[: min(200, len(queries))])
        started = time.perf_counter()
        _, batch_slots = index.search_slots(queries, k)
        batch_s = time.perf_counter() - started
        return {
            "nprobe": index.nprobe,
            "label": label,
            "recall_at_1": round(float(np.mean(same)), 4),
            "batch_recall_at_1": round(float(np.mean(batch_slots[:, 0] == truth)), 4),
            "score_error_max": round(float(error.max()), 5),
            "score_error_p99": round(float(np.percentile(error, 99)), 5),
            "single": percentiles(times),
            "single_with_hits": percentiles(hit_times),
            "batch_qps": round(len(queries) / batch_s, 1),
        }

    if index.mode == "ivf":
        calibrated = index.nprobe
        out["ivf"] = ivf_run("calibrated")
        out["memory_serving"] = memory_mb()
        sweep = []
        for factor in (0.5, 1.5, 2.0):
            index.nprobe = max(1, int(calibrated * factor))
            sweep.append(ivf_run(f"x{factor}"))
        index.nprobe = calibrated
        out["sweep"] = sweep
    out["memory_engine"] = memory_mb()
    return out


def bench_gpu(n: int, n_queries: int, seed: int, k: int) -> dict[str, Any]:
    import faiss

    gpus = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    if not gpus:
        return {"skipped": "FAISS has no GPU here (faiss-cpu, or no device)"}
    res = faiss.StandardGpuResources()
    nlist = 65536
    out: dict[str, Any] = {"size": n, "queries": n_queries, "k": k, "nlist": nlist}
    quantizer = faiss.IndexFlatIP(DIM)
    cpu_index = faiss.IndexIVFFlat(quantizer, DIM, nlist, faiss.METRIC_INNER_PRODUCT)
    index = faiss.index_cpu_to_gpu(res, 0, cpu_index)
    probes_parts, targets_parts = [], []
    started = time.perf_counter()
    train_sample: np.ndarray | None = None
    # Pass 1: training sample from the first chunk; pass 2 (same generator): add + ground truth.
    for _, enrolled, _, _ in chunks(n, n_queries, seed):
        train_sample = enrolled[: min(len(enrolled), 40 * nlist)]
        break
    assert train_sample is not None
    index.train(train_sample)
    train_s = time.perf_counter() - started
    best_scores = np.full((n_queries, 1), -np.inf, dtype=np.float32)
    best_ids = np.full((n_queries, 1), -1, dtype=np.int64)
    stored: list[tuple[int, np.ndarray]] = []
    add_s = 0.0
    for start, enrolled, probes, targets in chunks(n, n_queries, seed):
        t = time.perf_counter()
        index.add_with_ids(enrolled, np.arange(start, start + len(enrolled), dtype=np.int64))
        add_s += time.perf_counter() - t
        probes_parts.append(probes)
        targets_parts.append(targets)
        stored.append((start, enrolled.astype(np.float16)))  # for the exact pass below
    queries = np.concatenate(probes_parts)
    for start, block in stored:
        d, i = faiss.knn_gpu(res, queries, block.astype(np.float32), 1, metric=faiss.METRIC_INNER_PRODUCT)
        better = d[:, 0] > best_scores[:, 0]
        best_scores[better, 0] = d[better, 0]
        best_ids[better, 0] = i[better, 0] + start
    truth = best_ids[:, 0]
    out["build_s"] = round(train_s + add_s, 1)
    results = []
    params = faiss.GpuParameterSpace()
    for nprobe in (32, 64, 128, 256):
        params.set_index_parameter(index, "nprobe", nprobe)
        times, tops = timed_each(lambda q: index.search(q[None, :], k)[1][0, 0], queries)
        t = time.perf_counter()
        reps = max(1, 20_000 // len(queries))
        for _ in range(reps):
            index.search(queries, k)
        qps = reps * len(queries) / (time.perf_counter() - t)
        results.append(
            {
                "nprobe": nprobe,
                "recall_at_1": round(float(np.mean(np.array(tops) == truth)), 4),
                "single": percentiles(times),
                "batch_qps": round(qps, 1),
            }
        )
    out["ivf"] = results
    return out


def print_table(result: dict[str, Any]) -> None:
    n = result["size"]
    print(f"\n== {n:,} templates, {result['queries']} probes, k={result['k']}")
    print(f"index: {result['index']}")
    print(f"generate {result['generate_s']} s; build {result['build_s']} s {result['build_parts_s']}")
    built, loaded, engine = result["memory_built"], result["memory_loaded"], result["memory_engine"]
    print(
        f"build process: RSS {built['rss_mb']:,.0f} MB after the build, peak {built['peak_mb']:,.0f} MB "
        f"(started at {result['memory_start']['rss_mb']:,.0f} MB); save {result['save_s']} s, "
        f"{result['files_mb']:,.0f} MB of files"
    )
    print(
        f"restart: load {result['restart_load_s']} s (process with imports {result['restart_process_s']} s); "
        f"engine RSS {loaded['rss_mb']:,.0f} MB loaded, {engine['rss_mb']:,.0f} MB after the searches, "
        f"peak {engine['peak_mb']:,.0f} MB"
    )
    ex, stored = result["exact"], result["exact_stored"]
    print(
        f"exact baseline (float32, regenerated): batch {ex['batch_qps']} q/s; top-1 is the enrolled twin for "
        f"{ex['top1_is_enrolled']:.2%}; top-1 cosine p5/p50 {ex['top1_score_p5_p50']}, best runner-up "
        f"{ex['second_score_max']}; exact over the stored rows, single p50 {stored['single']['p50_ms']} ms "
        f"p95 {stored['single']['p95_ms']} ms ({stored['single_queries']} queries)"
    )
    rows = [result["ivf"], *result.get("sweep", [])] if "ivf" in result else []
    if rows:
        head = f"{'nprobe':>7} {'recall@1':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'batch q/s':>10}"
        print(f"{head} {'score err max':>14}  vs exact p95")
        for row in rows:
            s = row["single"]
            ratio = stored["single"]["p95_ms"] / s["p95_ms"] if s["p95_ms"] else float("inf")
            print(
                f"{row['nprobe']:>7} {row['recall_at_1']:>9.4f} {s['p50_ms']:>8} {s['p95_ms']:>8} "
                f"{s['p99_ms']:>8} {row['batch_qps']:>10} {row['score_error_max']:>14}  "
                f"{ratio:,.0f}x faster  ({row['label']})"
            )
    print(f"load average before/after: {result['load_before']} / {result['load_after']}")


def goal(result: dict[str, Any]) -> dict[str, Any]:
    """Issue 19's figures for one size: engine RSS ≤ 12 GB, p95 < 20 ms, recall@1 ≥ 99% against
    exact float32 search, build < 30 min, restart (load) < 1 min."""
    ivf = result.get("ivf")
    if ivf is None:
        return {"met": False, "why": "not in IVF mode"}
    figures = {
        "engine_rss_gb": round(result["memory_engine"]["rss_mb"] / 1024, 2),
        "p95_ms": ivf["single"]["p95_ms"],
        "recall_at_1": ivf["recall_at_1"],
        "build_s": result["build_s"],
        "restart_load_s": result["restart_load_s"],
    }
    met = (
        figures["engine_rss_gb"] <= 12
        and figures["p95_ms"] < 20
        and figures["recall_at_1"] >= 0.99
        and figures["build_s"] < 1800
        and figures["restart_load_s"] < 60
    )
    return figures | {"met": met}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated gallery sizes")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--exact-queries", type=int, default=20, help="single exact queries timed")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--threads", type=int, default=0, help="OpenMP threads (default: all cores)")
    parser.add_argument("--gpu", action="store_true", help="also run FAISS on a GPU (skips without one)")
    parser.add_argument("--gpu-size", type=int, default=100_000_000)
    parser.add_argument("--workdir", default="var/bench-abis-identify", help="saved indexes and probes")
    parser.add_argument("--keep", action="store_true", help="keep the saved indexes")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the restarted engine (a child process)
    args = parser.parse_args(argv)
    threads = set_threads(args.threads or None)
    if args.serve:
        print(json.dumps(serve(args.serve, args.workdir, args.k, args.exact_queries)))
        return 0
    os.makedirs(args.workdir, exist_ok=True)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s]
    report: dict[str, Any] = {
        "benchmark": "abis_identify",
        "machine": {
            "cpus": os.cpu_count(),
            "threads": threads,
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
        },
        "results": [],
    }
    import faiss

    report["machine"]["faiss"] = faiss.__version__
    for n in sizes:
        # Exact search over the int8 rows decodes them all: a few single queries at the largest sizes.
        n_exact = min(args.exact_queries, n, max(3, 20_000_000 // n))
        result = bench_cpu(n, min(args.queries, n), n_exact, args.seed, args.k, args.workdir, args.keep)
        result["goal"] = goal(result)
        print_table(result)
        report["results"].append(result)
        sys.stdout.flush()
        gc.collect()
    if args.gpu:
        gpu = bench_gpu(args.gpu_size, args.queries, args.seed, args.k)
        report["gpu"] = gpu
        print(f"\n== GPU: {json.dumps(gpu)}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
