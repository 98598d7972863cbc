"""Audit log benchmark: `python -m bench.audit_log [--threads 1,8,32] [--seconds S] [--runs R]
[--processes P] [--database-url URL] [--keep]`.

In one run, on a database it creates (PostgreSQL by default, dropped afterwards):

1. migrate; make the system's signing key in a scratch folder; start the sealer
   (`tongban audit seal --follow`, a process of its own, as deploy/ runs it);
2. for each thread count, R times, alternating: the **baseline** — client threads INSERT a row of
   the same columns and values into a plain table with only a primary key (`bench_plain_event`),
   one transaction each — and **audited** — the same threads call `tongban.audit.services.record`
   (what every acceptance, decision and view of a full record does), one transaction each; S
   seconds each. The threads are spread over P client processes (Python threads share one
   interpreter lock: one process alone could not drive the database);
3. wait until the sealer has sealed every row, then measure its lag: per row, the signed seal's
   time minus the row's time (p50/p95/max), and `tongban audit verify`'s verdict and time.

It prints a table (medians of the R runs: rows a second, p50/p95 per call, audited ÷ baseline) with
the machine's load, then one JSON line with every figure. Goals (issue 13): at 32 threads ≥ 5,000
audited rows a second, p95 ≤ 10 ms, ≥ 0.5× the plain INSERT; sealing lag p95 ≤ 2 s. The exit status
is 1 when the log does not verify.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import signal
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.import_register import (
    BenchDatabase,
    database_version,
    scratch_database,
    setup_django,
    start_sealer,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_audit"
ACTION = "person.view"  # AuditAction.PERSON_VIEW, the most frequent audited act: a view of a full record
PLAIN_TABLE = "bench_plain_event"


def log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def create_plain_table() -> None:
    """The baseline's table: the audit row's columns, a primary key and nothing else."""
    from django.db import connection

    key = (
        "bigserial PRIMARY KEY" if connection.vendor == "postgresql" else "integer PRIMARY KEY AUTOINCREMENT"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (id {key}, at timestamp with time zone NOT NULL, "
            "actor_id bigint, actor_username varchar(150) NOT NULL, unit_code varchar(12) NOT NULL, "
            "action varchar(64) NOT NULL, object_type varchar(64) NOT NULL, object_id varchar(64) NOT NULL, "
            "remote_addr varchar(39), detail text NOT NULL)"
        )


class Clerk:
    """Who the audited rows are written for: an actor as `record` needs one."""

    pk = 1
    username = "bench_clerk"
    unit_code = "360102001"


def _plain_insert(i: int) -> None:
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PLAIN_TABLE} (at, actor_id, actor_username, unit_code, action, object_type, "  # noqa: S608 - a constant table name
            "object_id, remote_addr, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                timezone.now(),
                1,
                Clerk.username,
                Clerk.unit_code,
                ACTION,
                "registry.person",
                str(i),
                None,
                "{}",
            ],
        )


def _audited(i: int) -> None:
    from tongban.audit.actions import AuditAction
    from tongban.audit.services import record

    record(actor=Clerk(), action=AuditAction.PERSON_VIEW, object_type="registry.person", object_id=i)


def client_process(
    kind: str, threads: int, start_at: float, seconds: float, offset: int
) -> tuple[int, list[float]]:
    """`threads` threads calling one kind of write from `start_at` (wall clock) until the time is
    up; (calls, latencies in ms)."""
    from django.db import connection

    call = _audited if kind == "audited" else _plain_insert
    latencies: list[list[float]] = [[] for _ in range(threads)]
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        i = offset + slot * 10_000_000
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                call(i)
                latencies[slot].append((time.perf_counter() - started) * 1000)
                i += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(slot,)) for slot in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    flat = [value for slot in latencies for value in slot]
    return len(flat), flat


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run_phase(
    pool: ProcessPoolExecutor, kind: str, threads: int, processes: int, seconds: float, run: int
) -> dict[str, float]:
    share = [threads // processes + (1 if p < threads % processes else 0) for p in range(processes)]
    share = [n for n in share if n]
    start_at = time.time() + 0.5  # every process starts its threads at once
    futures = [
        pool.submit(client_process, kind, n, start_at, seconds, (run * 100 + p) * 1_000_000_000)
        for p, n in enumerate(share)
    ]
    results = [future.result() for future in futures]
    latencies = [value for _, values in results for value in values]
    calls = sum(count for count, _ in results)
    return {
        "per_s": calls / seconds,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "calls": calls,
    }


def wait_sealed(timeout: float) -> float:
    """Seconds until no row waits for the sealer."""
    from tongban.audit.models import AuditEvent

    started = time.perf_counter()
    while AuditEvent.objects.filter(seq=None).exists():
        if time.perf_counter() - started > timeout:
            raise SystemExit("the sealer did not catch up: see its log")
        time.sleep(0.1)
    return time.perf_counter() - started


def sealing_lag() -> dict[str, float]:
    """Per benchmark row: its seal's time minus its own time."""
    from tongban.audit.models import AuditEvent, AuditSeal

    seals = list(AuditSeal.objects.order_by("last_seq").values_list("last_seq", "sealed_at"))
    ends = [last for last, _ in seals]
    import bisect

    lags = []
    rows = AuditEvent.objects.filter(action=ACTION).values_list("seq", "at").iterator(chunk_size=20_000)
    for seq, at in rows:
        lags.append((seals[bisect.bisect_left(ends, seq)][1] - at).total_seconds())
    return {
        "rows": len(lags),
        "seals": len(seals),
        "p50_s": round(percentile(lags, 0.50), 3),
        "p95_s": round(percentile(lags, 0.95), 3),
        "max_s": round(max(lags, default=0.0), 3),
    }


