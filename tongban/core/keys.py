"""The system's SM2 signing pair (签名密钥): where it lives and how it is read, and how private
keys are kept encrypted at rest.

One pair signs what the system vouches for: data packages for the production centres and the
audit log's checkpoints. It is kept under settings.CARD_PRODUCTION["KEYS_DIR"] (never in the
repository) and made by `tongban keys generate-system`. Reading it lives here, below every app,
so that the audit sealer and production share it without importing each other.

A key file holds its private key either as hex (`private_key`: files made before keys were
encrypted, which keep working) or sealed (`sealed_private_key`): SM4-GCM under a key derived
from the keys passphrase by scrypt, bound to the file's kind and public key. The passphrase is
KEYS_PASSPHRASE (TONGBAN_KEYS_PASSPHRASE or TONGBAN_KEYS_PASSPHRASE_FILE), or what the callable
KEYS_PASSPHRASE_HOOK returns (a KMS, an HSM's unwrap). `tongban keys encrypt` seals a plain one.
The public half is readable without the passphrase (`load_system_public`: audit verification).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from tongban.core.crypto import SealError, SM2Error, SM2KeyPair, seal, sm2_keypair, sm2_public_key, unseal
from tongban.core.errors import ServiceError

SYSTEM_KEY_FILE = "system-sm2.json"
SYSTEM_KEY_KIND = "tongban.system-key/1"
UNLOCK_HELP = (
    "未配置密钥口令：请设置 TONGBAN_KEYS_PASSPHRASE 或 TONGBAN_KEYS_PASSPHRASE_FILE（或 "
    "TONGBAN_KEYS_PASSPHRASE_HOOK）。 / No keys passphrase is configured: set TONGBAN_KEYS_PASSPHRASE "
    "or TONGBAN_KEYS_PASSPHRASE_FILE (or TONGBAN_KEYS_PASSPHRASE_HOOK)."
)
# scrypt at 2^15 × 8: 32 MiB and ~0.1 s a derivation (once per process and file: cached).
_SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}


class SystemKeyMissing(LookupError):
    """The system's key has not been generated yet."""


class SystemKeyInvalid(ValueError):
    """The key file exists but cannot be used (damaged, or its halves do not belong together)."""


class KeyLocked(SystemKeyInvalid):
    """A private key is encrypted and the passphrase is not configured, or is not its own. The
    message (Chinese, then English) tells the operator what to set."""


def system_key_path() -> Path:
    return Path(str(settings.CARD_PRODUCTION["KEYS_DIR"])) / SYSTEM_KEY_FILE


def keys_passphrase() -> str:
    """The passphrase of the private keys at rest; "" when none is configured."""
    conf = settings.CARD_PRODUCTION
    hook = str(conf.get("KEYS_PASSPHRASE_HOOK") or "")
    if hook:
        return str(import_string(hook)() or "")
    return str(conf.get("KEYS_PASSPHRASE") or "")


@functools.lru_cache(maxsize=8)
def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passphrase.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 << 20, dklen=16)


def _context(kind: str, public: str) -> bytes:
    return f"{kind}:{public}".encode()


def seal_private_key(kind: str, pair: SM2KeyPair, passphrase: str) -> dict[str, Any]:
    """The `sealed_private_key` entry of a key file of `kind` holding `pair`."""
    salt = os.urandom(16)
    key = _derive(passphrase, salt, _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"])
    blob = seal(key, bytes.fromhex(pair.private), context=_context(kind, pair.public))
    return {
        "kdf": "scrypt",
        **_SCRYPT,
        "salt": salt.hex(),
        "cipher": "SM4-GCM",
        "data": base64.b64encode(blob).decode(),
    }


def key_file_pair(data: dict[str, Any], path: Path) -> SM2KeyPair:
    """The pair a key file's JSON holds, plain or sealed; KeyLocked when sealed and the
    passphrase is missing or wrong, ValueError/KeyError/SM2Error when the file is damaged."""
    public = sm2_public_key(data["public_key"])
    sealed = data.get("sealed_private_key")
    if sealed is None:
        return sm2_keypair(data["private_key"], public)
    passphrase = keys_passphrase()
    if not passphrase:
        raise KeyLocked(f"{UNLOCK_HELP}（私钥文件 {path} 已加密 / the private key in {path} is encrypted）")
    key = _derive(
        passphrase, bytes.fromhex(sealed["salt"]), int(sealed["n"]), int(sealed["r"]), int(sealed["p"])
    )
    try:
        private = unseal(
            key, base64.b64decode(sealed["data"]), context=_context(str(data.get("kind")), public)
        )
    except SealError as exc:
        raise KeyLocked(
            f"密钥口令错误：无法解开私钥文件 {path}（口令不是加密时所用的，或文件被改动）。 / "
            f"Wrong keys passphrase: the private key in {path} does not open with it "
            "(not the passphrase it was encrypted with, or the file was altered)."
        ) from exc
    return sm2_keypair(private.hex(), public)


def write_key_file(path: Path, data: dict[str, Any], *, force: bool) -> None:
    """A key file readable by its owner only; never overwritten unless `force` (then replaced
    whole: a new file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path.with_name(f".{path.name}.{os.getpid()}.new") if force else path
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ServiceError("key_exists", f"{path} 已存在；确需更换请加 --force。", status=409) from exc
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(target, path)
    finally:
        if force:
            target.unlink(missing_ok=True)


def key_file_json(kind: str, pair: SM2KeyPair, passphrase: str, **extra: str) -> dict[str, Any]:
    """A key file's JSON: the private key sealed under `passphrase`, or as hex when it is ""."""
    private: dict[str, Any] = (
        {"sealed_private_key": seal_private_key(kind, pair, passphrase)}
        if passphrase
        else {"private_key": pair.private}
    )
    return {"kind": kind, **extra, **private, "public_key": pair.public}


def _read_system_key_file() -> dict[str, Any]:
    path = system_key_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise SystemKeyMissing(str(path)) from exc
    except ValueError as exc:
        raise SystemKeyInvalid(str(path)) from exc
    if not isinstance(data, dict):
        raise SystemKeyInvalid(str(path))
    return data


def load_system_key() -> SM2KeyPair:
    path = system_key_path()
    data = _read_system_key_file()
    try:
        return key_file_pair(data, path)
    except KeyLocked:
        raise
    except (ValueError, KeyError, TypeError, SM2Error) as exc:
        raise SystemKeyInvalid(str(path)) from exc


def load_system_public() -> str:
    """The system key's public half, which needs no passphrase (verifying seals and packages)."""
    data = _read_system_key_file()
    try:
        return sm2_public_key(data["public_key"])
    except (KeyError, TypeError, SM2Error) as exc:
        raise SystemKeyInvalid(str(system_key_path())) from exc


def system_key_encrypted() -> bool:
    return "sealed_private_key" in _read_system_key_file()
