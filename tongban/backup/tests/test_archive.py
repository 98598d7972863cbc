"""The archive format alone: round trip in chunks, and every way a file can be wrong."""

from __future__ import annotations

import io
import os
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from tongban.backup import archive
from tongban.backup.archive import ArchiveError, ArchiveWriter, check, extract

KEY = bytes(range(16))


def _archive(members: dict[str, bytes], key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    writer = ArchiveWriter(out, key)
    for name, data in members.items():
        writer.add_stream(name, io.BytesIO(data))
    writer.finish({"kind": "test"})
    return out.getvalue()


def test_members_come_back_in_chunks_with_their_checksums(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archive, "CHUNK", 1000)  # a large file in small chunks, as a database in 1 MiB ones
    data = {"database.pgdump": os.urandom(10_500), "keys/system-sm2.json": b"{}", "abis/empty": b""}
    blob = _archive(data)
    manifest, found = extract(io.BytesIO(blob), KEY, tmp_path)
    assert manifest["kind"] == "test" and check(manifest, found) == []
    assert {m.name: m.size for m in found} == {name: len(body) for name, body in data.items()}
    for name, body in data.items():
        assert (tmp_path / name).read_bytes() == body
    assert b"system-sm2" not in blob  # names are encrypted too


def test_a_large_member_is_never_held_in_memory(tmp_path: Path) -> None:
    class Zeros(io.BytesIO):
        """64 MiB read as a pipe gives them, without existing anywhere at once."""

        left = 64 << 20

        def read(self, size: int | None = -1) -> bytes:
            n = self.left if size is None or size < 0 else min(size, self.left)
            self.left -= n
            return bytes(n)

    tracemalloc.start()
    with (tmp_path / "big.tbbak").open("wb") as out:
        writer = ArchiveWriter(out, KEY)
        writer.add_stream("database.pgdump", Zeros())
        writer.finish({})
    with (tmp_path / "big.tbbak").open("rb") as source:
        extract(source, KEY, tmp_path / "out")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (tmp_path / "out" / "database.pgdump").stat().st_size == 64 << 20
    assert peak < 8 * archive.CHUNK


def test_a_wrong_key_is_told_apart_from_damage(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="备份密钥不对"):
        extract(io.BytesIO(_archive({"a": b"x"})), bytes(16), tmp_path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-10], "截断"),  # cut inside the manifest record
        (lambda b: b[:-20] + bytes([b[-20] ^ 1]) + b[-19:], "第 5 段校验失败"),
        (lambda b: b"NOT-A-BACKUP" + b[12:], "不是通办系统的备份文件"),
    ],
    ids=["truncated", "bit-flipped", "not-an-archive"],
)
def test_damage_is_found(tmp_path: Path, damage: Callable[[bytes], bytes], message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        extract(io.BytesIO(damage(_archive({"a": b"x" * 100, "b": b"y" * 100}))), KEY, tmp_path)


def test_an_archive_without_its_manifest_is_incomplete(tmp_path: Path) -> None:
    out = io.BytesIO()
    ArchiveWriter(out, KEY).add_stream("a", io.BytesIO(b"x"))  # stopped before `finish`
    with pytest.raises(ArchiveError, match="没有清单"):
        extract(io.BytesIO(out.getvalue()), KEY, tmp_path)


def test_records_cannot_move_between_archives(tmp_path: Path) -> None:
    first, second = _archive({"a": b"1"}), _archive({"a": b"1"})
    spliced = first[: len(archive.MAGIC) + 16] + second[len(archive.MAGIC) + 16 :]
    with pytest.raises(ArchiveError):
        extract(io.BytesIO(spliced), KEY, tmp_path)


def test_check_names_what_differs_from_the_manifest(tmp_path: Path) -> None:
    manifest, found = extract(io.BytesIO(_archive({"a": b"1", "b": b"2"})), KEY, tmp_path)
    manifest["members"][0]["sha256"] = "0" * 64
    manifest["members"].append({"name": "c", "size": 1, "sha256": "0" * 64})
    assert check(manifest, found) == ["c：清单中有，文件中没有", "a：大小或 SHA-256 校验值与清单不符"]


@pytest.mark.parametrize("name", ["/etc/passwd", "../keys", "a/../../b", ""])
def test_unsafe_member_names_are_refused(name: str) -> None:
    with pytest.raises(ArchiveError, match="不安全"):
        ArchiveWriter(io.BytesIO(), KEY).add_stream(name, io.BytesIO(b""))
