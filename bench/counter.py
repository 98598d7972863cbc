"""受理台账 benchmark: `python -m bench.counter [--applications 1000000] [--runs N] [--database-url URL]
[--keep] [--reuse]`.

In one run, on a PostgreSQL database of its own (`tongban_bench_counter` by default, dropped and
created through the `postgres` maintenance database; `--reuse` keeps what a `--keep` run left):

1. migrate, load Jiangxi's units (200 stations), one person and one template application, then N
   applications in one `INSERT … SELECT generate_series` spread over the stations (a station
   holds N / 200), one every 30 seconds back from now, a cycle of states with drafts (no 受理号,
   no 受理时间), five names in turn, distinct 受理号 and 公民身份号码; VACUUM ANALYZE;
2. the baseline: `SELECT count(*) FROM intake_application`, the cheapest whole-table answer;
3. `selectors.counter_page` as a station's clerk (N / 200 rows) and as the province's supervisor
   (all N): the first page of each sort, the next page by cursor, a deep page by number (from
   the nearer end), the last page, the way back by cursor, and the searches by 受理号,
   公民身份号码, a 受理号's beginning and a name. One warm-up, then `--runs` timed runs of each
   (each is the count and the rows: two queries).

It prints a table (median and p90 in ms, ratio to the baseline) and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.import_register import _postgres_recreate, database_version, setup_django

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_counter"
NAMES = ["王芳", "李娜", "张伟", "刘洋", "陈静"]
STATES = ["verified", "handed_over", "verified", "pending_review", "issued", "withdrawn", "draft", "rejected"]


def _array(values: list[str], index: str) -> str:
    return "(array[{}])[1 + {} % {}]".format(",".join(values), index, len(values))


def build(applications: int) -> float:
    """The units, two users and N applications; the seconds it took."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from tongban.intake.models import Application
    from tongban.registry.models import Unit
    from tongban.registry.services import units_load_province
    from tongban.testing.factories import PersonFactory, UserFactory

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    units_load_province(province_code="36", stations_per_county=2, actor=None)
    station = Unit.objects.get(code="360102001")
    clerk = UserFactory.create(username="bench_clerk", role="clerk", unit=station)
    UserFactory.create(username="bench_province", role="supervisor", unit=Unit.objects.get(code="36"))
    person = PersonFactory.create()
    template = Application.objects.create(
        type="first",
        reason_id="12",
        person=person,
        id_number=person.id_number,
        name=person.name,
        sex_id=person.sex_id,
        ethnicity_id=person.ethnicity_id,
        birth_date=person.birth_date,
        household_address=person.address,
        acceptance_unit=station,
        household_unit=station,
        region_code=station.region_code,
        created_by=clerk,
    )
    stations = list(Unit.objects.stations().order_by("pk").values_list("pk", "code"))
    draft = STATES.index("draft")
    when = "now() - g * interval '30 seconds'"
    # Row g: station g % S, made (g × 30 s) before now; a station gets one row in S, under 3,000 a
    # day, so "station + day + g % 100000" never repeats a 受理号.
    # State and name go by g / S, so that every station has every state and name (by g they
    # would follow the station: S is a multiple of both cycles).
    turn = f"(g / {len(stations)})"
    made = {
        "acceptance_unit_id": _array([str(pk) for pk, _ in stations], "g"),
        "status": _array([f"'{state}'" for state in STATES], turn),
        "name": _array([f"'{name}'" for name in NAMES], f"({turn} + g)"),
        "accepted_at": f"CASE WHEN {turn} % {len(STATES)} = {draft} THEN NULL ELSE {when} END",
        "number": f"CASE WHEN {turn} % {len(STATES)} = {draft} THEN NULL ELSE "
        + _array([f"'{code}'" for _, code in stations], "g")
        + f" || to_char({when}, 'YYYYMMDD') || lpad((g % 100000)::text, 5, '0') END",
        "id_number": "'3601' || lpad(g::text, 13, '0') || 'X'",
        "created_at": when,
    }
    columns = [field.column for field in Application._meta.concrete_fields if field.column != "id"]
    select = ", ".join(made.get(column, f"t.{column}") for column in columns).replace("%", "%%")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO intake_application ({', '.join(columns)}) SELECT {select} "  # noqa: S608
            "FROM generate_series(1, %s) g CROSS JOIN (SELECT * FROM intake_application WHERE id = %s) t",
            [applications, template.pk],
        )
        cursor.execute("DELETE FROM intake_application WHERE id = %s", [template.pk])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # every table: the planner needs the units' statistics too
    return time.perf_counter() - started


