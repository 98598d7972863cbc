"""The backup archive (备份文件): named members streamed through SM4-GCM in sealed records.

A file is MAGIC, a 16-byte random archive id, then records: each a 4-byte big-endian length and a
blob of `core.crypto.seal`. A record's plaintext is a kind byte and its payload: b"F" opens a member
(its name, UTF-8), b"D" carries up to CHUNK bytes of the open member, b"M" ends the archive with the
manifest (JSON) and must be the last record. Each record is sealed with the context MAGIC ‖ archive
id ‖ record number, so a record cannot be changed, reordered, dropped or moved into another archive,
nor the archive cut short, without reading failing; and nothing larger than CHUNK is ever held in
memory, whatever the size of the database. No Django: the format is tested on its own.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

from tongban.core.crypto import SealError, seal, unseal

MAGIC = b"TONGBAN-BACKUP\x01"
CHUNK = 1 << 20
_ID_LEN = 16
_LENGTH = struct.Struct(">I")
_MAX_RECORD = CHUNK + 64  # a record's kind byte, payload and the seal's 29 bytes, with room


class ArchiveError(ValueError):
    """The file is not a readable backup archive (its message is Chinese, for the operator)."""


@dataclass(frozen=True)
class Member:
    """One file of the archive: its name inside the archive, size and SHA-256."""

    name: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


class ArchiveWriter:
    """Writes an archive to `out`: `add_stream` and `add_file` for the members, then `finish`."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        self._out = out
        self._key = key
        self._id = os.urandom(_ID_LEN)
        self._count = 0
        self.members: list[Member] = []
        out.write(MAGIC + self._id)

    def _record(self, kind: bytes, payload: bytes) -> None:
        blob = seal(self._key, kind + payload, context=_context(self._id, self._count))
        self._out.write(_LENGTH.pack(len(blob)) + blob)
        self._count += 1

    def add_stream(self, name: str, source: IO[bytes]) -> Member:
        _check_name(name)
        self._record(b"F", name.encode())
        digest, size = hashlib.sha256(), 0
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            self._record(b"D", chunk)
        member = Member(name, size, digest.hexdigest())
        self.members.append(member)
        return member

    def add_file(self, name: str, path: Path) -> Member:
        with path.open("rb") as source:
            return self.add_stream(name, source)

    def finish(self, manifest: dict[str, Any]) -> None:
        """Write the manifest, which lists the members written, as the last record."""
        body = manifest | {"members": [m.as_dict() for m in self.members]}
        self._record(b"M", json.dumps(body, ensure_ascii=False, sort_keys=True).encode())


def extract(source: BinaryIO, key: bytes, into: Path) -> tuple[dict[str, Any], list[Member]]:
    """Decrypt every member into the folder `into` (hashing them as they are written) and return the
    manifest and the members as found; `check` compares the two."""
    manifest: dict[str, Any] | None = None
    found: list[Member] = []
    handle: BinaryIO | None = None
    name, digest, size = "", hashlib.sha256(), 0

    def close_member() -> None:
        if handle is not None:
            handle.close()
            found.append(Member(name, size, digest.hexdigest()))

    try:
        for kind, payload in _records(source, key):
            if manifest is not None:
                raise ArchiveError("备份文件在清单之后还有内容，文件已损坏或被篡改。")
            if kind == b"F":
                close_member()
                name = payload.decode()
                _check_name(name)
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = target.open("xb")
                digest, size = hashlib.sha256(), 0
            elif kind == b"D" and handle is not None:
                handle.write(payload)
                digest.update(payload)
                size += len(payload)
            elif kind == b"M":
                close_member()
                handle = None
                manifest = json.loads(payload)
            else:
                raise ArchiveError("备份文件的记录顺序不对，文件已损坏或被篡改。")
    finally:
        if handle is not None and not handle.closed:
            handle.close()
    if manifest is None:
        raise ArchiveError("备份文件不完整（没有清单）：文件被截断了。")
    return manifest, found


def check(manifest: dict[str, Any], found: list[Member]) -> list[str]:
    """The differences between the manifest's members and those extracted (Chinese, one per member)."""
    listed = {m["name"]: Member(m["name"], int(m["size"]), m["sha256"]) for m in manifest.get("members", [])}
    present = {m.name: m for m in found}
    problems = [f"{name}：清单中有，文件中没有" for name in sorted(listed.keys() - present.keys())]
    problems += [f"{name}：文件中有，清单中没有" for name in sorted(present.keys() - listed.keys())]
    for name in sorted(listed.keys() & present.keys()):
        if listed[name] != present[name]:
            problems.append(f"{name}：大小或 SHA-256 校验值与清单不符")
    return problems


def _records(source: BinaryIO, key: bytes) -> Iterator[tuple[bytes, bytes]]:
    head = source.read(len(MAGIC) + _ID_LEN)
    if len(head) < len(MAGIC) + _ID_LEN or not head.startswith(MAGIC):
        raise ArchiveError("这不是通办系统的备份文件。")
    archive_id = head[len(MAGIC) :]
    number = 0
    while prefix := source.read(_LENGTH.size):
        (length,) = _LENGTH.unpack(prefix) if len(prefix) == _LENGTH.size else (0,)
        blob = source.read(length) if 0 < length <= _MAX_RECORD else b""
        if not blob or len(blob) != length:
            raise ArchiveError("备份文件被截断或已损坏。")
        try:
            plain = unseal(key, blob, context=_context(archive_id, number))
        except SealError as exc:
            if number == 0:
                raise ArchiveError("备份文件无法解密：备份密钥不对，或文件已损坏。") from exc
            raise ArchiveError(f"备份文件第 {number + 1} 段校验失败：文件已损坏或被篡改。") from exc
        number += 1
        yield plain[:1], plain[1:]


def _context(archive_id: bytes, number: int) -> bytes:
    return MAGIC + archive_id + number.to_bytes(8, "big")


def _check_name(name: str) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ArchiveError(f"备份文件中的成员名 {name!r} 不安全。")
