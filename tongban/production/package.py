"""The production data package (制证数据包): one file per batch, signed by the system (SM2),
encrypted for the centre (SM4-GCM under a random content key wrapped with the centre's SM2
public key), every entry digested (SM3). The format is documented in docs/production.md.

Pure Python (no Django): the service, `tongban package open` and the benchmark share it.

File layout (integers big-endian):

    MAGIC (8) | body length (u64) | body: SM4-GCM ciphertext of the archive ‖ GCM tag (16)
    | header length (u32) | header (canonical JSON) | signature length (u16) | SM2 signature of the header

The header names the batch, the centre, both keys (SM3 fingerprints), the wrapped content key,
the GCM nonce and the SM3 of the body, so the one signature covers every byte of the file.
The archive is a ZIP (stored, not compressed: JPEGs do not shrink) holding `manifest.json`,
`manifest.sig` (the system's signature of the manifest, kept by the centre after opening) and
the entries the manifest lists with their size and SM3.
"""

from __future__ import annotations

import base64
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

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

MAGIC = b"TBPKG\x00\x01\n"
FORMAT = "tongban.package/1"
CHUNK = 1 << 20
_TAG_LEN = 16
_ENTRY = re.compile(r"^(photos|chip|fingers)/[0-9A-Za-z_-]{1,40}\.(jpg|tpl)$")


