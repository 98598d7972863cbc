"""Register import benchmark: `python -m bench.import_register [--rows N] [--database-url URL]`.

In one run, on a database it creates (a new SQLite file under /tmp by default, or a fresh
PostgreSQL database it creates and drops through the `postgres` maintenance database):

1. generate a synthetic Jiangxi register CSV (`bench.make_register_csv`, 1% planted bad rows);
2. baseline "naive": python-stdnum validation and one `Person.objects.create` per row, on the
   first `--naive-sample` rows into the empty table, extrapolated to the whole file;
3. `import_people` of the whole file into the emptied table (every good row an insert), with a
   check that the counts and rejection reasons match what was planted;
4. `import_people` of the same file again (every good row unchanged);
5. baseline "lower bound": reading and csv-parsing the file once, nothing else.

It prints a table, then one JSON line with every figure. Steps 3-4 run `--repeat` times on an
emptied table; the table shows medians, the JSON keeps every sample.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.make_register_csv import Planted, write_register_csv

PROVINCE = "36"
STATIONS_PER_COUNTY = 2
# A fixed "today" keeps the verdicts independent of the date the benchmark runs on.
TODAY = datetime.date(2026, 11, 22)
MAINTENANCE_DB = "postgres"


# ---------------------------------------------------------------------------------------------
# Databases


@dataclass
class BenchDatabase:
    url: str
    vendor: str  # "sqlite" or "postgresql"
    drop: Callable[[], None]


def _postgres_admin_url(url: str) -> tuple[str, str]:
    """The maintenance database's URL and the benchmark database's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == MAINTENANCE_DB:
        raise SystemExit(f"give the benchmark its own database name, not {name or 'none'!r}: {url}")
    return urlunsplit(parts._replace(path="/" + MAINTENANCE_DB)), name


