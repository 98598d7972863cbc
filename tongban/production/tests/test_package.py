"""The data package format on its own (no database): round trip, and every kind of tampering
detected with the check that caught it."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
import struct
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tongban.core.crypto import SM2KeyPair, sm2_decrypt, sm2_generate, sm2_sign
from tongban.production.package import (
    MAGIC,
    CardImages,
    PackageCard,
    PackageError,
    PackageFinger,
    open_package,
    read_header,
    seal_card_images,
    write_package,
)

SYSTEM, CENTRE, OTHER_CENTRE = sm2_generate(), sm2_generate(), sm2_generate()
NOW = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)
BATCH = "360000901202603020000001"


def card(n: int) -> tuple[PackageCard, bytes, bytes]:
    photo, chip = b"\xff\xd8photo" + os.urandom(64), b"\xff\xd8chip" + os.urandom(16)
    package_card = PackageCard(
        number=f"3601020012026030200{n:03d}",
        name=f"测试{n}",
        sex_code="1",
        sex_name="男",
        ethnicity_code="01",
        ethnicity_name="汉",
        birth_date=datetime.date(1990, 5, 17),
        address="江西省南昌市东湖区中山路1号",
        id_number="360102199005170011",
        issuing_authority="南昌市公安局东湖分局",
        valid_from=datetime.date(2026, 3, 2),
        valid_until=None if n % 2 else datetime.date(2046, 3, 2),
        acceptance_unit_code="360102001",
        acceptance_unit_name="东湖区城关派出所",
        images=seal_card_images(photo, chip),
        fingers=(
            PackageFinger("11", "registered", format="afis", template=os.urandom(40)),
            PackageFinger("16", "not_registered", reason="手指受伤"),
        ),
    )
    return package_card, photo, chip


MADE = [card(n) for n in range(3)]
CARDS = [made[0] for made in MADE]


def make(path: Path, batch: str = BATCH, cards: int = 3) -> Path:
    write_package(
        path,
        batch=batch,
        centre="360000901",
        created_at=NOW,
        cards=CARDS[:cards],
        system_key=SYSTEM,
        centre_public=CENTRE.public,
    )
    return path


def refused(path: Path, key: SM2KeyPair = CENTRE) -> str:
    with pytest.raises(PackageError) as caught:
        open_package(path, centre_key=key, system_public=SYSTEM.public)
    return caught.value.code


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    opened = open_package(
        make(tmp_path / "p.tbpkg"), centre_key=CENTRE, system_public=SYSTEM.public, out_dir=out
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == opened.manifest and manifest["batch"] == BATCH
    assert manifest["format"] == "tongban.package/2"
    first = manifest["cards"][0]
    assert first["valid_until"] == "2046-03-02" and manifest["cards"][1]["valid_until"] is None
    for (package_card, photo, chip), row in zip(MADE, manifest["cards"], strict=True):
        assert (out / row["photo"]["path"]).read_bytes() == photo
        assert (out / row["chip_photo"]["path"]).read_bytes() == chip
        assert row["number"] == package_card.number
    assert first["fingerprints"][0]["path"] == f"fingers/{first['number']}-11.tpl"
    assert (out / first["fingerprints"][0]["path"]).read_bytes() == CARDS[0].fingers[0].template
    assert first["fingerprints"][1] == {"position": "16", "result": "not_registered", "reason": "手指受伤"}
    assert len(list((out / "photos").iterdir())) == 3 and (out / "manifest.sig").exists()
    assert sorted(path.relative_to(out).as_posix() for path in opened.written) == sorted(
        path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()
    )
    assert b"photo" not in (tmp_path / "p.tbpkg").read_bytes()  # encrypted


def test_a_card_images_record_describes_its_segment() -> None:
    images, photo, chip = CARDS[0].images, MADE[0][1], MADE[0][2]
    again = CardImages.from_record(images.segment, images.record())
    assert again == images and again.open() == (photo, chip)
    with pytest.raises(ValueError):
        CardImages.from_record(images.segment + b"x", images.record())
    with pytest.raises(ValueError):
        CardImages.from_record(images.segment, images.record()[:-1])


def _body(path: Path) -> tuple[dict, bytes]:
    with path.open("rb") as handle:
        header, _, _, body_length = read_header(handle)
    return header, path.read_bytes()[len(MAGIC) + 8 : len(MAGIC) + 8 + body_length]


def _gcm(key: bytes, nonce: bytes, data: bytes, aad: bytes, *, decrypt: bool) -> bytes:
    if decrypt:
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, data[-16:])).decryptor()
        decryptor.authenticate_additional_data(aad)
        return decryptor.update(data[:-16]) + decryptor.finalize()
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(data) + encryptor.finalize() + encryptor.tag


def _plain_archive(path: Path) -> tuple[dict, bytes, bytes]:
    """(header, the decrypted archive, the segments) of a package, with the centre's key."""
    header, body = _body(path)
    key = sm2_decrypt(CENTRE, base64.b64decode(header["wrapped_key"]))
    sealed = body[header["archive_offset"] :]
    plain = _gcm(key, bytes.fromhex(header["nonce"]), sealed, MAGIC + header["batch"].encode(), decrypt=True)
    return header, plain, body[: header["archive_offset"]]