class PackageError(Exception):
    """The package cannot be trusted or opened; `code` names the check that failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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
    photo: bytes  # the 358×441 standard photo
    chip_photo: bytes  # its 102×126 copy for the chip
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


def _entry(archive: zipfile.ZipFile, path: str, data: bytes, *, digests: bool) -> dict[str, Any]:
    archive.writestr(zipfile.ZipInfo(path, date_time=(2000, 1, 1, 0, 0, 0)), data)
    return {"path": path, "size": len(data), **({"sm3": sm3_hex(data)} if digests else {})}


def _card_entry(archive: zipfile.ZipFile, card: PackageCard, *, digests: bool) -> dict[str, Any]:
    if not card.number.isdigit():
        raise ValueError(f"受理号 must be digits: {card.number!r}")
    fingers = []
    for finger in card.fingers:
        row: dict[str, Any] = {"position": finger.position, "result": finger.result}
        if finger.template is not None:
            row["format"] = finger.format
            name = f"fingers/{card.number}-{finger.position}.tpl"
            row.update(_entry(archive, name, finger.template, digests=digests))
        else:
            row["reason"] = finger.reason
        fingers.append(row)
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
        "photo": _entry(archive, f"photos/{card.number}.jpg", card.photo, digests=digests),
        "chip_photo": {
            **_entry(archive, f"chip/{card.number}.jpg", card.chip_photo, digests=digests),
            "width": 102,
            "height": 126,
        },
        "fingerprints": fingers,
    }


class _Spool:
    """What zipfile writes a package's archive to, handing each stretch of it on to `release`
    once it is final: zipfile goes back to fill in an entry's local header after its data, so
    the bytes since the last finished entry are held here, and the rest is never seeked to
    again. Lets the archive be encrypted while it is written, with no temporary file."""

    def __init__(self, release: Callable[[bytes], None]) -> None:
        self._release = release
        self._held = bytearray()
        self._base = 0  # the offset of _held[0]: what is before it went to `release`
        self._pos = 0

    def write(self, data: bytes) -> int:
        offset = self._pos - self._base
        if offset < 0:
            raise io.UnsupportedOperation("the archive was handed on before this offset")
        if offset == len(self._held):
            self._held += data
        else:
            end = offset + len(data)
            if end > len(self._held):
                self._held.extend(bytes(end - len(self._held)))
            self._held[offset:end] = data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._base + len(self._held)}
        position = base[whence] + offset
        if position < self._base:
            raise io.UnsupportedOperation("the archive was handed on before this offset")
        self._pos = position
        return position

    def flush(self) -> None:
        pass

    def entries_done(self, *, at_least: int = 0) -> None:
        """Between entries (nothing held will be rewritten): hand on what is held, when it is at
        least `at_least` bytes."""
        if self._held and len(self._held) >= at_least:
            self._release(bytes(self._held))
            self._base += len(self._held)
            self._held.clear()

    @property
    def size(self) -> int:
        return self._base + len(self._held)


def write_archive(
    target: IO[bytes] | _Spool,
    *,
    batch: str,
    centre: str,
    created_at: datetime.datetime,
    cards: Iterable[PackageCard],
    signer: SM2KeyPair | None,
) -> int:
    """The ZIP inside a package: the entries, then `manifest.json` and its signature. Without a
    signer, the same files with neither digests nor signature (the benchmark's baseline)."""
    digests = signer is not None
    spool = target if isinstance(target, _Spool) else None
    # A _Spool is as seekable as zipfile needs (it goes back within the entry being written).
    writable = cast(IO[bytes], target)
    with zipfile.ZipFile(writable, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        rows = []
        for card in cards:
            rows.append(_card_entry(archive, card, digests=digests))
            if spool is not None:
                spool.entries_done(at_least=CHUNK)
        manifest = {
            "format": FORMAT,
            "batch": batch,
            "centre": centre,
            "created_at": created_at.isoformat(),
            "digest": "SM3" if digests else "",
            "cards": rows,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        archive.writestr(zipfile.ZipInfo("manifest.json", date_time=(2000, 1, 1, 0, 0, 0)), body)
        if signer is not None:
            archive.writestr(
                zipfile.ZipInfo("manifest.sig", date_time=(2000, 1, 1, 0, 0, 0)), sm2_sign(signer, body)
            )
    if spool is not None:
        spool.entries_done()
    return len(rows)


class _Encrypting(threading.Thread):
    """SM4-GCM and the SM3 of the ciphertext over the archive's stretches, written to `out`, in
    a thread of its own: the cipher and the digest release the GIL, so this runs beside the
    thread that reads the cards and builds the archive (a batch from the database uses both
    cores)."""

    def __init__(self, out: IO[bytes], content_key: bytes, nonce: bytes, batch: str) -> None:
        super().__init__(name="package-encrypt", daemon=True)
        self.out = out
        self.encryptor = Cipher(algorithms.SM4(content_key), modes.GCM(nonce)).encryptor()
        self.encryptor.authenticate_additional_data(MAGIC + batch.encode())
        self.digest = hashes.Hash(hashes.SM3())
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self.failure: BaseException | None = None

    def put(self, chunk: bytes) -> None:
        if self.failure is not None:
            raise self.failure
        self.queue.put(chunk)

    def run(self) -> None:
        try:
            while (chunk := self.queue.get()) is not None:
                encrypted = self.encryptor.update(chunk)
                self.digest.update(encrypted)
                self.out.write(encrypted)
        except BaseException as exc:  # handed to the writing thread, which raises it
            self.failure = exc
            while self.queue.get() is not None:  # let the writer finish putting
                pass

    def finish(self) -> str:
        """Wait for the last stretch; the GCM tag is written after the body. The body's SM3."""
        self.queue.put(None)
        self.join()
        if self.failure is not None:
            raise self.failure
        tail = self.encryptor.finalize() + self.encryptor.tag
        self.digest.update(tail)
        self.out.write(tail)
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
    """Write the package of `cards` to `path` (atomically: a partial file, then a rename). The
    archive is encrypted as it is built, in a second thread (`_Encrypting`); the body's length,
    known at the end, is written into its place before the body."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content_key, nonce = os.urandom(16), os.urandom(12)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        with partial.open("wb") as out:
            out.write(MAGIC + struct.pack(">Q", 0))
            encrypting = _Encrypting(out, content_key, nonce, batch)
            encrypting.start()
            try:
                spool = _Spool(encrypting.put)
                count = write_archive(
                    spool, batch=batch, centre=centre, created_at=created_at, cards=cards, signer=system_key
                )
                body_sm3 = encrypting.finish()
            finally:
                encrypting.abandon()
            plain_len = spool.size
            header = {
                "format": FORMAT,
                "batch": batch,
                "centre": centre,
                "created_at": created_at.isoformat(),
                "cards": count,
                "cipher": "SM4-GCM",
                "nonce": nonce.hex(),
                "key_wrap": "SM2 C1C3C2",
                "wrapped_key": base64.b64encode(sm2_encrypt(centre_public, content_key)).decode(),
                "centre_key": sm2_fingerprint(centre_public),
                "system_key": system_key.fingerprint,
                "signature": "SM3withSM2 DER, ID 1234567812345678",
                "body_length": plain_len + _TAG_LEN,
                "body_sm3": body_sm3,
            }
            header_bytes = _canonical(header)
            signature = sm2_sign(system_key, header_bytes)
            out.write(struct.pack(">I", len(header_bytes)) + header_bytes)
            out.write(struct.pack(">H", len(signature)) + signature)
            size = out.tell()
            out.seek(len(MAGIC))
            out.write(struct.pack(">Q", plain_len + _TAG_LEN))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return PackageInfo(size=size, cards=count, header=header, header_sm3=sm3_hex(header_bytes))


# ---------------------------------------------------------------------------------------------
# Opening (the centre's side)


def read_header(handle: IO[bytes]) -> tuple[dict[str, Any], bytes, bytes, int]:
    """(header, header bytes, signature, body length) of an open package file; the layout only,
    nothing verified yet."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if handle.read(len(MAGIC)) != MAGIC:
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
    content key (only the centre's private key unwraps it), the GCM tag, the manifest's own
    signature and every entry's size and SM3. Writes the manifest, its signature and the entries
    under `out_dir` only when everything checks. Raises PackageError naming the first failure."""
    with path.open("rb") as handle:
        header, header_bytes, signature, body_len = read_header(handle)
        if not sm2_verify(system_public, signature, header_bytes):
            raise PackageError(
                "signature_invalid",
                "数据包签名验证失败：数据包头或签名被篡改，或不是本系统（所给系统公钥）签发的。",
            )
        if header.get("format") != FORMAT or header.get("body_length") != body_len:
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
        with tempfile.TemporaryFile(dir=out_dir) as plain:
            handle.seek(len(MAGIC) + 8 + body_len - _TAG_LEN)
            tag = handle.read(_TAG_LEN)
            handle.seek(len(MAGIC) + 8)
            try:
                decryptor = Cipher(algorithms.SM4(content_key), modes.GCM(nonce, tag)).decryptor()
                decryptor.authenticate_additional_data(MAGIC + str(header.get("batch", "")).encode())
                remaining = body_len - _TAG_LEN
                while remaining:
                    chunk = handle.read(min(CHUNK, remaining))
                    plain.write(decryptor.update(chunk))
                    remaining -= len(chunk)
                plain.write(decryptor.finalize())
            except (InvalidTag, ValueError) as exc:
                raise PackageError("decrypt_failed", "数据包解密失败（SM4-GCM 认证不通过）。") from exc
            plain.seek(0)
            return _check_archive(plain, header=header, system_public=system_public, out_dir=out_dir)


def _check_archive(
    plain: IO[bytes], *, header: dict[str, Any], system_public: str, out_dir: Path | None
) -> OpenedPackage:
    try:
        archive = zipfile.ZipFile(plain)
    except zipfile.BadZipFile as exc:
        raise PackageError("archive_invalid", "数据包内容不是有效的归档。") from exc
    with archive:
        return check_archive(archive, header=header, system_public=system_public, out_dir=out_dir)


def check_archive(
    archive: zipfile.ZipFile, *, header: dict[str, Any], system_public: str, out_dir: Path | None = None
) -> OpenedPackage:
    """The decrypted archive against its signed manifest and the package header."""
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
    extra = set(names) - set(expected) - {"manifest.json", "manifest.sig"}
    if extra:
        raise PackageError("archive_invalid", f"数据包内有清单未列出的条目：{sorted(extra)[0]}。")
    for path, entry in expected.items():
        try:
            data = archive.read(path)
        except KeyError as exc:
            raise PackageError("entry_missing", f"清单列出的条目不存在：{path}。") from exc
        if len(data) != entry["size"] or sm3_hex(data) != entry["sm3"]:
            raise PackageError("entry_tampered", f"条目 {path} 的 SM3 摘要与清单不符：内容被篡改或调换。")
    opened = OpenedPackage(header=header, manifest=manifest)
    if out_dir is not None:  # only once everything checked: nothing unverified is ever written
        for path in ["manifest.json", "manifest.sig", *expected]:
            target = out_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(path))
            opened.written.append(target)
    return opened
