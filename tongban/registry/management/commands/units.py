"""`tongban units ...`: build and list the unit tree."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.registry.models import Unit
from tongban.registry.services import units_load_province


class Command(BaseCommand):
    help = "Unit tree (机构): `load-province CODE [--stations-per-county N]`, `list [--under CODE]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "load-province", help="build a province's units, centres and routing from GB/T 2260"
        )
        load.add_argument("province", help="2-digit province code, e.g. 36 for 江西省")
        load.add_argument("--stations-per-county", type=int, default=2, metavar="N")
        listing = sub.add_parser("list", help="print units as code, kind and name")
        listing.add_argument("--under", metavar="CODE", help="only this unit's subtree")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load-province":
            province = options["province"]
            if len(province) != 2 or not province.isdigit():
                raise CommandError("province must be a 2-digit code, e.g. 36")
            try:
                result = units_load_province(
                    province_code=province, stations_per_county=options["stations_per_county"], actor=None
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(json.dumps(result.__dict__))
            return
        units = Unit.objects.all()
        if options["under"]:
            root = Unit.objects.filter(code=options["under"]).first()
            if root is None:
                raise CommandError(f"no unit with code {options['under']}")
            units = units.subtree(root)
        for unit in units.order_by("path"):
            self.stdout.write(f"{'  ' * (unit.depth - 1)}{unit.code}\t{unit.kind}\t{unit.name}")