def run(args: argparse.Namespace, workdir: Path, db: BenchDatabase) -> dict[str, Any]:
    from django.core.management import call_command

    from tongban.audit.verify import verify
    from tongban.production.services import system_key_generate

    call_command("migrate", verbosity=0)
    system_key_generate()
    create_plain_table()
    figures: dict[str, Any] = {
        "benchmark": "audit_log",
        "database": db.vendor,
        "database_version": database_version(),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "seconds": args.seconds,
        "runs": args.runs,
        "results": {},
    }
    sealer = start_sealer(workdir, interval=args.sealer_interval)
    # Client processes made once, each with Django set up (spawned: a forked pool of database
    # connections would be shared by two processes).
    pool = ProcessPoolExecutor(
        max_workers=args.processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=setup_django,
        initargs=(db.url,),
    )
    try:
        for threads in args.threads:
            processes = max(1, min(args.processes, threads))
            samples: dict[str, list[dict[str, float]]] = {"plain": [], "audited": []}
            for number in range(args.runs):
                for kind in ("plain", "audited"):
                    samples[kind].append(run_phase(pool, kind, threads, processes, args.seconds, number))
                    last = samples[kind][-1]
                    log(
                        f"{threads:>3} threads, {kind:<8} run {number + 1}: {last['per_s']:,.0f}/s, "
                        f"p95 {last['p95_ms']:.1f} ms",
                        args.quiet,
                    )
            median = {
                kind: {key: statistics.median(s[key] for s in runs) for key in ("per_s", "p50_ms", "p95_ms")}
                for kind, runs in samples.items()
            }
            median["ratio"] = {"per_s": median["audited"]["per_s"] / median["plain"]["per_s"]}
            median["processes"] = {"client_processes": processes}
            figures["results"][str(threads)] = median
        figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
        figures["catch_up_s"] = round(wait_sealed(120), 2)
    finally:
        pool.shutdown()
        sealer.send_signal(signal.SIGTERM)
        sealer.wait(30)
    figures["sealing_lag"] = sealing_lag()
    started = time.perf_counter()
    result = verify()
    figures["verify"] = {**result.as_dict(), "seconds": round(time.perf_counter() - started, 2)}
    top = figures["results"][str(max(args.threads))]
    figures["goals"] = {
        "audited_per_s_ge_5000": top["audited"]["per_s"] >= 5000,
        "audited_p95_le_10ms": top["audited"]["p95_ms"] <= 10,
        "ratio_ge_0_5": top["ratio"]["per_s"] >= 0.5,
        "lag_p95_le_2s": figures["sealing_lag"]["p95_s"] <= 2,
    }
    return figures


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"\n{figures['database_version']}; {figures['cpus']} CPUs shared by clients, sealer and database; "
        f"load {figures['load_before']} before, {figures['load_after']} after; medians of "
        f"{figures['runs']} runs of {figures['seconds']} s"
    )
    print(
        f"{'threads':>8}{'plain/s':>10}{'p50':>7}{'p95':>7}{'audited/s':>11}{'p50':>7}{'p95':>7}{'ratio':>7}"
    )
    for threads, row in figures["results"].items():
        plain, audited = row["plain"], row["audited"]
        print(
            f"{threads:>8}{plain['per_s']:>10,.0f}{plain['p50_ms']:>7.1f}{plain['p95_ms']:>7.1f}"
            f"{audited['per_s']:>11,.0f}{audited['p50_ms']:>7.1f}{audited['p95_ms']:>7.1f}"
            f"{row['ratio']['per_s']:>6.2f}×"
        )
    lag = figures["sealing_lag"]
    print(
        f"sealing lag over {lag['rows']:,} rows in {lag['seals']:,} seals: p50 {lag['p50_s']} s, "
        f"p95 {lag['p95_s']} s, max {lag['max_s']} s; caught up {figures['catch_up_s']} s after the load"
    )
    check = figures["verify"]
    verdict = "ok" if check["ok"] else "NOT OK"
    print(f"audit verify: {verdict}, {check['checked']:,} rows in {check['seconds']} s")
    print("goals: " + ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in figures["goals"].items()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit_log", description=__doc__)
    parser.add_argument("--threads", default="1,8,32", help="client thread counts (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each timed phase")
    parser.add_argument("--runs", type=int, default=3, help="runs per thread count (medians reported)")
    parser.add_argument("--processes", type=int, default=4, help="client processes the threads spread over")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="a PostgreSQL URL names a database that is dropped, created and dropped again "
        "(default %(default)s); a sqlite:/// URL names a file",
    )
    parser.add_argument(
        "--sealer-interval",
        type=float,
        default=0.5,
        help="the sealer's pause between looks (default %(default)s s)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the sealer's log")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    args.threads = [int(n) for n in args.threads.split(",")]
    if min(args.threads) < 1 or args.runs < 1 or args.seconds <= 0 or args.processes < 1:
        parser.error("--threads, --runs, --seconds and --processes must be positive")

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # The signing key goes to the scratch folder.
    with scratch_database(args.database_url, "tongban-bench-audit-", keep=args.keep) as (workdir, db):
        figures = run(args, workdir, db)
    print_table(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if figures["verify"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
