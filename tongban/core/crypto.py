"""National (SM) cryptography: SM3 digests, SM4-GCM sealing of personal data at rest, and SM2
signatures and key encapsulation (the production data packages).

OpenSSL (through `cryptography`) does SM3 and SM4 at hundreds of MB/s; `cryptography` has no
SM2, so the SM2 curve arithmetic is done here in Python integers (see below).
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
from dataclasses import dataclass

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


# ---------------------------------------------------------------------------------------------
# SM2 (GB/T 32918): signatures and key encapsulation for the production data packages.
#
# The curve arithmetic is the textbook affine form in Python integers (a scalar multiplication
# takes ~3 ms, and a package needs three); nonces come from `secrets`, SM3 from OpenSSL. gmssl was
# tried first and dropped: its point addition fails (TypeError) for about one signature in a
# hundred, and it draws nonces from `random`. Signatures
# are SM3withSM2 over Z_A with the default ID 1234567812345678 and DER-encoded (r, s), as the
# OpenSSL CLI makes and checks them (`-pkeyopt distid:1234567812345678`). Ciphertexts are the
# GB/T 32918.4 raw form C1‖C3‖C2 with C1 uncompressed (04‖x‖y).

SM2_DEFAULT_ID = b"1234567812345678"
_SM2_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_SM2_A = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC", 16)
_SM2_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
_SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_SM2_G = (
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)
_SM2_GXY = (int(_SM2_G[:64], 16), int(_SM2_G[64:], 16))
# SubjectPublicKeyInfo prefix: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301), then 04‖x‖y.
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


class SM2Error(ValueError):
    """A malformed SM2 key, or a ciphertext that does not decrypt under the given key."""


@dataclass(frozen=True)
class SM2KeyPair:
    """An SM2 key pair as hex: `private` (64 digits) and `public` (x‖y, 128 digits)."""

    private: str
    public: str

    @property
    def fingerprint(self) -> str:
        return sm2_fingerprint(self.public)


Point = tuple[int, int] | None  # None: the point at infinity


def _ec_add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % _SM2_P == 0:
            return None
        slope = (3 * x1 * x1 + _SM2_A) * pow(2 * y1, -1, _SM2_P)
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _SM2_P)
    x3 = (slope * slope - x1 - x2) % _SM2_P
    return x3, (slope * (x1 - x3) - y1) % _SM2_P


def _ec_mul(k: int, point: Point) -> Point:
    result: Point = None
    addend = point
    while k:
        if k & 1:
            result = _ec_add(result, addend)
        addend = _ec_add(addend, addend)
        k >>= 1
    return result


def _xy(point: Point) -> bytes:
    if point is None:  # only for a scalar that is a multiple of the order: never with valid input
        raise SM2Error("the point at infinity")
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def _point(public: str) -> tuple[int, int]:
    text = public.lower().removeprefix("04") if len(public) == 130 else public.lower()
    if len(text) != 128:
        raise SM2Error("an SM2 public key is 64 bytes (x‖y), optionally prefixed by 04")
    try:
        x, y = int(text[:64], 16), int(text[64:], 16)
    except ValueError as exc:
        raise SM2Error("an SM2 public key must be hexadecimal") from exc
    if not (x < _SM2_P and y < _SM2_P) or (y * y - x * x * x - _SM2_A * x - _SM2_B) % _SM2_P:
        raise SM2Error("the point is not on the SM2 curve")
    return x, y


def sm2_public_key(public: str) -> str:
    """A checked public key in the canonical form used here: 128 lower-case hex digits."""
    x, y = _point(public)
    return f"{x:064x}{y:064x}"


def sm2_generate() -> SM2KeyPair:
    private = secrets.randbelow(_SM2_N - 2) + 1  # d in [1, n-2]
    return sm2_keypair(f"{private:064x}")


def sm2_keypair(private: str) -> SM2KeyPair:
    """The pair of a private key (hex); checks its range."""
    try:
        d = int(private, 16)
    except ValueError as exc:
        raise SM2Error("an SM2 private key must be hexadecimal") from exc
    if not 1 <= d <= _SM2_N - 2:
        raise SM2Error("the SM2 private key is out of range")
    return SM2KeyPair(private=f"{d:064x}", public=_xy(_ec_mul(d, _SM2_GXY)).hex())


def sm2_fingerprint(public: str) -> str:
    """SM3 of the uncompressed public point: how packages name the keys they were made with."""
    return sm3_hex(b"\x04" + bytes.fromhex(sm2_public_key(public)))


def sm2_public_pem(public: str) -> str:
    """The public key as a PEM SubjectPublicKeyInfo, for `openssl pkeyutl -verify`."""
    der = _SM2_SPKI_PREFIX + b"\x04" + bytes.fromhex(sm2_public_key(public))
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"


def _sm2_e(public: str, data: bytes, uid: bytes) -> bytes:
    """e = SM3(Z_A ‖ M), Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2)."""
    z = sm3(
        (len(uid) * 8).to_bytes(2, "big")
        + uid
        + _SM2_A.to_bytes(32, "big")
        + _SM2_B.to_bytes(32, "big")
        + bytes.fromhex(_SM2_G)
        + bytes.fromhex(sm2_public_key(public))
    )
    digest = hashes.Hash(hashes.SM3())
    digest.update(z)
    digest.update(data)
    return digest.finalize()


def _der_signature(r: int, s: int) -> bytes:
    def integer(value: int) -> bytes:
        raw = value.to_bytes((value.bit_length() + 8) // 8, "big")  # a leading 0 keeps it positive
        return b"\x02" + bytes([len(raw)]) + raw

    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def _parse_der_signature(signature: bytes) -> tuple[int, int]:
    """(r, s) of a DER SEQUENCE of two INTEGERs, strictly (short lengths only: r, s < 2^256)."""
    if len(signature) < 8 or signature[0] != 0x30 or signature[1] != len(signature) - 2:
        raise SM2Error("not a DER SM2 signature")
    values: list[int] = []
    rest = signature[2:]
    for _ in range(2):
        if len(rest) < 2 or rest[0] != 0x02 or rest[1] > 33 or len(rest) < 2 + rest[1]:
            raise SM2Error("not a DER SM2 signature")
        values.append(int.from_bytes(rest[2 : 2 + rest[1]], "big"))
        rest = rest[2 + rest[1] :]
    if rest:
        raise SM2Error("trailing bytes after the SM2 signature")
    return values[0], values[1]


def sm2_sign(key: SM2KeyPair, data: bytes, *, uid: bytes = SM2_DEFAULT_ID) -> bytes:
    """SM3withSM2 signature of `data`, DER-encoded."""
    e = int.from_bytes(_sm2_e(key.public, data, uid), "big")
    d = int(key.private, 16)
    while True:
        k = secrets.randbelow(_SM2_N - 1) + 1
        x1 = int.from_bytes(_xy(_ec_mul(k, _SM2_GXY))[:32], "big")
        r = (e + x1) % _SM2_N
        if r == 0 or r + k == _SM2_N:
            continue
        s = pow(1 + d, -1, _SM2_N) * (k - r * d) % _SM2_N
        if s:
            return _der_signature(r, s)


def sm2_verify(public: str, signature: bytes, data: bytes, *, uid: bytes = SM2_DEFAULT_ID) -> bool:
    try:
        r, s = _parse_der_signature(signature)
        public = sm2_public_key(public)
    except SM2Error:
        return False
    if not (1 <= r < _SM2_N and 1 <= s < _SM2_N):
        return False
    t = (r + s) % _SM2_N
    if t == 0:
        return False
    point = _ec_add(_ec_mul(s, _SM2_GXY), _ec_mul(t, _point(public)))
    if point is None:
        return False
    e = int.from_bytes(_sm2_e(public, data, uid), "big")
    return (e + point[0]) % _SM2_N == r


def _sm2_kdf(z: bytes, length: int) -> bytes:
    out = b"".join(sm3(z + counter.to_bytes(4, "big")) for counter in range(1, (length + 31) // 32 + 1))
    return out[:length]


def sm2_encrypt(public: str, plaintext: bytes) -> bytes:
    """SM2 public-key encryption (for short secrets such as a content key): C1‖C3‖C2."""
    if not plaintext:
        raise SM2Error("nothing to encrypt")
    target = _point(public)
    while True:
        k = secrets.randbelow(_SM2_N - 1) + 1
        c1 = _xy(_ec_mul(k, _SM2_GXY))
        shared = _xy(_ec_mul(k, target))
        t = _sm2_kdf(shared, len(plaintext))
        if any(t):
            break
    c2 = bytes(a ^ b for a, b in zip(plaintext, t, strict=True))
    c3 = sm3(shared[:32] + plaintext + shared[32:])
    return b"\x04" + c1 + c3 + c2


def sm2_decrypt(key: SM2KeyPair, ciphertext: bytes) -> bytes:
    if len(ciphertext) < 1 + 64 + 32 + 1 or ciphertext[0] != 0x04:
        raise SM2Error("not an SM2 ciphertext (C1‖C3‖C2)")
    c1, c3, c2 = ciphertext[1:65], ciphertext[65:97], ciphertext[97:]
    shared = _xy(_ec_mul(int(key.private, 16), _point(c1.hex())))
    t = _sm2_kdf(shared, len(c2))
    plaintext = bytes(a ^ b for a, b in zip(c2, t, strict=True))
    if not any(t) or not hmac.compare_digest(sm3(shared[:32] + plaintext + shared[32:]), c3):
        raise SM2Error("the SM2 ciphertext does not decrypt under this key")
    return plaintext
