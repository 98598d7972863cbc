"""`tongban audit verify`: check the audit trail's hash chain end to end."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.audit.services import verify_chain


class Command(BaseCommand):
    help = "Audit trail tools: `verify` checks the SM3 hash chain and reports the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="verify the hash chain; exit status 1 on a broken link")

    def handle(self, *args: Any, **options: Any) -> None:
        checked, broken = verify_chain()
        result: dict[str, Any] = {"checked": checked, "ok": broken is None}
        if broken is not None:
            result["first_broken_seq"] = broken.seq
            result["reason"] = broken.reason
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        if broken is not None:
            raise CommandError(f"audit chain broken at #{broken.seq}: {broken.reason}")
