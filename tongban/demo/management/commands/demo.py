"""`tongban demo seed` and `tongban demo otp`: the demo province for `make run` and try-outs."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.oath import totp

from tongban.demo.seed import DEFAULT_PEOPLE, DEFAULT_SEED, DEMO_TOTP_KEY_HEX, DemoRefused, seed_demo
from tongban.registry.models import Unit


class Command(BaseCommand):
    help = (
        "Demo data (演示数据): `seed [--people N] [--seed S] [--if-empty]` loads 江西省's units, one account "
        "per role and N synthetic people, printing the created counts as JSON; `otp` prints the current "
        "one-time code of the demo admin and auditor. Never on production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seed = sub.add_parser(
            "seed", help="load demo units, accounts and people (people only into an empty register)"
        )
        seed.add_argument(
            "--people", type=int, default=DEFAULT_PEOPLE, metavar="N", help="default %(default)s"
        )
        seed.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="S", help="default %(default)s")
        seed.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already has units"
        )
        sub.add_parser("otp", help="print the current TOTP code of the demo accounts that need one")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo data is never used in production")
        if options["action"] == "otp":
            self.stdout.write(f"{totp(bytes.fromhex(DEMO_TOTP_KEY_HEX)):06d}")
            return
        if options["if_empty"] and Unit.objects.exists():
            self.stdout.write(json.dumps({"skipped": "database not empty"}))
            return
        if options["people"] < 0:
            raise CommandError("--people cannot be negative")
        try:
            counts = seed_demo(people=options["people"], seed=options["seed"])
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(counts))
