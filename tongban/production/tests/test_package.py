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

from tongban.core.crypto import SM2KeyPair, sm2_decrypt, sm2_generate
from tongban.production.package import (
    MAGIC,
    PackageCard,
    PackageError,
    PackageFinger,
    check_archive,
    open_package,
    read_header,
    write_archive,
    write_package,
)

SYSTEM, CENTRE, OTHER_CENTRE = sm2_generate(), sm2_generate(), sm2_generate()
NOW = datetime.datetime(2026, 3, 2, 9, 30, tzinfo=datetime.UTC)


def card(n: int) -> PackageCard:
    return PackageCard(
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
        photo=b"\xff\xd8photo" + os.urandom(64),
        chip_photo=b"\xff\xd8chip" + os.urandom(16),
        fingers=(
            PackageFinger("11", "registered", format="afis", template=os.urandom(40)),
            PackageFinger("16", "not_registered", reason="手指受伤"),
        ),
    )


CARDS = [card(n) for n in range(3)]


def make(path: Path, batch: str = "360000901202603020000001", cards: int = 3) -> Path:
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
    assert manifest == opened.manifest and manifest["batch"] == "360000901202603020000001"
    first = manifest["cards"][0]
    assert first["valid_until"] == "2046-03-02" and manifest["cards"][1]["valid_until"] is None
    assert (out / first["photo"]["path"]).read_bytes() == CARDS[0].photo
    assert (out / first["chip_photo"]["path"]).read_bytes() == CARDS[0].chip_photo
    assert first["fingerprints"][0]["path"] == f"fingers/{first['number']}-11.tpl"
    assert first["fingerprints"][1] == {"position": "16", "result": "not_registered", "reason": "手指受伤"}
    assert len(list((out / "photos").iterdir())) == 3 and (out / "manifest.sig").exists()
    assert b"photo" not in (tmp_path / "p.tbpkg").read_bytes()  # encrypted


def test_the_archive_encrypted_while_it_is_written_is_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The archive goes to the cipher in stretches as it is written (here after every card), each
    entry's header filled in before its stretch leaves: the body decrypts to the whole ZIP."""
    monkeypatch.setattr("tongban.production.package.CHUNK", 1)
    path = make(tmp_path / "p.tbpkg")
    header, _, _, body_length = read_header(path.open("rb"))
    key = sm2_decrypt(CENTRE, base64.b64decode(header["wrapped_key"]))
    body = path.read_bytes()[len(MAGIC) + 8 : len(MAGIC) + 8 + body_length]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(bytes.fromhex(header["nonce"]), body[-16:])).decryptor()
    decryptor.authenticate_additional_data(MAGIC + header["batch"].encode())
    plain = decryptor.update(body[:-16]) + decryptor.finalize()
    with zipfile.ZipFile(io.BytesIO(plain)) as archive:
        names = archive.namelist()
        assert archive.read(f"photos/{CARDS[2].number}.jpg") == CARDS[2].photo
    assert names[-2:] == ["manifest.json", "manifest.sig"] and len(names) == 3 * 3 + 2
    assert open_package(path, centre_key=CENTRE, system_public=SYSTEM.public).header["cards"] == 3


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
        _, header_bytes, signature, body_len = read_header(handle)
    body_start, header_start = len(MAGIC) + 8, len(MAGIC) + 8 + body_len + 4
    sig_start = header_start + len(header_bytes) + 2
    cases = {
        "ciphertext": body_start + 100,
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
        "ciphertext": "body_tampered",
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


def _reencrypt(path: Path, archive_bytes: bytes) -> None:
    """What an insider holding the centre's key could do: put another archive in, re-encrypt it
    under the same content key, and fix the body's SM3 in the header (keeping the signature)."""
    with path.open("rb") as handle:
        header, _, signature, _ = read_header(handle)
    key = sm2_decrypt(CENTRE, base64.b64decode(header["wrapped_key"]))
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(bytes.fromhex(header["nonce"]))).encryptor()
    encryptor.authenticate_additional_data(MAGIC + header["batch"].encode())
    body = encryptor.update(archive_bytes) + encryptor.finalize() + encryptor.tag
    digest = hashes.Hash(hashes.SM3())
    digest.update(body)
    header.update(body_sm3=digest.finalize().hex(), body_length=len(body))
    header_bytes = json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(
        MAGIC + struct.pack(">Q", len(body)) + body + struct.pack(">I", len(header_bytes)) + header_bytes
        + struct.pack(">H", len(signature)) + signature
    )  # fmt: skip


def _archive(path: Path) -> zipfile.ZipFile:
    out = tmp = path.parent / "plain"
    out.mkdir(exist_ok=True)
    open_package(path, centre_key=CENTRE, system_public=SYSTEM.public, out_dir=tmp)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for file in sorted(tmp.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(tmp).as_posix())
    return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))


def test_a_swapped_manifest_is_detected(tmp_path: Path) -> None:
    path = make(tmp_path / "p.tbpkg")
    other = io.BytesIO()
    write_archive(other, batch="360000901202603020000009", centre="360000901", created_at=NOW,
                  cards=[card(7)], signer=SYSTEM)  # fmt: skip
    _reencrypt(path, other.getvalue())
    assert refused(path) == "signature_invalid"  # the signed header fixed the body's SM3


def test_inside_the_archive_every_entry_is_checked(tmp_path: Path) -> None:
    path = make(tmp_path / "p.tbpkg")
    with path.open("rb") as handle:
        header = read_header(handle)[0]
    archive = _archive(path)
    check_archive(archive, header=header, system_public=SYSTEM.public)  # as made: fine
    names = archive.namelist()
    photos = sorted(name for name in names if name.startswith("photos/"))

    def rebuilt(replace: dict[str, bytes]) -> zipfile.ZipFile:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as out:
            for name in names:
                out.writestr(name, replace.get(name, archive.read(name)))
        return zipfile.ZipFile(io.BytesIO(buffer.getvalue()))

    swapped = rebuilt({photos[0]: archive.read(photos[1]), photos[1]: archive.read(photos[0])})
    other = io.BytesIO()
    write_archive(
        other, batch="another-batch", centre="360000901", created_at=NOW, cards=[card(0)], signer=SYSTEM
    )
    foreign = zipfile.ZipFile(io.BytesIO(other.getvalue()))
    forged = json.loads(archive.read("manifest.json"))
    forged["cards"][0]["name"] = "冒名"
    cases = {
        "entry_tampered": swapped,
        "manifest_signature_invalid": rebuilt({"manifest.json": json.dumps(forged).encode()}),
        "manifest_mismatch": rebuilt(
            {"manifest.json": foreign.read("manifest.json"), "manifest.sig": foreign.read("manifest.sig")}
        ),
    }
    for code, candidate in cases.items():
        with pytest.raises(PackageError) as caught:
            check_archive(candidate, header=header, system_public=SYSTEM.public)
        assert caught.value.code == code
