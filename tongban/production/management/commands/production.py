"""`tongban production schedule [--size N] [--centre CODE] [--package]`: the scheduled job that
batches each centre's queue per acceptance unit (调度打包)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import ServiceError
from tongban.production import services
from tongban.registry.models import Unit


class Command(BaseCommand):
    help = "Production (制证): `schedule [--size N] [--centre CODE] [--package]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        schedule = sub.add_parser(
            "schedule", help="one batch per acceptance unit with issued applications waiting"
        )
        schedule.add_argument("--size", type=int, help="most cards a batch (default TONGBAN_BATCH_SIZE)")
        schedule.add_argument("--centre", metavar="CODE", help="only this centre")
        schedule.add_argument(
            "--package", action="store_true", help="also make each new batch's data package"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        centre = None
        if options["centre"]:
            centre = Unit.objects.filter(code=options["centre"], kind=Unit.Kind.CENTRE).first()
            if centre is None:
                raise CommandError(f"no production centre with code {options['centre']}")
        try:
            batches = services.batch_schedule(size=options["size"], centre=centre)
            for batch in batches:
                if options["package"]:
                    batch = services.batch_package(actor=None, batch=batch)
                self.stdout.write(
                    json.dumps(
                        {
                            "batch": batch.number,
                            "centre": batch.centre.code,
                            "acceptance_unit": batch.acceptance_unit.code if batch.acceptance_unit else "",
                            "size": batch.size,
                            "state": batch.state,
                        }
                    )
                )
        except ServiceError as error:
            raise CommandError(error.message) from error
        self.stderr.write(f"{len(batches)} batch(es)")
