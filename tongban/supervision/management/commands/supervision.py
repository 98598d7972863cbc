"""`tongban supervision rollup forget [--since DAY]` after a bulk load that bypassed the ORM
(COPY, a restore); `tongban supervision rollup fill` rolls up the dashboards' window ahead of
the first visit, as the nightly schedule does."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongban.supervision import rollup
from tongban.supervision.services import rollup_fill


class Command(BaseCommand):
    help = "督导 / supervision: the daily rollup behind the dashboards' series"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="group", required=True)
        group = sub.add_parser("rollup", help="the rollup of days that are over")
        actions = group.add_subparsers(dest="action", required=True)
        forget = actions.add_parser("forget", help="drop the rollup (of days from --since on)")
        forget.add_argument("--since", type=datetime.date.fromisoformat, default=None, help="YYYY-MM-DD")
        actions.add_parser("fill", help="roll up the dashboards' window now")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "forget":
            rollup.forget(options["since"])
            self.stdout.write("已清除每日汇总")
        else:
            rollup_fill()
            self.stdout.write("已生成每日汇总")
