"""`tongban users import FILE.csv`: create or update staff accounts from a roster."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.accounts.importer import (
    CODES_HEADER,
    COLUMNS,
    ENCODINGS,
    IssuedCode,
    UserImportError,
    import_users,
    write_codes,
    write_report,
)


class Command(BaseCommand):
    help = "Staff accounts (账号): `import FILE.csv` with columns " + ",".join(COLUMNS)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="create or update accounts; prints one JSON line of counts")
        imp.add_argument("file", type=Path)
        imp.add_argument("--report", type=Path, help="where rejected rows go (default FILE.rejected.csv)")
        imp.add_argument(
            "--codes",
            type=Path,
            help="where the new accounts' activation codes go, mode 0600, never overwritten "
            "(default FILE.codes-YYYYMMDD-HHMMSS.csv)",
        )
        imp.add_argument(
            "--encoding",
            choices=ENCODINGS,
            default="auto",
            help="auto (default): UTF-8 with or without BOM, otherwise GB18030",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}")
        report: Path = options["report"] or path.with_name(path.stem + ".rejected.csv")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        codes_path: Path = options["codes"] or path.with_name(f"{path.stem}.codes-{stamp}.csv")
        # The codes file is created first, exclusively and readable by its owner only, so that no
        # account is created whose code could not be handed out.
        try:
            fd = os.open(codes_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CommandError(f"激活码文件已存在，不会覆盖：{codes_path}") from None
        except OSError as exc:
            raise CommandError(f"无法创建激活码文件 {codes_path}：{exc.strerror}") from exc
        os.fchmod(fd, 0o600)
        issued = 0
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
            handle.write(",".join(CODES_HEADER) + "\r\n")

            def on_codes(codes: list[IssuedCode]) -> None:
                nonlocal issued
                write_codes(codes, handle)
                handle.flush()
                os.fsync(handle.fileno())
                issued += len(codes)

            try:
                result = import_users(path, actor=None, encoding=options["encoding"], on_codes=on_codes)
            except UserImportError as exc:
                handle.close()
                codes_path.unlink(missing_ok=True)
                raise CommandError(str(exc)) from exc
        if not issued:
            codes_path.unlink(missing_ok=True)
        with report.open("w", encoding="utf-8-sig", newline="") as out:
            write_report(result.rejections, out)
        self.stderr.write(f"文件编码：{result.encoding}")
        if issued:
            self.stderr.write(
                f"{issued} 个新账号的激活码已写入 {codes_path}（仅文件所有者可读），"
                "请逐一交给本人，首次登录时设置密码。"
            )
        if result.rejected:
            self.stderr.write(f"{result.rejected} 行未导入，原因见 {report}")
        self.stdout.write(json.dumps(result.counts()))