def test_the_body_is_the_counters_segments_then_the_archive(tmp_path: Path) -> None:
    """Each card's segment goes into the package as the counter made it; the archive (under the
    content key) holds the manifest, its signature and the fingerprint templates only."""
    path = make(tmp_path / "p.tbpkg")
    _, plain, segments = _plain_archive(path)
    assert segments == b"".join(c.images.segment for c in CARDS)
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        names = archive.namelist()
    assert names == [f"fingers/{c.number}-11.tpl" for c in CARDS] + ["manifest.json", "manifest.sig"]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(plain)).read("manifest.json"))
    assert [row["segment"]["offset"] for row in manifest["cards"]] == [
        sum(len(c.images.segment) for c in CARDS[:n]) for n in range(3)
    ]


def test_header_is_signed_and_names_the_keys(tmp_path: Path) -> None:
    with make(tmp_path / "p.tbpkg").open("rb") as handle:
        header, _, signature, _ = read_header(handle)
    assert header["centre_key"] == CENTRE.fingerprint and header["system_key"] == SYSTEM.fingerprint
    # A DER SEQUENCE of r and s: its length varies with their leading zero bits (68–72 bytes).
    assert header["cipher"] == "SM4-GCM" and signature[0] == 0x30 and signature[1] == len(signature) - 2


def test_a_flipped_byte_anywhere_is_detected(tmp_path: Path) -> None:
    path = make(tmp_path / "p.tbpkg")
    size = path.stat().st_size
    with path.open("rb") as handle:
        header, header_bytes, signature, body_len = read_header(handle)
    body_start, header_start = len(MAGIC) + 8, len(MAGIC) + 8 + body_len + 4
    sig_start = header_start + len(header_bytes) + 2
    cases = {
        "a card's segment": body_start + 20,
        "the archive": body_start + header["archive_offset"] + 20,
        "gcm tag": body_start + body_len - 1,
        "header": header_start + 10,
        "signature": sig_start + 20,
        "magic": 0,
        "length": len(MAGIC) + 7,
    }
    original = path.read_bytes()
    codes = {}
    for name, offset in cases.items():
        path.write_bytes(original)
        flip(path, offset)
        codes[name] = refused(path)
    assert sig_start + len(signature) == size
    assert codes == {
        "a card's segment": "body_tampered",
        "the archive": "body_tampered",
        "gcm tag": "body_tampered",
        "header": "signature_invalid",
        "signature": "signature_invalid",
        "magic": "not_a_package",
        "length": "truncated",
    }
    path.write_bytes(original[:-1])
    assert refused(path) in {"truncated", "signature_invalid"}


