"""Typed readers for settings that come from environment variables.

They fail loudly: a malformed value stops start-up with the variable's name instead of
silently falling back to a default that an operator did not choose.
"""

from __future__ import annotations

import os
from pathlib import Path


class EnvError(ValueError):
    """A setting's environment variable holds a value that cannot be used."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise EnvError(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise EnvError(f"{name} must be an integer, not {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise EnvError(f"{name} must be a number, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_secret(name: str, default: str) -> str:
    """A secret: `name`'s value, or the stripped contents of the file `name`_FILE names (Docker
    secrets, systemd credentials), so the secret need not sit in the environment. Setting both is
    refused: which one wins would be a guess."""
    file_name = f"{name}_FILE"
    path = os.environ.get(file_name)
    if not path:
        return os.environ.get(name, default)
    if os.environ.get(name):
        raise EnvError(f"{name} and {file_name} are both set; set one of them")
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvError(f"{file_name}: cannot read {path}: {exc}") from exc


def env_hex_key(name: str, default: str, *, length: int) -> bytes:
    """A symmetric key given as hex (a secret: `name`_FILE may hold it); `length` is in bytes."""
    raw = env_secret(name, default).strip()
    try:
        key = bytes.fromhex(raw)
    except ValueError as exc:
        raise EnvError(f"{name} must be hexadecimal") from exc
    if len(key) != length:
        raise EnvError(f"{name} must be {length * 2} hex digits, got {len(raw)}")
    return key
