"""The production data package (制证数据包): one file per batch, signed by the system (SM2),
encrypted for the centre (SM4-GCM under a random content key wrapped with the centre's SM2
public key), every entry digested (SM3). The format is documented in docs/production.md.

Pure Python (no Django): the service, `tongban package open` and the benchmark share it.

File layout (integers big-endian), format 2:

    MAGIC (8) | body length (u64) | body | header length (u32) | header (canonical JSON)
    | signature length (u16) | SM2 signature of the header

    body: card segment ‖ card segment ‖ … ‖ SM4-GCM ciphertext of the archive ‖ GCM tag (16)

A card segment is the card's photo and chip photo encrypted once, when the counter kept the photo
(`seal_card_images`: SM4-GCM under a key of the card's own), copied into the package as it is; the
archive, encrypted under the package's content key, is a ZIP (stored) of `manifest.json`,
`manifest.sig` (the system's signature of the manifest, kept by the centre after opening) and the
fingerprint templates. The manifest gives each card's segment (offset, length, and its key wrapped
under the content key, bound to the 受理号) and every entry's size and SM3. The header names the
batch, the centre, both keys (SM3 fingerprints), the wrapped content key, the archive's place and
nonce and the SM3 of the body, so the one signature covers every byte of the file.

Format 1 (until 2026-12: the whole archive, photos included, in one GCM stream made when the batch
was packaged) still opens.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import json
import os
import queue
import re
import struct
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tongban.core.crypto import (
    SM2Error,
    SM2KeyPair,
    sm2_decrypt,
    sm2_encrypt,
    sm2_fingerprint,
    sm2_sign,
    sm2_verify,
    sm3_hex,
)

MAGIC = b"TBPKG\x00\x02\n"
FORMAT = "tongban.package/2"
MAGIC_1 = b"TBPKG\x00\x01\n"  # format 1: still opened, no longer written
FORMAT_1 = "tongban.package/1"
_FORMATS = {MAGIC: FORMAT, MAGIC_1: FORMAT_1}
CHUNK = 1 << 20
_TAG_LEN = 16
_NONCE_LEN = 12
_KEY_LEN = 16
CARD_IMAGES_AAD = b"tongban.card-images/1"
# What is kept, sealed at rest, beside a card's segment: its key, the two sizes, the two SM3s.
_IMAGES_RECORD = struct.Struct(">16sII32s32s")
_ENTRY = re.compile(r"^(photos|chip|fingers)/[0-9A-Za-z_-]{1,40}\.(jpg|tpl)$")
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


class PackageError(Exception):
    """The package cannot be trusted or opened; `code` names the check that failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _gcm_seal(key: bytes, nonce: bytes, plain: bytes, aad: bytes) -> bytes:
    """SM4-GCM: the ciphertext, then the 16-byte tag."""
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(plain) + encryptor.finalize() + encryptor.tag


def _gcm_open(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    """The plaintext of `_gcm_seal`'s output; InvalidTag (or ValueError) when it does not
    authenticate."""
    if len(sealed) < _TAG_LEN:
        raise ValueError("shorter than a GCM tag")
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, sealed[-_TAG_LEN:])).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(sealed[:-_TAG_LEN]) + decryptor.finalize()


@dataclass(frozen=True)
class CardImages:
    """A card's photo and chip photo as a package carries them. `segment` is nonce ‖ SM4-GCM
    ciphertext of photo ‖ chip photo ‖ tag under `key`, a random key of their own (associated
    data CARD_IMAGES_AAD); the sizes and SM3s are what the manifest states of the two.

    Made once, when the counter keeps the photo (`seal_card_images`): the segment is kept as it is
    (it is ciphertext) and `record()` sealed at rest beside it, so that packaging a batch copies
    each card's segment and wraps its key under the package's content key instead of unsealing,
    digesting and encrypting every photo again."""

    segment: bytes
    key: bytes
    photo_size: int
    chip_size: int
    photo_sm3: str
    chip_sm3: str

    def record(self) -> bytes:
        return _IMAGES_RECORD.pack(
            self.key,
            self.photo_size,
            self.chip_size,
            bytes.fromhex(self.photo_sm3),
            bytes.fromhex(self.chip_sm3),
        )

    @classmethod
    def from_record(cls, segment: bytes, record: bytes) -> CardImages:
        """ValueError when the record is not one, or does not describe the segment."""
        try:
            key, photo_size, chip_size, photo_sm3, chip_sm3 = _IMAGES_RECORD.unpack(record)
        except struct.error as exc:
            raise ValueError("not a card images record") from exc
        if len(segment) != _NONCE_LEN + photo_size + chip_size + _TAG_LEN:
            raise ValueError("the segment's length does not match its record")
        return cls(bytes(segment), key, photo_size, chip_size, photo_sm3.hex(), chip_sm3.hex())

    def open(self) -> tuple[bytes, bytes]:
        """(photo, chip photo); InvalidTag when the segment is not what the key sealed."""
        plain = _gcm_open(self.key, self.segment[:_NONCE_LEN], self.segment[_NONCE_LEN:], CARD_IMAGES_AAD)
        return plain[: self.photo_size], plain[self.photo_size :]


