"""`tongban progress examples`: one application per stage of 办理进度查询, with what a citizen
types to find it, to try the page and the API on demo or test data (README)."""

from __future__ import annotations

import itertools
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.intake import selectors
from tongban.portal.progress import rules

REFUSED_IN_PRODUCTION = (
    "生产环境不列出查询示例（其中含身份证号码后6位和姓名）。 / Refused in production: the examples "
    "carry the last digits of ID numbers and names."
)


class Command(BaseCommand):
    help = "办理进度查询: list one 受理号 per stage with the last 6 ID digits and the name to try it with."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser(
            "examples", help="one application per stage, to try /guide/progress/ with (not in production)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(REFUSED_IN_PRODUCTION)
        seen: set[tuple[rules.Stage, str]] = set()
        rows = []
        for status, collection in itertools.product(rules.STAGES, ("station", "post")):
            application = selectors.latest_with_status(status, collection)
            if application is None:
                continue
            stage = rules.stage_of(status, collection)
            if stage is None or (stage, status) in seen:
                continue
            seen.add((stage, status))
            rows.append(
                f"{stage.label}\t{application.number}\t{application.id_number[-6:]}\t{application.name}"
                f"\t({application.get_status_display()}，{application.get_collection_display()})"
            )
        if not rows:
            self.stdout.write("没有已受理的申领。 / No accepted application yet.")
            return
        self.stdout.write("环节\t受理号\t身份证号后6位\t姓名\t(状态，领取方式)")
        for row in rows:
            self.stdout.write(row)
