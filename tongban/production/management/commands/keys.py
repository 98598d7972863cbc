"""`tongban keys ...`: the SM2 keys of the production data packages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.crypto import sm2_fingerprint
from tongban.core.errors import ServiceError
from tongban.core.keys import (
    UNLOCK_HELP,
    SystemKeyInvalid,
    SystemKeyMissing,
    keys_passphrase,
    load_system_public,
    system_key_encrypted,
)
from tongban.production import services
from tongban.production.models import CentreKey
from tongban.registry.models import Unit

UNENCRYPTED_WARNING = (
    "警告：系统私钥未加密保存；配置口令后请运行 tongban keys encrypt。 / Warning: the private key is "
    f"stored unencrypted; configure a passphrase, then run tongban keys encrypt. {UNLOCK_HELP}"
)


class Command(BaseCommand):
    help = (
        "SM2 keys of the data packages: `generate-system [--force]`, "
        "`generate-centre CODE --out FILE [--force]`, `rotate-centre CODE --out FILE [--force]`, "
        "`encrypt [FILE]`, `show`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        system = sub.add_parser("generate-system", help="the system's signing pair, kept in TONGBAN_KEYS_DIR")
        system.add_argument("--force", action="store_true", help="replace an existing key")
        for action, text in (
            ("generate-centre", "a centre's pair: the public key is stored, the private key goes to FILE"),
            (
                "rotate-centre",
                "replace a centre's active key (the old one is kept, retired: old packages open with it)",
            ),
        ):
            centre = sub.add_parser(action, help=text)
            centre.add_argument("code", help="the centre's unit code, e.g. 360000901")
            centre.add_argument(
                "--out", required=True, type=Path, metavar="FILE", help="hand this file to the centre"
            )
            centre.add_argument("--force", action="store_true", help="overwrite FILE")
        encrypt = sub.add_parser(
            "encrypt",
            help="encrypt a plain private key file with the keys passphrase (default: the system key)",
        )
        encrypt.add_argument("file", nargs="?", type=Path, help="a key file (default: the system key)")
        sub.add_parser("show", help="the system key and each centre's active key (fingerprints)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "generate-system":
                pair = services.system_key_generate(force=options["force"])
                encrypted = bool(keys_passphrase())
                if not encrypted:
                    self.stderr.write(UNENCRYPTED_WARNING)
                self.stdout.write(
                    json.dumps(
                        {
                            "path": str(services.system_key_path()),
                            "fingerprint": pair.fingerprint,
                            "encrypted": encrypted,
                        }
                    )
                )
            elif options["action"] in ("generate-centre", "rotate-centre"):
                centre = Unit.objects.filter(code=options["code"], kind=Unit.Kind.CENTRE).first()
                if centre is None:
                    raise CommandError(f"no production centre with code {options['code']}")
                key = services.centre_key_generate(
                    centre=centre,
                    out=options["out"],
                    force=options["force"],
                    rotate=options["action"] == "rotate-centre",
                )
                self.stdout.write(
                    json.dumps(
                        {"centre": centre.code, "out": str(options["out"]), "fingerprint": key.fingerprint}
                    )
                )
            elif options["action"] == "encrypt":
                path = options["file"] or services.system_key_path()
                pair = services.key_file_encrypt(path)
                self.stdout.write(
                    json.dumps({"path": str(path), "fingerprint": pair.fingerprint, "encrypted": True})
                )
            else:
                self._show()
        except ServiceError as error:
            raise CommandError(error.message) from error

    def _show(self) -> None:
        try:
            system: dict[str, Any] = {
                "fingerprint": sm2_fingerprint(load_system_public()),
                "encrypted": system_key_encrypted(),
            }
        except SystemKeyMissing:
            system = {"error": "系统签名密钥尚未生成，请运行 tongban keys generate-system。"}
        except SystemKeyInvalid as error:
            system = {"error": f"系统签名密钥文件 {error} 无效。"}
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
        retired = [
            {
                "centre": key.centre.code,
                "fingerprint": key.fingerprint,
                "created_at": key.created_at.isoformat(),
            }
            for key in CentreKey.objects.filter(active=False)
            .select_related("centre")
            .order_by("centre__code", "created_at")
        ]
        missing = Unit.objects.filter(kind=Unit.Kind.CENTRE).exclude(production_keys__active=True)
        self.stdout.write(
            json.dumps(
                {
                    "system": system,
                    "centres": centres,
                    "retired_centre_keys": retired,
                    "centres_without_key": [u.code for u in missing],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