def seal_card_images(photo: bytes, chip: bytes) -> CardImages:
    key, nonce = os.urandom(_KEY_LEN), os.urandom(_NONCE_LEN)
    sealed = _gcm_seal(key, nonce, photo + chip, CARD_IMAGES_AAD)
    return CardImages(nonce + sealed, key, len(photo), len(chip), sm3_hex(photo), sm3_hex(chip))


@dataclass(frozen=True)
class PackageFinger:
    """One finger of the card: a registered template, or why there is none."""

    position: str
    result: str  # registered / failed / not_registered
    reason: str = ""
    format: str = ""
    template: bytes | None = None


@dataclass(frozen=True)
class PackageCard:
    """What is printed on the card and written to its chip."""

    number: str  # 受理号: links the card to the application (技术制证的链接号)
    name: str
    sex_code: str
    sex_name: str
    ethnicity_code: str
    ethnicity_name: str
    birth_date: datetime.date
    address: str
    id_number: str
    issuing_authority: str
    valid_from: datetime.date
    valid_until: datetime.date | None  # None: 长期
    acceptance_unit_code: str
    acceptance_unit_name: str
    images: CardImages  # the 358×441 standard photo and its 102×126 copy for the chip
    fingers: tuple[PackageFinger, ...] = ()


@dataclass(frozen=True)
class PackageInfo:
    size: int
    cards: int
    header: dict[str, Any]
    header_sm3: str  # the header commits to every other byte: the package's digest


@dataclass
class OpenedPackage:
    header: dict[str, Any]
    manifest: dict[str, Any]
    written: list[Path] = field(default_factory=list)


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _manifest_json(fields: dict[str, Any], rows: list[dict[str, Any]]) -> bytes:
    """`fields` and `"cards": rows` as JSON, a card a line (readable; and `json.dumps` with an
    indent runs its pure-Python encoder, which took a third of a batch's time)."""
    head = json.dumps(fields, ensure_ascii=False)[:-1]
    cards = ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows)
    return f'{head}, "cards": [\n{cards}\n]}}\n'.encode()


def _card_row(
    archive: zipfile.ZipFile, card: PackageCard, *, offset: int, content_key: bytes
) -> dict[str, Any]:
    """The card's line of the manifest; its fingerprint templates go into the archive."""
    if not card.number.isdigit():
        raise ValueError(f"受理号 must be digits: {card.number!r}")
    fingers = []
    for finger in card.fingers:
        row: dict[str, Any] = {"position": finger.position, "result": finger.result}
        if finger.template is not None:
            name = f"fingers/{card.number}-{finger.position}.tpl"
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_TIME), finger.template)
            row.update(
                format=finger.format, path=name, size=len(finger.template), sm3=sm3_hex(finger.template)
            )
        else:
            row["reason"] = finger.reason
        fingers.append(row)
    images = card.images
    wrap_nonce = os.urandom(_NONCE_LEN)
    wrapped = wrap_nonce + _gcm_seal(content_key, wrap_nonce, images.key, card.number.encode())
    return {
        "number": card.number,
        "name": card.name,
        "sex": {"code": card.sex_code, "name": card.sex_name},
        "ethnicity": {"code": card.ethnicity_code, "name": card.ethnicity_name},
        "birth_date": card.birth_date.isoformat(),
        "address": card.address,
        "id_number": card.id_number,
        "issuing_authority": card.issuing_authority,
        "valid_from": card.valid_from.isoformat(),
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "acceptance_unit": {"code": card.acceptance_unit_code, "name": card.acceptance_unit_name},
        "photo": {"path": f"photos/{card.number}.jpg", "size": images.photo_size, "sm3": images.photo_sm3},
        "chip_photo": {
            "path": f"chip/{card.number}.jpg",
            "size": images.chip_size,
            "sm3": images.chip_sm3,
            "width": 102,
            "height": 126,
        },
        "segment": {
            "offset": offset,
            "length": len(images.segment),
            "key": base64.b64encode(wrapped).decode(),
        },
        "fingerprints": fingers,
    }


