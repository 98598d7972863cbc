"""National (SM) cryptography: SM3 digests, SM4-GCM sealing of personal data at rest, and SM2
signatures and key encapsulation (the production data packages).

OpenSSL (through `cryptography`) does SM3 and SM4 at hundreds of MB/s; `cryptography` has no
SM2, so SM2 comes from GmSSL 3 through `gmssl-pyx` (see below).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import gmssl_pyx
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
# The curve arithmetic is GmSSL 3's (`gmssl-pyx` bundles it): its sm2_z256 code derives from
# OpenSSL's nistz256 (fixed windows, tables read by masked selection, no branch on the secret
# scalar), and its nonces come from the system's random source. Until 2026-12 this module did
# the arithmetic in Python integers (double-and-add: its timing followed the secret); keys,
# signatures and ciphertexts are unchanged (production's test fixtures hold a package it made).
# Signatures are SM3withSM2 over Z_A with the default ID 1234567812345678 and DER-encoded (r, s),
# as the OpenSSL CLI makes and checks them (`-pkeyopt distid:1234567812345678`). Ciphertexts are the
# GB/T 32918.4 raw form C1‖C3‖C2 with C1 uncompressed (04‖x‖y); GmSSL speaks the DER SEQUENCE
# (x, y, C3, C2) of GM/T 0009, converted at the edge (`_raw_ciphertext`, `_der_ciphertext`).
# On a failure GmSSL also prints a line to standard error (e.g. a signature that does not verify).

SM2_DEFAULT_ID = b"1234567812345678"
# SubjectPublicKeyInfo prefix: id-ecPublicKey with the SM2 curve (1.2.156.10197.1.301), then 04‖x‖y.
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")
# GmSSL bounds what it encrypts (a content key is 16 bytes).
SM2_MAX_PLAINTEXT = 255


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


def _public_bytes(public: str) -> bytes:
    text = public.lower().removeprefix("04") if len(public) == 130 else public.lower()
    if len(text) != 128:
        raise SM2Error("an SM2 public key is 64 bytes (x‖y), optionally prefixed by 04")
    try:
        return gmssl_pyx.normalize_sm2_public_key(text)
    except gmssl_pyx.InvalidValueError as exc:
        raise SM2Error("the point is not on the SM2 curve, or not hexadecimal") from exc


def sm2_public_key(public: str) -> str:
    """A checked public key in the canonical form used here: 128 lower-case hex digits."""
    return _public_bytes(public).hex()


def sm2_generate() -> SM2KeyPair:
    public, private = gmssl_pyx.sm2_key_generate()
    return SM2KeyPair(private=private.hex(), public=public.hex())


def sm2_keypair(private: str, public: str) -> SM2KeyPair:
    """The pair of a private key and its public key (hex), checked: the private key in range and
    the two halves belonging together (a signature by one verifies under the other)."""
    try:
        secret = bytes.fromhex(private)
    except ValueError as exc:
        raise SM2Error("an SM2 private key must be hexadecimal") from exc
    if len(secret) != 32:
        raise SM2Error("an SM2 private key is 32 bytes")
    point = _public_bytes(public)
    probe = bytes(32)  # any digest: a signature by one half that verifies under the other
    try:
        signature = gmssl_pyx.sm2_sign_sm3_digest(secret, probe)
    except gmssl_pyx.GmsslInnerError as exc:  # InvalidValueError included
        raise SM2Error("the SM2 private key is out of range") from exc
    if not gmssl_pyx.sm2_verify_sm3_digest(point, probe, signature):
        raise SM2Error("the SM2 private and public keys do not belong together")
    return SM2KeyPair(private=secret.hex(), public=point.hex())


def sm2_fingerprint(public: str) -> str:
    """SM3 of the uncompressed public point: how packages name the keys they were made with."""
    return sm3_hex(b"\x04" + _public_bytes(public))


def sm2_public_pem(public: str) -> str:
    """The public key as a PEM SubjectPublicKeyInfo, for `openssl pkeyutl -verify`."""
    der = _SM2_SPKI_PREFIX + b"\x04" + _public_bytes(public)
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"


def sm2_public_from_pem(pem: str) -> str:
    """The public key (canonical hex) of a PEM SubjectPublicKeyInfo of the SM2 curve, as
    `sm2_public_pem` writes it and `openssl pkey -pubout` does."""
    lines = [line.strip() for line in pem.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise SM2Error("not a PEM public key")
    try:
        der = base64.b64decode("".join(lines[1:-1]), validate=True)
    except ValueError as exc:
        raise SM2Error("the PEM body is not base64") from exc
    if len(der) != len(_SM2_SPKI_PREFIX) + 65 or not der.startswith(_SM2_SPKI_PREFIX):
        raise SM2Error("not an SM2 public key")
    return sm2_public_key(der[len(_SM2_SPKI_PREFIX) :].hex())


# Z_A's curve part (GB/T 32918.2): a ‖ b ‖ xG ‖ yG of the recommended curve.
_SM2_CURVE = bytes.fromhex(
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)


def _sm2_e(public: bytes, data: bytes, uid: bytes) -> bytes:
    """e = SM3(Z_A ‖ M), Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA). Hashed here with OpenSSL's
    SM3 and signed with gmssl-pyx's digest calls: its message calls take 10× longer (gmssl-pyx
    2.1.0: 90 against 1,100 signatures a second on one core here)."""
    z = sm3((len(uid) * 8).to_bytes(2, "big") + uid + _SM2_CURVE + public)
    digest = hashes.Hash(hashes.SM3())
    digest.update(z)
    digest.update(data)
    return digest.finalize()


def sm2_sign(key: SM2KeyPair, data: bytes, *, uid: bytes = SM2_DEFAULT_ID) -> bytes:
    """SM3withSM2 signature of `data`, DER-encoded."""
    public = bytes.fromhex(key.public)
    return gmssl_pyx.sm2_sign_sm3_digest(bytes.fromhex(key.private), _sm2_e(public, data, uid))


def sm2_verify(public: str, signature: bytes, data: bytes, *, uid: bytes = SM2_DEFAULT_ID) -> bool:
    try:
        point = _public_bytes(public)
        return bool(gmssl_pyx.sm2_verify_sm3_digest(point, _sm2_e(point, data, uid), signature))
    except (SM2Error, gmssl_pyx.GmsslInnerError):
        return False


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_ciphertext(raw: bytes) -> bytes:
    """04‖x‖y‖C3‖C2 as GmSSL's SEQUENCE {INTEGER x, INTEGER y, OCTET STRING C3, OCTET STRING C2}."""
    if len(raw) < 1 + 64 + 32 + 1 or raw[0] != 0x04 or len(raw) > 1 + 64 + 32 + SM2_MAX_PLAINTEXT:
        raise SM2Error("not an SM2 ciphertext (C1‖C3‖C2)")

    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\x00") or b"\x00"
        return _der(0x02, b"\x00" + value if value[0] & 0x80 else value)

    body = integer(raw[1:33]) + integer(raw[33:65]) + _der(0x04, raw[65:97]) + _der(0x04, raw[97:])
    return _der(0x30, body)


