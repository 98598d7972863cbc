"""`tongban applications refresh-deadlines`: recount provisional review deadlines after a year's
holiday arrangement has been entered (`tongban calendar load` or the admin).

`tongban applications chip-photos`: store the chip photo (102×126) of the applications still to
be packaged that were kept before the counter derived it at acceptance (run once after the
upgrade that added it; packaging works without it, only slower: docs/production.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongban.intake.capture import chip_photos_backfill
from tongban.intake.services import application_deadlines_refresh


class Command(BaseCommand):
    help = (
        "Applications: `refresh-deadlines` recounts the 暂估 (provisional) review deadlines "
        "with the current holiday calendar; `chip-photos` stores the missing chip photos of "
        "the applications still to be packaged (补生成芯片相片)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("refresh-deadlines", help="recount provisional review deadlines")
        sub.add_parser("chip-photos", help="store the missing chip photos (idempotent, resumable)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "chip-photos":

            def progress(done: int, total: int) -> None:
                self.stderr.write(f"\r{done}/{total}", ending="")

            report = chip_photos_backfill(actor=None, progress=progress)
            self.stderr.write("")
            self.stdout.write(
                json.dumps({"derived": report.derived, "failed": report.failed}, ensure_ascii=False)
            )
            return
        changed = application_deadlines_refresh(actor=None)
        self.stdout.write(json.dumps({"recounted": changed}))