class _BodyWriter(threading.Thread):
    """Writes the body to `out` and its SM3 in a thread of its own, beside the thread that reads
    the cards (the digest and the file writes release the GIL). Stretches are handed over once
    they reach CHUNK bytes."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(name="package-write", daemon=True)
        self.out = out
        self.digest = hashes.Hash(hashes.SM3())
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.failure: BaseException | None = None
        self._held: list[bytes] = []
        self._held_size = 0

    def put(self, data: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self._held.append(data)
        self._held_size += len(data)
        if self._held_size >= CHUNK:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._held:
            self.queue.put(b"".join(self._held))
            self._held, self._held_size = [], 0

    def run(self) -> None:
        try:
            while (chunk := self.queue.get()) is not None:
                self.digest.update(chunk)
                self.out.write(chunk)
        except BaseException as exc:  # handed to the putting thread, which raises it
            self.failure = exc
            while self.queue.get() is not None:  # let the putter finish
                pass

    def finish(self) -> str:
        """Wait for the last stretch. The body's SM3."""
        self._hand_over()
        self.queue.put(None)
        self.join()
        if self.failure is not None:
            raise self.failure
        return self.digest.finalize().hex()

    def abandon(self) -> None:
        if self.is_alive():
            self.queue.put(None)
            self.join()


def write_package(
    path: Path,
    *,
    batch: str,
    centre: str,
    created_at: datetime.datetime,
    cards: Iterable[PackageCard],
    system_key: SM2KeyPair,
    centre_public: str,
) -> PackageInfo:
    """Write the package of `cards` to `path` (atomically: a partial file, then a rename). Each
    card's segment is copied as it comes, its key wrapped under a fresh content key; the archive
    (manifest and fingerprint templates, small) is built in memory and encrypted last. The body's
    length, known at the end, is written into its place before the body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content_key = os.urandom(_KEY_LEN)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        with partial.open("wb") as out:
            out.write(MAGIC + struct.pack(">Q", 0))
            writer = _BodyWriter(out)
            writer.start()
            try:
                plain = io.BytesIO()
                offset = 0
                with zipfile.ZipFile(plain, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
                    rows = []
                    for card in cards:
                        rows.append(_card_row(archive, card, offset=offset, content_key=content_key))
                        writer.put(card.images.segment)
                        offset += len(card.images.segment)
                    body = _manifest_json(
                        {
                            "format": FORMAT,
                            "batch": batch,
                            "centre": centre,
                            "created_at": created_at.isoformat(),
                            "digest": "SM3",
                        },
                        rows,
                    )
                    archive.writestr(zipfile.ZipInfo("manifest.json", date_time=_ZIP_TIME), body)
                    archive.writestr(
                        zipfile.ZipInfo("manifest.sig", date_time=_ZIP_TIME), sm2_sign(system_key, body)
                    )
                nonce = os.urandom(_NONCE_LEN)
                sealed_archive = _gcm_seal(content_key, nonce, plain.getvalue(), MAGIC + batch.encode())
                writer.put(sealed_archive)
                body_sm3 = writer.finish()
            finally:
                writer.abandon()
            body_length = offset + len(sealed_archive)
            header = {
                "format": FORMAT,
                "batch": batch,
                "centre": centre,
                "created_at": created_at.isoformat(),
                "cards": len(rows),
                "cipher": "SM4-GCM",
                "nonce": nonce.hex(),
                "archive_offset": offset,
                "archive_length": len(sealed_archive),
                "key_wrap": "SM2 C1C3C2",
                "wrapped_key": base64.b64encode(sm2_encrypt(centre_public, content_key)).decode(),
                "card_key_wrap": "SM4-GCM",
                "centre_key": sm2_fingerprint(centre_public),
                "system_key": system_key.fingerprint,
                "signature": "SM3withSM2 DER, ID 1234567812345678",
                "body_length": body_length,
                "body_sm3": body_sm3,
            }
            header_bytes = _canonical(header)
            signature = sm2_sign(system_key, header_bytes)
            out.write(struct.pack(">I", len(header_bytes)) + header_bytes)
            out.write(struct.pack(">H", len(signature)) + signature)
            size = out.tell()
            out.seek(len(MAGIC))
            out.write(struct.pack(">Q", body_length))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return PackageInfo(size=size, cards=len(rows), header=header, header_sm3=sm3_hex(header_bytes))


# ---------------------------------------------------------------------------------------------
# Opening (the centre's side)


def read_header(handle: IO[bytes]) -> tuple[dict[str, Any], bytes, bytes, int]:
    """(header, header bytes, signature, body length) of an open package file; the layout only,
    nothing verified yet."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if handle.read(len(MAGIC)) not in _FORMATS:
        raise PackageError("not_a_package", "不是制证数据包（文件头不符）。")
    try:
        (body_len,) = struct.unpack(">Q", handle.read(8))
        handle.seek(len(MAGIC) + 8 + body_len)
        (header_len,) = struct.unpack(">I", handle.read(4))
        header_bytes = handle.read(header_len)
        (sig_len,) = struct.unpack(">H", handle.read(2))
        signature = handle.read(sig_len)
    except struct.error as exc:
        raise PackageError("truncated", "数据包不完整（长度字段越界），可能在传输中被截断或篡改。") from exc
    if len(header_bytes) != header_len or len(signature) != sig_len or handle.tell() != size:
        raise PackageError("truncated", "数据包不完整或有多余内容，可能在传输中被截断或篡改。")
    try:
        header = json.loads(header_bytes)
    except ValueError:
        header = None
    if not isinstance(header, dict):
        header = {}
    return header, header_bytes, signature, body_len


