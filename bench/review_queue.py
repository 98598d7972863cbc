"""Review queue benchmark: `python -m bench.review_queue [--applications 1000000] [--runs N]
[--database-url URL] [--reuse] [--keep]`.

In one run, on a PostgreSQL database of its own (`tongban_bench_review` by default, dropped and
created through the `postgres` maintenance database; `--reuse` keeps what a `--keep` run left):

1. migrate, load Jiangxi's units (200 stations), one template application in review, then N − 1
   copies in one INSERT … SELECT (fresh 受理号, names, deadlines and acceptance times; review
   units spread over every station, one in ten at a county bureau; `--in-review-share` of them
   in review (default 0.05; 1 puts the whole table into the queues), one in twenty of those
   核实中, the others issued), then VACUUM ANALYZE;
2. the baseline: `SELECT count(*)` of the applications in review (the cheapest answer over the
   whole queue), and the naive deep page: 50 rows at an OFFSET half-way down the province's
   list, ordered by deadline (what numbered pages without cursors would run);
3. for a station, a county and a city reviewer through Django's test Client, signed in, one
   warm-up then `--runs` timed runs: `/review/` (我的待办), `?scope=subtree` page 1, the page
   three 下一页 links further, 末页, sorted by name and by acceptance time descending, a scanned
   受理号 (an exact hit: the redirect to the item), and `GET /api/v1/review/queue?scope=subtree`;
   with the number of queries of each.

It prints a table (median and p90 in ms, ratio to the baseline) and one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from typing import Any

from bench.dashboard import _existing, _summary, _timed
from bench.import_register import _postgres_recreate, close_database, database_version, setup_django

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_review"
REVIEWERS = {"station": "360102001", "county": "360102", "city": "3601"}


def _generate(n: int, share: float) -> None:
    """One template application, then n − 1 copies in SQL; `share` of them in review (the rest
    issued, out of every queue)."""
    from django.db import connection
    from django.utils import timezone

    from tongban.accounts.models import User
    from tongban.intake.models import Application
    from tongban.registry.models import Unit
    from tongban.testing.factories import PersonFactory

    station = Unit.objects.get(code="360102001")
    clerk = User.objects.create(username="bench-clerk", role="clerk", unit=station)
    person = PersonFactory.create(registration_unit=station)
    today = timezone.localdate()
    template = Application.objects.create(
        number="3601020012026010100001",
        type="first",
        reason_id="12",
        status=Application.Status.PENDING_REVIEW,
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
        accepted_by=clerk,
        accepted_at=timezone.now(),
        review_chain=[
            {"level": "station", "title": "审核签发", "unit": station.pk, "unit_name": station.name}
        ],
        review_step=1,
        review_unit=station,
        review_arrived_at=timezone.now(),
        review_due=today,
    )
    every = max(1, round(1 / share))
    stations = list(Unit.objects.filter(kind=Unit.Kind.STATION).values_list("pk", flat=True))
    counties = list(Unit.objects.filter(kind=Unit.Kind.COUNTY).values_list("pk", flat=True))
    columns = [
        f.column
        for f in Application._meta.concrete_fields
        if f.column
        not in {
            "id",
            "number",
            "name",
            "review_unit_id",
            "review_due",
            "accepted_at",
            "status",
            "assignee_id",
        }
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        # The column list comes from the model, never from input.
        cursor.execute(
            f"""
            INSERT INTO intake_application ({listed}, number, name, review_unit_id, review_due, accepted_at,
                                            status, assignee_id)
            SELECT {listed},
                   '3601020012' || lpad(g::text, 12, '0'),
                   '申请人' || (g %% 9973),
                   CASE WHEN (g / %s) %% 10 = 0 THEN (%s::bigint[])[1 + (g / %s / 10) %% %s]
                        ELSE (%s::bigint[])[1 + (g / %s) %% %s] END,
                   %s::date + (g %% 20) - 8,
                   t.accepted_at - make_interval(secs => g),
                   CASE WHEN g %% %s <> 0 THEN 'issued'
                        WHEN (g / %s) %% 20 = 0 THEN 'under_verification' ELSE 'pending_review' END,
                   NULL
            FROM intake_application t, generate_series(1, %s) AS g
            WHERE t.id = %s
            """,  # noqa: S608
            [
                *(every, counties, every, len(counties)),
                *(stations, every, len(stations)),
                *(today, every, every, n - 1, template.pk),
            ],
        )


def run(args: argparse.Namespace) -> dict[str, Any]:
    kept = _existing(args.database_url, args.applications) if args.reuse else None
    db = kept or _postgres_recreate(args.database_url)
    setup_django(db.url)
    figures: dict[str, Any] = {
        "applications": args.applications,
        "in_review_share": args.in_review_share,
        "runs": args.runs,
        "machine": f"{platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}",
    }
    try:
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        from tongban.accounts.models import User
        from tongban.intake.models import IN_REVIEW_STATUSES, Application
        from tongban.registry.models import Unit
        from tongban.registry.services import units_load_province

        figures["database"] = database_version()
        call_command("migrate", verbosity=0)
        if kept is None:
            units_load_province(province_code="36", stations_per_county=2, actor=None)
            began = time.perf_counter()
            _generate(args.applications, args.in_review_share)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            figures["generate_s"] = round(time.perf_counter() - began, 1)
        in_review = Application.objects.filter(status__in=IN_REVIEW_STATUSES)

        def count_all() -> None:
            in_review.count()

        def offset_page() -> None:
            half = round(args.applications * args.in_review_share / 2)
            list(in_review.order_by("review_due", "pk")[half : half + 50])

        figures["baseline_count_in_review"] = _summary(_timed(count_all, args.runs))
        figures["naive_offset_half_way"] = _summary(_timed(offset_page, args.runs))
        base = figures["baseline_count_in_review"]["median_ms"]
        number = (
            Application.objects.filter(review_unit__code="360102001").values_list("number", flat=True).first()
        )
        for level, code in REVIEWERS.items():
            user, _ = User.objects.get_or_create(
                username=f"bench-reviewer-{code}",
                defaults={"role": "reviewer", "unit": Unit.objects.get(code=code)},
            )
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            first = client.get("/review/?scope=subtree").content.decode()
            further = "/review/?scope=subtree"
            for _ in range(3):
                found = re.search(r'<a href="(\?[^"]*)" rel="next">', client.get(further).content.decode())
                if found is None:
                    break
                further = "/review/" + found.group(1).replace("&amp;", "&")
            pages = re.search(r"第 \d+/(\d+) 页", first)
            urls = {
                "mine": "/review/",
                "subtree_page_1": "/review/?scope=subtree",
                "subtree_page_4": further,
                "subtree_last": "/review/?scope=subtree&page=last",
                "subtree_by_name": "/review/?scope=subtree&sort=name",
                "subtree_by_accepted_desc": "/review/?scope=subtree&sort=-accepted",
                "scan_number": f"/review/?q={number}",
                "api_subtree": "/api/v1/review/queue?scope=subtree",
            }
            row: dict[str, Any] = {"pages": int(pages.group(1)) if pages else 1}
            for what, url in urls.items():

                def get(client: Client = client, url: str = url) -> None:
                    response = client.get(url)
                    assert response.status_code in (200, 302), (url, response.status_code)

                executed: list[str] = []

                def counted(
                    execute: Any,
                    sql: str,
                    params: Any,
                    many: bool,
                    context: Any,
                    executed: list[str] = executed,
                ) -> Any:
                    executed.append(sql)
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(counted):
                    get()
                row[what] = _summary(_timed(get, args.runs)) | {"queries": len(executed)}
            figures[level] = row
        if not args.quiet:
            print(f"{'what':<28}{'station':>20}{'county':>20}{'city':>20}")
            for what in ("mine", *[k for k in figures["city"] if k not in {"pages", "mine"}]):
                medians = [figures[level][what]["median_ms"] for level in REVIEWERS]
                queries = [figures[level][what]["queries"] for level in REVIEWERS]
                cells = [
                    f"{ms:>7} ms ×{ms / base:>5.1f} {q:>2}q" for ms, q in zip(medians, queries, strict=True)
                ]
                print(f"{what:<28}" + "".join(f"{c:>20}" for c in cells))
            print(
                "pages of 50 (辖区在办): " + ", ".join(f"{lvl} {figures[lvl]['pages']}" for lvl in REVIEWERS)
            )
            print(
                f"baseline count(*) in review: {base} ms; "
                f"OFFSET half-way: {figures['naive_offset_half_way']['median_ms']} ms"
            )
    finally:
        close_database()
        if not args.keep:
            db.drop()
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--in-review-share", type=float, default=0.05, help="share of applications in review")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    print(json.dumps(run(args), ensure_ascii=False, default=str), file=sys.stdout)


if __name__ == "__main__":
    main()
