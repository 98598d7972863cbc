"""`tongban package open FILE --key CENTRE_KEY_FILE [--key ...] [--out DIR]`: the centre verifies
and opens a data package. Exit code 1 with the reason when any check fails (see docs/production.md).
After a key rotation the centre passes its old and new key files: the package names the key it was
encrypted for, and the file holding that key is used."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.core.crypto import SM2Error, sm2_public_key
from tongban.core.errors import ServiceError
from tongban.production import package as package_format
from tongban.production import services


class Command(BaseCommand):
    help = "Data packages: `open FILE --key CENTRE_KEY_FILE [--key ...] [--out DIR] [--system-key HEX]`."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        opening = sub.add_parser("open", help="verify the signature and every digest, decrypt, extract")
        opening.add_argument("file", type=Path)
        opening.add_argument(
            "--key",
            required=True,
            type=Path,
            action="append",
            help="the centre's key file (keys generate-centre); again for each older key (rotate-centre)",
        )
        opening.add_argument(
            "--out", type=Path, help="write manifest.json, manifest.sig and the entries here"
        )
        opening.add_argument(
            "--system-key",
            metavar="HEX",
            help="the system's public key to trust (default: the one in the centre's key file)",
        )

    @staticmethod
    def _key_for(path: Path, keyfiles: list[services.CentreKeyFile]) -> services.CentreKeyFile:
        """The key file whose key the package names; the first when none does (then opening
        reports the mismatch) or the package cannot be read (then opening reports why)."""
        try:
            with path.open("rb") as handle:
                named = package_format.read_header(handle)[0].get("centre_key")
        except (OSError, package_format.PackageError):
            return keyfiles[0]
        return next((k for k in keyfiles if k.key.fingerprint == named), keyfiles[0])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            keyfile = self._key_for(
                options["file"], [services.read_centre_key_file(p) for p in options["key"]]
            )
            system_public = (
                sm2_public_key(options["system_key"]) if options["system_key"] else keyfile.system_public
            )
        except (ServiceError, SM2Error) as error:
            raise CommandError(getattr(error, "message", str(error))) from error
        out = options["out"]
        created = out is not None and not out.exists()
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        try:
            opened = package_format.open_package(
                options["file"], centre_key=keyfile.key, system_public=system_public, out_dir=out
            )
        except (FileNotFoundError, package_format.PackageError) as error:
            if created and out is not None and not any(out.iterdir()):
                out.rmdir()  # a folder made for a package that did not open is not left behind
            if isinstance(error, FileNotFoundError):
                raise CommandError(f"no such file: {options['file']}") from error
            # The message says which check failed; nothing was written.
            self.stderr.write(f"数据包验证失败（{error.code}）：{error.message}")
            sys.exit(1)
        header = opened.header
        self.stdout.write(
            json.dumps(
                {
                    "verified": True,
                    "batch": header["batch"],
                    "centre": header["centre"],
                    "created_at": header["created_at"],
                    "cards": header["cards"],
                    "written": len(opened.written),
                    "out": str(out) if out else None,
                },
                ensure_ascii=False,
            )
        )
