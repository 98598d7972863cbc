import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tongban.core.crypto import (
    SM2_MAX_PLAINTEXT,
    SealError,
    SM2Error,
    seal,
    sm2_decrypt,
    sm2_encrypt,
    sm2_fingerprint,
    sm2_generate,
    sm2_keypair,
    sm2_public_key,
    sm2_public_pem,
    sm2_sign,
    sm2_verify,
    sm3_hex,
    unseal,
)

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


# SM2 ----------------------------------------------------------------------------------------


def test_sm2_signature_round_trip_and_refusals() -> None:
    key, other = sm2_generate(), sm2_generate()
    signature = sm2_sign(key, b"header")
    assert signature != sm2_sign(key, b"header")  # a fresh nonce each time
    assert sm2_verify(key.public, signature, b"header")
    assert not sm2_verify(key.public, signature, b"headex")
    assert not sm2_verify(other.public, signature, b"header")
    flipped = signature[:-1] + bytes([signature[-1] ^ 1])
    assert not sm2_verify(key.public, flipped, b"header")
    assert not sm2_verify(key.public, b"\x30\x02\x02\x00", b"header")
    assert not sm2_verify(key.public, signature, b"header", uid=b"another id")


def test_many_keys_sign_verify_and_decrypt() -> None:
    """Edge cases of the curve arithmetic (short coordinates, r + s near n) show up only over
    many random keys and nonces: 50 of each round trip must all succeed."""
    for _ in range(50):
        key = sm2_generate()
        assert sm2_keypair(key.private, key.public) == key
        signature = sm2_sign(key, b"manifest")
        assert sm2_verify(key.public, signature, b"manifest")
        assert not sm2_verify(key.public, signature, b"manifesT")
        assert sm2_decrypt(key, sm2_encrypt(key.public, b"content key 16by")) == b"content key 16by"


def test_sm2_encryption_round_trip_and_wrong_key() -> None:
    key = sm2_generate()
    secret = os.urandom(16)
    ciphertext = sm2_encrypt(key.public, secret)
    assert ciphertext != sm2_encrypt(key.public, secret)
    assert sm2_decrypt(key, ciphertext) == secret
    with pytest.raises(SM2Error):
        sm2_decrypt(sm2_generate(), ciphertext)
    with pytest.raises(SM2Error):
        sm2_decrypt(key, ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]))


def test_sm2_keys_are_checked() -> None:
    key = sm2_generate()
    assert sm2_public_key("04" + key.public.upper()) == key.public
    assert len(sm2_fingerprint(key.public)) == 64
    with pytest.raises(SM2Error):
        sm2_public_key(key.public[:-1] + ("0" if key.public[-1] != "0" else "1"))  # off the curve
    with pytest.raises(SM2Error):
        sm2_keypair("0" * 64, key.public)
    with pytest.raises(SM2Error):
        sm2_keypair(key.private, sm2_generate().public)  # halves of two pairs
    with pytest.raises(SM2Error):
        sm2_keypair(key.private[:-2], key.public)


def test_sm2_encrypts_up_to_its_bound() -> None:
    key = sm2_generate()
    for size in (1, 16, 127, SM2_MAX_PLAINTEXT):
        secret = os.urandom(size)
        ciphertext = sm2_encrypt(key.public, secret)
        assert len(ciphertext) == 1 + 64 + 32 + size
        assert sm2_decrypt(key, ciphertext) == secret
    for size in (0, SM2_MAX_PLAINTEXT + 1):
        with pytest.raises(SM2Error):
            sm2_encrypt(key.public, bytes(size))
    with pytest.raises(SM2Error):
        sm2_decrypt(key, b"\x04" + bytes(90))  # too short to be C1‖C3‖C2


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_openssl_verifies_our_signature(tmp_path: Path) -> None:
    """Interoperability: the OpenSSL CLI checks our signature with the default ID."""
    key = sm2_generate()
    (tmp_path / "pub.pem").write_text(sm2_public_pem(key.public))
    (tmp_path / "msg").write_bytes(b"package header")
    (tmp_path / "sig").write_bytes(sm2_sign(key, b"package header"))
    command = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
        "-sigfile", "sig", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)  # noqa: S603
    if "unsupported" in result.stderr.lower() or "distid" in result.stderr.lower():
        pytest.skip(f"this openssl has no SM2: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
def test_we_verify_openssl_signatures(tmp_path: Path) -> None:
    """Interoperability the other way: a key and a signature made by the OpenSSL CLI."""

    def openssl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True, text=True, check=False)  # noqa: S603, S607

    made = openssl("genpkey", "-algorithm", "SM2", "-out", "key.pem")
    if made.returncode:
        pytest.skip(f"this openssl has no SM2: {made.stderr.strip()}")
    text = openssl("pkey", "-in", "key.pem", "-noout", "-text").stdout
    public_hex = "".join(text.split("pub:")[1].split("ASN1 OID")[0].split()).replace(":", "")
    private = int("".join(text.split("priv:")[1].split("pub:")[0].split()).replace(":", ""), 16)
    assert sm2_keypair(f"{private:064x}", public_hex).public == sm2_public_key(public_hex)
    (tmp_path / "msg").write_bytes(b"package header")
    for _ in range(5):
        signed = openssl(
            "pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "msg", "-out", "sig",
            "-digest", "sm3", "-pkeyopt", "distid:1234567812345678",
        )  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        signature = (tmp_path / "sig").read_bytes()
        assert sm2_verify(public_hex, signature, b"package header")
        assert not sm2_verify(public_hex, signature, b"package headeR")
