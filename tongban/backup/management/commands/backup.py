"""`tongban backup [--output-dir DIR]`: one dated, SM4-encrypted archive of the database, the keys
and the face indexes (docs/operations.md, “Backups”). Exit status 0 written, 1 not written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.backup.services import BackupFailed, backup_create, backup_key


class Command(BaseCommand):
    help = (
        "Write the database, TONGBAN_KEYS_DIR and TONGBAN_ABIS_DIR into one archive encrypted with "
        "TONGBAN_BACKUP_KEY (SM4), named tongban-YYYYMMDD-HHMMSS.tbbak; prints its manifest (JSON)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output-dir", type=Path, help="where the archive goes (default TONGBAN_BACKUP_DIR)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir = options["output_dir"] or settings.BACKUP_DIR
        try:
            path, manifest = backup_create(out_dir=out_dir, key=backup_key())
        except BackupFailed as exc:
            raise CommandError(f"备份失败：{exc}") from exc
        except OSError as exc:
            raise CommandError(f"备份失败：无法写入 {out_dir}：{exc.strerror}") from exc
        self.stdout.write(json.dumps({"archive": str(path), "manifest": manifest}, ensure_ascii=False))
