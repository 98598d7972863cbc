"""`tongban applications refresh-deadlines`: recount provisional review deadlines after a year's
holiday arrangement has been entered (`tongban calendar load` or the admin).

`tongban applications card-images`: make the production segment (the photo and its 102×126 chip
copy, encrypted for the package) of the applications still to be packaged that were kept before
the counter made it (run once after the upgrade that added it; packaging works without it, only
slower: docs/production.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongban.intake.capture import card_images_backfill
from tongban.intake.services import application_deadlines_refresh


class Command(BaseCommand):
    help = (
        "Applications: `refresh-deadlines` recounts the 暂估 (provisional) review deadlines "
        "with the current holiday calendar; `card-images` makes the missing production segments "
        "(chip photo and photo, encrypted) of the applications still to be packaged (补生成制证相片)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("refresh-deadlines", help="recount provisional review deadlines")
        sub.add_parser("card-images", help="make the missing production segments (idempotent, resumable)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "card-images":

            def progress(done: int, total: int) -> None:
                self.stderr.write(f"\r{done}/{total}", ending="")

            report = card_images_backfill(actor=None, progress=progress)
            self.stderr.write("")
            self.stdout.write(json.dumps({"made": report.made, "failed": report.failed}, ensure_ascii=False))
            return
        changed = application_deadlines_refresh(actor=None)
        self.stdout.write(json.dumps({"recounted": changed}))
