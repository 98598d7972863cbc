import os

import pytest

from tongban.core.crypto import SealError, seal, sm3_hex, unseal

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm3_standard_vector() -> None:
    # GB/T 32905-2016 example 1.
    assert sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_seal_round_trip_and_fresh_nonce() -> None:
    data = os.urandom(2000)
    a, b = seal(KEY, data, context=b"person.photo"), seal(KEY, data, context=b"person.photo")
    assert a != b
    assert data not in a
    assert unseal(KEY, a, context=b"person.photo") == data


@pytest.mark.parametrize(
    ("key", "context", "mutate"),
    [
        (bytes(16), b"person.photo", lambda blob: blob),
        (KEY, b"finger.template", lambda blob: blob),
        (KEY, b"person.photo", lambda blob: blob[:-1] + bytes([blob[-1] ^ 1])),
        (KEY, b"person.photo", lambda blob: blob[:20]),
        (KEY, b"person.photo", lambda blob: b"\x02" + blob[1:]),
    ],
    ids=["wrong key", "other column", "tampered", "truncated", "unknown version"],
)
def test_unseal_refuses(key: bytes, context: bytes, mutate: object) -> None:
    blob = seal(KEY, b"photo bytes", context=b"person.photo")
    with pytest.raises(SealError):
        unseal(key, mutate(blob), context=context)  # type: ignore[operator]
