"""Staff roster import benchmark: `python -m bench.import_users [--rows N] [--database-url URL]`.

In one run, on a database it creates (a new SQLite file under /tmp by default, or a fresh
PostgreSQL database it creates and drops, as `bench.import_register` does):

1. a deterministic roster CSV of N accounts spread over the province's units, each role at a
   kind of unit it may work at, with 1 % planted bad rows (unknown role, bad phone, a username twice);
2. baseline "one by one": `accounts.services.user_create` per row (what the API and the page do),
   on the first `--naive-sample` rows, extrapolated to the file;
3. `import_users` of the whole file into the emptied table (every good row created, with an
   activation code and an audit row each);
4. the same file again (every good row unchanged, no audit row);
5. the file with every tenth phone changed (those rows updated).

It prints a table, then one JSON line with every figure; exit 1 when a count is not what was planted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.import_register import (
    PROVINCE,
    STATIONS_PER_COUNTY,
    Sample,
    close_database,
    database_version,
    prepare_database,
    setup_django,
    stopwatch,
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志海波晓燕鹏辉"
# Roles by the kind of unit they are placed at (accounts.rules.ROLE_UNIT_KINDS).
ROLES_AT = {
    "station": ["clerk", "clerk", "clerk", "reviewer", "distributor"],
    "county": ["reviewer", "supervisor", "finance", "distributor"],
    "city": ["supervisor", "civil_affairs", "campaign_manager", "admin"],
    "province": ["supervisor", "auditor", "admin"],
    "centre": ["centre_operator"],
}


def write_roster(path: Path, rows: int, *, seed: int, bad_rate: float) -> dict[str, int]:
    """The CSV and what an import of it must give."""
    from tongban.registry.models import Unit

    rng = random.Random(seed)
    units = list(Unit.objects.filter(active=True).values_list("code", "kind").order_by("code"))
    lines = ["username,name,role,unit,phone"]
    bad = {"unknown_role": 0, "bad_phone": 0, "duplicate_username": 0}
    n = 0
    while len(lines) - 1 < rows:
        n += 1
        code, kind = units[n % len(units)]
        role = rng.choice(ROLES_AT[kind])
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else ""
        username = f"u{n:06d}"
        if rng.random() < bad_rate and len(lines) - 1 < rows - 2:
            kind_of_bad = rng.choice(list(bad))
            if kind_of_bad == "unknown_role":
                role = "警长"
            elif kind_of_bad == "bad_phone":
                phone = "12345"
            else:  # the same username on two rows: both rejected
                lines.append(f"{username},{name},{role},{code},{phone}")
                bad[kind_of_bad] += 1
            bad[kind_of_bad] += 1
        lines.append(f"{username},{name},{role},{code},{phone}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected = sum(bad.values())
    return {"rows": rows, "created": rows - rejected, "rejected": rejected, **bad}


def change_phones(source: Path, target: Path) -> int:
    """Every tenth good data row gets a new mobile number: that many updates."""
    lines = source.read_text(encoding="utf-8").splitlines()
    usernames = Counter(line.split(",")[0] for line in lines)
    changed = 0
    for i in range(1, len(lines)):
        cells = lines[i].split(",")
        if i % 10 == 0 and cells[2] != "警长" and cells[4] != "12345" and usernames[cells[0]] == 1:
            cells[4] = f"139{i:08d}"
            lines[i] = ",".join(cells)
            changed += 1
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def empty_accounts() -> None:
    from tongban.accounts.models import User

    User.objects.all().delete()


def run(args: argparse.Namespace, workdir: Path, vendor: str) -> dict[str, Any]:
    from django.core.management import call_command

    from tongban.accounts import services
    from tongban.accounts.importer import import_users
    from tongban.audit.models import AuditEvent
    from tongban.core.errors import ServiceError
    from tongban.registry.services import units_load_province

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    log(f"migrating {vendor} database")
    call_command("migrate", verbosity=0)
    units_load_province(province_code=PROVINCE, stations_per_county=STATIONS_PER_COUNTY, actor=None)
    roster = workdir / "roster.csv"
    planted = write_roster(roster, args.rows, seed=args.seed, bad_rate=args.bad_rate)
    changed_path = workdir / "roster-v2.csv"
    expected_updates = change_phones(roster, changed_path)
    problems: list[str] = []
    samples: dict[str, list[Sample]] = {"naive": [], "import": [], "reimport": [], "update": []}

    sample = min(args.naive_sample, args.rows)
    log(f"one by one: user_create on {sample:,} rows")
    lines = roster.read_text(encoding="utf-8").splitlines()[1 : sample + 1]
    with stopwatch(samples["naive"]):
        for line in lines:
            username, name, role, unit, phone = line.split(",")
            with contextlib.suppress(ServiceError):
                services.user_create(
                    actor=None,
                    username=username,
                    data=services.AccountInput(name=name, role=role, unit=unit, phone=phone),
                )
    for attempt in range(1, args.repeat + 1):
        empty_accounts()
        audit_before = AuditEvent.objects.count()
        log(f"import {attempt}/{args.repeat}")
        with stopwatch(samples["import"]):
            first = import_users(roster, on_codes=lambda codes: None)
        audit_rows = AuditEvent.objects.count() - audit_before
        with stopwatch(samples["reimport"]):
            again = import_users(roster, on_codes=lambda codes: None)
        with stopwatch(samples["update"]):
            update = import_users(changed_path, on_codes=lambda codes: None)
        expected = {
            "first": {
                "created": planted["created"],
                "updated": 0,
                "unchanged": 0,
                "rejected": planted["rejected"],
            },
            "again": {
                "created": 0,
                "updated": 0,
                "unchanged": planted["created"],
                "rejected": planted["rejected"],
            },
            "update": {
                "created": 0,
                "updated": expected_updates,
                "unchanged": planted["created"] - expected_updates,
                "rejected": planted["rejected"],
            },
        }
        for what, result in (("first", first), ("again", again), ("update", update)):
            if result.counts() != expected[what]:
                problems.append(f"{what}: {result.counts()} != {expected[what]}")
        if audit_rows != planted["created"]:
            problems.append(f"audit rows {audit_rows} != {planted['created']}")
        log(
            f"  import {samples['import'][-1]}, again {samples['reimport'][-1]}, "
            f"update {samples['update'][-1]}"
        )

    def median(values: list[Sample]) -> float:
        walls = sorted(s.wall_s for s in values)
        return walls[len(walls) // 2]

    naive_total = samples["naive"][0].wall_s / sample * args.rows
    return {
        "rows": args.rows,
        "database": database_version(),
        "planted": planted,
        "expected_updates": expected_updates,
        "naive_sample": sample,
        "naive_extrapolated_s": round(naive_total, 2),
        "import_s": round(median(samples["import"]), 2),
        "reimport_s": round(median(samples["reimport"]), 2),
        "update_s": round(median(samples["update"]), 2),
        "samples": {key: [s.to_dict() for s in values] for key, values in samples.items()},
        "problems": problems,
        "checks_ok": not problems,
    }


def print_table(figures: dict[str, Any]) -> None:
    naive = figures["naive_extrapolated_s"]
    print(f"{figures['rows']:,} accounts on {figures['database']}")
    print(f"{'step':<44} {'seconds':>9} {'vs one by one':>14}")
    print(f"{'baseline: user_create per row (extrapolated)':<44} {naive:>9.2f} {'1.0×':>14}")
    for key, label in (
        ("import_s", "import (all created)"),
        ("reimport_s", "same file again (all unchanged)"),
        ("update_s", "every tenth phone changed"),
    ):
        print(f"{label:<44} {figures[key]:>9.2f} {naive / max(figures[key], 1e-9):>13.1f}×")
    print("checks: " + ("ok" if figures["checks_ok"] else "; ".join(figures["problems"])))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_users", description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url", help="as in bench.import_register")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-rate", type=float, default=0.01)
    parser.add_argument("--naive-sample", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database and the CSV")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.rows < 10 or args.repeat < 1 or args.naive_sample < 1:
        parser.error("--rows must be at least 10; --repeat and --naive-sample positive")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    workdir = Path(tempfile.mkdtemp(prefix="tongban-bench-users-"))
    db = prepare_database(args.database_url, workdir)
    try:
        setup_django(db.url)
        figures = run(args, workdir, db.vendor)
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
