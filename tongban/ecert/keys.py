"""The province's certificate signing key (电子证照签名密钥): an SM2 pair of its own, beside the
system key and the exchange key in the keys directory and, like them, with its private half
sealed under the keys passphrase when one is configured (core/keys.py). It signs the
certificates and the codes the holders show; nothing else.

Replacing it (`tongban ecert keygen --force`) keeps the old public half in the file's `retired`
list: certificates and printed codes name the key that signed them, and still check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.crypto import (
    SM2Error,
    SM2KeyPair,
    sm2_fingerprint,
    sm2_generate,
    sm2_public_key,
    sm2_public_pem,
)
from tongban.core.errors import ServiceError
from tongban.core.keys import KeyLocked, key_file_json, key_file_pair, keys_passphrase, write_key_file
from tongban.ecert.token import key_id

ECERT_KEY_FILE = "ecert-sm2.json"
ECERT_KEY_KIND = "tongban.ecert-key/1"


def ecert_key_path() -> Path:
    return Path(str(settings.CARD_PRODUCTION["KEYS_DIR"])) / ECERT_KEY_FILE


def _bad(path: Path, why: str = "") -> ServiceError:
    return ServiceError("bad_ecert_key", why or f"电子证照签名密钥文件 {path} 无效。", status=500)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise _bad(path) from exc
    if not isinstance(data, dict):
        raise _bad(path)
    return data


def ecert_key_generate(*, force: bool = False) -> SM2KeyPair:
    """A new signing pair. With `force` it replaces the current one, whose public half joins
    the retired keys (old certificates and codes still check against it)."""
    path = ecert_key_path()
    old = _read(path) if force else None
    retired: list[dict[str, str]] = list(old.get("retired", [])) if old else []
    if old and old.get("public_key"):
        retired.append(
            {
                "key_id": str(old.get("key_id") or key_id(old["public_key"])),
                "public_key": str(old["public_key"]),
                "created_at": str(old.get("created_at", "")),
                "retired_at": timezone.now().isoformat(timespec="seconds"),
            }
        )
    pair = sm2_generate()
    passphrase = keys_passphrase()
    data = key_file_json(
        ECERT_KEY_KIND,
        pair,
        passphrase,
        key_id=key_id(pair.public),
        created_at=timezone.now().isoformat(timespec="seconds"),
    )
    data["retired"] = retired
    write_key_file(path, data, force=force)
    record(
        actor=None,
        action=AuditAction.ECERT_KEY_GENERATED,
        detail={
            "key_id": key_id(pair.public),
            "fingerprint": pair.fingerprint,
            "encrypted": bool(passphrase),
            "retired": [entry["key_id"] for entry in retired],
        },
    )
    return pair


def ecert_key() -> SM2KeyPair:
    """The current signing pair, made on first use."""
    path = ecert_key_path()
    data = _read(path)
    if data is None:
        try:
            return ecert_key_generate()
        except ServiceError:  # key_exists: another process made it meanwhile
            data = _read(path)
            if data is None:
                raise
    try:
        return key_file_pair(data, path)
    except KeyLocked as exc:
        raise _bad(path, str(exc)) from exc
    except (ValueError, KeyError, TypeError, SM2Error) as exc:
        raise _bad(path) from exc


@dataclass(frozen=True)
class PublicKey:
    """A public key relying parties check with: the current one, or one retired."""

    key_id: str
    public_key: str
    fingerprint: str
    current: bool
    created_at: str = ""
    retired_at: str = ""

    @property
    def pem(self) -> str:
        return sm2_public_pem(self.public_key)

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "public_key": self.public_key,
            "fingerprint": self.fingerprint,
            "pem": self.pem,
            "status": "current" if self.current else "retired",
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


def public_keys() -> list[PublicKey]:
    """The current key first, then the retired ones, newest first; none before the key is made.
    Needs no passphrase."""
    path = ecert_key_path()
    data = _read(path)
    if data is None:
        return []
    try:
        keys = [
            PublicKey(
                key_id=key_id(data["public_key"]),
                public_key=sm2_public_key(data["public_key"]),
                fingerprint=sm2_fingerprint(data["public_key"]),
                current=True,
                created_at=str(data.get("created_at", "")),
            )
        ]
        for entry in reversed(data.get("retired", [])):
            keys.append(
                PublicKey(
                    key_id=key_id(entry["public_key"]),
                    public_key=sm2_public_key(entry["public_key"]),
                    fingerprint=sm2_fingerprint(entry["public_key"]),
                    current=False,
                    created_at=str(entry.get("created_at", "")),
                    retired_at=str(entry.get("retired_at", "")),
                )
            )
    except (KeyError, TypeError, SM2Error) as exc:
        raise _bad(path) from exc
    return keys


def key_map() -> dict[str, str]:
    """key id → public key (hex), for the checks."""
    return {key.key_id: key.public_key for key in public_keys()}


def keys_document() -> dict[str, Any]:
    """The public keys as relying parties fetch them (`GET /api/v1/public/ecert/keys`,
    `tongban ecert key --out`): what `tongban ecert verify --public-key` reads."""
    return {
        "kind": "tongban.ecert-public-keys/1",
        "province": settings.PROVINCE_CODE,
        "name": settings.PROVINCE_NAME,
        "keys": [key.as_json() for key in public_keys()],
    }
