"""The exchange's fixtures: this province (36) with its key in the test's keys folder, and 广东省
(44) in its directory with a key the test holds, to sign what 44 sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tongban.core.crypto import SM2KeyPair, sm2_generate
from tongban.exchange import protocol
from tongban.exchange.models import Peer
from tongban.exchange.services import exchange_key, peer_add


@pytest.fixture
def ours(production_dirs: None, db: None) -> SM2KeyPair:
    return exchange_key()


@pytest.fixture
def guangdong_key() -> SM2KeyPair:
    return sm2_generate()


@pytest.fixture
def guangdong(ours: SM2KeyPair, guangdong_key: SM2KeyPair) -> Peer:
    return peer_add(
        actor=None, prefix="44", name="广东省", endpoint="http://127.0.0.1:9", public_key=guangdong_key.public
    )


def envelope(
    key: SM2KeyPair, ours: SM2KeyPair, kind: str = protocol.PING, body: Any = None, **fields: Any
) -> dict[str, Any]:
    """A message from 44 to us, signed by `key`, with `fields` put in before signing (a kind
    outside protocol.KINDS among them)."""
    built = protocol.envelope_build(
        kind=kind if kind in protocol.KINDS else protocol.PING,
        sender="44",
        receiver="36",
        body={"note": "测试"} if body is None else body,
        key=key,
        receiver_public=ours.public,
    )
    if kind not in protocol.KINDS:
        fields["kind"] = kind
    return protocol.sign({**built, **fields}, key) if fields else built


def raw(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()
