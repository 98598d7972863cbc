"""`tongban audit …`: seal the trail, verify it, export its checkpoints for an outside witness."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.audit import sealer
from tongban.audit.verify import export_checkpoints, verify
from tongban.core.keys import KeyLocked, SystemKeyInvalid, SystemKeyMissing


class Command(BaseCommand):
    help = (
        "Audit trail tools: `seal` chains and signs the rows written since the last seal (`--follow`: "
        "keep doing it), `verify` checks every row, seal and signature, `checkpoints` exports the seals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seal = sub.add_parser("seal", help="seal the rows not sealed yet (exit when done, or --follow)")
        seal.add_argument(
            "--follow", action="store_true", help="keep sealing until stopped (SIGTERM, Ctrl-C)"
        )
        seal.add_argument("--interval", type=float, default=None, help="seconds between looks (--follow)")
        seal.add_argument("--batch", type=int, default=None, help="rows in one signed batch at most")
        check = sub.add_parser("verify", help="verify rows, seals and signatures; exit status 1 when not ok")
        check.add_argument("--witness", type=Path, help="also compare with checkpoints exported earlier")
        export = sub.add_parser("checkpoints", help="export the signed seals (JSON) for an outside witness")
        export.add_argument("--since", type=int, default=0, help="only seals after this number")
        export.add_argument("--output", type=Path, help="write to this file instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except SystemKeyMissing as exc:
            raise CommandError("系统签名密钥尚未生成，请运行 tongban keys generate-system。") from exc
        except KeyLocked as exc:
            raise CommandError(str(exc)) from exc
        except SystemKeyInvalid as exc:
            raise CommandError(f"系统签名密钥文件 {exc} 无效。") from exc
        except sealer.SealingRefused as exc:
            raise CommandError(f"审计日志无法封存：{exc}；请先运行 tongban audit verify 查明原因。") from exc

    def _seal(self, options: dict[str, Any]) -> None:
        config = settings.AUDIT
        batch = int(options["batch"] or config["SEAL_BATCH"])
        if not options["follow"]:
            count = sealer.seal_all(limit=batch)
            self.stdout.write(json.dumps({"sealed": count}))
            return
        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        interval = options["interval"] if options["interval"] is not None else config["SEAL_INTERVAL_SECONDS"]
        sealer.follow(interval=interval, limit=batch, stop=lambda: stopping)

    def _verify(self, options: dict[str, Any]) -> None:
        witness = json.loads(options["witness"].read_text()) if options["witness"] else None
        result = verify(witness=witness)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        if result.broken is not None:
            raise CommandError(f"审计日志校验未通过：{result.broken.message}")
        if result.unsealed_overdue:
            raise CommandError(
                f"{result.unsealed_overdue} 条审计记录超过规定时间仍未封存：封存进程可能未运行。"
            )

    def _checkpoints(self, options: dict[str, Any]) -> None:
        text = json.dumps(export_checkpoints(since=options["since"]), ensure_ascii=False, indent=1)
        if options["output"]:
            options["output"].write_text(text + "\n")
        else:
            self.stdout.write(text)
