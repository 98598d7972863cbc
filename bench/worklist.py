"""Work-list benchmark: `python -m bench.worklist [--applications 1000000] [--runs N]
[--database-url URL] [--reuse] [--keep]`.

Numbered pages over keyset cursors (`tongban.registry.worklist.paginate`) at a million rows, against
the usual way (Django's Paginator: COUNT, then OFFSET/LIMIT) at the same depth. On a PostgreSQL
database of its own (`tongban_bench_worklist`, dropped and created through the `postgres`
maintenance database; `--reuse` keeps one a `--keep` run left with as many applications):

1. migrate, load Jiangxi's units (200 stations), generate N applications with their history
   (`tongban.demo.history`, as `bench.dashboard` does: people, events, cards, handovers,
   verifications), VACUUM ANALYZE;
2. over all N applications (the largest list a province could page through), ordered by id and by
   受理号 (each on an index): the first page, a page in the middle (its cursor read once, outside
   the timing), the last page (through the 末页 link), each with the count and the numbered links;
   and Paginator's first, middle and last pages in the same order;
3. the province's 核验待办 (`handover.selectors.verifications_page`, the done view: every verified
   card) first and last page, and an exact search by 公民身份号码 and by 受理号.

It prints a table (median and p90 in ms, the ratio to Paginator at the same depth) and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from bench.dashboard import _existing, _summary, _timed, replication_factor
from bench.import_register import _postgres_recreate, close_database, database_version, setup_django

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tongban_bench_worklist"
LIMIT = 50


def django_page(queryset: Any, number: int) -> list[Any]:
    """The usual way: a Paginator (its COUNT, then OFFSET/LIMIT), new for each request."""
    from django.core.paginator import Paginator

    return list(Paginator(queryset, LIMIT).get_page(number).object_list)


def run(args: argparse.Namespace) -> dict[str, Any]:
    kept = _existing(args.database_url, args.applications) if args.reuse else None
    db = kept or _postgres_recreate(args.database_url)
    setup_django(db.url)
    figures: dict[str, Any] = {
        "applications": args.applications,
        "runs": args.runs,
        "limit": LIMIT,
        "machine": f"{platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}",
    }
    try:
        from django.core.management import call_command
        from django.core.paginator import Paginator
        from django.db import connection

        from tongban.accounts.models import User
        from tongban.demo.history import generate_history, replicate_history
        from tongban.handover import selectors as handover
        from tongban.intake.models import Application
        from tongban.registry.models import Unit
        from tongban.registry.services import units_load_province
        from tongban.registry.worklist import Column, Sorting, cursor_of, paginate, parse_search

        figures["database"] = database_version()
        call_command("migrate", verbosity=0)
        if kept is None:
            units_load_province(province_code="36", stations_per_county=2, actor=None)
            factor = replication_factor(args.applications, args.generate_max)
            counts = generate_history(
                applications=args.applications // factor, days=365, seed=1, key_stride=factor
            )
            copied = replicate_history(factor)
            figures["generate_s"] = round(counts.seconds + copied.seconds, 1)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        sorting = Sorting([Column("id", "编号", "pk", "int"), Column("number", "受理号", "number")], "id")
        everything = Application.objects.all()
        total = everything.count()
        middle = total // 2

        def measure(name: str, call: Callable[[], Any], baseline: float | None = None) -> float:
            summary = _summary(_timed(call, args.runs))
            if baseline:
                summary["ratio_to_paginator"] = round(summary["median_ms"] / baseline, 2)
            figures[name] = summary
            return summary["median_ms"]

        middle_number = middle // LIMIT + 1
        for key in ("id", "number"):
            order = sorting.resolve(key)
            fields = order.fields()
            names = [name.lstrip("-") for name in fields]
            # The cursor of the page in the middle, read once (a user walks there through links).
            before_middle = everything.order_by(*fields).values_list(*names)[middle - 1 : middle][0]
            middle_cursor = cursor_of(order, tuple(before_middle))
            ordered = everything.order_by(*fields)
            pages = Paginator(ordered, LIMIT).num_pages
            base_first = measure(f"paginator_{key}_first", partial(django_page, ordered, 1))
            base_middle = measure(f"paginator_{key}_middle", partial(django_page, ordered, middle_number))
            base_last = measure(f"paginator_{key}_last", partial(django_page, ordered, pages))
            keyset = partial(paginate, everything, order, limit=LIMIT)
            measure(f"keyset_{key}_first", keyset, base_first)
            middle_page = keyset(after=middle_cursor, page=middle_number)
            measure(
                f"keyset_{key}_middle", partial(keyset, after=middle_cursor, page=middle_number), base_middle
            )
            last = [link for link in middle_page.links if link][-1]
            measure(f"keyset_{key}_last", partial(keyset, after=last.after, page=last.number), base_last)
            figures[f"keyset_{key}_middle_links"] = [
                link.number if link else "…" for link in middle_page.links
            ]

        province_distributor, _ = User.objects.get_or_create(
            username="bench-distributor-36",
            defaults={"role": "distributor", "unit": Unit.objects.get(code="36")},
        )
        verifications = partial(handover.verifications_page, province_distributor, "done", limit=LIMIT)
        done = verifications()
        figures["verifications_done"] = done.total
        measure("verifications_first", verifications)
        final = [link for link in done.links if link][-1]
        measure("verifications_last", partial(verifications, after=final.after, page=final.number))
        sample = done.rows[0].application
        for kind, text in (("id_number", sample.id_number), ("number", sample.number or "")):
            measure(f"verifications_search_{kind}", partial(verifications, search=parse_search(text)))
    finally:
        close_database()
        if not args.keep:
            db.drop()
    return figures


def print_table(figures: dict[str, Any]) -> None:
    print(
        f"{figures['applications']:,} applications, {figures['database']}, {figures['machine']}; "
        f"{LIMIT} rows a page, {figures['verifications_done']:,} verified cards"
    )
    print(f"{'':34}{'median ms':>10}{'p90 ms':>10}{'÷ Paginator':>13}")
    for name, value in figures.items():
        if isinstance(value, dict) and "median_ms" in value:
            ratio = value.get("ratio_to_paginator", "")
            print(f"{name:34}{value['median_ms']:>10}{value['p90_ms']:>10}{ratio!s:>13}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worklist", description=__doc__.split("\n")[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a kept database with as many applications"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database for --reuse")
    parser.add_argument("--generate-max", type=int, default=70_000)
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgres"):
        raise SystemExit("the work-list benchmark runs on PostgreSQL")
    figures = run(args)
    print_table(figures)
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
