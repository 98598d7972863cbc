"""`tongban production schedule [--size N] [--centre CODE] [--all] [--package]`: 调度打包 of each
centre's queue per acceptance unit by the centre's rule, as the schedule does (`--all`: what is
waiting now, full batches or not).

`tongban production authority-report [--output FILE.csv]`: the cards already produced whose
printed 签发机关 is not the household's county-level bureau (production/authority.py), one CSV row
each for an operator to recall and reprint, and a JSON summary line."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.production import services
from tongban.production.authority import Mismatch, produced_mismatches
from tongban.registry.models import Unit


class Command(BaseCommand):
    help = (
        "Production (制证): `schedule [--size N] [--centre CODE] [--all] [--package]`; "
        "`authority-report [--output FILE.csv]` lists produced cards with a wrong 签发机关."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        schedule = sub.add_parser(
            "schedule", help="batch each acceptance unit's issued applications by the centre's rule"
        )
        schedule.add_argument("--size", type=int, help="most cards a batch (default: the centre's rule)")
        schedule.add_argument("--centre", metavar="CODE", help="only this centre")
        schedule.add_argument(
            "--all",
            action="store_true",
            dest="flush",
            help="also batch what has not waited the centre's time (everything waiting now)",
        )
        schedule.add_argument(
            "--package", action="store_true", help="also make each new batch's data package"
        )
        report = sub.add_parser(
            "authority-report", help="produced cards whose 签发机关 is not the household's county bureau"
        )
        report.add_argument(
            "--output", metavar="FILE", type=Path, help="write the CSV here (UTF-8 with BOM); default stdout"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "authority-report":
            self._authority_report(options["output"])
            return
        centre = None
        if options["centre"]:
            centre = Unit.objects.filter(code=options["centre"], kind=Unit.Kind.CENTRE).first()
            if centre is None:
                raise CommandError(f"no production centre with code {options['centre']}")
        try:
            batches = services.batch_schedule(size=options["size"], centre=centre, flush=options["flush"])
            for batch in batches:
                if options["package"]:
                    batch = services.batch_package(actor=None, batch=batch)
                self.stdout.write(
                    json.dumps(
                        {
                            "batch": batch.number,
                            "centre": batch.centre.code,
                            "acceptance_unit": batch.acceptance_unit.code if batch.acceptance_unit else "",
                            "size": batch.size,
                            "state": batch.state,
                        }
                    )
                )
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"{len(batches)} batch(es)")

    def _authority_report(self, output: Path | None) -> None:
        """The list goes to FILE (or stdout); the summary line to stdout (stderr when the list
        took stdout), so a script can read one JSON line either way."""
        rows = 0
        handle = output.open("w", encoding="utf-8-sig", newline="") if output else sys.stdout
        try:
            writer = csv.writer(handle)
            writer.writerow(Mismatch.HEADERS)
            for mismatch in produced_mismatches(today=timezone.localdate()):
                writer.writerow(mismatch.row())
                rows += 1
        finally:
            if output:
                handle.close()
        # The list names people (masked numbers): who printed it is on the audit trail.
        record(
            actor=None,
            action=AuditAction.PRODUCTION_AUTHORITY_REPORT,
            object_type="registry.card",
            object_id="",
            detail={"cards": rows, "output": str(output) if output else "stdout"},
        )
        summary = json.dumps({"cards": rows, "output": str(output) if output else ""}, ensure_ascii=False)
        (self.stdout if output else self.stderr).write(summary)
