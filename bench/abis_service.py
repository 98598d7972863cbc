"""Memory and latency of the face engine service vs the in-process engine:
`python -m bench.abis_service [--templates 200000] [--workers 4] [--queries 300]
[--database-url URL]`.

In one run, on a database of its own (SQLite file by default, or `--database-url`):

1. load `--templates` synthetic sealed face templates into the `permanent` gallery (the generator
   of `bench.abis_identify`: clustered identities, probes of the same identities with other noise),
   half of them in a Nanchang region (3601…), half in Ganzhou (3607…), then build and save the
   index once (`tongban biometrics rebuild-index`), as a deployment has it before start-up;
2. **builtin**: `--workers` processes set up like a web worker (Django, every URL module imported),
   each with `TONGBAN_BIOMETRICS_ENGINE=builtin`: one identify loads the saved gallery into the
   process; its RSS (and USS, its own pages) is read before and after, then after loading the face
   SDK's dlib models as a counter worker does; the first worker also times `--queries` identifies
   (top 10, no threshold, as `bench.abis_identify` searches: the synthetic twins score 0.79–0.95,
   partly under the 0.92 decision threshold) and checks the enrolled twin comes first;
3. **service**: the same with `TONGBAN_BIOMETRICS_ENGINE=service` against a real
   `tongban abis serve` (gunicorn, one worker process) started on the same database and index
   files; the engine process's RSS is read too;
4. **service, 2 shards**: two `tongban abis serve --prefixes` nodes (3601 and 36, half the gallery
   each) and one worker timing identifies that fan out to both and merge; once with the default
   `TONGBAN_ABIS_EXACT_MAX` (each half searched exactly) and once with a quarter of the gallery as
   that limit (each half through IVF, as the whole gallery is).

Prints a table, then one JSON line with every figure. Peak memory: the index build (~2 KB a
template) and the gallery in each builtin worker at once, one at a time here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.abis_identify import chunks, load_average, percentiles
from bench.import_register import close_database, database_version, prepare_database, setup_django

REGIONS = ("360102", "360702")
BULK = 5000


def _mb(n: int) -> float:
    return round(n / 2**20, 1)


def memory(pid: int | None = None) -> dict[str, float]:
    import psutil

    info = psutil.Process(pid).memory_full_info()
    return {"rss_mb": _mb(info.rss), "uss_mb": _mb(info.uss)}


# ---------------------------------------------------------------------------------------------
# The parent: data, servers, workers


def load_gallery(n: int, n_probes: int, workdir: Path) -> tuple[float, float]:
    """Sealed templates into the permanent gallery; probes saved for the workers. Returns the
    seconds to insert and to build + save the index."""
    from django.core.management import call_command

    from tongban.biometrics.abis import FACE_FORMAT
    from tongban.biometrics.models import BiometricTemplate

    probes_parts, targets_parts = [], []
    started = time.perf_counter()
    for start, enrolled, probes, targets in chunks(n, n_probes, seed=7):
        for lo in range(0, len(enrolled), BULK):
            rows = [
                BiometricTemplate(
                    gallery="permanent",
                    ref_id=f"person:{start + i + 1}",
                    modality="face",
                    format=FACE_FORMAT,
                    region=REGIONS[(start + i) % 2],
                    template=enrolled[i].astype("<f4").tobytes(),
                )
                for i in range(lo, min(lo + BULK, len(enrolled)))
            ]
            BiometricTemplate.objects.bulk_create(rows)
        probes_parts.append(probes)
        targets_parts.append(targets)
    inserted = time.perf_counter() - started
    np.save(workdir / "probes.npy", np.concatenate(probes_parts))
    np.save(workdir / "targets.npy", np.concatenate(targets_parts))
    started = time.perf_counter()
    call_command("biometrics", "rebuild-index", "--gallery", "permanent", stdout=open(os.devnull, "w"))  # noqa: SIM115
    return inserted, time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`tongban abis serve` in a subprocess; ready once every gallery is loaded."""

    def __init__(
        self, env: dict[str, str], workdir: Path, prefixes: str | None = None, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "tongban", "abis", "serve", "--bind", f"127.0.0.1:{self.port}"]
        if prefixes:
            args += ["--prefixes", prefixes]
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        started = time.perf_counter()
        from tongban.biometrics.http import HttpClient

        logging.getLogger("tongban.biometrics.http").setLevel(logging.ERROR)  # refused until it listens
        while True:
            try:
                if len(HttpClient(self.url, 2, "").get("/health", {})["galleries"]) == 4:
                    break
            except Exception:
                if self.process.poll() is not None or time.perf_counter() - started > 600:
                    raise SystemExit(f"tongban abis serve did not start:\n{self.log.read_text()}") from None
            time.sleep(0.2)
        self.start_s = time.perf_counter() - started

    def memory(self) -> dict[str, float]:
        """The gunicorn worker holding the galleries (the master is small)."""
        import psutil

        worker = psutil.Process(self.process.pid).children()[0]
        master = memory(self.process.pid)
        return memory(worker.pid) | {"master_rss_mb": master["rss_mb"], "master_uss_mb": master["uss_mb"]}

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def run_worker(env: dict[str, str], workdir: Path, queries: int) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.abis_service", "--worker", str(workdir), "--queries", str(queries)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"worker failed:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def workers(env: dict[str, str], workdir: Path, n: int, queries: int) -> list[dict[str, Any]]:
    return [run_worker(env, workdir, queries if i == 0 else 0) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# One worker process


def worker(workdir: Path, queries: int) -> None:
    import django

    django.setup()
    from django.urls import get_resolver

    from tongban.biometrics import face
    from tongban.biometrics.abis import FACE_FORMAT
    from tongban.biometrics.engine import get_abis, mode
    from tongban.biometrics.interfaces import Gallery, Modality, Template

    get_resolver().url_patterns  # noqa: B018 (every view module imported, as in a web worker)
    out: dict[str, Any] = {"mode": mode(), "base": memory()}
    probes = np.load(workdir / "probes.npy")
    targets = np.load(workdir / "targets.npy")
    abis = get_abis()

    def template(i: int) -> Template:
        return Template(Modality.FACE, FACE_FORMAT, probes[i].astype("<f4").tobytes())

    started = time.perf_counter()
    abis.identify(template(0), Gallery.PERMANENT)
    out["first_identify_s"] = round(time.perf_counter() - started, 3)
    out["gallery"] = memory()
    if queries:
        times, hits = [], 0
        for i in range(1, min(queries + 1, len(probes))):
            started = time.perf_counter()
            found = abis.identify(template(i), Gallery.PERMANENT, max_results=10, threshold=-1.0)
            times.append(time.perf_counter() - started)
            hits += bool(found) and found[0].ref_id == f"person:{targets[i] + 1}"
        out["identify"] = percentiles(times) | {
            "queries": len(times),
            "recall_at_1": round(hits / len(times), 3),
        }
    face._models()  # the SDK's dlib models, which a counter worker loads in every mode
    out["with_sdk"] = memory()
    print(json.dumps(out))


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--templates", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=4, help="web worker processes per mode")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--database-url", help="its own database (default: a SQLite file in a temp dir)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker, args.queries)
        return 0

    with tempfile.TemporaryDirectory(prefix="tongban-abis-bench-") as tmp:
        workdir = Path(tmp)
        db = prepare_database(args.database_url, workdir)
        env = {
            **os.environ,
            "TONGBAN_DATABASE_URL": db.url,
            "TONGBAN_DEBUG": "false",
            "TONGBAN_ABIS_DIR": str(workdir / "abis"),
            "TONGBAN_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "tongban.settings",
            "OMP_NUM_THREADS": "1",
        }
        os.environ.update({k: env[k] for k in ("TONGBAN_ABIS_DIR", "TONGBAN_LOG_LEVEL")})
        setup_django(db.url)
        from django.core.management import call_command

        figures: dict[str, Any] = {
            "templates": args.templates,
            "workers": args.workers,
            "load_before": load_average(),
        }
        served: list[Served] = []
        try:
            call_command("migrate", verbosity=0)
            figures["insert_s"], figures["build_s"] = (
                round(x, 1) for x in load_gallery(args.templates, args.queries + 1, workdir)
            )
            figures["database"] = database_version()
            close_database()

            figures["builtin"] = workers(
                {**env, "TONGBAN_BIOMETRICS_ENGINE": "builtin"}, workdir, args.workers, args.queries
            )

            one = Served(env, workdir)
            served.append(one)
            service_env = {**env, "TONGBAN_BIOMETRICS_ENGINE": "service", "TONGBAN_ABIS_NODES": one.url}
            figures["service"] = workers(service_env, workdir, args.workers, args.queries)
            figures["engine_process"] = one.memory() | {"start_s": round(one.start_s, 1)}
            one.stop()
            served.clear()

            # Two shards of half the gallery each: searched exactly (the default EXACT_SEARCH_MAX
            # is 100,000), then through IVF as the whole gallery is.
            for name, exact_max in (("exact", None), ("ivf", str(args.templates // 4))):
                # Each node needs the other's address to know what is not its own.
                ports = (free_port(), free_port())
                nodes = f"3601=http://127.0.0.1:{ports[0]},36=http://127.0.0.1:{ports[1]}"
                shard_env = {**env, "TONGBAN_ABIS_NODES": nodes}
                if exact_max:
                    shard_env["TONGBAN_ABIS_EXACT_MAX"] = exact_max
                for port, prefixes in zip(ports, ("3601", "36"), strict=True):
                    served.append(Served(shard_env, workdir, prefixes, port))
                figures[f"service_2_shards_{name}"] = run_worker(
                    {**shard_env, "TONGBAN_BIOMETRICS_ENGINE": "service"}, workdir, args.queries
                )
                figures[f"shard_processes_{name}"] = [node.memory() for node in served]
                for node in served:
                    node.stop()
                served.clear()
        finally:
            for node in served:
                node.stop()
            close_database()
            db.drop()
    figures["load_after"] = load_average()
    figures["python"] = platform.python_version()
    report(figures)
    return 0


def report(f: dict[str, Any]) -> None:
    b, s, engine = f["builtin"], f["service"], f["engine_process"]

    def row(label: str, builtin: object, service: object) -> None:
        print(f"{label:46} {builtin!s:>12} {service!s:>12}")

    def one(rows: list[dict[str, Any]], stage: str) -> float:
        return float(rows[0][stage]["rss_mb"])

    def total(rows: list[dict[str, Any]], key: str = "rss_mb") -> float:
        return round(sum(r["with_sdk"][key] for r in rows), 1)

    print(f"\n{f['templates']:,} templates, {f['workers']} web workers per mode, {f['database']}")
    print(f"insert {f['insert_s']} s, build + save index {f['build_s']} s")
    print(f"load average {f['load_before']} before, {f['load_after']} after\n")
    row("", "builtin", "service")
    row("one worker RSS, Django only (MB)", one(b, "base"), one(s, "base"))
    row("one worker RSS after an identify (MB)", one(b, "gallery"), one(s, "gallery"))
    row("one worker RSS with the face SDK too (MB)", one(b, "with_sdk"), one(s, "with_sdk"))
    row(f"{len(b)} workers RSS, SDK loaded (MB)", total(b), total(s))
    row("engine service process RSS (MB)", "—", engine["rss_mb"])
    row("machine total RSS (MB)", total(b), round(total(s) + engine["rss_mb"] + engine["master_rss_mb"], 1))
    engine_uss = engine["uss_mb"] + engine["master_uss_mb"]
    row(
        "machine total USS, pages of their own (MB)",
        total(b, "uss_mb"),
        round(total(s, "uss_mb") + engine_uss, 1),
    )
    row("first identify in a fresh worker (s)", b[0]["first_identify_s"], s[0]["first_identify_s"])
    print()
    for name, result in (
        ("in-process", b[0]),
        ("through the service", s[0]),
        ("2 shards, exact", f["service_2_shards_exact"]),
        ("2 shards, IVF", f["service_2_shards_ivf"]),
    ):
        i = result["identify"]
        latency = f"p50 {i['p50_ms']:>7} ms  p95 {i['p95_ms']:>7} ms"
        print(f"identify {name:22} {latency}  recall@1 {i['recall_at_1']}")
    print(json.dumps(f))


if __name__ == "__main__":
    sys.exit(main())
