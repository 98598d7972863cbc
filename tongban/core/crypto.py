"""National (SM) cryptography: SM3 digests and SM4-GCM sealing of personal data at rest.

OpenSSL (through `cryptography`) does SM3 and SM4 at hundreds of MB/s; pure-Python gmssl is
~500x slower for SM4, so it is kept for SM2 signatures only.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# Sealed blob: version byte, 12-byte nonce, ciphertext, 16-byte GCM tag.
_VERSION = b"\x01"
_NONCE_LEN = 12
_TAG_LEN = 16


class SealError(ValueError):
    """A sealed blob is malformed, was sealed under another key or context, or was tampered with."""


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def sm3_hex(data: bytes) -> str:
    return sm3(data).hex()


def seal(key: bytes, plaintext: bytes, *, context: bytes) -> bytes:
    """Encrypt and authenticate `plaintext`; `context` (e.g. b"person.photo") is bound as
    associated data so a blob cannot be moved to another column and still open."""
    nonce = os.urandom(_NONCE_LEN)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context)
    body = encryptor.update(plaintext) + encryptor.finalize()
    return _VERSION + nonce + body + encryptor.tag


def unseal(key: bytes, blob: bytes, *, context: bytes) -> bytes:
    if len(blob) < 1 + _NONCE_LEN + _TAG_LEN or blob[:1] != _VERSION:
        raise SealError("not a sealed blob")
    nonce = blob[1 : 1 + _NONCE_LEN]
    body, tag = blob[1 + _NONCE_LEN : -_TAG_LEN], blob[-_TAG_LEN:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(context)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag as exc:
        raise SealError("sealed blob failed authentication") from exc
