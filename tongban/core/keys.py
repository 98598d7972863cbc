"""The system's SM2 signing pair (签名密钥): where it lives and how it is read.

One pair signs what the system vouches for: data packages for the production centres and the
audit log's checkpoints. It is kept under settings.CARD_PRODUCTION["KEYS_DIR"] (never in the
repository) and made by `tongban keys generate-system`. Reading it lives here, below every app,
so that the audit sealer and production share it without importing each other.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from tongban.core.crypto import SM2Error, SM2KeyPair, sm2_keypair, sm2_public_key

SYSTEM_KEY_FILE = "system-sm2.json"
SYSTEM_KEY_KIND = "tongban.system-key/1"


class SystemKeyMissing(LookupError):
    """The system's key has not been generated yet."""


class SystemKeyInvalid(ValueError):
    """The key file exists but cannot be used (damaged, or its halves do not belong together)."""


def system_key_path() -> Path:
    return Path(str(settings.CARD_PRODUCTION["KEYS_DIR"])) / SYSTEM_KEY_FILE


def load_system_key() -> SM2KeyPair:
    path = system_key_path()
    try:
        data = json.loads(path.read_text())
        pair = sm2_keypair(data["private_key"])
    except FileNotFoundError as exc:
        raise SystemKeyMissing(str(path)) from exc
    except (ValueError, KeyError, TypeError, SM2Error) as exc:
        raise SystemKeyInvalid(str(path)) from exc
    if pair.public != sm2_public_key(data.get("public_key", "")):
        raise SystemKeyInvalid(str(path))
    return pair