def open_package(
    path: Path, *, centre_key: SM2KeyPair, system_public: str, out_dir: Path | None = None
) -> OpenedPackage:
    """Verify and decrypt a package: the system's signature of the header, the body's SM3, the
    content key (only the centre's private key unwraps it), the GCM tags, the manifest's own
    signature and every entry's size and SM3. Writes the manifest, its signature and the entries
    under `out_dir` only when everything checks. Raises PackageError naming the first failure."""
    with path.open("rb") as handle:
        header, header_bytes, signature, body_len = read_header(handle)
        handle.seek(0)
        magic = handle.read(len(MAGIC))
        if not sm2_verify(system_public, signature, header_bytes):
            raise PackageError(
                "signature_invalid",
                "数据包签名验证失败：数据包头或签名被篡改，或不是本系统（所给系统公钥）签发的。",
            )
        if header.get("format") != _FORMATS[magic] or header.get("body_length") != body_len:
            raise PackageError("unknown_format", f"不支持的数据包格式：{header.get('format')!r}。")
        if header.get("centre_key") != centre_key.fingerprint:
            raise PackageError(
                "wrong_key",
                f"该数据包是加密给制证中心 {header.get('centre')} 的（密钥指纹 {header.get('centre_key')}），"
                f"与所给私钥（指纹 {centre_key.fingerprint}）不符。",
            )
        handle.seek(len(MAGIC) + 8)
        digest = hashes.Hash(hashes.SM3())
        remaining = body_len
        while remaining:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                raise PackageError("truncated", "数据包不完整。")
            digest.update(chunk)
            remaining -= len(chunk)
        if digest.finalize().hex() != header.get("body_sm3"):
            raise PackageError(
                "body_tampered", "数据包密文的 SM3 摘要与已签名的数据包头不符：密文被篡改或文件损坏。"
            )
        try:
            content_key = sm2_decrypt(centre_key, base64.b64decode(str(header.get("wrapped_key", ""))))
            nonce = bytes.fromhex(str(header.get("nonce", "")))
        except (SM2Error, ValueError) as exc:
            raise PackageError("wrong_key", "无法用所给私钥解开内容密钥：私钥不是该制证中心的。") from exc
        if magic == MAGIC_1:
            return _open_1(
                handle,
                header=header,
                key=content_key,
                nonce=nonce,
                system_public=system_public,
                out_dir=out_dir,
            )
        return _open_2(
            handle, header=header, key=content_key, nonce=nonce, system_public=system_public, out_dir=out_dir
        )


