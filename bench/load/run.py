"""The load test: `python -m bench.load.run [--users 50] [--duration 10m] [--workers 4]`.

Against the cluster `python -m bench.load.generate` built (var/load/, port 5544):

1. picks what the users need from the data (applicants of the pool nobody has accepted yet,
   register people to look up, people of the clerk's station, the units below each supervisor)
   and measures the biometric time of one acceptance apart (bench/load/biotime.py);
2. starts the face engine as a service of its own when `tongban abis serve` exists (the web
   workers then use TONGBAN_BIOMETRICS_ENGINE=service), else each worker keeps the engine in its
   process; the audit sealer `tongban audit seal --follow` when it exists, else none; then
   gunicorn with deploy/gunicorn.conf.py and `--workers` workers on 127.0.0.1:8800. Which ran
   is printed;
3. signs in every demo account through POST /api/v1/auth/token, warms each worker up (untimed:
   the face models and the 1:N index load on a worker's first photo);
4. runs Locust headless (bench/load/locustfile.py: clerks, reviewers, the centre, distributors,
   supervisors) for `--duration` with `--users`, sampling every `--sample-every` seconds the
   memory (RSS) of each process (every gunicorn worker, the engine, the sealer, PostgreSQL's
   processes in total, Locust) and, twice a second, the sessions waiting for a lock in
   pg_stat_activity (with the statement, and the row's table for row locks);
5. then, with nothing else running, K complete lifecycles serially through the API
   (bench/load/lifecycle.py) between a reset and a read of pg_stat_statements: the database
   time of one lifecycle, and how many lifecycles a second one PostgreSQL primary could carry
   at that cost;
6. `tongban audit verify`; stops what it started; prints one report beside the goals and writes
   it as JSON to var/load/runs/<time>/report.json (and var/load/report.json)."""

from __future__ import annotations

import argparse
import base64
import csv
import datetime
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench.load import cluster, lifecycle, samples
from bench.load.bodies import acceptance_body
from bench.load.common import (
    ACCEPTANCE_STATION,
    ACCOUNT_UNITS,
    LOAD_DIR,
    PASSWORD,
    REPO,
    TONGBAN,
    product_env,
    read_state,
    say,
)
from bench.load.generate import STAGES
from bench.load.operations import GOAL_P95_MS, OPERATIONS

WEB_PORT = 8800
ENGINE_PORT = 8809
LOOKUP_SAMPLE = 3000
STATION_SAMPLE = 1000
LIFECYCLE_GOAL = 500  # lifecycles a second one primary must carry (issue 13 §4)


# ---------------------------------------------------------------------------------------------
# What the users need