def test_a_wrong_key_is_named(tmp_path: Path) -> None:
    path = make(tmp_path / "p.tbpkg")
    assert refused(path, OTHER_CENTRE) == "wrong_key"
    with pytest.raises(PackageError) as caught:
        open_package(path, centre_key=CENTRE, system_public=OTHER_CENTRE.public)
    assert caught.value.code == "signature_invalid"


def _assemble(path: Path, *, segments: bytes, archive: bytes, sign: bool) -> None:
    """Put another body together under the package's content key and fix the header (lengths,
    the body's SM3). `sign`: re-sign the header with the system's key (what only the system can
    do: reaches the checks after the signature); otherwise keep the old signature (what an
    insider holding the centre's key could do)."""
    with path.open("rb") as handle:
        header, _, signature, _ = read_header(handle)
    key = sm2_decrypt(CENTRE, base64.b64decode(header["wrapped_key"]))
    sealed = _gcm(
        key, bytes.fromhex(header["nonce"]), archive, MAGIC + header["batch"].encode(), decrypt=False
    )
    body = segments + sealed
    digest = hashes.Hash(hashes.SM3())
    digest.update(body)
    header.update(
        body_sm3=digest.finalize().hex(),
        body_length=len(body),
        archive_offset=len(segments),
        archive_length=len(sealed),
    )
    header_bytes = json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    if sign:
        signature = sm2_sign(SYSTEM, header_bytes)
    path.write_bytes(
        MAGIC + struct.pack(">Q", len(body)) + body + struct.pack(">I", len(header_bytes)) + header_bytes
        + struct.pack(">H", len(signature)) + signature
    )  # fmt: skip


def _rebuilt(plain: bytes, replace: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(plain))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name in source.namelist():
            out.writestr(name, replace.get(name, source.read(name)))
    return buffer.getvalue()


def test_a_swapped_archive_is_detected(tmp_path: Path) -> None:
    other = make(tmp_path / "other.tbpkg", batch="360000901202603020000009", cards=1)
    foreign = _plain_archive(other)[1]
    path = make(tmp_path / "p.tbpkg")
    _, _, segments = _plain_archive(path)
    _assemble(path, segments=segments, archive=foreign, sign=False)
    assert refused(path) == "signature_invalid"  # the signed header fixed the body's SM3


def test_what_the_signed_header_covers_is_checked_inside_too(tmp_path: Path) -> None:
    """Bodies that only the system's key could sign: each is refused by the check after it."""
    original = make(tmp_path / "p.tbpkg")
    header, plain, segments = _plain_archive(original)
    first, second = (len(c.images.segment) for c in CARDS[:2])
    other = make(tmp_path / "other.tbpkg", batch="360000901202603020000009", cards=1)
    foreign = zipfile.ZipFile(io.BytesIO(_plain_archive(other)[1]))
    forged = json.loads(zipfile.ZipFile(io.BytesIO(plain)).read("manifest.json"))
    forged["cards"][0]["name"] = "冒名"
    finger = f"fingers/{CARDS[0].number}-11.tpl"
    cases = {
        # two cards' photos swapped: the first card's key does not open the second's segment
        "decrypt_failed": (
            segments[first : first + second] + segments[:first] + segments[first + second :],
            plain,
        ),
        "manifest_signature_invalid": (
            segments,
            _rebuilt(plain, {"manifest.json": json.dumps(forged).encode()}),
        ),
        "manifest_mismatch": (
            segments,
            _rebuilt(
                plain,
                {
                    "manifest.json": foreign.read("manifest.json"),
                    "manifest.sig": foreign.read("manifest.sig"),
                },
            ),
        ),
        "entry_tampered": (segments, _rebuilt(plain, {finger: b"another template"})),
        "archive_invalid": (segments + b"\x00" * 40, plain),  # bytes no card's segment accounts for
    }
    for code, (body_segments, archive) in cases.items():
        path = tmp_path / f"{code}.tbpkg"
        path.write_bytes(original.read_bytes())
        _assemble(path, segments=body_segments, archive=archive, sign=True)
        assert refused(path) == code, code
    assert header["archive_offset"] == len(segments)
