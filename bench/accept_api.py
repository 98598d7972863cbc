"""REST acceptance benchmark: `python -m bench.accept_api [--requests N] [--concurrency C]
[--database-url URL] [--keep]`.

In one run, against a real server on a database it creates (PostgreSQL by default, created and
dropped through the `postgres` maintenance database, like bench.import_register):

1. migrate and load the demo register (`tongban demo seed`: 江西省, the demo accounts, 20,000 people);
2. start the server in a subprocess: gunicorn with deploy/gunicorn.conf.py when gunicorn is installed
   (the `deploy` extra), else `tongban runserver --noreload` (threaded); DEBUG off, as in production;
3. pick distinct adults of the register: those who never had a card apply for the first time
   (首次申领, reason 12), those with a valid card exchange it (换领, reason 21); one token per clerk
   (the demo `clerk` of 东湖区城关派出所, or `--clerks K` clerks at K stations);
4. baseline: `POST /api/v1/people/lookup` of each of those people, `--concurrency` client threads;
5. `POST /api/v1/applications` for each of them (the standard photo from `tongban demo photo`, the
   ten fingers 未注册), the same threads; every request timed alone;
6. one client looking people up one at a time, alone and then beside `--mixed` more acceptances
   (what an acceptance does to everybody else's reads);
7. check: every acceptance answered 201 with a 受理号, the numbers are distinct, the database holds
   exactly those applications (待审核, none left in 草稿), each station's daily sequence has no gap,
   and the audit log verifies (the sealer, `tongban audit seal --follow`, runs beside the server
   as in production; what it has not reached yet is sealed before verifying).

Both loads are preceded by an untimed warm-up (each server process loads the face models on its
first photo). On PostgreSQL a sampler reads pg_stat_activity and pg_locks every 50 ms during the
timed loads (sessions running, sessions waiting for a lock, and on what). The server's tracebacks
are counted from its log. It prints a table with the ratio to the baseline, then one JSON line with
every figure; the exit status is 1 when a check failed.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import importlib.util
import itertools
import json
import os
import platform
import queue
import random
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.import_register import (
    BenchDatabase,
    close_database,
    database_version,
    scratch_database,
    start_sealer,
)

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_accept"
REPO = Path(__file__).resolve().parent.parent
PHONE = "13800138000"
FINGERS = [str(position) for position in range(11, 21)]
FINGER_REASON = "双手烧伤，无法采集"
# Server log: where a record starts (Django's logging or gunicorn's access log), an exception line.
RECORD = re.compile(r"^(\d{4}-\d\d-\d\d |\d+\.\d+\.\d+\.\d+ )")
EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Detected|Denied)\b.*?: ")


# ---------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    kind: str  # "gunicorn" or "runserver"
    description: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def errors(self) -> dict[str, int]:
        """Requests that ended in a traceback, counted by the traceback's last exception line."""
        counted: Counter[str] = Counter()
        last: str | None = None  # inside a traceback: its latest exception line
        for line in self.log.read_text(errors="replace").splitlines():
            if "ERROR django.request" in line or RECORD.match(line):
                if last:
                    counted[last] += 1
                last = "" if "ERROR django.request" in line else None
            elif last is not None and EXCEPTION.match(line):
                last = line[:160]
        if last:
            counted[last] += 1
        return dict(counted)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(kind: str, port: int, workdir: Path, workers: int | None) -> Server:
    log = workdir / f"{kind}.log"
    if kind == "gunicorn":
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
        ]
        if workers:
            command += ["--workers", str(workers)]
        count = workers or (os.cpu_count() or 1) * 2
        description = f"gunicorn {count} workers × 4 threads (deploy/gunicorn.conf.py)"
        command.append("tongban.wsgi")
    else:
        command = [sys.executable, "-m", "tongban", "runserver", "--noreload", f"127.0.0.1:{port}"]
        description = "tongban runserver --noreload (one process, a thread per request)"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
    server = Server(kind, description, process, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}:\n{server.log_tail()}")
        try:
            status, _, _ = request(port, "GET", "/api/v1/units", None, None)
        except OSError:
            time.sleep(0.2)
            continue
        if status in (200, 401, 403):
            return server
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"the server did not answer within 90 s:\n{server.log_tail()}")