def _postgres_recreate(url: str) -> BenchDatabase:
    import psycopg
    from psycopg import sql

    admin_url, name = _postgres_admin_url(url)

    def run(statement: sql.Composed) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(statement)

    drop_statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    run(drop_statement)
    run(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return BenchDatabase(url=url, vendor="postgresql", drop=lambda: run(drop_statement))


def prepare_database(url: str | None, workdir: Path) -> BenchDatabase:
    if url is None:
        path = workdir / "bench.sqlite3"
        return BenchDatabase(url=f"sqlite:///{path}", vendor="sqlite", drop=lambda: None)
    scheme = urlsplit(url).scheme
    if scheme.startswith("postgres"):
        return _postgres_recreate(url)
    if scheme == "sqlite":
        path = Path(urlsplit(url).path)
        path.unlink(missing_ok=True)
        return BenchDatabase(url=url, vendor="sqlite", drop=lambda: path.unlink(missing_ok=True))
    raise SystemExit(f"unsupported database URL: {url}")


def setup_django(url: str, *, debug: bool = False) -> None:
    # Settings read the environment once, at import: set it before setup(). DEBUG is off unless
    # asked for, as in production: with it on, Django keeps the text of every query.
    os.environ["TONGBAN_DATABASE_URL"] = url
    os.environ["TONGBAN_DEBUG"] = "true" if debug else "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    import django

    django.setup()


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("select sqlite_version()")
            return "SQLite " + str(cursor.fetchone()[0])
        cursor.execute("show server_version")
        return "PostgreSQL " + str(cursor.fetchone()[0])


def empty_people_table() -> None:
    """Remove every person without Django's cascade collector (which would load them all)."""
    from django.db import connection

    from tongban.registry.models import Person

    table = connection.ops.quote_name(Person._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
            cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (a quoted table name)
            cursor.execute("VACUUM")


def close_database() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()


@contextmanager
def scratch_database(url: str | None, prefix: str, *, keep: bool) -> Iterator[tuple[Path, BenchDatabase]]:
    """A scratch folder (the run's `TONGBAN_VAR_DIR`: keys, face indexes) and a fresh database
    with Django set up on it; both removed afterwards unless `keep`."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    db = prepare_database(url, workdir)
    os.environ["TONGBAN_VAR_DIR"] = str(workdir)
    try:
        setup_django(db.url)
        yield workdir, db
    finally:
        close_database()
        if not keep:
            db.drop()
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir} and {db.url}", file=sys.stderr)


def start_sealer(workdir: Path, *, interval: float | None = None) -> subprocess.Popen[bytes]:
    """The audit sealer in a process of its own, as deploy/ runs it beside the web server."""
    command = [sys.executable, "-m", "tongban", "audit", "seal", "--follow"]
    if interval is not None:
        command += ["--interval", str(interval)]
    with (workdir / "sealer.log").open("wb") as out:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, cwd=Path(__file__).resolve().parent.parent, stdout=out, stderr=subprocess.STDOUT
        )


# ---------------------------------------------------------------------------------------------
# Measurements


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Sample:
    """One timed step: wall seconds, this process's CPU seconds (the database server's work is
    not in them), and the 1-minute load average when it started, to spot a busy machine."""

    wall_s: float
    cpu_s: float
    load_at_start: float

    def __str__(self) -> str:
        return f"{self.wall_s:.1f} s ({self.cpu_s:.1f} s CPU, load {self.load_at_start})"

    def to_dict(self) -> dict[str, float]:
        return {"wall_s": round(self.wall_s, 2), "cpu_s": round(self.cpu_s, 2), "load": self.load_at_start}


@contextmanager
def stopwatch(into: list[Sample]) -> Iterator[None]:
    load = round(os.getloadavg()[0], 2)
    cpu, start = cpu_seconds(), time.perf_counter()
    yield
    into.append(Sample(time.perf_counter() - start, cpu_seconds() - cpu, load))


def lower_bound(path: Path) -> int:
    """Read and csv-parse the file once: no import can beat this."""
    count = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for _ in csv.reader(handle):
            count += 1
    return count - 1


@dataclass
class NaiveOutcome:
    rows: int = 0
    seconds: float = 0.0
    created: int = 0
    failed: int = 0  # unknown station or a number already inserted (重号)
    stdnum_rejected: int = 0


def naive_import(path: Path, sample: int) -> NaiveOutcome:
    """What a first attempt looks like: per row, validate with python-stdnum, then create.

    stdnum's verdict is computed (that is the cost being measured) but not acted on: it refuses
    region codes newer than the birth year, i.e. most valid numbers of people born before 1983,
    and skipping those rows would make the naive import both wrong and unfairly fast."""
    from django.db import IntegrityError
    from stdnum.cn import ric

    from tongban.registry.models import Person, Unit

    stations = {
        code: (pk, region)
        for code, pk, region in Unit.objects.stations().values_list("code", "pk", "region_code")
    }
    outcome = NaiveOutcome()
    start = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in islice(csv.DictReader(handle), sample):
            outcome.rows += 1
            try:
                valid = ric.is_valid(row["id_number"])
            except (KeyError, ValueError):  # stdnum raises KeyError for some unknown codes
                valid = False
            outcome.stdnum_rejected += not valid
            station = stations.get(row["registration_unit"])
            if station is None:
                outcome.failed += 1
                continue
            try:
                Person.objects.create(
                    id_number=row["id_number"],
                    name=row["name"],
                    sex_id=row["sex"],
                    ethnicity_id=row["ethnicity"],
                    birth_date=datetime.date.fromisoformat(row["birth_date"]),
                    address=row["address"],
                    household_no=row["household_no"],
                    relation_id=row["relation"] or None,
                    registration_unit_id=station[0],
                    region_code=station[1],
                )
            except IntegrityError:
                outcome.failed += 1
                continue
            outcome.created += 1
    outcome.seconds = time.perf_counter() - start
    return outcome


def check_counts(counts: dict[str, int], expected: dict[str, int], what: str) -> list[str]:
    return [
        f"{what}: {key} = {counts.get(key)}, expected {value}"
        for key, value in expected.items()
        if counts.get(key) != value
    ]


def reason_counts(result: Any) -> dict[str, int]:
    return dict(Counter(rejection.code for rejection in result.rejections))


def expected_reasons(planted: Planted) -> dict[str, int]:
    return {
        "invalid_id_number": planted.wrong_check_digit,
        "birth_date_mismatch": planted.birth_date_mismatch,
        "unknown_unit": planted.unknown_unit,
        "duplicate_in_file": 2 * planted.duplicate_pairs,
    }


@dataclass
class Figures:
    rows: int
    database: str
    debug: bool = False
    database_version: str = ""
    generate: list[Sample] = field(default_factory=list)
    lower_bound: list[Sample] = field(default_factory=list)
    imports: list[Sample] = field(default_factory=list)
    reimports: list[Sample] = field(default_factory=list)
    naive: NaiveOutcome = field(default_factory=NaiveOutcome)
    rss_before_import_mb: float = 0.0
    peak_rss_before_import_mb: float = 0.0
    peak_rss_after_import_mb: float = 0.0
    peak_rss_after_reimport_mb: float = 0.0
    counts_first: dict[str, int] = field(default_factory=dict)
    counts_again: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def naive_extrapolated_s(self) -> float:
        return self.naive.seconds * self.rows / self.naive.rows if self.naive.rows else float("nan")

    def to_dict(self, planted: Planted) -> dict[str, Any]:
        import_s = statistics.median(sample.wall_s for sample in self.imports)
        reimport_s = statistics.median(sample.wall_s for sample in self.reimports)
        lower_bound_s = self.lower_bound[0].wall_s
        return {
            "benchmark": "import_register",
            "database": self.database,
            "database_version": self.database_version,
            "debug": self.debug,
            "rows": self.rows,
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "generate_s": round(self.generate[0].wall_s, 2),
            "lower_bound_s": round(lower_bound_s, 2),
            "import_s": round(import_s, 2),
            "import_cpu_s": round(statistics.median(sample.cpu_s for sample in self.imports), 2),
            "import_rows_per_s": round(self.rows / import_s),
            "reimport_s": round(reimport_s, 2),
            "reimport_cpu_s": round(statistics.median(sample.cpu_s for sample in self.reimports), 2),
            "reimport_rows_per_s": round(self.rows / reimport_s),
            "import_samples": [sample.to_dict() for sample in self.imports],
            "reimport_samples": [sample.to_dict() for sample in self.reimports],
            "naive_sample_rows": self.naive.rows,
            "naive_sample_s": round(self.naive.seconds, 2),
            "naive_sample_rows_per_s": round(self.naive.rows / self.naive.seconds, 1),
            "naive_extrapolated_s": round(self.naive_extrapolated_s, 1),
            "naive_stdnum_rejected": self.naive.stdnum_rejected,
            "import_over_lower_bound": round(import_s / lower_bound_s, 1),
            "reimport_over_lower_bound": round(reimport_s / lower_bound_s, 1),
            "naive_over_import": round(self.naive_extrapolated_s / import_s, 1),
            "rss_before_import_mb": round(self.rss_before_import_mb),
            "peak_rss_before_import_mb": round(self.peak_rss_before_import_mb),
            "peak_rss_after_import_mb": round(self.peak_rss_after_import_mb),
            "peak_rss_after_reimport_mb": round(self.peak_rss_after_reimport_mb),
            "planted": planted.to_dict(),
            "counts_first": self.counts_first,
            "counts_again": self.counts_again,
            "rejection_reasons": self.reasons,
            "checks_ok": not self.problems,
            "problems": self.problems,
        }


def print_table(figures: dict[str, Any], out: Any = sys.stdout) -> None:
    rows = figures["rows"]

    def line(label: str, seconds: float, ratio: str = "", cpu: float | None = None) -> None:
        rate = f"{rows / seconds:>12,.0f}" if seconds else " " * 12
        cpu_text = f"{cpu:>9.1f}" if cpu is not None else " " * 9
        print(f"{label:<44}{seconds:>10.1f}{cpu_text}{rate}  {ratio}", file=out)

    print(
        f"\n{figures['database_version']}, {rows:,} rows, {figures['cpus']} CPUs, "
        f"Python {figures['python']}, DEBUG {'on' if figures['debug'] else 'off'}",
        file=out,
    )
    print(f"{'':<44}{'seconds':>10}{'CPU s':>9}{'rows/s':>12}  ratio", file=out)
    line("generate CSV (1 process, csv.writer)", figures["generate_s"])
    line("lower bound: read + csv-parse once", figures["lower_bound_s"], "1.0 x")
    line(
        "import_people, first (inserts)",
        figures["import_s"],
        f"{figures['import_over_lower_bound']} x LB",
        figures["import_cpu_s"],
    )
    line(
        "import_people, again (all unchanged)",
        figures["reimport_s"],
        f"{figures['reimport_over_lower_bound']} x LB",
        figures["reimport_cpu_s"],
    )
    line(
        f"naive (extrapolated from {figures['naive_sample_rows']:,} rows)",
        figures["naive_extrapolated_s"],
        f"{figures['naive_over_import']} x import",
    )
    print(
        f"peak RSS: {figures['peak_rss_before_import_mb']} MB before import, "
        f"{figures['peak_rss_after_import_mb']} MB after, {figures['peak_rss_after_reimport_mb']} MB "
        f"after re-import",
        file=out,
    )
    loads = [sample["load"] for sample in figures["import_samples"] + figures["reimport_samples"]]
    print(
        f"medians of {len(figures['import_samples'])} run(s); 1-min load average at the start of each "
        f"timed import: {', '.join(str(load) for load in loads)} (this process adds about 1)",
        file=out,
    )
    print("checks: " + ("ok" if figures["checks_ok"] else "; ".join(figures["problems"])), file=out)


# ---------------------------------------------------------------------------------------------
# The run


def run(args: argparse.Namespace, workdir: Path, db: BenchDatabase) -> dict[str, Any]:
    from django.core.management import call_command

    from tongban.registry import importer
    from tongban.registry.models import Person
    from tongban.registry.services import units_load_province

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    figures = Figures(rows=args.rows, database=db.vendor, debug=args.debug)

    log(f"migrating {db.vendor} database")
    call_command("migrate", verbosity=0)
    units_load_province(province_code=PROVINCE, stations_per_county=STATIONS_PER_COUNTY, actor=None)
    figures.database_version = database_version()

    csv_path = workdir / "register.csv"
    log(f"writing {args.rows:,} rows to {csv_path}")
    with stopwatch(figures.generate):
        planted = write_register_csv(csv_path, args.rows, seed=args.seed, bad_rate=args.bad_rate)

    log(f"naive baseline on {min(args.naive_sample, args.rows):,} rows")
    figures.naive = naive_import(csv_path, args.naive_sample)

    figures.rss_before_import_mb = current_rss_mb()
    figures.peak_rss_before_import_mb = peak_rss_mb()
    for attempt in range(1, args.repeat + 1):
        empty_people_table()
        log(f"import {attempt}/{args.repeat}")
        with stopwatch(figures.imports):
            first = importer.import_people(csv_path, actor=None, today=TODAY)
        figures.peak_rss_after_import_mb = peak_rss_mb()
        log(f"  {figures.imports[-1]}, {first.counts()}; re-import {attempt}/{args.repeat}")
        with stopwatch(figures.reimports):
            again = importer.import_people(csv_path, actor=None, today=TODAY)
        figures.peak_rss_after_reimport_mb = peak_rss_mb()
        log(f"  {figures.reimports[-1]}, {again.counts()}")
        figures.counts_first, figures.counts_again = first.counts(), again.counts()
        figures.reasons = reason_counts(first)
        figures.problems += check_counts(
            figures.counts_first,
            {
                "imported": planted.expected_imported,
                "updated": 0,
                "unchanged": 0,
                "rejected": planted.expected_rejected,
            },
            "first import",
        )
        figures.problems += check_counts(
            figures.counts_again,
            {
                "imported": 0,
                "updated": 0,
                "unchanged": planted.expected_imported,
                "rejected": planted.expected_rejected,
            },
            "re-import",
        )
        figures.problems += check_counts(figures.reasons, expected_reasons(planted), "rejection reasons")
        figures.problems += check_counts(
            {"people": Person.objects.count()}, {"people": planted.expected_imported}, "register"
        )
        del first, again

    log("lower bound: read + csv-parse")
    with stopwatch(figures.lower_bound):
        parsed = lower_bound(csv_path)
    if parsed != args.rows:
        figures.problems.append(f"lower bound parsed {parsed} rows, expected {args.rows}")
    return figures.to_dict(planted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_register", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        help="default: a new SQLite file under /tmp; a PostgreSQL URL names a database that is "
        "dropped, created and dropped again (e.g. postgresql://postgres@127.0.0.1:5432/tongban_bench)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-rate", type=float, default=0.01)
    parser.add_argument("--naive-sample", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, help="import + re-import this many times")
    parser.add_argument(
        "--debug", action="store_true", help="run with TONGBAN_DEBUG on (the development default)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the CSV")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeat < 1 or args.naive_sample < 1:
        parser.error("--rows, --repeat and --naive-sample must be positive")

    # A plain `kill` should still drop the database and the CSV.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    workdir = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    db = prepare_database(args.database_url, workdir)
    try:
        setup_django(db.url, debug=args.debug)
        figures = run(args, workdir, db)
    finally:
        if not args.keep:
            close_database()
            db.drop()
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept {workdir} and {db.url}", file=sys.stderr)
    print_table(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if figures["checks_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