def _decrypt_failed(what: str = "数据包") -> PackageError:
    return PackageError("decrypt_failed", f"{what}解密失败（SM4-GCM 认证不通过）。")


def _checked_manifest(
    archive: zipfile.ZipFile, *, header: dict[str, Any], system_public: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The archive's manifest, its signature checked and its fields against the header, with the
    entries it lists by path (names checked, none twice)."""
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise PackageError("archive_invalid", "数据包内有重复的条目。")
    try:
        manifest_bytes, manifest_sig = archive.read("manifest.json"), archive.read("manifest.sig")
    except KeyError as exc:
        raise PackageError("archive_invalid", "数据包内缺少清单（manifest.json / manifest.sig）。") from exc
    if not sm2_verify(system_public, manifest_sig, manifest_bytes):
        raise PackageError("manifest_signature_invalid", "清单签名验证失败：清单被替换或篡改。")
    manifest = json.loads(manifest_bytes)
    for key in ("format", "batch", "centre", "created_at"):
        if manifest.get(key) != header.get(key):
            raise PackageError(
                "manifest_mismatch", f"清单与数据包头不符（{key}）：清单可能来自另一个数据包。"
            )
    if len(manifest.get("cards", [])) != header.get("cards"):
        raise PackageError("manifest_mismatch", "清单的证件数与数据包头不符。")
    expected: dict[str, dict[str, Any]] = {}
    for card in manifest["cards"]:
        for entry in [card["photo"], card["chip_photo"], *card["fingerprints"]]:
            if "path" in entry:
                if not _ENTRY.match(entry["path"]) or entry["path"] in expected:
                    raise PackageError("archive_invalid", f"清单中的条目名无效：{entry['path']!r}。")
                expected[entry["path"]] = entry
    return manifest, expected


def _checked_entries(archive: zipfile.ZipFile, expected: dict[str, dict[str, Any]]) -> None:
    """Exactly the `expected` entries (besides the manifest and its signature) are in the archive,
    each of its stated size and SM3."""
    extra = set(archive.namelist()) - set(expected) - {"manifest.json", "manifest.sig"}
    if extra:
        raise PackageError("archive_invalid", f"数据包内有清单未列出的条目：{sorted(extra)[0]}。")
    for path, entry in expected.items():
        try:
            data = archive.read(path)
        except KeyError as exc:
            raise PackageError("entry_missing", f"清单列出的条目不存在：{path}。") from exc
        _check_entry(path, entry, data)


def _check_entry(path: str, entry: dict[str, Any], data: bytes) -> None:
    if len(data) != entry["size"] or sm3_hex(data) != entry["sm3"]:
        raise PackageError("entry_tampered", f"条目 {path} 的 SM3 摘要与清单不符：内容被篡改或调换。")


def _write_out(out_dir: Path, files: Iterable[tuple[str, bytes]], opened: OpenedPackage) -> None:
    for path, data in files:
        target = out_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        opened.written.append(target)


def _zip(plain: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(plain)
    except zipfile.BadZipFile as exc:
        raise PackageError("archive_invalid", "数据包内容不是有效的归档。") from exc


def _open_1(
    handle: IO[bytes],
    *,
    header: dict[str, Any],
    key: bytes,
    nonce: bytes,
    system_public: str,
    out_dir: Path | None,
) -> OpenedPackage:
    """Format 1: the body is one GCM stream of the whole archive, photos included."""
    body_len = int(header["body_length"])
    with tempfile.TemporaryFile(dir=out_dir) as plain:
        handle.seek(len(MAGIC) + 8 + body_len - _TAG_LEN)
        tag = handle.read(_TAG_LEN)
        handle.seek(len(MAGIC) + 8)
        try:
            decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
            decryptor.authenticate_additional_data(MAGIC_1 + str(header.get("batch", "")).encode())
            remaining = body_len - _TAG_LEN
            while remaining:
                chunk = handle.read(min(CHUNK, remaining))
                plain.write(decryptor.update(chunk))
                remaining -= len(chunk)
            plain.write(decryptor.finalize())
        except (InvalidTag, ValueError) as exc:
            raise _decrypt_failed() from exc
        plain.seek(0)
        with _zip(plain) as archive:
            manifest, expected = _checked_manifest(archive, header=header, system_public=system_public)
            _checked_entries(archive, expected)
            opened = OpenedPackage(header=header, manifest=manifest)
            if out_dir is not None:  # only once everything checked: nothing unverified is ever written
                names = ["manifest.json", "manifest.sig", *expected]
                _write_out(out_dir, ((name, archive.read(name)) for name in names), opened)
    return opened


def _open_2(
    handle: IO[bytes],
    *,
    header: dict[str, Any],
    key: bytes,
    nonce: bytes,
    system_public: str,
    out_dir: Path | None,
) -> OpenedPackage:
    """Format 2: the archive (manifest, fingerprints) at `archive_offset`, each card's segment
    where the manifest says, the segments filling the body before the archive without a gap."""
    body_start, body_len = len(MAGIC) + 8, int(header["body_length"])
    archive_offset, archive_length = header.get("archive_offset"), header.get("archive_length")
    if (
        not isinstance(archive_offset, int)
        or not isinstance(archive_length, int)
        or archive_offset < 0
        or archive_offset + archive_length != body_len
    ):
        raise PackageError("archive_invalid", "数据包头中的归档位置无效。")
    handle.seek(body_start + archive_offset)
    try:
        plain = _gcm_open(
            key, nonce, handle.read(archive_length), MAGIC + str(header.get("batch", "")).encode()
        )
    except (InvalidTag, ValueError) as exc:
        raise _decrypt_failed() from exc
    with contextlib.ExitStack() as stack:
        archive = stack.enter_context(_zip(io.BytesIO(plain)))
        # The photos, in order, kept until everything checked, when they are to be written out.
        images = stack.enter_context(tempfile.TemporaryFile(dir=out_dir)) if out_dir is not None else None
        manifest, expected = _checked_manifest(archive, header=header, system_public=system_public)
        _checked_entries(
            archive, {path: entry for path, entry in expected.items() if path.startswith("fingers/")}
        )
        position = 0
        for card in manifest["cards"]:
            number, segment = str(card["number"]), card.get("segment") or {}
            photo, chip = card["photo"], card["chip_photo"]
            length = segment.get("length")
            if (
                segment.get("offset") != position
                or length != _NONCE_LEN + photo["size"] + chip["size"] + _TAG_LEN
            ):
                raise PackageError("archive_invalid", f"清单中受理号 {number} 的相片数据段位置或长度无效。")
            position += length
            if position > archive_offset:
                raise PackageError("archive_invalid", f"清单中受理号 {number} 的相片数据段超出数据包。")
            handle.seek(body_start + segment["offset"])
            data = handle.read(length)
            try:
                wrapped = base64.b64decode(str(segment.get("key", "")), validate=True)
                card_key = _gcm_open(key, wrapped[:_NONCE_LEN], wrapped[_NONCE_LEN:], number.encode())
                photo_bytes, chip_bytes = CardImages(
                    data, card_key, photo["size"], chip["size"], photo["sm3"], chip["sm3"]
                ).open()
            except (InvalidTag, ValueError) as exc:
                raise _decrypt_failed(f"受理号 {number} 的相片数据段") from exc
            _check_entry(photo["path"], photo, photo_bytes)
            _check_entry(chip["path"], chip, chip_bytes)
            if images is not None:
                images.write(photo_bytes + chip_bytes)
        if position != archive_offset:
            raise PackageError("archive_invalid", "数据包中有清单未列出的相片数据段。")
        opened = OpenedPackage(header=header, manifest=manifest)
        if out_dir is not None and images is not None:  # only once everything checked
            images.seek(0)

            def files() -> Iterable[tuple[str, bytes]]:
                for name in ["manifest.json", "manifest.sig"]:
                    yield name, archive.read(name)
                for card in manifest["cards"]:
                    yield card["photo"]["path"], images.read(card["photo"]["size"])
                    yield card["chip_photo"]["path"], images.read(card["chip_photo"]["size"])
                    for finger in card["fingerprints"]:
                        if "path" in finger:
                            yield finger["path"], archive.read(finger["path"])

            _write_out(out_dir, files(), opened)
    return opened