def process_tree_cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and its descendants (gunicorn's workers), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / ticks
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(cpu.get(pid, 0.0) for pid in tree)


class LockSampler:
    """Every 50 ms during a phase (PostgreSQL only): how many of the database's sessions are idle
    in a transaction (the server computing while it holds the transaction's locks), how many wait
    for a lock, and on what (a queue for one row shows as `tuple` waits on the row's table)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop_event = threading.Event()
        self.samples = 0
        self.idle_in_transaction = 0
        self.waiting = 0
        self.with_waiters = 0
        self.on: Counter[str] = Counter()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop_event.wait(0.05):
                (idle, waiting), *_ = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'idle in transaction'), "
                    "count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                for locktype, relation in conn.execute(
                    "SELECT l.locktype, coalesce(l.relation::regclass::text, '') FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = current_database()"
                ).fetchall():
                    self.on[f"{locktype} {relation}".strip()] += 1
                self.samples += 1
                self.idle_in_transaction += idle
                self.waiting += waiting
                self.with_waiters += waiting > 0

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join()

    def figures(self) -> dict[str, Any]:
        n = max(1, self.samples)
        return {
            "samples": self.samples,
            "mean_sessions_idle_in_transaction": round(self.idle_in_transaction / n, 2),
            "mean_sessions_waiting_for_a_lock": round(self.waiting / n, 2),
            "share_of_samples_with_lock_waits": round(self.with_waiters / n, 2),
            "ungranted_locks": dict(self.on.most_common(5)),
        }


# ---------------------------------------------------------------------------------------------
# The clients


def request(
    port: int, method: str, path: str, body: bytes | None, token: str | None
) -> tuple[int, bytes, float]:
    """One request on a fresh connection: (status, body, seconds from sending to the last byte)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - started
    finally:
        connection.close()


@dataclass
class Call:
    index: int
    status: int
    seconds: float
    body: bytes


@dataclass
class Phase:
    name: str
    path: str
    concurrency: int
    calls: list[Call] = field(default_factory=list)
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    load_before: float = 0.0
    locks: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> list[Call]:
        return [call for call in self.calls if 200 <= call.status < 300]

    def errors(self) -> dict[str, int]:
        counted: Counter[str] = Counter()
        for call in self.calls:
            if not 200 <= call.status < 300:
                try:
                    code = json.loads(call.body).get("code", "")
                except ValueError:  # Django's error page, or the client's own OSError text
                    code = "(HTML page)" if call.body.lstrip().startswith(b"<") else call.body[:60].decode()
                counted[f"{call.status} {code}"] += 1
        return dict(counted)

    def figures(self) -> dict[str, Any]:
        seconds = sorted(call.seconds for call in self.ok) or [float("nan")]

        def pct(p: float) -> float:
            return round(1000 * seconds[min(len(seconds) - 1, round(p * (len(seconds) - 1)))], 1)

        n = len(self.calls)
        return {
            "path": self.path,
            "requests": n,
            "ok": len(self.ok),
            "errors": self.errors(),
            "concurrency": self.concurrency,
            "wall_s": round(self.wall_s, 2),
            "per_s": round(len(self.ok) / self.wall_s, 2) if self.wall_s else None,
            "p50_ms": round(1000 * statistics.median(seconds), 1),
            "p95_ms": pct(0.95),
            "p99_ms": pct(0.99),
            "max_ms": round(1000 * seconds[-1], 1),
            "server_cpu_ms_per_request": round(1000 * self.server_cpu_s / n, 1) if n else None,
            "client_cpu_ms_per_request": round(1000 * self.client_cpu_s / n, 1) if n else None,
            "load_before": self.load_before,
            "database_locks": self.locks,
        }


def run_phase(
    name: str,
    path: str,
    jobs: Sequence[tuple[bytes, str]],
    *,
    concurrency: int,
    server: Server,
    sample_locks_at: str | None = None,
) -> Phase:
    """Send every (body, token) of `jobs` with `concurrency` threads; each thread takes the next
    job when its previous request has answered (a closed loop, like clerks at their counters)."""
    phase = Phase(name, path, concurrency, load_before=round(os.getloadavg()[0], 2))
    todo: queue.Queue[tuple[int, bytes, str]] = queue.Queue()
    for index, (body, token) in enumerate(jobs):
        todo.put((index, body, token))
    results: list[Call] = []
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def client() -> None:
        start.wait()
        while True:
            try:
                index, body, token = todo.get_nowait()
            except queue.Empty:
                return
            try:
                status, data, seconds = request(server.port, "POST", path, body, token)
            except OSError as exc:
                status, data, seconds = 0, str(exc).encode(), 0.0
            with lock:
                results.append(Call(index, status, seconds, data))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    server_cpu = process_tree_cpu_seconds(server.process.pid)
    client_cpu = resource.getrusage(resource.RUSAGE_SELF)
    sampler = LockSampler(sample_locks_at) if sample_locks_at else None
    if sampler is not None:
        sampler.__enter__()
    started = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    phase.wall_s = time.perf_counter() - started
    if sampler is not None:
        sampler.__exit__()
        phase.locks = sampler.figures()
    phase.server_cpu_s = process_tree_cpu_seconds(server.process.pid) - server_cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    phase.client_cpu_s = usage.ru_utime + usage.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime
    phase.calls = sorted(results, key=lambda call: call.index)
    return phase


def latency(seconds: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(seconds) or [float("nan")]
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(seconds),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p95_ms": round(1000 * p95, 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


def probe_lookups(
    server: Server, bodies: Sequence[bytes], token: str, stop: threading.Event, minimum: int = 0
) -> list[float]:
    """One client looking people up, one after the other, until `stop` (and `minimum` done)."""
    seconds: list[float] = []
    for body in itertools.cycle(bodies):
        if stop.is_set() and len(seconds) >= minimum:
            break
        status, _, took = request(server.port, "POST", "/api/v1/people/lookup", body, token)
        if status == 200:
            seconds.append(took)
    return seconds


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Applicant:
    id_number: str
    kind: str  # "first" (no card ever) or "renewal" (a valid card)


def pick_applicants(count: int, seed: int) -> list[Applicant]:
    """Distinct adults of normal status: the never-carded ones and an equal share of card holders
    (as many as the register has), shuffled."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from tongban.core.dates import add_years
    from tongban.registry.models import Person

    adults = (
        Person.objects.filter(
            status=Person.Status.NORMAL, birth_date__lte=add_years(timezone.localdate(), -17)
        )
        .annotate(cards_ever=Count("cards"), active=Count("cards", filter=Q(cards__state="active")))
        .order_by("id_number")
    )
    first = [Applicant(n, "first") for n in adults.filter(cards_ever=0).values_list("id_number", flat=True)]
    holders = [Applicant(n, "renewal") for n in adults.filter(active=1).values_list("id_number", flat=True)]
    rng = random.Random(seed)
    rng.shuffle(first)
    rng.shuffle(holders)
    chosen = first[: count // 2]
    chosen += holders[: count - len(chosen)]
    if len(chosen) < count:
        raise SystemExit(f"the register has only {len(chosen)} suitable adults; seed more --people")
    rng.shuffle(chosen)
    return chosen


def acceptance_body(applicant: Applicant, photo_b64: str) -> bytes:
    first = applicant.kind == "first"
    return json.dumps(
        {
            "id_number": applicant.id_number,
            "type": applicant.kind,
            # 29 其他原因换领 fits any holder of a valid card (21 only near or after its end date).
            "reason": "12" if first else "29",
            "phone": PHONE,
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": first,
            "photo": photo_b64,
            "fingers": [
                {"position": position, "result": "not_registered", "reason": FINGER_REASON}
                for position in FINGERS
            ],
        }
    ).encode()


def clerk_tokens(clerks: int) -> list[tuple[str, str]]:
    """(station code, API token) per clerk: the demo `clerk` first, then clerks at other stations."""
    from tongban.accounts.models import User
    from tongban.accounts.services import api_token_issue
    from tongban.registry.models import Unit

    users = [User.objects.get(username="clerk")]
    stations = Unit.objects.stations().filter(code__startswith="36").exclude(code=users[0].unit_code)
    for number, unit in enumerate(stations.order_by("code")[: clerks - 1], start=2):
        users.append(User.objects.create_user(f"bench_clerk_{number}", role="clerk", unit=unit))
    return [(user.unit_code, api_token_issue(user=user)) for user in users]


def check(
    accepted: Phase, others: Sequence[Phase], applicants: Sequence[Applicant], stations: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    """Compare what the API answered with what the database holds."""
    from tongban.audit.sealer import seal_all
    from tongban.audit.verify import verify
    from tongban.intake.models import Application

    problems: list[str] = []
    numbers: list[str] = []
    for phase in (*others, accepted):
        for call in phase.ok:
            numbers.append(str(json.loads(call.body).get("number") or ""))
    if any(len(number) != 22 for number in numbers):
        problems.append("an acceptance answered without a 22-digit 受理号")
    if len(set(numbers)) != len(numbers):
        problems.append(f"duplicate 受理号: {len(numbers) - len(set(numbers))}")
    for phase in (*others, accepted):
        if len(phase.ok) != len(phase.calls):
            failed = len(phase.calls) - len(phase.ok)
            problems.append(f"{failed} acceptances failed ({phase.name}): {phase.errors()}")
    stored: dict[str, str] = {
        str(number): status
        for number, status in Application.objects.exclude(number=None).values_list("number", "status")
    }
    if set(stored) != set(numbers):
        problems.append(
            f"database holds {len(stored)} numbered applications, the API answered {len(numbers)}"
        )
    if any(status != Application.Status.PENDING_REVIEW for status in stored.values()):
        problems.append("an accepted application is not 待审核")
    drafts = Application.objects.filter(status=Application.Status.DRAFT).count()
    if drafts:
        problems.append(f"{drafts} drafts left behind")
    applied = list(Application.objects.values_list("id_number", flat=True))
    if len(applied) != len(set(applied)):
        problems.append("someone has two applications")
    if not set(applied) <= {applicant.id_number for applicant in applicants}:
        problems.append("an application for someone not sent")
    gaps = {}
    for code in stations:
        sequences = sorted(int(number[-5:]) for number in stored if number.startswith(code))
        if sequences != list(range(1, len(sequences) + 1)):
            gaps[code] = len(sequences)
    if gaps:
        problems.append(f"daily sequence with gaps at {sorted(gaps)}")
    seal_all()
    verification = verify()
    if not verification.ok:
        problems.append(f"audit log does not verify: {verification.as_dict()}")
    summary = {
        "numbers": len(numbers),
        "distinct_numbers": len(set(numbers)),
        "applications_in_database": len(stored),
        "drafts": drafts,
        "audit_rows_verified": verification.checked,
        "per_station": {code: sum(number.startswith(code) for number in stored) for code in stations},
    }
    return summary, problems


# ---------------------------------------------------------------------------------------------
# The run


def log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def run(args: argparse.Namespace, workdir: Path, db: BenchDatabase) -> dict[str, Any]:
    from django.core.management import call_command

    from tongban.demo.management.commands.demo import standard_photo
    from tongban.demo.seed import seed_demo
    from tongban.production.services import system_key_generate
    from tongban.registry.models import Person

    vendor = db.vendor
    sample_locks_at = db.url if vendor == "postgresql" else None
    log(f"migrating the {vendor} database", args.quiet)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    counts = seed_demo(people=args.people, seed=args.seed)
    seed_s = time.perf_counter() - started
    log(f"demo seed: {counts} in {seed_s:.1f} s", args.quiet)
    system_key_generate()  # the audit sealer signs with it

    warmups = max(8, 2 * args.concurrency)
    applicants = pick_applicants(warmups + args.requests + args.mixed, args.seed)
    timed = slice(warmups, warmups + args.requests)
    mixed = slice(warmups + args.requests, None)
    clerks = clerk_tokens(args.clerks)
    stations = [code for code, _ in clerks]
    photo_b64 = base64.b64encode(standard_photo()).decode("ascii")
    jobs_accept = [
        (acceptance_body(applicant, photo_b64), clerks[i % len(clerks)][1])
        for i, applicant in enumerate(applicants)
    ]
    jobs_lookup = [
        (json.dumps({"id_number": applicant.id_number}).encode(), clerks[i % len(clerks)][1])
        for i, applicant in enumerate(applicants)
    ]
    figures: dict[str, Any] = {
        "benchmark": "accept_api",
        "database": vendor,
        "database_version": database_version(),
        "people": Person.objects.count(),
        "seed_s": round(seed_s, 1),
        "requests": args.requests,
        "warmup_requests": warmups,
        "concurrency": args.concurrency,
        "clerks": stations,
        "first_applications": sum(a.kind == "first" for a in applicants[timed]),
        "renewals": sum(a.kind == "renewal" for a in applicants[timed]),
        "photo_bytes": len(base64.b64decode(photo_b64)),
        "acceptance_body_bytes": len(jobs_accept[0][0]),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    close_database()

    kind = args.server
    if kind == "auto":
        kind = "gunicorn" if importlib.util.find_spec("gunicorn") else "runserver"
    log(f"starting {kind}", args.quiet)
    server = start_server(kind, free_port(), workdir, args.workers)
    figures["server"] = server.description
    sealer = start_sealer(workdir)
    try:
        log(f"warm-up: {warmups} lookups and {warmups} acceptances", args.quiet)
        run_phase(
            "warm-up",
            "/api/v1/people/lookup",
            jobs_lookup[:warmups],
            concurrency=args.concurrency,
            server=server,
        )
        warm_accept = run_phase(
            "warm-up",
            "/api/v1/applications",
            jobs_accept[:warmups],
            concurrency=args.concurrency,
            server=server,
        )
        if len(warm_accept.ok) != warmups:
            first_error = next(call for call in warm_accept.calls if call not in warm_accept.ok)
            raise SystemExit(
                f"warm-up acceptances failed {warm_accept.errors()}: {first_error.body[:500]!r}\n"
                f"{server.log_tail()}"
            )
        log(f"baseline: {args.requests} lookups, {args.concurrency} threads", args.quiet)
        lookups = run_phase(
            "lookup",
            "/api/v1/people/lookup",
            jobs_lookup[timed],
            concurrency=args.concurrency,
            server=server,
            sample_locks_at=sample_locks_at,
        )
        log(f"  {lookups.figures()['per_s']}/s; {args.requests} acceptances", args.quiet)
        accepted = run_phase(
            "accept",
            "/api/v1/applications",
            jobs_accept[timed],
            concurrency=args.concurrency,
            server=server,
            sample_locks_at=sample_locks_at,
        )
        log(f"  {accepted.figures()['per_s']}/s", args.quiet)
        mixed_accept = None
        if args.mixed:
            log(f"one client looking up alone, then beside {args.mixed} acceptances", args.quiet)
            probe_bodies = [body for body, _ in jobs_lookup[timed]]
            stop = threading.Event()
            stop.set()
            figures["lookup_alone"] = latency(probe_lookups(server, probe_bodies, clerks[0][1], stop, 50))
            stop = threading.Event()
            probed: list[float] = []
            prober = threading.Thread(
                target=lambda: probed.extend(probe_lookups(server, probe_bodies, clerks[0][1], stop)),
                daemon=True,
            )
            prober.start()
            mixed_accept = run_phase(
                "beside lookups",
                "/api/v1/applications",
                jobs_accept[mixed],
                concurrency=args.concurrency,
                server=server,
            )
            stop.set()
            prober.join()
            figures["lookup_beside_acceptances"] = latency(probed)
            figures["accept_beside_lookups"] = mixed_accept.figures()
    finally:
        server.stop()
        sealer.terminate()
        sealer.wait(30)
        figures["server_errors"] = server.errors()
    figures["lookup"] = lookups.figures()
    figures["accept"] = accepted.figures()
    base, acc = figures["lookup"], figures["accept"]
    figures["accept_vs_lookup"] = {
        "throughput": round(base["per_s"] / acc["per_s"], 1) if acc["per_s"] else None,
        "p50": round(acc["p50_ms"] / base["p50_ms"], 1),
        "p95": round(acc["p95_ms"] / base["p95_ms"], 1),
        "server_cpu": round(acc["server_cpu_ms_per_request"] / base["server_cpu_ms_per_request"], 1),
    }
    others = [warm_accept, *([mixed_accept] if mixed_accept is not None else [])]
    summary, problems = check(accepted, others, applicants, stations)
    figures["checked"] = summary
    figures["problems"] = problems
    figures["checks_ok"] = not problems
    return figures


def print_table(figures: dict[str, Any], out: Any = sys.stdout) -> None:
    print(
        f"\n{figures['database_version']}, demo register of {figures['people']:,} people; "
        f"{figures['server']}; {figures['concurrency']} client threads, clerks at "
        f"{', '.join(figures['clerks'])}; {figures['cpus']} CPUs (client, server and database share "
        f"them), Python {figures['python']}",
        file=out,
    )
    head = f"{'':<36}{'n':>5}{'ok':>5}{'wall s':>8}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    print(f"{head}{'srv CPU ms':>11}  ratio", file=out)
    ratio = figures["accept_vs_lookup"]
    rows = (
        ("baseline: POST /people/lookup", figures["lookup"], "1.0 x"),
        (
            "POST /applications (受理)",
            figures["accept"],
            f"{ratio['throughput']} x fewer/s, p95 {ratio['p95']} x",
        ),
    )
    for label, row, versus in rows:
        print(
            f"{label:<36}{row['requests']:>5}{row['ok']:>5}{row['wall_s']:>8}{row['per_s']:>8}"
            f"{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}{row['server_cpu_ms_per_request']:>11}"
            f"  {versus}",
            file=out,
        )
    print(
        f"acceptances: {figures['first_applications']} 首次申领 + {figures['renewals']} 换领, photo "
        f"{figures['photo_bytes']:,} bytes, body {figures['acceptance_body_bytes']:,} bytes; "
        f"{figures['warmup_requests']} of each warmed up first (untimed); load average before: "
        f"{figures['lookup']['load_before']} / {figures['accept']['load_before']}",
        file=out,
    )
    if "lookup_alone" in figures:
        alone, beside = figures["lookup_alone"], figures["lookup_beside_acceptances"]
        print(
            f"one client's lookups, one at a time: alone p50 {alone['p50_ms']} ms, p95 {alone['p95_ms']} ms "
            f"({alone['n']}); while {figures['concurrency']} threads accept "
            f"({figures['accept_beside_lookups']['per_s']}/s): p50 {beside['p50_ms']} ms, p95 "
            f"{beside['p95_ms']} ms, max {beside['max_ms']} ms ({beside['n']})",
            file=out,
        )
    for label, row in (("lookups", figures["lookup"]), ("acceptances", figures["accept"])):
        locks = row["database_locks"]
        if locks:
            print(
                f"database during {label}: on average {locks['mean_sessions_idle_in_transaction']} "
                f"sessions idle in a transaction, {locks['mean_sessions_waiting_for_a_lock']} waiting "
                "for a lock; "
                f"{locks['share_of_samples_with_lock_waits']:.0%} of {locks['samples']} samples had "
                f"lock waits {locks['ungranted_locks']}",
                file=out,
            )
    if figures["server_errors"]:
        print(f"server tracebacks: {figures['server_errors']}", file=out)
    checked = figures["checked"]
    print(
        f"checks: {checked['distinct_numbers']} distinct 受理号 of {checked['numbers']}, "
        f"{checked['applications_in_database']} in the database, {checked['drafts']} drafts, "
        f"audit chain of {checked['audit_rows_verified']:,} rows verified: "
        + ("ok" if figures["checks_ok"] else "; ".join(figures["problems"])),
        file=out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accept_api", description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="a PostgreSQL URL names a database that is dropped, created and dropped again "
        "(default %(default)s); a sqlite:/// URL names a file",
    )
    parser.add_argument("--people", type=int, default=20_000, help="demo register size")
    parser.add_argument(
        "--mixed",
        type=int,
        default=48,
        help="acceptances timed while one client looks people up (0: skip)",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--clerks", type=int, default=1, help="clerks at this many stations (default 1)")
    parser.add_argument("--server", choices=["auto", "gunicorn", "runserver"], default="auto")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: deploy/gunicorn.conf.py's)")
    parser.add_argument("--keep", action="store_true", help="keep the database and the server log")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.clerks < 1 or args.mixed < 0:
        parser.error("--requests, --concurrency and --clerks must be positive, --mixed not negative")

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # The server's face indexes (var/abis) go to the scratch folder, not the repository's var/.
    with scratch_database(args.database_url, "tongban-bench-accept-", keep=args.keep) as (workdir, db):
        figures = run(args, workdir, db)
    print_table(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if figures["checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
