"""`tongban idnumber check NUMBER... | --file F`: one JSON object per input, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core import idnumber


class Command(BaseCommand):
    help = "公民身份号码 (GB 11643): `check NUMBER...` or `check --file F` (one number per line)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="validate numbers; the verdicts are in the JSON, exit status 0")
        check.add_argument("numbers", nargs="*")
        check.add_argument("--file", type=Path, help="read numbers from a file, one a line")

    def handle(self, *args: Any, **options: Any) -> None:
        numbers: list[str] = list(options["numbers"])
        if options["file"]:
            try:
                text = options["file"].read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
            numbers.extend(line.strip() for line in text.splitlines() if line.strip())
        if not numbers:
            raise CommandError("give numbers to check, or --file")
        for number in numbers:
            self.stdout.write(json.dumps(idnumber.parse(number).to_dict(), ensure_ascii=False))
