"""`tongban dataquality scan [--unit CODE] [--kinds …]`: the clean-up scan, resumable."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tongban.core.errors import ServiceError
from tongban.dataquality import scan, services
from tongban.dataquality.models import ScanRun
from tongban.registry.models import Unit


class Command(BaseCommand):
    help = (
        "数据清理: `scan [--unit CODE] [--kinds …]` (resumes a stopped run); "
        "`addresses-import FILE.csv`; `addresses-match [--unit CODE]`"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("scan", help="scan the register (or a unit's subtree); prints one JSON line")
        run.add_argument("--unit", help="unit code (default: the province, the whole register)")
        run.add_argument(
            "--kinds",
            default=",".join(scan.DEFAULT_KINDS),
            help=f"comma-separated, of: {', '.join(scan.ALL_KINDS)} (default: all but households)",
        )
        run.add_argument("--restart", action="store_true", help="start afresh instead of resuming")
        imp = sub.add_parser("addresses-import", help="load the civil-affairs house-number register (CSV)")
        imp.add_argument("file", type=Path)
        imp.add_argument("--encoding", default="utf-8-sig")
        match = sub.add_parser(
            "addresses-match", help="match register addresses to the house-number register"
        )
        match.add_argument("--unit", help="unit code (default: the province)")
        run.add_argument("--chunk", type=int, default=1_000_000, help="rows per key range")
        run.add_argument(
            "--workers",
            type=int,
            default=settings.DATAQUALITY_SCAN_WORKERS,
            help="key ranges scanned at once on PostgreSQL, one connection each",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "addresses-import":
            if not options["file"].is_file():
                raise CommandError(f"file not found: {options['file']}")
            try:
                counts = services.addresses_import(
                    path=options["file"], actor=None, encoding=options["encoding"]
                )
            except ServiceError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(json.dumps(counts))
            return
        if options["action"] == "addresses-match":
            counts = services.addresses_match(unit=self._unit(options["unit"]))
            self.stdout.write(json.dumps(counts))
            return
        self._scan(options)

    @staticmethod
    def _unit(code: str | None) -> Unit:
        if code:
            unit = Unit.objects.filter(code=code).first()
            if unit is None:
                raise CommandError(f"no unit {code}")
            return unit
        unit = Unit.objects.filter(parent=None, kind=Unit.Kind.PROVINCE).first()
        if unit is None:
            raise CommandError("no province unit: load the unit tree first")
        return unit

    def _scan(self, options: dict[str, Any]) -> None:
        kinds = [k.strip() for k in options["kinds"].split(",") if k.strip()]
        unknown = sorted(set(kinds) - set(scan.ALL_KINDS))
        if unknown or not kinds:
            raise CommandError(f"unknown kinds: {', '.join(unknown) or '(none)'}")
        unit = self._unit(options["unit"])
        run = None
        if not options["restart"]:
            run = (
                ScanRun.objects.filter(unit=unit, kinds=kinds)
                .exclude(status=ScanRun.Status.DONE)
                .order_by("-pk")
                .first()
            )
        if run is None:
            run = scan.run_start(unit=unit, kinds=kinds)
        elif run.stage != "done":
            self.stderr.write(f"resuming run #{run.pk} at stage {run.stage}, after row {run.checkpoint}")
        with tqdm(
            total=run.total_rows,
            initial=run.processed_rows,
            unit=" rows",
            disable=not sys.stderr.isatty(),
            file=sys.stderr,
            desc="扫描",
        ) as bar:
            try:
                scan.run_scan(
                    run, chunk_rows=options["chunk"], progress=bar.update, workers=options["workers"]
                )
            except KeyboardInterrupt as exc:
                raise CommandError(f"stopped; run the same command again to resume run #{run.pk}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "status": run.status,
                    "rows": run.processed_rows,
                    "seconds": round(run.seconds, 2),
                    "found": run.found,
                    **({"stats": run.stats} if run.stats else {}),
                },
                ensure_ascii=False,
            )
        )
