"""`tongban backup` and `tongban restore`: the database, the keys and the face indexes in one
SM4-encrypted archive (archive.py), and back onto an empty system, checked.

PostgreSQL is dumped by `pg_dump --format=custom` (one consistent snapshot, read while the system
runs) and streamed into the archive; SQLite is copied with its online backup API. The keys folder
(TONGBAN_KEYS_DIR) holds the system's signing key, without which the audit seals and the data
packages cannot be checked; the face indexes (TONGBAN_ABIS_DIR) can be rebuilt from the database,
and come along so that a restore need not wait for a rebuild where they still fit it.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.audit.verify import verify
from tongban.backup.archive import ArchiveError, ArchiveWriter, check, extract
from tongban.biometrics.abis import BuiltinABIS
from tongban.biometrics.interfaces import Gallery
from tongban.core.crypto import sm2_fingerprint, sm2_public_key
from tongban.core.keys import load_system_key
from tongban.production.models import CentreKey

logger = logging.getLogger("tongban.backup")

MANIFEST_KIND = "tongban.backup/1"
DATABASE_MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
KEYS_PREFIX = "keys/"
INDEX_PREFIX = "abis/"


class BackupFailed(RuntimeError):
    """The backup or the restore could not be made (the message is Chinese, for the operator)."""


class RestoreRefused(BackupFailed):
    """The system to restore onto is not empty (and `replace` was not asked)."""


class ArchiveDamaged(BackupFailed):
    """The archive cannot be decrypted, or its contents do not match its manifest."""


@dataclass
class RestoreReport:
    """What `restore` put back and what its checks found; `ok` when every check passed."""

    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def backup_key() -> bytes:
    key: bytes | None = settings.BACKUP_KEY
    if key is None:
        raise BackupFailed("未设置备份密钥 TONGBAN_BACKUP_KEY（或 TONGBAN_BACKUP_KEY_FILE）。")
    return key


def backup_create(*, out_dir: Path, key: bytes) -> tuple[Path, dict[str, Any]]:
    """Write a dated archive into `out_dir` (mode 0600, complete or absent: written beside as
    .part, then renamed) and record it in the audit trail; its path and manifest."""
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"tongban-{stamp}.tbbak"
    part = path.with_name(path.name + ".part")
    manifest = _manifest()
    try:
        with open(part, "xb", opener=_private) as out, tempfile.TemporaryDirectory() as scratch:
            writer = ArchiveWriter(out, key)
            _dump_database(writer, Path(scratch))
            _add_folder(writer, KEYS_PREFIX, Path(str(settings.CARD_PRODUCTION["KEYS_DIR"])))
            _add_folder(writer, INDEX_PREFIX, Path(str(settings.BIOMETRICS["INDEX_DIR"])))
            writer.finish(manifest)
            out.flush()
            os.fsync(out.fileno())
        part.rename(path)
    finally:
        part.unlink(missing_ok=True)
    try:
        record(
            actor=None,
            action=AuditAction.BACKUP_CREATED,
            object_type="backup",
            object_id=path.name,
            detail={"size": path.stat().st_size, "members": len(writer.members)},
        )
    except DatabaseError:  # a read-only standby: the archive is no less good
        logger.warning("backup %s written, but not recorded: the database is read-only", path.name)
    return path, manifest | {"members": [m.as_dict() for m in writer.members]}


def backup_restore(*, archive: Path, key: bytes, replace: bool = False) -> RestoreReport:
    """Put `archive` back: decrypt it and check every member against the manifest, refuse a system
    that is not empty (unless `replace`), restore the database, the keys and the indexes, then check
    the audit trail, the package keys and the face indexes, and record the restore."""
    vendor = connection.vendor
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        try:
            with archive.open("rb") as source:
                manifest, found = extract(source, key, folder)
        except ArchiveError as exc:
            raise ArchiveDamaged(str(exc)) from exc
        except OSError as exc:
            raise BackupFailed(f"无法读取备份文件 {archive}：{exc.strerror}") from exc
        problems = check(manifest, found)
        if problems:
            raise ArchiveDamaged("备份文件与清单不符：" + "；".join(problems))
        if manifest.get("kind") != MANIFEST_KIND or manifest.get("database", {}).get("vendor") != vendor:
            raise BackupFailed(f"该备份不是本系统数据库（{vendor}）的备份，不能恢复到这里。")
        keys_dir = Path(str(settings.CARD_PRODUCTION["KEYS_DIR"]))
        if not replace:
            _refuse_unless_empty(keys_dir)
        _restore_database(folder / DATABASE_MEMBER[vendor], replace=replace)
        _put_folder(folder / KEYS_PREFIX, keys_dir)
        _put_folder(folder / INDEX_PREFIX, Path(str(settings.BIOMETRICS["INDEX_DIR"])))
    report = RestoreReport(manifest)
    _check_restored(report)
    record(
        actor=None,
        action=AuditAction.BACKUP_RESTORED,
        object_type="backup",
        object_id=archive.name,
        detail={"created_at": manifest.get("created_at"), "ok": report.ok},
    )
    return report


# ---------------------------------------------------------------------------------------------
# Backup


def _manifest() -> dict[str, Any]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app, []).append(name)
    with connection.cursor() as cursor:
        cursor.execute(
            "SHOW server_version" if connection.vendor == "postgresql" else "SELECT sqlite_version()"
        )
        server = cursor.fetchone()[0]
    return {
        "kind": MANIFEST_KIND,
        "created_at": timezone.now().isoformat(),
        "host": platform.node(),
        "database": {
            "vendor": connection.vendor,
            "name": str(connection.settings_dict["NAME"]),
            "server": server,
        },
        "versions": {
            "tongban": version("tongban"),
            "django": version("django"),
            "python": platform.python_version(),
            **({"pg_dump": _tool_version("pg_dump")} if connection.vendor == "postgresql" else {}),
        },
        "migrations": applied,
    }


def _dump_database(writer: ArchiveWriter, scratch: Path) -> None:
    if connection.vendor == "postgresql":
        with tempfile.TemporaryFile() as errors:
            with subprocess.Popen(  # noqa: S603
                [_tool("pg_dump"), "--format=custom", "--no-password"],
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_pg_env(),
            ) as dump:
                writer.add_stream(DATABASE_MEMBER["postgresql"], cast(IO[bytes], dump.stdout))
            if dump.returncode != 0:
                errors.seek(0)
                raise BackupFailed(f"pg_dump 失败：{errors.read().decode(errors='replace').strip()}")
        return
    copy = scratch / "database.sqlite3"
    _sqlite_copy(Path(connection.settings_dict["NAME"]), copy)
    writer.add_file(DATABASE_MEMBER["sqlite"], copy)


def _add_folder(writer: ArchiveWriter, prefix: str, folder: Path) -> None:
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        writer.add_file(prefix + path.relative_to(folder).as_posix(), path)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


# ---------------------------------------------------------------------------------------------
# Restore


def _refuse_unless_empty(keys_dir: Path) -> None:
    tables = connection.introspection.table_names()
    if tables:
        raise RestoreRefused(
            f"目标数据库不是空的（已有 {len(tables)} 张表）：恢复只在空库上进行；确需覆盖请加 --replace。"
        )
    if keys_dir.is_dir() and any(p.is_file() for p in keys_dir.rglob("*")):
        raise RestoreRefused(f"密钥目录 {keys_dir} 不是空的：确需覆盖请加 --replace。")


def _restore_database(dump: Path, *, replace: bool) -> None:
    close_connection()
    if connection.vendor == "sqlite":
        _sqlite_copy(dump, Path(connection.settings_dict["NAME"]))
        return
    command = [_tool("pg_restore"), "--no-owner", "--no-password", "--exit-on-error", "--single-transaction"]
    if replace:
        command += ["--clean", "--if-exists"]
    result = subprocess.run(  # noqa: S603
        [*command, "--dbname", str(connection.settings_dict["NAME"]), str(dump)],
        capture_output=True,
        env=_pg_env(),
        check=False,
    )
    if result.returncode != 0:
        raise BackupFailed(f"pg_restore 失败：{result.stderr.decode(errors='replace').strip()}")


def _put_folder(source: Path, target: Path) -> None:
    if not source.is_dir():
        return
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        destination = target / path.relative_to(source)
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
        destination.chmod(0o600)


def _check_restored(report: RestoreReport) -> None:
    """The checks after a restore, each into `report.checks`; what fails into `report.problems`."""
    applied = {f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations()}
    listed = {f"{app}.{name}" for app, names in report.manifest["migrations"].items() for name in names}
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    report.checks["migrations"] = {"applied": len(applied), "pending": [str(m) for m, _ in pending]}
    if applied != listed:
        report.problems.append("恢复后的数据库迁移状态与备份清单不符。")
    trail = verify()
    report.checks["audit"] = trail.as_dict()
    if trail.broken is not None:
        report.problems.append(f"审计日志校验未通过：{trail.broken.message}")
    try:
        load_system_key()
        for key in CentreKey.objects.all():
            if sm2_fingerprint(sm2_public_key(key.public_key)) != key.fingerprint:
                raise ValueError(f"制证中心密钥 {key.pk} 与其指纹不符")
        report.checks["keys"] = {"system": True, "centres": CentreKey.objects.count()}
    except (LookupError, ValueError) as exc:
        report.problems.append(f"制证数据包的密钥无法载入：{exc}")
    abis = BuiltinABIS()
    report.checks["face_index"] = {}
    for gallery in Gallery:
        report.checks["face_index"][gallery.value] = abis.index_info(gallery)["count"]
        abis.save(gallery)


# ---------------------------------------------------------------------------------------------
# Tools


def close_connection() -> None:
    """Close the default connection and, on PostgreSQL, its pool: nothing holds the database open
    while it is replaced, and the next query connects afresh (to another database, in the tests)."""
    connection.close()
    if connection.vendor == "postgresql":
        connection.close_pool()  # type: ignore[attr-defined]  # Django's PostgreSQL wrapper only


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database over another through the online backup API (consistent while
    others write, and WAL-aware on both sides)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _pg_env() -> dict[str, str]:
    """The connection of the default database for libpq, in the environment (never in argv)."""
    db = connection.settings_dict
    values = {"PGHOST": db["HOST"], "PGPORT": db["PORT"], "PGUSER": db["USER"], "PGPASSWORD": db["PASSWORD"]}
    return os.environ | {"PGDATABASE": str(db["NAME"])} | {k: str(v) for k, v in values.items() if v}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupFailed(f"找不到 {name}：请安装与数据库服务器同一大版本的 PostgreSQL 客户端。")
    return path


def _tool_version(name: str) -> str:
    out = subprocess.run([_tool(name), "--version"], capture_output=True, text=True, check=True)  # noqa: S603
    return out.stdout.strip()