def pick_data(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """From the generated database: applicants, people to look up, the station's people, the
    units below each supervisor."""
    rng = random.Random(args.seed)
    lo, hi = state["register"]
    pool_lo, pool_hi = state["pool"]
    with psycopg.connect(cluster.URL) as conn:
        # Applicants: pool people with no application at all, whose number nobody else holds.
        applicants = conn.execute(
            "SELECT p.id, p.id_number, EXISTS (SELECT 1 FROM registry_card c WHERE c.person_id = p.id"
            "  AND c.state = 'active') FROM registry_person p WHERE p.id BETWEEN %s AND %s"
            " AND NOT EXISTS (SELECT 1 FROM intake_application a WHERE a.person_id = p.id)"
            " AND NOT EXISTS (SELECT 1 FROM registry_person q WHERE q.id_number = p.id_number AND"
            " q.id <> p.id)"
            " ORDER BY p.id",
            [pool_lo, pool_hi],
        ).fetchall()
        ids = sorted(rng.sample(range(lo, hi + 1), min(LOOKUP_SAMPLE * 2, hi - lo + 1)))
        lookup = [
            number
            for (number,) in conn.execute(
                "SELECT p.id_number FROM registry_person p WHERE p.id = ANY(%s) AND p.status = 'normal'"
                " AND NOT EXISTS (SELECT 1 FROM registry_person q WHERE q.id_number = p.id_number"
                " AND q.id <> p.id)",
                [ids],
            ).fetchall()
        ][:LOOKUP_SAMPLE]
        station_people = [
            {"id": pk, "name": name}
            for pk, name in conn.execute(
                "SELECT p.id, p.name FROM registry_person p JOIN registry_unit u ON u.id ="
                " p.registration_unit_id"
                " WHERE u.code = %s AND p.id BETWEEN %s AND %s ORDER BY random() LIMIT %s",
                [ACCEPTANCE_STATION, lo, hi, STATION_SAMPLE],
            ).fetchall()
        ]
        # The units a supervisor drills down to: the subtree's administrative units (centres are
        # left out: supervision.selectors.unit_choices).
        children: dict[str, list[str]] = {}
        for account in ("supervisor", "supervisor_province", "supervisor_donghu"):
            children[account] = [
                code
                for (code,) in conn.execute(
                    "SELECT c.code FROM registry_unit c JOIN registry_unit p ON p.id = c.parent_id"
                    " WHERE p.code = %s AND c.active AND c.kind <> 'centre' ORDER BY c.code",
                    [ACCOUNT_UNITS[account]],
                ).fetchall()
            ]
    made = samples.load()
    pool = [
        {"id": pk, "id_number": number, "card": bool(card), "frame": pk % len(made.frames)}
        for pk, number, card in applicants
    ]
    rng.shuffle(pool)
    signature = io.BytesIO()
    from PIL import Image  # a drawn signature: a small PNG, as the handover page's canvas sends

    Image.new("L", (160, 50), 255).save(signature, "PNG")
    encoded = made.b64()
    return {
        "pool": pool,
        "lookup": lookup,
        "station_people": station_people,
        "children": children,
        "frames": encoded["frames"],
        "fingers": {
            name: {"image": encoded["fingers"][name], "template": encoded["finger_templates"][name]}
            for name in encoded["fingers"]
        },
        "finger_mode": args.fingers,
        "signature": base64.b64encode(signature.getvalue()).decode("ascii"),
        "batch_size": args.batch_size,
    }


# ---------------------------------------------------------------------------------------------
# Processes


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    command: list[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def command_exists(*words: str) -> tuple[bool, str]:
    """Whether `tongban <words> --help` succeeds, with its help text."""
    result = subprocess.run(  # noqa: S603 - our own command
        [str(TONGBAN), *words, "--help"],
        capture_output=True,
        text=True,
        env=product_env(),
        check=False,
        timeout=120,
    )
    return result.returncode == 0, result.stdout


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start(name: str, command: list[str], env: dict[str, str], outdir: Path) -> Started:
    log = outdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    return Started(name, process, log, command)


def wait_for_port(port: int, started: Started, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            raise SystemExit(f"{started.name} exited with {started.process.returncode}:\n{started.tail()}")
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"{started.name} did not listen on {port} within {seconds:.0f} s:\n{started.tail()}")


def engine_command(help_text: str) -> list[str]:
    """`tongban abis serve` on ENGINE_PORT, by whichever option its help offers."""
    command = [str(TONGBAN), "abis", "serve"]
    if "--bind" in help_text:
        return [*command, "--bind", f"127.0.0.1:{ENGINE_PORT}"]
    if "--port" in help_text:
        return [*command, "--port", str(ENGINE_PORT)]
    return [*command, f"127.0.0.1:{ENGINE_PORT}"]


def request(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any, float]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    conn = http.client.HTTPConnection("127.0.0.1", WEB_PORT, timeout=600)
    try:
        began = time.perf_counter()
        conn.request(
            method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        data = response.read()
        seconds = time.perf_counter() - began
    finally:
        conn.close()
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = data[:200]
    return response.status, parsed, seconds


def sign_in(accounts: Sequence[str]) -> dict[str, str]:
    """One token per demo account through POST /api/v1/auth/token (20 attempts a minute per
    address are allowed: a 429 waits and tries again)."""
    tokens = {}
    for account in accounts:
        for _ in range(10):
            status, body, _ = request(
                "POST", "/api/v1/auth/token", {"username": account, "password": PASSWORD}
            )
            if status == 200:
                tokens[account] = body["token"]
                break
            if status == 429:
                time.sleep(15)
                continue
            raise SystemExit(f"sign-in of {account} failed: {status} {body}")
    return tokens


def worker_rss(gunicorn: Started) -> list[float]:
    try:
        return [child.memory_info().rss / 2**20 for child in psutil.Process(gunicorn.process.pid).children()]
    except psutil.NoSuchProcess:
        return []


def warm_up(data: dict[str, Any], tokens: dict[str, str], workers: int, gunicorn: Started) -> dict[str, Any]:
    """Every worker's first photo loads the face models and the 1:N index (untimed by Locust):
    rounds of `workers` acceptances at once, and lookups, until every worker's memory shows it
    loaded them (each within 60 % of the largest), five rounds at most."""
    token = tokens["clerk"]

    def accept(applicant: dict[str, Any]) -> float:
        status, body, seconds = request(
            "POST", "/api/v1/applications", acceptance_body(data, applicant), token
        )
        if status != 201:
            raise SystemExit(f"a warm-up acceptance failed: {status} {body}")
        return seconds

    def lookup(number: str) -> int:
        return request("POST", "/api/v1/people/lookup", {"id_number": number}, token)[0]

    seconds: list[float] = []
    statuses: list[int] = []
    rounds = 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while rounds < 5:
            rounds += 1
            statuses += list(pool.map(lookup, random.sample(data["lookup"], 2 * workers)))
            seconds += list(pool.map(accept, [data["pool"].pop() for _ in range(workers)]))
            rss = worker_rss(gunicorn)
            if rss and min(rss) >= 0.6 * max(rss):
                break
    return {
        "rounds": rounds,
        "acceptances": len(seconds),
        "acceptance_s": [round(s, 1) for s in seconds],
        "lookup_errors": sum(status != 200 for status in statuses),
        "worker_rss_mb": [round(mb) for mb in worker_rss(gunicorn)],
    }


# ---------------------------------------------------------------------------------------------
# Sampling while Locust runs


@dataclass
class Sampler:
    gunicorn: Started
    others: dict[str, Started]
    every: float
    lock_every: float
    stop_event: threading.Event = field(default_factory=threading.Event)
    rss_max: dict[str, float] = field(default_factory=dict)  # "role pid" → MB
    totals_max: dict[str, float] = field(default_factory=dict)  # role → MB, all its processes
    memory_samples: int = 0
    lock_samples: int = 0
    samples_with_waits: int = 0
    row_wait_samples: int = 0
    waits: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def start(self) -> None:
        threading.Thread(target=self._memory, daemon=True).start()
        threading.Thread(target=self._locks, daemon=True).start()

    def stop(self) -> None:
        self.stop_event.set()

    def _processes(self) -> dict[str, list[psutil.Process]]:
        roles: dict[str, list[psutil.Process]] = defaultdict(list)
        try:
            master = psutil.Process(self.gunicorn.process.pid)
            roles["gunicorn master"].append(master)
            roles["gunicorn worker"] += master.children()
        except psutil.NoSuchProcess:
            pass
        for name, started in self.others.items():
            try:
                parent = psutil.Process(started.process.pid)
                roles[name] += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        postmaster = cluster.postmaster_pid()
        if postmaster:
            try:
                parent = psutil.Process(postmaster)
                roles["postgres (all)"] += [parent, *parent.children()]
            except psutil.NoSuchProcess:
                pass
        return roles

    def _memory(self) -> None:
        while not self.stop_event.is_set():
            for role, processes in self._processes().items():
                total = 0.0
                pss = 0.0
                for process in processes:
                    try:
                        if role == "postgres (all)":
                            info = process.memory_full_info()
                            pss += info.pss / 2**20
                            rss = info.rss / 2**20
                        else:
                            rss = process.memory_info().rss / 2**20
                    except (psutil.NoSuchProcess, psutil.AccessDenied):
                        continue
                    total += rss
                    key = f"{role} {process.pid}"
                    self.rss_max[key] = max(self.rss_max.get(key, 0.0), rss)
                self.totals_max[role] = max(self.totals_max.get(role, 0.0), total)
                if pss:
                    self.totals_max["postgres (all), PSS"] = max(
                        self.totals_max.get("postgres (all), PSS", 0.0), pss
                    )
            self.memory_samples += 1
            self.stop_event.wait(self.every)

    def _locks(self) -> None:
        digits = re.compile(r"\b\d+\b")
        try:
            conn = psycopg.connect(cluster.URL, autocommit=True)
        except psycopg.Error as exc:
            self.errors.append(str(exc))
            return
        with conn:
            while not self.stop_event.is_set():
                rows = conn.execute(
                    """
                    SELECT a.wait_event, regexp_replace(left(a.query, 300), '\\s+', ' ', 'g'),
                           w.locktype, w.relation::regclass::text, t.relation::regclass::text,
                           (SELECT regexp_replace(left(b.query, 200), '\\s+', ' ', 'g')
                            FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(a.pid))[1])
                    FROM pg_stat_activity a
                    LEFT JOIN pg_locks w ON w.pid = a.pid AND NOT w.granted
                    LEFT JOIN pg_locks t ON t.pid = a.pid AND t.granted AND t.locktype = 'tuple'
                    WHERE a.wait_event_type = 'Lock' AND a.datname = current_database()
                      AND a.pid <> pg_backend_pid()
                    """
                ).fetchall()
                self.lock_samples += 1
                if rows:
                    self.samples_with_waits += 1
                row_wait = False
                for event, query, locktype, relation, tuple_relation, blocker in rows:
                    on_row = locktype in ("tuple", "transactionid")
                    row_wait = row_wait or on_row
                    where = relation or tuple_relation or ""
                    what = f"row of {where}" if on_row and where else (f"{locktype} {where}".strip() or event)
                    key = f"{what} | waiting: {digits.sub('N', query or '')[:160]}"
                    if blocker:
                        key += f" | holder: {digits.sub('N', blocker)[:120]}"
                    self.waits[key] += 1
                self.row_wait_samples += row_wait
                self.stop_event.wait(self.lock_every)

    def figures(self) -> dict[str, Any]:
        return {
            "memory_samples": self.memory_samples,
            "rss_max_mb": {k: round(v, 1) for k, v in sorted(self.rss_max.items())},
            "rss_max_total_mb": {k: round(v, 1) for k, v in sorted(self.totals_max.items())},
            "lock_samples": self.lock_samples,
            "samples_with_lock_waits": self.samples_with_waits,
            "samples_with_row_lock_waits": self.row_wait_samples,
            "lock_waits": dict(self.waits.most_common(20)),
            "errors": self.errors,
        }


# ---------------------------------------------------------------------------------------------
# Locust


def run_locust(args: argparse.Namespace, data_file: Path, outdir: Path) -> tuple[int, list[dict[str, Any]]]:
    prefix = outdir / "locust"
    command = [
        str(REPO / ".venv" / "bin" / "locust"),
        "-f",
        str(REPO / "bench" / "load" / "locustfile.py"),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        args.duration,
        "--host",
        f"http://127.0.0.1:{WEB_PORT}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "30",
        "--loglevel",
        "WARNING",
    ]
    env = os.environ.copy() | {"LOAD_DATA": str(data_file), "PYTHONPATH": str(REPO)}
    with (outdir / "locust.log").open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
        code = process.wait()
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        raise SystemExit(
            f"Locust wrote no statistics (exit {code}):\n{(outdir / 'locust.log').read_text()[-3000:]}"
        )
    with stats_file.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return code, rows


def operations_table(rows: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    def number(value: str) -> float:
        try:
            return float(value)
        except (TypeError, ValueError):
            return float("nan")

    table: dict[str, Any] = {}
    conflicts: dict[str, int] = {}
    total: dict[str, Any] = {}
    for row in rows:
        name, kind = row["Name"], row["Type"]
        if kind == "CONFLICT":
            conflicts[name] = int(row["Request Count"])
            continue
        entry: dict[str, Any] = {
            "requests": int(row["Request Count"]),
            "errors": int(row["Failure Count"]),
            "p50_ms": number(row["50%"]),
            "p95_ms": number(row["95%"]),
            "p99_ms": number(row["99%"]),
            "max_ms": number(row["Max Response Time"]),
            "per_s": round(number(row["Requests/s"]), 2),
        }
        if name == "Aggregated":
            total = entry
        else:
            entry["kind"] = OPERATIONS.get(name, ("", "", "?"))[2]
            table[name] = entry
    return {"operations": table, "conflicts": conflicts, "total": total}


def read_failures(outdir: Path) -> list[dict[str, Any]]:
    path = outdir / "locust_failures.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [
            {"name": row["Name"], "error": row["Error"][:200], "occurrences": int(row["Occurrences"])}
            for row in csv.DictReader(handle)
        ]


# ---------------------------------------------------------------------------------------------
# The report


def goals(report: dict[str, Any]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    operations = report["locust"]["operations"]
    bio = report["biometric"].get("acceptance_ms", 0.0)
    for name, row in sorted(operations.items()):
        limit = GOAL_P95_MS.get(row["kind"])
        if limit is None or not row["requests"]:
            continue
        if row["kind"] == "accept":
            limit += bio
        checks.append(
            {
                "goal": f"{name} p95 < {limit:.0f} ms"
                + (f" (300 + biometric {bio:.0f})" if row["kind"] == "accept" else ""),
                "value": f"{row['p95_ms']:.0f} ms",
                "pass": row["p95_ms"] < limit,
            }
        )
    errors = report["locust"]["total"].get("errors", 0)
    checks.append({"goal": "0 errors", "value": str(errors), "pass": errors == 0})
    locks = report["sampler"]
    checks.append(
        {
            "goal": "no waits on a shared row",
            "value": f"{locks['samples_with_row_lock_waits']} of {locks['lock_samples']} samples",
            "pass": locks["samples_with_row_lock_waits"] == 0,
        }
    )
    capacity = report.get("lifecycle", {}).get("capacity_machine")
    if capacity is not None:
        checks.append(
            {
                "goal": f"≥ {LIFECYCLE_GOAL} lifecycles/s on one primary"
                f" ({report['lifecycle']['cores']} cores)",
                "value": f"{capacity:.0f}/s",
                "pass": capacity >= LIFECYCLE_GOAL,
            }
        )
    return checks


def print_report(report: dict[str, Any]) -> None:
    out = sys.stdout
    cfg = report["config"]
    print(
        f"\nLoad test {report['started']}: {cfg['users']} users for {cfg['duration']}, gunicorn"
        f" {cfg['workers']}"
        f" workers × 4 threads; engine: {report['engine']}; sealer: {report['sealer']}; fingers as"
        f" {cfg['fingers']};"
        f" {report['data']['people']:,} people, {report['data']['applications']:,} applications,"
        f" {report['data']['templates']:,} face templates; {os.cpu_count()} CPUs shared by the"
        " server, PostgreSQL"
        f" and Locust; load average before {report['load_before']}",
        file=out,
    )
    rows = report["locust"]["operations"]
    print(
        f"\n{'operation':<26}{'kind':<10}{'requests':>9}{'errors':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}",
        file=out,
    )
    for name, row in sorted(rows.items(), key=lambda item: (item[1]["kind"], item[0])):
        print(
            f"{name:<26}{row['kind']:<10}{row['requests']:>9}{row['errors']:>7}{row['p50_ms']:>8.0f}"
            f"{row['p95_ms']:>8.0f}{row['p99_ms']:>8.0f}",
            file=out,
        )
    total = report["locust"]["total"]
    print(
        f"{'all':<36}{total.get('requests', 0):>9}{total.get('errors', 0):>7}{total.get('p50_ms', 0):>8.0f}"
        f"{total.get('p95_ms', 0):>8.0f}{total.get('p99_ms', 0):>8.0f}   {total.get('per_s', 0)} requests/s",
        file=out,
    )
    if report["locust"]["conflicts"]:
        print(f"conflicts (409, someone acted first; not errors): {report['locust']['conflicts']}", file=out)
    for failure in report["locust"]["failures"][:10]:
        print(f"error: {failure['name']}: {failure['error']} ×{failure['occurrences']}", file=out)
    bio = report["biometric"]
    print(
        f"\nbiometric time of one acceptance (apart, quiet): photo {bio['photo_prepare']['median_ms']} ms"
        f" (standard, template, 1:N over every gallery) + fingers {bio['fingers_prepare']['median_ms']} ms"
        f" ({bio['fingers']}) = {bio['acceptance_ms']} ms; handover finger 1:1"
        f" {bio['handover_finger']['median_ms']} ms",
        file=out,
    )
    sampler = report["sampler"]
    print("\nmemory, max RSS (MB):", file=out)
    for role, mb in sampler["rss_max_total_mb"].items():
        print(f"  {role:<28}{mb:>9.0f}  (all its processes)", file=out)
    for key, mb in sampler["rss_max_mb"].items():
        if not key.startswith("postgres"):
            print(f"  {key:<28}{mb:>9.0f}", file=out)
    print(
        f"\nlock waits: {sampler['samples_with_lock_waits']} of {sampler['lock_samples']} samples had"
        " a session"
        f" waiting for a lock, {sampler['samples_with_row_lock_waits']} on a row",
        file=out,
    )
    for key, count in list(sampler["lock_waits"].items())[:8]:
        print(f"  {count:>5} × {key}", file=out)
    life = report.get("lifecycle")
    if life:
        print(
            f"\ndatabase cost of one lifecycle ({life['lifecycles']} serially,"
            f" {life['http_requests_per_lifecycle']}"
            f" requests each): {life['statements_per_lifecycle']} statements,"
            f" {life['db_ms_per_lifecycle']} ms"
            f" (execution {life['exec_ms']} + planning {life['plan_ms']} ms over {life['lifecycles']})",
            file=out,
        )
        print(
            f"  capacity: 1000 / {life['db_ms_per_lifecycle']} ms = {life['capacity_per_core']:.0f}"
            " lifecycles/s per core;"
            f" × {life['cores']} cores = {life['capacity_machine']:.0f}/s; {LIFECYCLE_GOAL}/s needs"
            f" {life['cores_for_goal']:.1f} cores at this cost (execution alone, no planning:"
            f" {life['capacity_per_core_execution_only']:.0f}/s per core)",
            file=out,
        )
        print("  statements taking most of it (execution + planning ms over all lifecycles):", file=out)
        for statement in life["top_statements"][:6]:
            print(
                f"    {statement['exec_ms']:>7.1f} + {statement['plan_ms']:>7.1f} ms"
                f" {statement['calls']:>5} × {statement['query'][:80]}",
                file=out,
            )
    elif report.get("lifecycle_error"):
        print(f"\nlifecycles failed: {report['lifecycle_error']}", file=out)
    print(f"\naudit verify: {report['audit_verify']}", file=out)
    print("\ngoals:", file=out)
    for check in report["goals"]:
        print(f"  {'PASS' if check['pass'] else 'FAIL'}  {check['goal']}: {check['value']}", file=out)
    print(f"\nreport: {report['report_file']}", file=out)


def data_counts() -> dict[str, int]:
    with psycopg.connect(cluster.URL) as conn:

        def count(table: str) -> int:
            row = conn.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table]
            ).fetchone()
            return int(row[0]) if row else 0

        return {
            "people": count("registry_person"),
            "applications": count("intake_application"),
            "templates": count("biometrics_biometrictemplate"),
        }


def audit_verify() -> str:
    exists, _ = command_exists("audit", "verify")
    if not exists:
        return "no `tongban audit verify` on this branch"
    result = subprocess.run(  # noqa: S603
        [str(TONGBAN), "audit", "verify"],
        capture_output=True,
        text=True,
        env=product_env(),
        check=False,
        timeout=3600,
    )
    text = (result.stdout + result.stderr).strip().splitlines()
    return f"exit {result.returncode}: {' '.join(text[-2:])[:300]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.run", description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument(
        "--spawn-rate", type=float, default=5, help="users started a second (default %(default)s)"
    )
    parser.add_argument(
        "--duration", default="10m", help="Locust's run time, e.g. 90s, 10m (default %(default)s)"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default %(default)s)")
    parser.add_argument(
        "--lifecycles", type=int, default=20, help="K lifecycles for the database cost (0: skip)"
    )
    parser.add_argument(
        "--fingers",
        choices=["template", "image"],
        default="template",
        help="thumbs sent as the capture client's templates (default) or as images the server extracts",
    )
    parser.add_argument("--batch-size", type=int, default=50, help="the centre's batches during the load")
    parser.add_argument("--sample-every", type=float, default=5.0, help="memory sampling period, seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    state = read_state()
    missing = [name for name in STAGES if name not in state.get("stages", {})]
    if missing:
        raise SystemExit(
            f"the data is not complete (stages {missing}): run python -m bench.load.generate first"
        )
    busy = [port for port in (WEB_PORT, ENGINE_PORT) if not port_free(port)]
    if busy:
        raise SystemExit(f"port {busy} is in use: is another load test running?")
    if not cluster.running():
        say("starting the load cluster")
        cluster.start()
    stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%d-%H%M%SZ")
    outdir = LOAD_DIR / "runs" / stamp
    outdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started": stamp,
        "config": {
            k: getattr(args, k)
            for k in ("users", "spawn_rate", "duration", "workers", "lifecycles", "fingers")
        },
        "params": state["params"],
        # Server-side binding and prepared statements (tongban/settings.py); 0: statements as text.
        "db_prepare": os.environ.get("TONGBAN_DB_PREPARE", "5 (default)"),
        "load_before": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    report["data"] = data_counts()
    say(f"picking applicants and people ({report['data']})")
    data = pick_data(args, state)
    needed = args.lifecycles + 5 * args.workers
    if len(data["pool"]) < needed + 10:
        raise SystemExit(
            f"only {len(data['pool'])} applicants left in the pool: generate again with a larger --pool"
        )
    life_applicants = [data["pool"].pop() for _ in range(args.lifecycles)]
    say(f"{len(data['pool']):,} applicants available, {len(data['lookup']):,} people to look up")

    env = product_env()
    others: dict[str, Started] = {}
    engine_ok, engine_help = command_exists("abis", "serve")
    sealer_ok, _ = command_exists("audit", "seal")
    started: list[Started] = []
    try:
        if engine_ok:
            engine = start("engine", engine_command(engine_help), env, outdir)
            started.append(engine)
            others["engine"] = engine
            say(f"engine: {' '.join(engine.command[1:])} (loading the face index)")
            wait_for_port(ENGINE_PORT, engine, 900)
            env = env | {
                "TONGBAN_BIOMETRICS_ENGINE": "service",
                "TONGBAN_ABIS_NODES": f"36=http://127.0.0.1:{ENGINE_PORT}",
            }
            report["engine"] = (
                f"tongban abis serve on {ENGINE_PORT} (web workers: TONGBAN_BIOMETRICS_ENGINE=service)"
            )
        else:
            report["engine"] = "in each gunicorn worker (no `tongban abis serve` on this branch)"
        say(f"engine: {report['engine']}")
        say("biometric time of one acceptance, apart (bench/load/biotime.py)")
        bio = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "bench.load.biotime", "--fingers", args.fingers],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
            timeout=1800,
        )
        if bio.returncode != 0:
            raise SystemExit(f"biotime failed:\n{bio.stderr[-3000:]}")
        report["biometric"] = json.loads(bio.stdout.strip().splitlines()[-1])
        say(f"  {report['biometric']['acceptance_ms']} ms")
        if sealer_ok:
            sealer = start("sealer", [str(TONGBAN), "audit", "seal", "--follow"], env, outdir)
            started.append(sealer)
            others["sealer"] = sealer
            report["sealer"] = "tongban audit seal --follow"
        else:
            report["sealer"] = "none (no `tongban audit seal` on this branch)"
        say(f"sealer: {report['sealer']}")
        gunicorn = start(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(REPO / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{WEB_PORT}",
                "--workers",
                str(args.workers),
                "tongban.wsgi",
            ],
            env,
            outdir,
        )
        started.append(gunicorn)
        wait_for_port(WEB_PORT, gunicorn, 120)
        say(f"gunicorn: {args.workers} workers on {WEB_PORT} (deploy/gunicorn.conf.py)")
        tokens = sign_in(list(ACCOUNT_UNITS))
        data["tokens"] = tokens
        say("warming up the workers (untimed)")
        report["warm_up"] = warm_up(data, tokens, args.workers, gunicorn)
        say(f"  {report['warm_up']}")
        data_file = outdir / "locust-data.json"
        data_file.write_text(json.dumps(data, ensure_ascii=False))
        sampler = Sampler(gunicorn, others, args.sample_every, 0.5)
        say(f"Locust: {args.users} users, {args.spawn_rate}/s, {args.duration}")
        sampler.start()
        began = time.perf_counter()
        code, rows = run_locust(args, data_file, outdir)
        locust_s = time.perf_counter() - began
        sampler.stop()
        report["locust"] = operations_table(rows, locust_s) | {
            "exit": code,
            "seconds": round(locust_s, 1),
            "failures": read_failures(outdir),
        }
        report["sampler"] = sampler.figures()
        if args.lifecycles:
            say(f"{args.lifecycles} lifecycles, serially, for their database cost")
            try:
                life = lifecycle.run(f"http://127.0.0.1:{WEB_PORT}", tokens, life_applicants, data)
                cores = os.cpu_count() or 1
                per_core = 1000.0 / life["db_ms_per_lifecycle"]
                life |= {
                    "cores": cores,
                    "capacity_per_core_execution_only": round(1000.0 / life["exec_ms_per_lifecycle"], 1),
                    "capacity_per_core": round(per_core, 1),
                    "capacity_machine": round(per_core * cores, 1),
                    "cores_for_goal": round(LIFECYCLE_GOAL / per_core, 2),
                }
                report["lifecycle"] = life
            except RuntimeError as exc:
                report["lifecycle_error"] = str(exc)
        report["server_log_errors"] = gunicorn_errors(gunicorn.log)
    finally:
        for each in reversed(started):
            each.stop()
    report["audit_verify"] = audit_verify()
    report["goals"] = goals(report)
    report_file = outdir / "report.json"
    report["report_file"] = str(report_file.relative_to(REPO))
    report_file.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    shutil.copyfile(report_file, LOAD_DIR / "report.json")
    print_report(report)
    print(json.dumps({k: report[k] for k in ("goals", "config")}, ensure_ascii=False))
    return 0


def gunicorn_errors(log: Path) -> dict[str, int]:
    """Tracebacks in the server's log, by their last line."""
    counted: Counter[str] = Counter()
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith(" ") or not lines[j].strip()):
                j += 1
            if j < len(lines):
                counted[lines[j][:160]] += 1
    return dict(counted.most_common(10))


if __name__ == "__main__":
    sys.exit(main())
