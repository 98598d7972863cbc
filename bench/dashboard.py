"""Supervision dashboard benchmark: `python -m bench.dashboard [--applications 1310000] [--days 365]
[--runs N] [--database-url URL] [--reuse] [--keep]`.

In one run, on a PostgreSQL database of its own (`tongban_bench_dashboard` by default, dropped and
created through the `postgres` maintenance database; `--reuse` keeps a database a previous
`--keep` run left with the same number of applications):

1. migrate, load Jiangxi's units (`units_load_province("36", 2)`: 200 stations), create one
   supervisor each at the province (36), a city (南昌市 3601) and a county (东湖区 360102);
2. generate the history: N / F applications accepted over the last `--days` days with their
   people, events, fees, cards, handovers and verifications in Python
   (`tongban.demo.history.generate_history`, COPY in chunks, keys F apart), then F − 1 copies of
   every row in SQL (`replicate_history`: fresh keys, 受理号, 票据号 and card serials), F the
   smallest divisor of N leaving at most `--generate-max` (70,000) to Python; then VACUUM
   ANALYZE; the generation time is printed;
3. the first province dashboard after forgetting the rollup (it fills 12 weeks of days); then
   the baseline: `SELECT count(*) FROM intake_application` (the cheapest whole-table answer), and the
   naive dashboard: one COUNT per child unit and metric (what a page written without grouping
   would run), for the province;
4. the dashboard page (`GET /supervision/`) and the API (`GET /api/v1/supervision/dashboard`) for
   each supervisor through Django's test Client, signed in, one warm-up then `--runs` timed runs;
   the number of queries of one page.

It prints a table (median and p90 in ms, ratio to the baseline) and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.import_register import (
    BenchDatabase,
    _postgres_admin_url,
    _postgres_recreate,
    close_database,
    database_version,
    setup_django,
)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_dashboard"
SUPERVISORS = {"province": "36", "city": "3601", "county": "360102"}
CAMPAIGN_CITY = "3601"  # 南昌市: the campaign of seeds/003
CAMPAIGN_TARGET = 1_310_000  # 力争完成131万（16周岁以上）居民换发二代证的任务


def replication_factor(applications: int, most: int) -> int:
    """The smallest number of copies that divides `applications` into originals of at most
    `most` (1 when none does: everything generated)."""
    for factor in range(1, applications + 1):
        if applications % factor == 0 and applications // factor <= most:
            return factor
    return 1


def _timed(call: Callable[[], Any], runs: int) -> list[float]:
    call()  # warm-up
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def _summary(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median_ms": round(statistics.median(ordered), 1), "p90_ms": round(p90, 1)}


def _existing(url: str, applications: int) -> BenchDatabase | None:
    """The database a `--keep` run left, if it holds exactly `applications` applications."""
    import psycopg
    from psycopg import sql

    admin_url, name = _postgres_admin_url(url)
    try:
        with psycopg.connect(url) as conn:
            count = conn.execute("SELECT count(*) FROM intake_application").fetchone()
    except psycopg.Error:
        return None
    if count is None or count[0] != applications:
        return None

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    return BenchDatabase(url=url, vendor="postgresql", drop=drop)


def run(args: argparse.Namespace) -> dict[str, Any]:
    kept = _existing(args.database_url, args.applications) if args.reuse else None
    reused = kept is not None
    db = kept or _postgres_recreate(args.database_url)
    setup_django(db.url)
    figures: dict[str, Any] = {
        "applications": args.applications,
        "days": args.days,
        "runs": args.runs,
        "machine": f"{platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}",
    }
    try:
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from tongban.accounts.models import User
        from tongban.demo.history import generate_history, replicate_history
        from tongban.registry.calendar import day_start
        from tongban.registry.models import Unit
        from tongban.registry.services import units_load_province
        from tongban.supervision import selectors

        figures["database"] = database_version()
        began = time.perf_counter()
        call_command("migrate", verbosity=0)  # on a kept database: the indexes added since
        figures["migrate_s"] = round(time.perf_counter() - began, 1)
        if not reused:
            units_load_province(province_code="36", stations_per_county=2, actor=None)

            def progress(done: int, total: int) -> None:
                if not args.quiet:
                    print(f"\r  generated {done:,}/{total:,}", end="", file=sys.stderr, flush=True)

            factor = replication_factor(args.applications, args.generate_max)
            counts = generate_history(
                applications=args.applications // factor,
                days=args.days,
                seed=1,
                progress=progress,
                key_stride=factor,
            )
            if not args.quiet:
                print(file=sys.stderr)
            copied = replicate_history(factor)
            figures["generate"] = copied.as_dict() | {
                "seconds": round(counts.seconds + copied.seconds, 1),
                "generated": counts.applications,
                "generate_s": counts.seconds,
                "factor": factor,
                "replicate_s": copied.seconds,
            }
            began = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            figures["vacuum_analyze_s"] = round(time.perf_counter() - began, 1)
        users = {}
        for level, code in SUPERVISORS.items():
            user, _ = User.objects.get_or_create(
                username=f"bench-supervisor-{code}",
                defaults={"role": "supervisor", "unit": Unit.objects.get(code=code)},
            )
            users[level] = user

        def count_all() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM intake_application")
                cursor.fetchone()

        province = Unit.objects.get(code="36")
        scope = selectors.scope_for(province)

        def naive() -> None:
            # Per child and metric one COUNT: what a page without grouping would do.
            from tongban.intake.models import Application

            since = day_start(scope.today - datetime.timedelta(days=selectors.DAILY_DAYS - 1))
            for ids in scope.child_ids.values():
                for status in selectors.PROGRESS_STATUSES:
                    Application.objects.filter(acceptance_unit_id__in=ids, status=status).count()
                Application.objects.filter(acceptance_unit_id__in=ids, accepted_at__gte=since).count()
                Application.objects.filter(household_unit_id__in=ids, issued_at__gte=since).count()

        # The rollup of the days that are over, filled by the first visit (then read).
        from tongban.supervision import rollup

        rollup.forget()
        began = time.perf_counter()
        selectors.dashboard(province)
        figures["rollup_fill_ms"] = round((time.perf_counter() - began) * 1000, 1)
        figures["baseline_count_all"] = _summary(_timed(count_all, args.runs))
        figures["naive_province"] = _summary(_timed(naive, max(3, args.runs // 3)))
        base = figures["baseline_count_all"]["median_ms"]
        for level, user in users.items():
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            for what, url in (("page", "/supervision/"), ("api", "/api/v1/supervision/dashboard")):

                def get(client: Client = client, url: str = url) -> None:
                    response = client.get(url)
                    if response.status_code != 200:
                        raise SystemExit(f"{url} answered {response.status_code}")

                summary = _summary(_timed(get, args.runs))
                summary["ratio_to_count"] = round(summary["median_ms"] / base, 1) if base else 0.0
                figures[f"{what}_{level}"] = summary
            with CaptureQueriesContext(connection) as queries:
                client.get("/supervision/")
            figures[f"queries_{level}"] = len(queries.captured_queries)
        figures.update(_campaign_figures(args))
    finally:
        close_database()
        if not args.keep:
            db.drop()
    return figures


def _campaign_figures(args: argparse.Namespace) -> dict[str, Any]:
    """The 集中换发 of seeds/003 in 南昌市 at this size: 1,310,000 target people entered and
    apportioned from the register, 集中换发 since the first generated day; its manager's page and
    the progress API, timed like the dashboards."""
    from django.test import Client
    from django.utils import timezone

    from tongban.accounts.models import User
    from tongban.campaigns import services as campaigns
    from tongban.campaigns.models import Campaign, CampaignPhase
    from tongban.registry.models import Unit

    city = Unit.objects.get(code=CAMPAIGN_CITY)
    manager, _ = User.objects.get_or_create(
        username="bench-campaign-manager", defaults={"role": "campaign_manager", "unit": city}
    )
    figures: dict[str, Any] = {}
    campaign = Campaign.objects.filter(area=city, status=Campaign.Status.ACTIVE).first()
    if campaign is None:
        today = timezone.localdate()
        start = today - datetime.timedelta(days=args.days)
        phases = {
            CampaignPhase.Kind.PREPARE.value: (
                start - datetime.timedelta(days=90),
                start - datetime.timedelta(days=1),
            ),
            CampaignPhase.Kind.REPLACE.value: (start, today + datetime.timedelta(days=180)),
            CampaignPhase.Kind.SUMMARY.value: (
                today + datetime.timedelta(days=181),
                today + datetime.timedelta(days=270),
            ),
        }
        began = time.perf_counter()
        campaign = campaigns.campaign_create(
            actor=manager,
            area=city,
            name="南昌市集中换发第二代居民身份证（基准）",
            reference_date=start,
            target_entered=CAMPAIGN_TARGET,
            phases=phases,
        )
        campaigns.campaign_start(actor=manager, campaign=campaign)
        figures["campaign_create_ms"] = round((time.perf_counter() - began) * 1000, 1)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    for what, url in (
        ("campaign_page", f"/campaigns/{campaign.pk}/"),
        ("campaign_api", f"/api/v1/campaigns/{campaign.pk}/progress"),
    ):

        def get(url: str = url) -> None:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")

        figures[what] = _summary(_timed(get, args.runs))
    return figures


def print_table(figures: dict[str, Any]) -> None:
    if "campaign_create_ms" in figures:
        print(f"campaign created (targets derived from the register) in {figures['campaign_create_ms']} ms")
    print(f"\n{figures['database']}, {figures['applications']:,} applications over {figures['days']} days")
    if "generate" in figures:
        gen = figures["generate"]
        print(
            f"generated in {gen['seconds']} s: {gen['events']:,} events, {gen['people']:,} people, "
            f"{gen['cards']:,} cards, {gen['payments']:,} payments, {gen['handovers']:,} handovers, "
            f"{gen['verifications']:,} verifications (VACUUM ANALYZE {figures['vacuum_analyze_s']} s)"
        )
    if "rollup_fill_ms" in figures:
        print(f"first province dashboard, rollup filled: {figures['rollup_fill_ms']} ms")
    print(f"\n{'':34}{'median ms':>10}{'p90 ms':>10}{'× count(*)':>12}{'queries':>9}")
    rows = [("baseline: SELECT count(*)", figures["baseline_count_all"], None)]
    rows.append(("naive per-unit COUNTs (province)", figures["naive_province"], None))
    for level in SUPERVISORS:
        rows.append((f"dashboard page, {level}", figures[f"page_{level}"], figures[f"queries_{level}"]))
        rows.append((f"dashboard API, {level}", figures[f"api_{level}"], None))
    rows.append(("campaign page, 南昌市 manager", figures["campaign_page"], None))
    rows.append(("campaign progress API", figures["campaign_api"], None))
    base = figures["baseline_count_all"]["median_ms"]
    for name, summary, queries in rows:
        ratio = f"{summary['median_ms'] / base:.1f}" if base else "-"
        print(f"{name:34}{summary['median_ms']:>10}{summary['p90_ms']:>10}{ratio:>12}{queries or '':>9}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=1_310_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a kept database with as many applications"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database for --reuse")
    parser.add_argument(
        "--generate-max",
        type=int,
        default=70_000,
        help="generate at most this many applications in Python, the rest as copies in SQL",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgres"):
        raise SystemExit("the dashboard benchmark runs on PostgreSQL")
    figures = run(args)
    print_table(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
