"""`tongban registry import FILE.csv`: load people into the population register."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tongban.registry.csvformat import COLUMNS
from tongban.registry.importer import ImportFileError, import_people, write_report


class Command(BaseCommand):
    help = "Population register (人口信息): `import FILE.csv` with columns " + ",".join(COLUMNS)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="import people; prints one JSON line of counts")
        imp.add_argument("file", type=Path)
        imp.add_argument("--report", type=Path, help="where rejected rows go (default FILE.rejected.csv)")
        imp.add_argument("--encoding", default="utf-8-sig", help="file encoding (e.g. gb18030)")
        imp.add_argument(
            "--keep-defects",
            action="store_true",
            help="load 重号/错号 rows as they are (flagged in the report) for the clean-up (dataquality)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        report: Path = options["report"] or path.with_name(path.stem + ".rejected.csv")
        # The bar goes to stderr and only on a terminal, so stdout stays one JSON line.
        with tqdm(unit=" rows", disable=not sys.stderr.isatty(), file=sys.stderr, desc="导入") as bar:
            try:
                result = import_people(
                    path,
                    actor=None,
                    encoding=options["encoding"],
                    chunk_size=settings.IMPORT_BATCH_SIZE,
                    progress=bar.update,
                    keep_defects=options["keep_defects"],
                )
            except ImportFileError as exc:
                raise CommandError(str(exc)) from exc
        with report.open("w", encoding="utf-8-sig", newline="") as handle:
            write_report(sorted(result.rejections + result.flags, key=lambda r: r.line), handle)
        if result.rejected or result.flagged:
            self.stderr.write(
                f"{result.rejected} rejected, {result.flagged} flagged rows written to {report}"
            )
        self.stdout.write(json.dumps(result.counts()))
