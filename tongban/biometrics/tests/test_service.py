"""The engine service (`tongban abis serve`) and the `service` engine mode: real HTTP servers on
127.0.0.1 over the test database (committed, so that their own connections see it), the
existing HTTP adapters and `ServiceABIS` as clients, sharding by region prefix, a node that is
down, a restart that catches up from the change log, and the shared token."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction

from tongban.audit.actions import AuditAction
from tongban.audit.models import AuditEvent
from tongban.audit.services import record
from tongban.biometrics import engine
from tongban.biometrics.abis import BuiltinABIS, TemplateStore
from tongban.biometrics.client import ServiceABIS
from tongban.biometrics.face import FaceSDK
from tongban.biometrics.http import HttpABIS, HttpSDK
from tongban.biometrics.interfaces import BiometricError, Gallery, Modality, Sample, Template
from tongban.biometrics.models import BiometricTemplate, TemplateChange
from tongban.biometrics.service import EngineApp
from tongban.biometrics.shards import Shard, parse_nodes
from tongban.biometrics.tests.test_abis import faces, finger
from tongban.testing.processes import Engine, free_port

# Flushing after a transactional test would delete audit rows, which the database refuses.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)

PERMANENT = Gallery.PERMANENT
NANCHANG = "360102"  # 南昌市东湖区
GANZHOU = "360702"  # 赣州市章贡区


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        # A thread per request here (gunicorn keeps a fixed set): its connection goes with it.
        try:
            super().handle()
        finally:
            for conn in connections.all(initialized_only=True):
                conn.close()


class Node:
    """An engine node on a free port, in a thread of this process (its requests run on their
    own database connections, as in the real service)."""

    def __init__(self, abis: BuiltinABIS, *, token: str = "") -> None:
        self.abis = abis
        self.server = make_server(
            "127.0.0.1", 0, EngineApp(abis, token=token), server_class=_Server, handler_class=_Quiet
        )
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def raw(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1], timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, json.loads(response.read()), response
        finally:
            conn.close()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[list[Node]]:
    started: list[Node] = []
    yield started
    for node in started:
        node.stop()
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


def start(nodes: list[Node], tmp_path: Path, name: str, shard: Shard | None = None, **kw: Any) -> Node:
    node = Node(BuiltinABIS(index_dir=tmp_path / name, shard=shard), **kw)
    nodes.append(node)
    return node


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_service_mode_writes_here_and_searches_on_the_node(
    nodes: list[Node], tmp_path: Path, settings: Any
) -> None:
    node = start(nodes, tmp_path, "node")
    settings.BIOMETRICS = {**settings.BIOMETRICS, "ENGINE": "service", "NODES": node.url}
    engine.get_abis.cache_clear()
    engine.get_sdk.cache_clear()
    try:
        abis = engine.get_abis()
        assert isinstance(abis, ServiceABIS)
        # The SDK stays in the process; the gallery does not.
        assert isinstance(engine.get_sdk(Modality.FACE), FaceSDK)
        enrolled, probes = faces(6, seed=20)
        for i in range(5):
            abis.insert(f"person:{i}", enrolled[i], PERMANENT, region=NANCHANG)
        abis.insert("person:0", finger("11"), PERMANENT, region=NANCHANG)
        assert abis.count(PERMANENT) == 6
        assert [c.ref_id for c in abis.identify(probes[3], PERMANENT)] == ["person:3"]
        assert abis.identify(probes[5], PERMANENT) == []
        assert abis.delete("person:3", PERMANENT) == 1
        assert abis.identify(probes[3], PERMANENT) == []
        with pytest.raises(BiometricError) as excinfo:
            abis.identify(finger("11"), PERMANENT)
        assert excinfo.value.code == "unsupported"
        # Written in this process, with the audit rows; the node holds the index.
        assert BiometricTemplate.objects.filter(region=NANCHANG).count() == 5
        assert AuditEvent.objects.filter(action="biometrics.insert", object_type="template").count() >= 6
        assert node.abis.held()[PERMANENT.value]["count"] == 4
    finally:
        engine.get_abis.cache_clear()
        engine.get_sdk.cache_clear()


def test_a_write_commits_or_rolls_back_with_the_callers_transaction(
    nodes: list[Node], tmp_path: Path
) -> None:
    """As at the counter: the acceptance has written its audit rows (holding the chain's lock)
    when the template is stored. The template goes with the acceptance, whatever becomes of it."""
    node = start(nodes, tmp_path, "node")
    abis = ServiceABIS(node.url, timeout=2)
    enrolled, probes = faces(1, seed=26)
    started = time.monotonic()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(actor=None, action=AuditAction.DEMO_SEED)
        abis.insert("application:1", enrolled[0], Gallery.APPLICATIONS, region=NANCHANG)
        raise RuntimeError("the acceptance failed after the template was written")
    assert not BiometricTemplate.objects.exists() and not TemplateChange.objects.exists()
    assert abis.identify(probes[0], Gallery.APPLICATIONS) == []
    with transaction.atomic():
        record(actor=None, action=AuditAction.DEMO_SEED)
        abis.insert("application:1", enrolled[0], Gallery.APPLICATIONS, region=NANCHANG)
    assert [c.ref_id for c in abis.identify(probes[0], Gallery.APPLICATIONS)] == ["application:1"]
    assert time.monotonic() - started < 2  # nothing waited for a lock


def test_the_protocol_as_the_existing_http_adapters_speak_it(nodes: list[Node], tmp_path: Path) -> None:
    node = start(nodes, tmp_path, "node")
    abis = HttpABIS(node.url, timeout=5)
    enrolled, probes = faces(3, seed=21)
    abis.insert("person:1", enrolled[0], PERMANENT)
    abis.insert("person:2", enrolled[1], Gallery.WANTED)
    assert abis.count(PERMANENT) == 1 and abis.count(Gallery.WANTED) == 1
    found = abis.identify(probes[0], PERMANENT)
    assert [c.ref_id for c in found] == ["person:1"] and 0.92 <= found[0].score <= 1.0
    assert len(abis.identify(probes[2], PERMANENT, max_results=1, threshold=-1.0)) == 1
    assert abis.delete("person:2") == 1 and abis.count(Gallery.WANTED) == 0
    sdk = HttpSDK(node.url, timeout=5)
    results = sdk.match(enrolled[0], [probes[0], enrolled[1]])
    assert [r.matched for r in results] == [True, False] and results[0].threshold == 0.92
    blank = Sample(Modality.FACE, _blank_jpeg())
    with pytest.raises(BiometricError) as excinfo:
        sdk.extract_template(blank)  # 422 with the SDK's own code and Chinese message
    assert excinfo.value.code == "no_face" and "人脸" in excinfo.value.message
    quality = sdk.check_quality(blank)
    assert quality.passed is False and quality.reasons


def test_error_answers_have_the_protocol_shape(nodes: list[Node], tmp_path: Path) -> None:
    node = start(nodes, tmp_path, "node")
    json_headers = {"Content-Type": "application/json"}
    cases = [
        ("GET", "/abis/nowhere", None, 404, "not_found"),
        ("GET", "/abis/identify", None, 405, "method_not_allowed"),
        ("POST", "/abis/identify", b"{not json", 400, "bad_request"),
        ("POST", "/abis/identify", b"[1]", 400, "bad_request"),
        ("POST", "/abis/identify", json.dumps({"gallery": "mars"}).encode(), 400, "bad_request"),
        ("GET", "/abis/count?gallery=mars", None, 400, "bad_request"),
        (
            "POST",
            "/abis/delete",
            json.dumps({"ref_id": "person:1", "gallery": ["x"]}).encode(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/abis/identify",
            json.dumps(
                {"gallery": "permanent", "template": _wire(faces(1)[0][0]), "threshold": 10**400}
            ).encode(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/abis/identify",
            json.dumps(
                {"gallery": "permanent", "template": _wire(faces(1)[0][0]), "max_results": 0}
            ).encode(),
            400,
            "bad_request",
        ),
        (
            "POST",
            "/abis/identify",
            json.dumps({"gallery": "permanent", "template": _wire(finger("11"))}).encode(),
            400,
            "unsupported",
        ),
        (
            "POST",
            "/abis/insert",
            json.dumps({"ref_id": "", "gallery": "permanent", "template": _wire(faces(1)[0][0])}).encode(),
            400,
            "bad_ref",
        ),
    ]
    for method, path, body, status, code in cases:
        got, answer, _ = node.raw(method, path, body, json_headers)
        assert (got, answer["error"]["code"]) == (status, code), path
        assert any("\u4e00" <= ch <= "\u9fff" for ch in answer["error"]["message"])  # Chinese
    got, answer, _ = node.raw("POST", "/abis/identify", b"x" * 10, {})  # http.client sends a length
    assert got == 400
    conn = http.client.HTTPConnection("127.0.0.1", node.server.server_address[1], timeout=5)
    conn.putrequest("POST", "/abis/identify")
    conn.putheader("Content-Length", str(64 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and json.loads(response.read())["error"]["code"] == "bad_request"
    conn.close()


def test_two_nodes_by_region_prefix_and_a_merged_identify(nodes: list[Node], tmp_path: Path) -> None:
    spec = "3601={a},36={b}"
    a = start(nodes, tmp_path, "a")  # the shards are set below, once the URLs are known
    b = start(nodes, tmp_path, "b")
    config = parse_nodes(spec.format(a=a.url, b=b.url))
    a.abis.shard = Shard.of(("3601",), config)
    b.abis.shard = Shard.of(("36",), config)
    abis = ServiceABIS(spec.format(a=a.url, b=b.url), timeout=5)
    rng = np.random.default_rng(22)
    enrolled, probes = faces(8, seed=22)
    for i in range(4):
        abis.insert(f"person:{i}", enrolled[i], PERMANENT, region=NANCHANG)
        abis.insert(f"person:{i + 4}", enrolled[i + 4], PERMANENT, region=GANZHOU)
    # One face enrolled twice, once on each node: the merged answer ranks both by score.
    twin = np.frombuffer(enrolled[0].data, dtype="<f4") + 0.01 * rng.standard_normal(128).astype("<f4")
    abis.insert(
        "person:99", Template(Modality.FACE, enrolled[0].format, twin.tobytes()), PERMANENT, region=GANZHOU
    )
    found = abis.identify(probes[0], PERMANENT)
    assert sorted(c.ref_id for c in found) == ["person:0", "person:99"]
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert [c.ref_id for c in abis.identify(probes[6], PERMANENT)] == ["person:6"]
    everyone = abis.identify(probes[1], PERMANENT, max_results=5, threshold=-1.0)
    assert len(everyone) == 5 and everyone[0].ref_id == "person:1"
    assert [c.score for c in everyone] == sorted((c.score for c in everyone), reverse=True)
    # Each node holds only its own regions.
    assert a.abis.held()["permanent"]["count"] == 4 and b.abis.held()["permanent"]["count"] == 5
    assert a.raw("GET", "/abis/count?gallery=permanent")[1] == {"count": 4}
    assert a.raw("GET", "/health")[1]["shard"] == {"prefixes": ["3601"], "excluded": []}
    assert b.raw("GET", "/health")[1]["shard"] == {"prefixes": ["36"], "excluded": ["3601"]}
    # The household moved from Nanchang to Ganzhou: the template changes node.
    abis.insert("person:2", enrolled[2], PERMANENT, region=GANZHOU)
    assert [c.ref_id for c in abis.identify(probes[2], PERMANENT)] == ["person:2"]
    assert a.abis.held()["permanent"]["count"] == 3 and b.abis.held()["permanent"]["count"] == 6
    # A region no node takes is refused, and nothing is written.
    with pytest.raises(BiometricError) as excinfo:
        abis.insert("person:50", enrolled[5], PERMANENT, region="440300")
    assert excinfo.value.code == "engine_not_configured" and "440300" in excinfo.value.message
    assert not BiometricTemplate.objects.filter(ref_id="person:50").exists()


def test_a_node_that_is_down_is_an_error_never_no_match(nodes: list[Node], tmp_path: Path) -> None:
    a = start(nodes, tmp_path, "a")
    down = dead_url()
    spec = f"3601={a.url},3607={down}"
    a.abis.shard = Shard.of(("3601",), parse_nodes(spec))
    abis = ServiceABIS(spec, timeout=2)
    enrolled, probes = faces(3, seed=23)
    abis.insert("person:1", enrolled[0], PERMANENT, region=NANCHANG)  # its node answers
    TemplateStore().insert("person:2", enrolled[1], PERMANENT, region=GANZHOU)  # written meanwhile
    started = time.monotonic()
    for call in (
        lambda: abis.identify(probes[0], PERMANENT),  # the up node alone would find person:1
        lambda: abis.insert("person:3", enrolled[2], PERMANENT, region=GANZHOU),
        lambda: abis.delete("person:2", PERMANENT),
    ):
        with pytest.raises(BiometricError) as excinfo:
            call()
        assert excinfo.value.code == "engine_unavailable"
        assert "暂时不可用" in excinfo.value.message
    assert time.monotonic() - started < 5
    assert not BiometricTemplate.objects.filter(ref_id="person:3").exists()
    assert BiometricTemplate.objects.filter(ref_id="person:2").exists()
    # A node that accepts the connection and never answers is cut off at the deadline.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        stalled = ServiceABIS(f"3601={a.url},3607=http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(BiometricError) as excinfo:
            stalled.identify(probes[0], PERMANENT)
        assert excinfo.value.code == "engine_unavailable" and time.monotonic() - started < 2


def test_the_shared_token(nodes: list[Node], tmp_path: Path) -> None:
    node = start(nodes, tmp_path, "node", token="s3cret-token")
    enrolled, probes = faces(1, seed=24)
    good = ServiceABIS(node.url, timeout=5, token="s3cret-token")
    good.insert("person:1", enrolled[0], PERMANENT, region=NANCHANG)
    assert [c.ref_id for c in good.identify(probes[0], PERMANENT)] == ["person:1"]
    for token in ("wrong-token", ""):
        with pytest.raises(BiometricError) as excinfo:
            ServiceABIS(node.url, timeout=5, token=token).identify(probes[0], PERMANENT)
        assert excinfo.value.code == "engine_error" and "令牌" in excinfo.value.message
    with pytest.raises(BiometricError):  # refused before anything is written
        ServiceABIS(node.url, timeout=5, token="wrong-token").insert("person:2", enrolled[0], PERMANENT)
    assert not BiometricTemplate.objects.filter(ref_id="person:2").exists()
    status, answer, response = node.raw("GET", "/health", headers={"Authorization": "Bearer s3cret-tokeN"})
    assert status == 401 and answer["error"]["code"] == "unauthorized"
    assert response.getheader("WWW-Authenticate") == "Bearer"


def test_check_command_asks_every_node(
    nodes: list[Node], tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    node = start(nodes, tmp_path, "node")
    settings.BIOMETRICS = {**settings.BIOMETRICS, "NODES": f"3601={node.url},*={node.url}"}
    call_command("abis", "check")
    report = json.loads(capsys.readouterr().out)["nodes"]
    assert report["3601"]["ok"] and report["*"]["ok"]
    settings.BIOMETRICS = {**settings.BIOMETRICS, "NODES": f"3601={node.url},36={dead_url()}"}
    with pytest.raises(SystemExit) as excinfo:
        call_command("abis", "check")
    assert excinfo.value.code == 1
    assert json.loads(capsys.readouterr().out)["nodes"]["36"] == {
        "url": settings.BIOMETRICS["NODES"].split("36=")[1],
        "ok": False,
        "error": "engine_unavailable",
    }


# ---------------------------------------------------------------------------------------------
# The real command: gunicorn in a subprocess over the test database


def serve(tmp_path: Path, port: int, token: str) -> Engine:
    """`tongban abis serve` as an operator starts it, once every gallery is loaded."""
    log = tmp_path / f"serve-{time.monotonic_ns()}.log"
    served = Engine({}, log, port=port, index_dir=tmp_path / "served", token=token)
    deadline = time.monotonic() + 60
    while not served.ready():
        if not served.alive() or time.monotonic() > deadline:
            served.stop()
            raise AssertionError(f"tongban abis serve did not start:\n{served.output()}")
        time.sleep(0.1)
    return served


def test_the_real_service_restarts_and_catches_up_from_the_change_log(tmp_path: Path) -> None:
    token = "t0ken-for-the-test"
    port = free_port()
    served = serve(tmp_path, port, token)
    try:
        abis = ServiceABIS(served.url, timeout=5, token=token)
        enrolled, probes = faces(12, seed=25)
        for i in range(8):
            abis.insert(f"person:{i}", enrolled[i], PERMANENT, region=NANCHANG)
        assert [c.ref_id for c in abis.identify(probes[5], PERMANENT)] == ["person:5"]
        with pytest.raises(BiometricError) as excinfo:
            ServiceABIS(served.url, timeout=5, token="not-it").identify(probes[5], PERMANENT)
        assert excinfo.value.code == "engine_error"
    finally:
        first_log = served.stop()
    assert "rebuilding face index of gallery permanent" in first_log  # nothing saved before
    # While it is down: written by a job with the in-process engine; the service refuses.
    with pytest.raises(BiometricError) as excinfo:
        abis.insert("person:8", enrolled[8], PERMANENT, region=NANCHANG)
    assert excinfo.value.code == "engine_unavailable"
    store = TemplateStore()
    for i in range(8, 12):
        store.insert(f"person:{i}", enrolled[i], PERMANENT, region=NANCHANG)
    store.delete("person:5")
    served = serve(tmp_path, port, token)
    try:
        assert [c.ref_id for c in abis.identify(probes[10], PERMANENT)] == ["person:10"]
        assert abis.identify(probes[5], PERMANENT) == []
        assert [c.ref_id for c in abis.identify(probes[2], PERMANENT)] == ["person:2"]
        health = abis._client(served.url).get("/health", {})
        assert health["galleries"]["permanent"]["count"] == 11
    finally:
        second_log = served.stop()
    # Loaded from the files saved at shutdown, then caught up: not rebuilt.
    assert "rebuilding face index of gallery permanent" not in second_log, second_log
    for text in (first_log, second_log):
        assert enrolled[0].data.hex()[:16] not in text and "person:" not in text
    BiometricTemplate.objects.all().delete()
    TemplateChange.objects.all().delete()


def _wire(template: Template) -> dict[str, Any]:
    from tongban.biometrics.http import template_to_wire

    return template_to_wire(template)


def _blank_jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (358, 441), (255, 255, 255)).save(out, "JPEG")
    return out.getvalue()
