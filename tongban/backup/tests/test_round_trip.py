"""`tongban backup` then `tongban restore` into a second, empty database, on the database the tests
run on (PostgreSQL or SQLite): every table comes back row for row, and the restore's checks pass.
The commands' refusals and their exit statuses."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from tongban.audit.actions import AuditAction
from tongban.audit.sealer import seal_all
from tongban.audit.services import record
from tongban.backup.archive import ArchiveWriter
from tongban.backup.services import DATABASE_MEMBER, MANIFEST_KIND, close_connection
from tongban.biometrics.abis import FACE_FORMAT, BuiltinABIS
from tongban.biometrics.interfaces import Gallery, Modality, Template
from tongban.biometrics.vector_index import normalise
from tongban.core.crypto import SM2KeyPair
from tongban.production.models import CentreKey
from tongban.production.services import centre_key_generate
from tongban.registry.models import Unit
from tongban.testing.factories import ApplicationFactory, CardFactory, PersonFactory
from tongban.testing.personas import make_personas

KEY = bytes.fromhex("0f" * 16)
# Flushing after a transactional test would delete audit rows, which the database refuses; the
# audit app stays out of the flush (as in tongban/audit/tests/test_concurrency.py).
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.fixture
def backup_settings(settings: Any, tmp_path: Path) -> Path:
    settings.BACKUP_DIR, settings.BACKUP_KEY = tmp_path / "backups", KEY
    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "abis"}
    return tmp_path / "backups"


@contextmanager
def _on_database(name: str) -> Iterator[None]:
    """The default connection on another database of the same server, for a while."""
    before = connection.settings_dict["NAME"]
    close_connection()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        close_connection()
        connection.settings_dict["NAME"] = before


@contextmanager
def _empty_database(tmp_path: Path) -> Iterator[str]:
    if connection.vendor == "sqlite":
        yield str(tmp_path / "restored.sqlite3")
        return
    name = f"{connection.settings_dict['NAME']}_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        close_connection()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the catalogue
            rows = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()
            ]
            tables[table] = sorted(rows, key=repr)
    return tables


def _differences(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> int:
    count = len(before.keys() ^ after.keys())
    for table in before.keys() & after.keys():
        count += sum(1 for a, b in zip(before[table], after[table], strict=False) if a != b)
        count += abs(len(before[table]) - len(after[table]))
    return count


def _run(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return dict(json.loads(out.getvalue()))


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_backup_and_restore_give_back_every_row(
    reference_data: None, system_key: SM2KeyPair, backup_settings: Path, tmp_path: Path
) -> None:
    make_personas()
    centre = Unit.objects.get(code="360000901")
    centre_key_generate(centre=centre, out=tmp_path / "centre.json")
    CardFactory.create_batch(5)
    ApplicationFactory.create_batch(5)
    PersonFactory.create_batch(5)
    record(actor=None, action=AuditAction.DEMO_SEED, object_type="demo", detail={"round": "trip"})
    seal_all()
    abis = BuiltinABIS()
    vectors = normalise(np.random.default_rng(0).standard_normal((3, 128), dtype=np.float32))
    for i, vector in enumerate(vectors):
        template = Template(Modality.FACE, FACE_FORMAT, np.asarray(vector, dtype="<f4").tobytes())
        abis.insert(f"person:{i}", template, Gallery.PERMANENT, region="360102")
    for gallery in Gallery:
        abis.rebuild(gallery)  # the saved indexes, to be carried
    before = _rows()

    made = _run("backup")
    archive = Path(made["archive"])
    assert archive.parent == backup_settings and archive.stat().st_mode & 0o777 == 0o600
    names = {m["name"] for m in made["manifest"]["members"]}
    assert DATABASE_MEMBER[connection.vendor] in names and "keys/system-sm2.json" in names
    assert any(n.startswith("abis/") for n in names) and made["manifest"]["migrations"]["audit"]

    keys_dir = Path(str(settings.CARD_PRODUCTION["KEYS_DIR"]))
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_DIR": tmp_path / "keys-restored"}
    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "abis-restored"}
    with _empty_database(tmp_path) as name, _on_database(name):
        checks = _run("restore", str(archive))
        after = _rows()
        assert CentreKey.objects.filter(centre=centre).count() == 1
        # Told to, a restore replaces a database that is not empty (the one just restored).
        assert _run("restore", "--replace", str(archive))["ok"]
    assert checks["ok"] and checks["checks"]["audit"]["checked"] >= 1
    assert checks["checks"]["face_index"] == {"permanent": 3, "wanted": 0, "floating": 0, "applications": 0}
    assert checks["checks"]["keys"] == {"system": True, "centres": CentreKey.objects.count()}
    assert (tmp_path / "keys-restored" / "system-sm2.json").read_bytes() == (
        keys_dir / "system-sm2.json"
    ).read_bytes()
    # The restore's own audit row is the one row the restored database has beyond the backup's.
    restored = [row for row in after["audit_auditevent"] if AuditAction.BACKUP_RESTORED.value in row]
    assert len(restored) == 1
    after["audit_auditevent"].remove(restored[0])
    assert _differences(before, after) == 0


@pytest.mark.django_db
def test_restore_refuses_a_database_that_is_not_empty(backup_settings: Path, tmp_path: Path) -> None:
    archive = tmp_path / "a.tbbak"
    with archive.open("wb") as out:
        writer = ArchiveWriter(out, KEY)
        writer.add_stream(DATABASE_MEMBER[connection.vendor], io.BytesIO(b"not restored"))
        writer.finish({"kind": MANIFEST_KIND, "database": {"vendor": connection.vendor}, "migrations": {}})
    with pytest.raises(CommandError, match="目标数据库不是空的") as refused:
        call_command("restore", str(archive))
    assert refused.value.returncode == 3
    data = bytearray(archive.read_bytes())
    data[-5] ^= 1
    archive.write_bytes(bytes(data))
    with pytest.raises(CommandError, match="校验失败") as damaged:
        call_command("restore", str(archive))
    assert damaged.value.returncode == 4


def test_without_a_key_nothing_runs(settings: Any) -> None:
    settings.BACKUP_KEY = None
    for command in (["backup"], ["restore", "x.tbbak"]):
        with pytest.raises(CommandError, match="未设置备份密钥 TONGBAN_BACKUP_KEY") as failed:
            call_command(*command)
        assert failed.value.returncode == 1