def timed(run: Callable[[], Any], runs: int) -> list[float]:
    run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def measure(runs: int) -> dict[str, list[float]]:
    from django.db import connection

    from tongban.accounts.models import User
    from tongban.intake import selectors
    from tongban.intake.models import Application

    def baseline() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM intake_application")
            cursor.fetchone()

    results: dict[str, list[float]] = {"baseline: count(*) of the table": timed(baseline, runs)}
    row = Application.objects.exclude(number=None).order_by("-pk").values_list("number", "id_number")[5]
    number, id_number = str(row[0]), row[1]
    for who, username in (("station", "bench_clerk"), ("province", "bench_province")):
        viewer = User.objects.select_related("unit").get(username=username)

        def page(viewer: User = viewer, **kwargs: Any) -> Callable[[], Any]:
            view = kwargs.pop("view", "all")
            return lambda: selectors.counter_page(viewer, view, **kwargs).rows

        for sort in ("-accepted", "accepted", "name", "-name"):
            first = selectors.counter_page(viewer, "all", sort=sort)
            results[f"{who} {sort} page 1"] = timed(page(sort=sort), runs)
            results[f"{who} {sort} page 2 by cursor"] = timed(
                page(sort=sort, after=first.next_after, page=2), runs
            )
            deep = first.pages // 3
            results[f"{who} {sort} page {deep} by number"] = timed(page(sort=sort, page=deep), runs)
            last = selectors.counter_page(viewer, "all", sort=sort, page=first.pages)
            results[f"{who} {sort} last page"] = timed(page(sort=sort, page=first.pages), runs)
            results[f"{who} {sort} back from the last by cursor"] = timed(
                page(sort=sort, before=last.prev_before, page=first.pages - 1), runs
            )
        results[f"{who} tab in_review"] = timed(page(view="in_review"), runs)
        results[f"{who} search 受理号"] = timed(page(q=number), runs)
        results[f"{who} search 公民身份号码"] = timed(page(q=id_number), runs)
        results[f"{who} search a day's 受理号"] = timed(page(q=number[:17]), runs)
        results[f"{who} search a name"] = timed(page(q=NAMES[0]), runs)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="受理台账 at scale")
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep", action="store_true", help="leave the database for --reuse")
    parser.add_argument("--reuse", action="store_true", help="measure a database a --keep run left")
    args = parser.parse_args(argv)
    database = None if args.reuse else _postgres_recreate(args.database_url)
    setup_django(args.database_url)
    try:
        seconds = None if args.reuse else build(args.applications)
        results = measure(args.runs)
        version = database_version()
    finally:
        from django.db import connections

        connections.close_all()
        if database is not None and not args.keep:
            database.drop()
    base = statistics.median(results["baseline: count(*) of the table"])
    print(f"{args.applications:,} applications, {version}, built in {seconds or 0:.0f} s")
    print(f"{'':60} {'median ms':>10} {'p90 ms':>8} {'× base':>7}")
    for name, samples in results.items():
        median = statistics.median(samples)
        p90 = sorted(samples)[max(0, int(len(samples) * 0.9) - 1)]
        print(f"{name:60} {median:10.1f} {p90:8.1f} {median / base:7.2f}")
    print(
        json.dumps(
            {
                "benchmark": "counter",
                "applications": args.applications,
                "python": platform.python_version(),
                "database": version,
                "build_seconds": seconds,
                "ms": {name: [round(s, 2) for s in samples] for name, samples in results.items()},
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
