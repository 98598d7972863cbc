"""How an audit row is hashed: SM3 over a canonical JSON of its fields and the previous hash."""

from __future__ import annotations

import json
from typing import Any

from tongban.core.crypto import sm3_hex

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_username",
    "unit_code",
    "action",
    "object_type",
    "object_id",
    "remote_addr",
    "detail",
    "prev_hash",
)


def link_hash(fields: dict[str, Any]) -> str:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["at"] = payload["at"].isoformat(timespec="microseconds")
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sm3_hex(canonical.encode())
