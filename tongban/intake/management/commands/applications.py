"""`tongban applications refresh-deadlines`: recount provisional review deadlines after a year's
holiday arrangement has been entered (`tongban calendar load` or the admin)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongban.intake.services import application_deadlines_refresh


class Command(BaseCommand):
    help = (
        "Applications: `refresh-deadlines` recounts the 暂估 (provisional) review deadlines "
        "with the current holiday calendar."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("refresh-deadlines", help="recount provisional review deadlines")

    def handle(self, *args: Any, **options: Any) -> None:
        changed = application_deadlines_refresh(actor=None)
        self.stdout.write(json.dumps({"recounted": changed}))
