"""`tongban keys ...`: the SM2 keys of the production data packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.errors import ServiceError
from tongban.production import services
from tongban.production.models import CentreKey
from tongban.registry.models import Unit


class Command(BaseCommand):
    help = (
        "SM2 keys of the data packages: `generate-system [--force]`, "
        "`generate-centre CODE --out FILE [--force]`, `show`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        system = sub.add_parser("generate-system", help="the system's signing pair, kept in TONGBAN_KEYS_DIR")
        system.add_argument("--force", action="store_true", help="replace an existing key")
        centre = sub.add_parser(
            "generate-centre", help="a centre's pair: the public key is stored, the private key goes to FILE"
        )
        centre.add_argument("code", help="the centre's unit code, e.g. 360000901")
        centre.add_argument(
            "--out", required=True, type=Path, metavar="FILE", help="hand this file to the centre"
        )
        centre.add_argument("--force", action="store_true", help="overwrite FILE")
        sub.add_parser("show", help="the system key and each centre's active key (fingerprints)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "generate-system":
                pair = services.system_key_generate(force=options["force"])
                self.stdout.write(
                    json.dumps({"path": str(services.system_key_path()), "fingerprint": pair.fingerprint})
                )
            elif options["action"] == "generate-centre":
                centre = Unit.objects.filter(code=options["code"], kind=Unit.Kind.CENTRE).first()
                if centre is None:
                    raise CommandError(f"no production centre with code {options['code']}")
                key = services.centre_key_generate(centre=centre, out=options["out"], force=options["force"])
                self.stdout.write(
                    json.dumps(
                        {"centre": centre.code, "out": str(options["out"]), "fingerprint": key.fingerprint}
                    )
                )
            else:
                self._show()
        except ServiceError as error:
            raise CommandError(error.message) from error

    def _show(self) -> None:
        try:
            system: dict[str, Any] = {"fingerprint": services.system_key().fingerprint}
        except ServiceError as error:
            system = {"error": error.message}
        system["path"] = str(services.system_key_path())
        centres = [
            {
                "centre": key.centre.code,
                "name": key.centre.name,
                "fingerprint": key.fingerprint,
                "created_at": key.created_at.isoformat(),
            }
            for key in CentreKey.objects.filter(active=True).select_related("centre").order_by("centre__code")
        ]
        missing = Unit.objects.filter(kind=Unit.Kind.CENTRE).exclude(production_keys__active=True)
        self.stdout.write(
            json.dumps(
                {"system": system, "centres": centres, "centres_without_key": [u.code for u in missing]},
                ensure_ascii=False,
                indent=1,
            )
        )