def _raw_ciphertext(der: bytes) -> bytes:
    """The inverse of `_der_ciphertext`, for what GmSSL returns (well-formed by construction)."""

    def item(data: bytes) -> tuple[bytes, bytes]:
        length, start = data[1], 2
        if length & 0x80:
            count = length & 0x7F
            length, start = int.from_bytes(data[2 : 2 + count], "big"), 2 + count
        return data[start : start + length], data[start + length :]

    body, _ = item(der)
    x, body = item(body)
    y, body = item(body)
    c3, body = item(body)
    c2, _ = item(body)
    return (
        b"\x04"
        + int.from_bytes(x, "big").to_bytes(32, "big")
        + int.from_bytes(y, "big").to_bytes(32, "big")
        + c3
        + c2
    )


def sm2_encrypt(public: str, plaintext: bytes) -> bytes:
    """SM2 public-key encryption (for short secrets such as a content key): C1‖C3‖C2."""
    if not 1 <= len(plaintext) <= SM2_MAX_PLAINTEXT:
        raise SM2Error(f"SM2 encrypts 1 to {SM2_MAX_PLAINTEXT} bytes")
    return _raw_ciphertext(gmssl_pyx.sm2_encrypt(_public_bytes(public), plaintext))


def sm2_decrypt(key: SM2KeyPair, ciphertext: bytes) -> bytes:
    der = _der_ciphertext(ciphertext)
    try:
        return gmssl_pyx.sm2_decrypt(bytes.fromhex(key.private), der)
    except gmssl_pyx.GmsslInnerError as exc:
        raise SM2Error("the SM2 ciphertext does not decrypt under this key") from exc
