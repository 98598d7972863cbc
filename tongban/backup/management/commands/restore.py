"""`tongban restore ARCHIVE [--replace]`: put a backup back onto an empty system and check it
(docs/operations.md, “Restore drill”). Exit status: 0 restored and every check passed; 1 nothing
restored (no key, unreadable file, a backup of another kind of database, a tool failing); 3 refused,
the system is not empty; 4 the archive does not decrypt or does not match its manifest, nothing
restored; 5 restored, but a check afterwards failed (the output says which)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.backup.services import ArchiveDamaged, BackupFailed, RestoreRefused, backup_key, backup_restore

EXIT_REFUSED = 3
EXIT_DAMAGED = 4
EXIT_CHECK_FAILED = 5


class Command(BaseCommand):
    help = (
        "Restore an archive of `tongban backup` onto an empty database and keys folder, then verify "
        "the audit trail, the package keys and the face indexes; prints the checks (JSON)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--replace", action="store_true", help="overwrite a database and keys folder that are not empty"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = backup_restore(archive=options["archive"], key=backup_key(), replace=options["replace"])
        except RestoreRefused as exc:
            raise CommandError(f"未恢复：{exc}", returncode=EXIT_REFUSED) from exc
        except ArchiveDamaged as exc:
            raise CommandError(f"未恢复：{exc}", returncode=EXIT_DAMAGED) from exc
        except BackupFailed as exc:
            raise CommandError(f"恢复失败：{exc}") from exc
        body = {"ok": report.ok, "created_at": report.manifest.get("created_at"), "checks": report.checks}
        self.stdout.write(json.dumps(body, ensure_ascii=False))
        if not report.ok:
            raise CommandError(
                "已恢复，但校验未通过：" + "；".join(report.problems), returncode=EXIT_CHECK_FAILED
            )
