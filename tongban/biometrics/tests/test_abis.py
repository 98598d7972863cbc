"""The built-in ABIS on a real database: sealed templates, audit rows, the change log that keeps
every process's index current, persistence and rebuilds."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from tongban.audit.models import AuditEvent
from tongban.biometrics.abis import FACE_FORMAT, BuiltinABIS, Snapshot, TemplateStore
from tongban.biometrics.interfaces import BiometricError, Candidate, Gallery, Modality, Template
from tongban.biometrics.models import BiometricTemplate, TemplateChange
from tongban.biometrics.vector_index import VectorIndex, normalise
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db

PERMANENT = Gallery.PERMANENT
WANTED = Gallery.WANTED


def faces(n: int, *, seed: int = 0) -> tuple[list[Template], list[Template]]:
    """(enrolled, probes): n identities, each enrolled once and probed with another "photo"."""
    rng = np.random.default_rng(seed)
    identities = normalise(rng.standard_normal((n, 128), dtype=np.float32))
    # Cosine ≈ 0.98 between the two: well above any sensible face threshold.
    enrolled = normalise(identities + 0.012 * rng.standard_normal((n, 128), dtype=np.float32))
    probes = normalise(identities + 0.012 * rng.standard_normal((n, 128), dtype=np.float32))
    return [face(v) for v in enrolled], [face(v) for v in probes]


def face(vector: np.ndarray) -> Template:
    return Template(Modality.FACE, FACE_FORMAT, np.asarray(vector, dtype="<f4").tobytes())


def finger(position: str = "11", data: bytes = b"minutiae-template") -> Template:
    return Template(Modality.FINGER, "afis-test", data, position=position)


@pytest.fixture
def abis(tmp_path: Path) -> BuiltinABIS:
    return BuiltinABIS(index_dir=tmp_path / "abis")


def test_identify_finds_the_enrolled_face_above_the_threshold(abis: BuiltinABIS) -> None:
    enrolled, probes = faces(50)
    for i, template in enumerate(enrolled):
        abis.insert(f"person:{i}", template, PERMANENT)
    assert abis.count(PERMANENT) == 50 and abis.count(WANTED) == 0
    for i in (0, 17, 49):
        candidates = abis.identify(probes[i], PERMANENT)
        # The configured threshold lets only the same face through.
        assert [c.ref_id for c in candidates] == [f"person:{i}"]
        assert candidates[0].score >= abis.threshold == settings.BIOMETRICS["FACE_THRESHOLD"]
    everyone = abis.identify(probes[3], PERMANENT, max_results=5, threshold=-1.0)
    assert len(everyone) == 5 and everyone[0].ref_id == "person:3"
    assert [c.score for c in everyone] == sorted((c.score for c in everyone), reverse=True)
    assert all(isinstance(c, Candidate) for c in everyone)
    assert abis.identify(probes[3], WANTED) == []


def test_insert_replaces_the_template_of_a_ref(abis: BuiltinABIS) -> None:
    enrolled, probes = faces(3, seed=1)
    abis.insert("person:1", enrolled[0], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:1"
    first_pk = BiometricTemplate.objects.get().pk
    abis.insert("person:1", enrolled[1], PERMANENT)
    row = BiometricTemplate.objects.get()
    assert row.pk != first_pk and row.template == enrolled[1].data
    assert abis.identify(probes[0], PERMANENT) == []
    assert abis.identify(probes[1], PERMANENT)[0].ref_id == "person:1"
    assert abis.count(PERMANENT) == 1


def test_delete_removes_from_database_and_index(abis: BuiltinABIS) -> None:
    enrolled, probes = faces(4, seed=2)
    abis.insert("person:1", enrolled[0], PERMANENT)
    abis.insert("person:1", enrolled[0], WANTED)
    abis.insert("person:1", finger("11"), PERMANENT)
    abis.insert("person:1", finger("12"), PERMANENT)
    abis.insert("person:2", enrolled[1], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:1"
    assert abis.delete("person:1", PERMANENT) == 3  # the face and both fingers
    assert abis.identify(probes[0], PERMANENT) == []
    assert abis.identify(probes[0], WANTED)[0].ref_id == "person:1"
    assert abis.identify(probes[1], PERMANENT)[0].ref_id == "person:2"
    assert abis.delete("person:1") == 1  # every gallery: the wanted one is left
    assert abis.identify(probes[0], WANTED) == []
    assert abis.delete("person:1") == 0
    assert abis.count(PERMANENT) == 1 and abis.count(WANTED) == 0


def test_fingerprints_are_stored_but_not_searched_one_to_many(abis: BuiltinABIS) -> None:
    abis.insert("person:1", finger("11"), PERMANENT)
    abis.insert("person:1", finger("12"), PERMANENT)
    abis.insert("person:1", finger("11", b"better capture"), PERMANENT)
    rows = BiometricTemplate.objects.filter(modality=Modality.FINGER).order_by("position")
    assert [(r.position, r.template) for r in rows] == [
        ("11", b"better capture"),
        ("12", b"minutiae-template"),
    ]
    with pytest.raises(BiometricError) as excinfo:
        abis.identify(finger("11"), PERMANENT)
    assert excinfo.value.code == "unsupported"
    with pytest.raises(BiometricError) as excinfo:
        abis.insert("person:1", finger(""), PERMANENT)
    assert excinfo.value.code == "bad_position"


@pytest.mark.parametrize(
    ("template", "code"),
    [
        (Template(Modality.FACE, "dlib-128-f64", b"\0" * 1024), "bad_format"),
        (Template(Modality.FACE, FACE_FORMAT, b"\0" * 511), "bad_template"),
        (Template(Modality.FACE, FACE_FORMAT, b"\0" * 512), "bad_template"),
        (Template(Modality.FACE, FACE_FORMAT, np.full(128, np.nan, "<f4").tobytes()), "bad_template"),
        (Template(Modality.FACE, FACE_FORMAT, np.ones(128, "<f4").tobytes(), position="11"), "bad_template"),
    ],
)
def test_malformed_templates_are_refused(abis: BuiltinABIS, template: Template, code: str) -> None:
    with pytest.raises(BiometricError) as excinfo:
        abis.insert("person:1", template, PERMANENT)
    assert excinfo.value.code == code
    assert excinfo.value.message  # Chinese, for the clerk
    if template.position is None:
        with pytest.raises(BiometricError):
            abis.identify(template, PERMANENT)
    assert not BiometricTemplate.objects.exists()


def test_bad_requests_are_refused(abis: BuiltinABIS) -> None:
    enrolled, _ = faces(1)
    for ref in ("", "x" * 65, "person:1\n"):
        with pytest.raises(BiometricError):
            abis.insert(ref, enrolled[0], PERMANENT)
    with pytest.raises(BiometricError):
        abis.identify(enrolled[0], PERMANENT, max_results=0)
    with pytest.raises(ValueError):
        abis.insert("person:1", enrolled[0], "nowhere")  # type: ignore[arg-type]


def test_templates_are_sealed_at_rest_and_never_shown(abis: BuiltinABIS) -> None:
    enrolled, _ = faces(1, seed=3)
    abis.insert("person:7", enrolled[0], PERMANENT)
    row = BiometricTemplate.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT template FROM biometrics_biometrictemplate WHERE id = %s", [row.pk])
        stored = bytes(cursor.fetchone()[0])
    assert len(stored) == 512 + 1 + 12 + 16  # SM4-GCM: version, nonce, tag
    # No float of the embedding appears in the stored bytes.
    floats = np.frombuffer(enrolled[0].data, dtype="<f4")
    assert all(np.float32(f).tobytes() not in stored for f in floats)
    assert row.template == enrolled[0].data
    for text in (str(row), repr(row), repr(enrolled[0])):
        assert enrolled[0].data[:16].hex() not in text and str(enrolled[0].data[:8]) not in text
    assert "person:7" in str(row)


def test_writes_are_audited_without_template_or_ref(abis: BuiltinABIS, personas: Personas) -> None:
    enrolled, _ = faces(1, seed=4)
    abis.insert("person:8", enrolled[0], PERMANENT, actor=personas.nanchang_clerk)
    pk = BiometricTemplate.objects.get().pk
    abis.delete("person:8", PERMANENT)
    events = list(AuditEvent.objects.filter(object_type="template").order_by("id"))
    assert [(e.action, e.object_id) for e in events] == [
        ("biometrics.insert", str(pk)),
        ("biometrics.delete", str(pk)),
    ]
    assert events[0].actor_id == personas.nanchang_clerk.pk and events[1].actor_id is None
    assert events[0].detail["gallery"] == "permanent" and events[0].detail["format"] == FACE_FORMAT
    for event in events:
        assert "person:8" not in str(event.detail)
    changes = list(TemplateChange.objects.values_list("op", "template_id"))
    assert changes == [("insert", pk), ("delete", pk)]


def test_another_process_sees_inserts_and_deletes(abis: BuiltinABIS, tmp_path: Path) -> None:
    """Two engines on one database, like two gunicorn workers: the change log keeps both right."""
    other = BuiltinABIS(index_dir=tmp_path / "abis")
    enrolled, probes = faces(5, seed=5)
    abis.insert("person:0", enrolled[0], PERMANENT)
    assert other.identify(probes[0], PERMANENT)[0].ref_id == "person:0"
    abis.insert("person:1", enrolled[1], PERMANENT)
    abis.delete("person:0")
    assert [c.ref_id for c in other.identify(probes[1], PERMANENT)] == ["person:1"]
    assert other.identify(probes[0], PERMANENT) == []
    other.insert("person:2", enrolled[2], PERMANENT)
    assert abis.identify(probes[2], PERMANENT)[0].ref_id == "person:2"


def test_saved_index_survives_a_restart(
    abis: BuiltinABIS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrolled, probes = faces(30, seed=6)
    for i in range(20):
        abis.insert(f"person:{i}", enrolled[i], PERMANENT)
    abis.identify(probes[0], PERMANENT)
    abis.save(PERMANENT)
    # Changes after the save reach the restarted engine through the change log.
    for i in range(20, 30):
        abis.insert(f"person:{i}", enrolled[i], PERMANENT)
    abis.delete("person:0")
    restarted = BuiltinABIS(index_dir=tmp_path / "abis")
    built: list[Gallery] = []
    original_build = restarted._build

    def spy(gallery: Gallery) -> Any:
        built.append(gallery)
        return original_build(gallery)

    monkeypatch.setattr(restarted, "_build", spy)
    assert restarted.identify(probes[25], PERMANENT)[0].ref_id == "person:25"
    assert restarted.identify(probes[5], PERMANENT)[0].ref_id == "person:5"
    assert restarted.identify(probes[0], PERMANENT) == []
    assert built == []  # loaded from disk, not rebuilt
    assert restarted.index_info(PERMANENT)["count"] == 29


def test_missing_damaged_or_foreign_index_is_rebuilt_from_the_database(
    abis: BuiltinABIS, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    enrolled, probes = faces(10, seed=7)
    for i in range(10):
        abis.insert(f"person:{i}", enrolled[i], PERMANENT)
    abis.save(PERMANENT)
    index_dir = tmp_path / "abis" / "face-permanent"
    name = (index_dir / "CURRENT").read_text()

    def fresh_top(i: int) -> str:
        caplog.clear()
        with caplog.at_level("INFO", logger="tongban.biometrics.abis"):
            top = BuiltinABIS(index_dir=tmp_path / "abis").identify(probes[i], PERMANENT)[0].ref_id
        assert "rebuilding face index" in caplog.text
        return top

    # Damaged vectors file: checksum mismatch.
    vectors = index_dir / f"{name}.vectors.npy"
    blob = bytearray(vectors.read_bytes())
    blob[-3] ^= 0x55
    vectors.write_bytes(bytes(blob))
    assert fresh_top(3) == "person:3"
    # Missing altogether.
    for path in index_dir.iterdir():
        path.unlink()
    assert fresh_top(4) == "person:4"
    # A file that knows of changes the database never saw (a restored database): stale.
    stale = VectorIndex()
    stale.add(["person:ghost"], np.frombuffer(enrolled[5].data, dtype="<f4")[None, :])
    stale.meta = {"format": "face-index-1", "gallery": "permanent", "applied": 10**9}
    stale.save(index_dir)
    assert fresh_top(5) == "person:5"
    # A file of the right era whose contents disagree with the rows: counted, and rebuilt.
    wrong = VectorIndex()
    wrong.add(["person:ghost"], np.frombuffer(enrolled[6].data, dtype="<f4")[None, :])
    wrong.meta = {"format": "face-index-1", "gallery": "permanent", "applied": 0}
    wrong.save(index_dir)
    assert fresh_top(6) == "person:6"
    # And the rebuilt index was saved: the next start loads it.
    caplog.clear()
    with caplog.at_level("INFO", logger="tongban.biometrics.abis"):
        assert BuiltinABIS(index_dir=tmp_path / "abis").identify(probes[7], PERMANENT)[0].ref_id == "person:7"
    assert "rebuilding" not in caplog.text


def test_large_gallery_uses_ivf_and_still_finds_everyone(tmp_path: Path) -> None:
    abis = BuiltinABIS(index_dir=tmp_path / "abis", exact_max=100)
    enrolled, probes = faces(400, seed=8)
    for i, template in enumerate(enrolled):
        abis.insert(f"person:{i}", template, Gallery.APPLICATIONS)
    info = abis.rebuild(Gallery.APPLICATIONS)
    assert info["mode"] == "ivf" and info["count"] == 400
    found = [abis.identify(probes[i], Gallery.APPLICATIONS)[0].ref_id for i in range(0, 400, 7)]
    assert found == [f"person:{i}" for i in range(0, 400, 7)]
    abis.delete("person:7")
    assert abis.identify(probes[7], Gallery.APPLICATIONS) == []


def test_management_commands_print_json(
    abis: BuiltinABIS, tmp_path: Path, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "cmd"}  # type: ignore[attr-defined]
    enrolled, _ = faces(3, seed=9)
    for i in range(3):
        abis.insert(f"person:{i}", enrolled[i], WANTED)
    abis.insert("person:0", finger("11"), WANTED)
    call_command("biometrics", "count")
    counts = json.loads(capsys.readouterr().out)["counts"]
    assert counts["wanted"] == {"face": 3, "finger": 1, "total": 4}
    assert counts["permanent"]["total"] == 0
    call_command("biometrics", "rebuild-index", "--gallery", "wanted")
    rebuilt = json.loads(capsys.readouterr().out)["rebuilt"]
    assert rebuilt["wanted"]["count"] == 3 and rebuilt["wanted"]["mode"] == "exact"
    assert (tmp_path / "cmd" / "face-wanted" / "CURRENT").exists()


# Flushing after a transactional test would delete audit rows, which the database refuses.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_concurrent_inserts_of_distinct_refs(tmp_path: Path) -> None:
    abis = BuiltinABIS(index_dir=tmp_path / "abis")
    enrolled, probes = faces(40, seed=10)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for i in range(offset, 40, 2):
                abis.insert(f"person:{i}", enrolled[i], Gallery.FLOATING)
                abis.identify(probes[i], Gallery.FLOATING)
        except BaseException as exc:  # reported below; a thread's exception would vanish otherwise
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert abis.count(Gallery.FLOATING) == 40
    assert abis.index_info(Gallery.FLOATING)["count"] == 40
    assert all(abis.identify(probes[i], Gallery.FLOATING)[0].ref_id == f"person:{i}" for i in range(40))
    changes = list(TemplateChange.objects.filter(gallery="floating").values_list("id", flat=True))
    assert len(changes) == 40 == len(set(changes))
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


POSTGRESQL_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="transaction ids and snapshots are PostgreSQL's; SQLite commits one writer at a time",
)


class Writer(threading.Thread):
    """A transaction writing through `TemplateStore` that stays open until `release` is set
    (10 s at most)."""

    def __init__(self, write: Any) -> None:
        super().__init__()
        self.write = write
        self.written, self.release = threading.Event(), threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            with transaction.atomic():
                self.write(TemplateStore())
                self.written.set()
                self.release.wait(10)
        except BaseException as exc:  # reported by the test; a thread's exception would vanish
            self.errors.append(exc)
        finally:
            connection.close()

    def commit(self) -> None:
        self.release.set()
        self.join()
        assert self.errors == []


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_a_change_committing_late_still_reaches_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL draws a change's id at insert: person:1's change has the lower id but commits
    after person:2's, which the index has applied (and saved) meanwhile. The snapshot of that
    catch-up saw person:1's transaction running, so the next catch-up applies it, in this
    process and in one restarted from the saved index."""
    abis = BuiltinABIS(index_dir=tmp_path / "abis")
    enrolled, probes = faces(3, seed=11)
    abis.insert("person:0", enrolled[0], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:0"
    late = Writer(lambda store: store.insert("person:1", enrolled[1], PERMANENT))
    late.start()
    try:
        assert late.written.wait(10)
        abis.insert("person:2", enrolled[2], PERMANENT)
        assert abis.identify(probes[2], PERMANENT)[0].ref_id == "person:2"
        assert abis.identify(probes[1], PERMANENT) == []  # not committed yet
        abis.save(PERMANENT)
    finally:
        late.commit()
    ids = dict(TemplateChange.objects.values_list("ref_id", "id"))
    assert ids["person:1"] < ids["person:2"]
    xids = dict(TemplateChange.objects.values_list("ref_id", "xid"))
    assert None not in xids.values() and len(set(xids.values())) == 3  # one per writing transaction

    assert abis.identify(probes[1], PERMANENT)[0].ref_id == "person:1"
    restarted = BuiltinABIS(index_dir=tmp_path / "abis")
    monkeypatch.setattr(restarted, "_build", lambda gallery: pytest.fail("rebuilt instead of loaded"))
    assert restarted.identify(probes[1], PERMANENT)[0].ref_id == "person:1"
    assert restarted.index_info(PERMANENT)["count"] == 3
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_template_writers_do_not_wait_for_each_other() -> None:
    """While one transaction that wrote a template is still open, another inserts, replaces and
    deletes templates of other refs and commits: nothing orders the writers."""
    enrolled, _ = faces(4, seed=12)
    TemplateStore().insert("person:3", enrolled[3], PERMANENT)
    first = Writer(lambda store: store.insert("person:1", enrolled[0], PERMANENT))
    first.start()
    try:
        assert first.written.wait(10)
        started = time.monotonic()
        store = TemplateStore()
        with transaction.atomic():
            store.insert("person:2", enrolled[1], PERMANENT)
            store.insert("person:2", enrolled[2], PERMANENT)
            assert store.delete("person:3") == 1
        elapsed = time.monotonic() - started
        assert first.is_alive() and not first.release.is_set()  # the first one is still open
    finally:
        first.commit()
    assert elapsed < 5, f"the second writer waited {elapsed:.1f} s for the first one"
    assert set(BiometricTemplate.objects.values_list("ref_id", flat=True)) == {"person:1", "person:2"}
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_a_long_catch_up_goes_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tongban.biometrics.abis.SYNC_BATCH", 2)
    abis = BuiltinABIS(index_dir=tmp_path / "abis")
    enrolled, probes = faces(8, seed=18)
    abis.insert("person:0", enrolled[0], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:0"
    store = TemplateStore()
    for i in range(1, 7):
        store.insert(f"person:{i}", enrolled[i], PERMANENT)
    store.insert("person:3", enrolled[7], PERMANENT)  # replaced by another face
    store.delete("person:2")
    found = [[c.ref_id for c in abis.identify(probe, PERMANENT)] for probe in probes]
    assert found == [[f"person:{i}"] for i in (0, 1)] + [[], []] + [[f"person:{i}"] for i in (4, 5, 6, 3)]
    assert abis.index_info(PERMANENT)["count"] == 6
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


def commit_elsewhere() -> None:
    """Another transaction writes and commits (from another connection)."""

    def write() -> None:
        try:
            TemplateChange.objects.create(
                gallery=WANTED, modality=Modality.FACE, ref_id="other:1", op="insert"
            )
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join()


@POSTGRESQL_ONLY
@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_searches_inside_a_writing_transaction_see_its_writes_until_it_rolls_back(tmp_path: Path) -> None:
    """Searches inside the transaction that writes templates find each of them (its own rows),
    also after another transaction has committed meanwhile (PostgreSQL leaves the reader's own
    id out of its snapshot; the snapshot kept counts it as running). Once it rolls back, the
    next catch-up reads those refs again and drops them."""
    abis = BuiltinABIS(index_dir=tmp_path / "abis")
    enrolled, probes = faces(3, seed=13)
    abis.insert("person:0", enrolled[0], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:0"
    with pytest.raises(RuntimeError), transaction.atomic():
        abis.insert("person:1", enrolled[1], PERMANENT)
        commit_elsewhere()
        assert abis.identify(probes[1], PERMANENT)[0].ref_id == "person:1"
        abis.insert("person:2", enrolled[2], PERMANENT)
        assert abis.identify(probes[2], PERMANENT)[0].ref_id == "person:2"
        raise RuntimeError("the acceptance failed after the search")
    assert abis.identify(probes[1], PERMANENT) == [] and abis.identify(probes[2], PERMANENT) == []
    assert abis.index_info(PERMANENT)["count"] == 1
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


@pytest.mark.parametrize("text", ["100:110:", "100:110:102,105", "7:7:"])
def test_snapshot_text_round_trips(text: str) -> None:
    assert str(Snapshot.parse(text)) == text


@pytest.mark.parametrize("text", ["", "100:110", "110:100:", "100:110:99", "100:110:110", "a:b:", "0:0:"])
def test_malformed_snapshots_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Snapshot.parse(text)


def test_what_a_snapshot_sees() -> None:
    """Transactions below xmin had ended, those from xmax on had not begun, those listed were
    running; a row without xid (older than migration 0003) is seen by every snapshot."""
    snapshot = Snapshot.parse("100:110:102,105")
    assert [x for x in XIDS if snapshot.sees(x)] == [None, 1, 99, 100, 101, 103, 109]
    running = snapshot.running(103)
    assert str(running) == "100:110:102,103,105" and not running.sees(103)
    assert snapshot.running(102) == snapshot.running(110) == snapshot


XIDS: list[int | None] = [None, 1, 99, 100, 101, 102, 103, 105, 109, 110, 111, 5000]


@POSTGRESQL_ONLY
@pytest.mark.parametrize("text", ["100:110:102,105", "100:110:", "100:100:"])
def test_snapshot_conditions_agree_with_postgresql(text: str) -> None:
    """`Snapshot.sees` and its SQL conditions over the change log say what PostgreSQL's
    pg_visible_in_snapshot says."""
    snapshot = Snapshot.parse(text)
    for i, _ in enumerate(XIDS):
        TemplateChange.objects.create(gallery=PERMANENT, modality=Modality.FACE, ref_id=f"r:{i}", op="insert")
    for i, xid in enumerate(XIDS):  # the trigger sets xid at insert only
        TemplateChange.objects.filter(ref_id=f"r:{i}").update(xid=xid)
    seen_sql, seen_params = snapshot.seen_sql("xid")
    unseen_sql, unseen_params = snapshot.unseen_sql("xid")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xid, pg_visible_in_snapshot(xid::text::xid8, %s::pg_snapshot), {seen_sql}, {unseen_sql} "  # noqa: S608
            "FROM biometrics_templatechange WHERE ref_id LIKE 'r:%%'",
            [text, *seen_params, *unseen_params],
        )
        rows = cursor.fetchall()
    assert len(rows) == len(XIDS)
    for xid, postgresql, seen, unseen in rows:
        sees = snapshot.sees(xid)
        assert seen is sees and bool(unseen) is not sees, xid  # NULL: no row, as false
        assert postgresql is (None if xid is None else sees), xid


def test_an_index_file_of_the_old_format_is_rebuilt_in_the_new_one(
    abis: BuiltinABIS, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Format 1 (float32 rows, refs as text) is not read by this engine: the first search after
    the upgrade rebuilds the gallery from the database and saves it in the present format."""
    enrolled, probes = faces(4, seed=17)
    for i in range(4):
        abis.insert(f"person:{i}", enrolled[i], PERMANENT)
    abis.save(PERMANENT)
    index_dir = tmp_path / "abis" / "face-permanent"
    meta_path = index_dir / f"{(index_dir / 'CURRENT').read_text()}.meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(meta | {"format": 1}))
    with caplog.at_level("INFO", logger="tongban.biometrics.abis"):
        assert BuiltinABIS(index_dir=tmp_path / "abis").identify(probes[2], PERMANENT)[0].ref_id == "person:2"
    assert "another format" in caplog.text
    assert len(VectorIndex.load(index_dir, dim=128)) == 4


def test_an_index_saved_before_snapshots_were_kept_is_loaded_and_caught_up(
    abis: BuiltinABIS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index saved by the engine that ordered its change ids by a lock (meta without snapshot)
    is loaded, not rebuilt: its first catch-up reads the ids past its last one."""
    enrolled, probes = faces(5, seed=14)
    for i in range(3):
        abis.insert(f"person:{i}", enrolled[i], PERMANENT)
    abis.save(PERMANENT)
    index_dir = tmp_path / "abis" / "face-permanent"
    saved = VectorIndex.load(index_dir, dim=128)
    saved.meta = {key: saved.meta[key] for key in ("format", "gallery", "applied")}
    saved.save(index_dir)
    abis.insert("person:3", enrolled[3], PERMANENT)
    abis.delete("person:0")
    restarted = BuiltinABIS(index_dir=tmp_path / "abis")
    monkeypatch.setattr(restarted, "_build", lambda gallery: pytest.fail("rebuilt instead of loaded"))
    assert restarted.identify(probes[3], PERMANENT)[0].ref_id == "person:3"
    assert restarted.identify(probes[0], PERMANENT) == []
    assert restarted.index_info(PERMANENT)["count"] == 3
    restarted.insert("person:4", enrolled[4], PERMANENT)
    assert restarted.identify(probes[4], PERMANENT)[0].ref_id == "person:4"


@POSTGRESQL_ONLY
def test_changes_without_xid_count_as_seen(abis: BuiltinABIS) -> None:
    """Rows written before migration 0003 have no xid: older than any snapshot an index keeps,
    so a catch-up does not read them again (here one is made so after the fact, to be seen)."""
    enrolled, probes = faces(2, seed=15)
    abis.insert("person:0", enrolled[0], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:0"
    TemplateStore().insert("person:1", enrolled[1], PERMANENT)
    TemplateChange.objects.filter(ref_id="person:1").update(xid=None)
    assert abis.identify(probes[1], PERMANENT) == []


@POSTGRESQL_ONLY
def test_changes_with_transaction_ids_this_cluster_has_not_reached_wait_for_it(
    abis: BuiltinABIS, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row restored from a dump of another cluster may carry an xid this cluster has not
    reached: no snapshot sees it, but it is not read at every catch-up (only once this cluster's
    transactions have passed it)."""
    enrolled, probes = faces(1, seed=17)
    abis.insert("person:0", enrolled[0], PERMANENT)
    assert abis.identify(probes[0], PERMANENT)[0].ref_id == "person:0"
    TemplateChange.objects.create(gallery=PERMANENT, modality=Modality.FACE, ref_id="person:9", op="insert")
    TemplateChange.objects.filter(ref_id="person:9").update(xid=2**62)
    read: list[str] = []
    apply = abis._apply

    def spy(state: Any, refs: list[str]) -> None:
        read.extend(refs)
        apply(state, refs)

    monkeypatch.setattr(abis, "_apply", spy)
    abis.refresh()
    abis.refresh()
    assert "person:0" in read  # this test's own transaction is still open: read again each time
    assert "person:9" not in read


@POSTGRESQL_ONLY
def test_a_saved_snapshot_the_database_does_not_explain_is_rebuilt(
    abis: BuiltinABIS, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Transaction ids mean something within one PostgreSQL cluster and only up to its present:
    an index saved on another cluster (a dump restored elsewhere), or with a snapshot ahead of
    the database (a base backup restored), is rebuilt."""
    enrolled, probes = faces(2, seed=16)
    abis.insert("person:0", enrolled[0], PERMANENT)
    abis.save(PERMANENT)
    index_dir = tmp_path / "abis" / "face-permanent"
    saved = VectorIndex.load(index_dir, dim=128)
    assert set(saved.meta) >= {"snapshot", "cluster"}
    good = dict(saved.meta)
    ahead = Snapshot.parse(good["snapshot"])
    for meta, reason in [
        (good | {"cluster": "1"}, "another database cluster"),
        (good | {"snapshot": f"{ahead.xmin}:{ahead.xmax + 10**9}:"}, "newer than the database"),
        (good | {"snapshot": "nonsense"}, "not a snapshot"),
    ]:
        saved.meta = meta
        saved.save(index_dir)
        caplog.clear()
        with caplog.at_level("INFO", logger="tongban.biometrics.abis"):
            assert (
                BuiltinABIS(index_dir=tmp_path / "abis").identify(probes[0], PERMANENT)[0].ref_id
                == "person:0"
            )
        assert "rebuilding face index" in caplog.text and reason in caplog.text
