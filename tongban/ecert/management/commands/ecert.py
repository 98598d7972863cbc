"""`tongban ecert ...`: 电子证照 from the command line (docs/ecert.md)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.core.crypto import SM2Error, sm2_public_from_pem, sm2_public_key
from tongban.core.errors import ServiceError
from tongban.core.keys import keys_passphrase
from tongban.ecert import keys, services
from tongban.ecert.token import OUTCOME_LABELS, key_id, token_check


def public_keys_from_file(path: Path) -> dict[str, str]:
    """key id → public key from a file a relying party was given: the JSON of
    `GET /api/v1/public/ecert/keys` (or `tongban ecert key --out`), a PEM public key, or hex."""
    text = path.read_text(encoding="utf-8").strip()
    try:
        if text.startswith("{"):
            document = json.loads(text)
            found = {}
            for entry in document.get("keys", []):
                public = sm2_public_key(str(entry["public_key"]))
                found[key_id(public)] = public
            return found
        public = sm2_public_from_pem(text) if text.startswith("-----BEGIN") else sm2_public_key(text)
    except (ValueError, KeyError, TypeError, AttributeError, SM2Error) as exc:
        raise CommandError(f"{path}：不是电子证照公钥文件（JSON、PEM 或十六进制）。") from exc
    return {key_id(public): public}


class Command(BaseCommand):
    help = (
        "电子证照: `keygen [--force]`, `key [--out FILE]`, `verify TOKEN|URL [--public-key FILE]`, "
        "`backfill [--limit N]`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        keygen = sub.add_parser(
            "keygen", help="make the province's certificate signing key (made on first use)"
        )
        keygen.add_argument(
            "--force",
            action="store_true",
            help="replace the key; the old public key is kept (retired): earlier certificates still verify",
        )
        key = sub.add_parser("key", help="print the public keys (current and retired) and fingerprints")
        key.add_argument("--out", help="also write them as JSON, the file `verify --public-key` reads")
        verify = sub.add_parser("verify", help="check a code offline with the public key(s)")
        verify.add_argument("token", help="the code (EC1.…) or the verification URL the QR code holds")
        verify.add_argument(
            "--public-key",
            help="a file with the province's public key(s): JSON from /api/v1/public/ecert/keys, PEM or hex "
            "(default: this system's own key file)",
        )
        backfill = sub.add_parser(
            "backfill",
            help="certify the cards handed over before this feature (or while the key was locked)",
        )
        backfill.add_argument("--limit", type=int, default=None, metavar="N")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except ServiceError as error:
            raise CommandError(f"{error.code}: {error.message}") from error

    def _print(self, data: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=1))

    def _handle(self, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "keygen":
            pair = keys.ecert_key_generate(force=options["force"])
            encrypted = bool(keys_passphrase())
            if not encrypted:
                self.stderr.write("警告：电子证照签名私钥未加密保存（未配置 TONGBAN_KEYS_PASSPHRASE）。")
            self._print(
                {
                    "path": str(keys.ecert_key_path()),
                    "key_id": key_id(pair.public),
                    "fingerprint": pair.fingerprint,
                    "encrypted": encrypted,
                }
            )
        elif action == "key":
            if not keys.public_keys():
                keys.ecert_key()  # made on first use, as signing would
            document = keys.keys_document()
            if options["out"]:
                Path(options["out"]).write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
            self._print(
                {
                    "province": document["province"],
                    "name": document["name"],
                    "keys": [
                        {k: entry[k] for k in ("key_id", "public_key", "fingerprint", "status", "retired_at")}
                        for entry in document["keys"]
                    ],
                }
            )
            self.stdout.write(document["keys"][0]["pem"], ending="")
        elif action == "verify":
            self._verify(options)
        elif action == "backfill":
            made = services.certificates_backfill(limit=options["limit"])
            self._print({"issued": made})

    def _verify(self, options: dict[str, Any]) -> None:
        if options["public_key"]:
            found = public_keys_from_file(Path(options["public_key"]))
        else:
            found = keys.key_map()
            if not found:
                raise CommandError("本系统尚无电子证照签名密钥：请用 --public-key 指定公钥文件。")
        now = datetime.datetime.now(tz=datetime.UTC)
        check = token_check(options["token"], found, now=now, today=timezone.localdate(now))
        claims = check.claims
        self._print(
            {
                "ok": check.ok,
                "outcome": check.outcome,
                "label": OUTCOME_LABELS[check.outcome],
                "number": claims.number if claims else "",
                "province": claims.province if claims else "",
                "key_id": claims.key_id if claims else "",
                "issued_at": claims.issued_at.isoformat() if claims else "",
                "expires_at": claims.expires_at.isoformat() if claims else "",
                "valid_until": (claims.valid_until.isoformat() if claims.valid_until else "长期")
                if claims
                else "",
                "note": "离线核验只查签名和时间；挂失、换领须在线核验（/guide/ecert/verify/）。",
            }
        )
        if not check.ok:
            raise CommandError(f"核验未通过：{OUTCOME_LABELS[check.outcome]}")
