"""`tongban cardcheck ...`: 居民身份证核查's institutions from the command line (docs/cardcheck.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.cardcheck import selectors, services
from tongban.cardcheck.models import Institution
from tongban.core.errors import ServiceError


class Command(BaseCommand):
    help = (
        "居民身份证核查: `institution add --name N --kind bank|telecom|hotel|other --credit-code C "
        "--purpose P --contact T [--per-minute N] [--per-day N]`, `institution list`, "
        "`institution key ID` (a new key, printed once), `institution suspend|resume ID --reason R`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        institution = sub.add_parser("institution", help="the institutions (核查机构)")
        actions = institution.add_subparsers(dest="institution_action", required=True)
        add = actions.add_parser("add", help="register an institution (启用, without a key)")
        add.add_argument("--name", required=True, help="机构名称")
        add.add_argument("--kind", required=True, choices=Institution.Kind.values, help="机构类别")
        add.add_argument("--credit-code", required=True, help="统一社会信用代码 (18 characters)")
        add.add_argument("--purpose", required=True, help="核查用途, written into every check's audit row")
        add.add_argument("--contact", required=True, help="联系人及电话")
        add.add_argument("--per-minute", type=int, default=60, help="checks a minute (default 60)")
        add.add_argument("--per-day", type=int, default=10000, help="checks a day (default 10000)")
        actions.add_parser(
            "list", help="every institution with its state, key prefix, limits, this month's checks"
        )
        key = actions.add_parser(
            "key", help="issue or replace the key: printed once, the old one stops at once"
        )
        key.add_argument("id", type=int)
        for name in ("suspend", "resume"):
            one = actions.add_parser(name, help=f"{name} the institution's checks (from the next request)")
            one.add_argument("id", type=int)
            one.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except ServiceError as error:
            raise CommandError(f"{error.code}: {error.message} {error.fields or ''}".strip()) from error

    def _print(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=1, default=str))

    def _institution(self, pk: int) -> Institution:
        found = Institution.objects.filter(pk=pk).first()
        if found is None:
            raise CommandError(f"没有编号为 {pk} 的核查机构。")
        return found

    def _handle(self, options: dict[str, Any]) -> None:
        action = options["institution_action"]
        if action == "add":
            entry = services.InstitutionEntry(
                name=options["name"],
                kind=options["kind"],
                credit_code=options["credit_code"],
                purpose=options["purpose"],
                contact=options["contact"],
                per_minute_limit=options["per_minute"],
                daily_limit=options["per_day"],
            )
            made = services.institution_add(actor=None, entry=entry)
            self._print({"id": made.pk, "name": made.name, "state": made.state})
        elif action == "list":
            month = selectors.this_month()
            totals = {row.institution_id: row.counts.total for row in selectors.month_counts_all(month)}
            self._print(
                [
                    {
                        "id": one.pk,
                        "name": one.name,
                        "kind": one.get_kind_display(),
                        "state": one.get_state_display(),
                        "key_prefix": one.key_prefix,
                        "per_minute_limit": one.per_minute_limit,
                        "daily_limit": one.daily_limit,
                        "month_checks": totals.get(one.pk, 0),
                    }
                    for one in Institution.objects.order_by("pk")
                ]
            )
        elif action == "key":
            institution, key = services.key_issue(actor=None, institution=self._institution(options["id"]))
            self.stderr.write("新密钥只显示这一次：请当场交给机构，原密钥已失效。")
            self._print({"id": institution.pk, "name": institution.name, "key": key})
        else:
            change = services.institution_suspend if action == "suspend" else services.institution_resume
            done = change(actor=None, institution=self._institution(options["id"]), reason=options["reason"])
            self._print({"id": done.pk, "name": done.name, "state": done.state})
