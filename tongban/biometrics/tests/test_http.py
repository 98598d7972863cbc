"""The HTTP adapters against a real HTTP server on 127.0.0.1 that speaks the protocol of
docs/biometrics-http.md (templates kept in memory, cosine scores), including the failures an
engine can have: slow, down, erroring, or talking nonsense."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from tongban.audit.models import AuditEvent
from tongban.biometrics.http import HttpABIS, HttpSDK
from tongban.biometrics.interfaces import BiometricError, Gallery, Modality, Sample, Template


class FakeEngine(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.galleries: dict[str, dict[str, np.ndarray]] = {}
        self.delay = 0.0
        self.release = threading.Event()  # cuts a delay short at tear-down
        self.override: tuple[int, bytes] | None = None  # (status, body) answered to everything
        self.requests: list[tuple[str, str, Any]] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up early (timeouts, oversized answers) are the point of some tests

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/engine"


def _vector(wire: dict[str, Any]) -> np.ndarray:
    v = np.frombuffer(base64.b64decode(wire["data"]), dtype="<f4")
    return v / np.linalg.norm(v)


class Handler(BaseHTTPRequestHandler):
    server: FakeEngine

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: Any) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.requests.append(("GET", parts.path, parse_qs(parts.query)))
        if self._special():
            return
        if parts.path == "/engine/abis/count":
            gallery = parse_qs(parts.query)["gallery"][0]
            self._answer(200, {"count": len(self.server.galleries.get(gallery, {}))})
        else:
            self._answer(404, {"error": {"code": "not_found", "message": "无此接口"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        path = urlsplit(self.path).path
        self.server.requests.append(("POST", path, body))
        if self._special():
            return
        galleries = self.server.galleries
        if path == "/engine/abis/insert":
            galleries.setdefault(body["gallery"], {})[body["ref_id"]] = _vector(body["template"])
            self._answer(200, {"ok": True})
        elif path == "/engine/abis/identify":
            probe = _vector(body["template"])
            threshold = body["threshold"] if body["threshold"] is not None else 0.9
            scored = [(ref, float(v @ probe)) for ref, v in galleries.get(body["gallery"], {}).items()]
            scored = sorted((s for s in scored if s[1] >= threshold), key=lambda s: -s[1])
            cands = [{"ref_id": r, "score": s} for r, s in scored[: body["max_results"]]]
            self._answer(200, {"candidates": cands})
        elif path == "/engine/abis/delete":
            names = [body["gallery"]] if body["gallery"] else list(galleries)
            deleted = sum(galleries.get(g, {}).pop(body["ref_id"], None) is not None for g in names)
            self._answer(200, {"deleted": deleted})
        elif path == "/engine/sdk/quality":
            size = len(base64.b64decode(body["sample"]["data"]))
            passed = size >= 10
            self._answer(
                200, {"score": min(100, size), "passed": passed, "reasons": [] if passed else ["图像过小"]}
            )
        elif path == "/engine/sdk/extract":
            data = base64.b64decode(body["sample"]["data"])
            if data == b"no face":
                self._answer(422, {"error": {"code": "no_face", "message": "相片中未检测到人脸。"}})
                return
            vector = np.frombuffer(data[:512].ljust(512, b"\1"), dtype="<f4")
            template = {"modality": "face", "format": "dlib-128-f32", "position": None}
            template["data"] = base64.b64encode(vector.astype("<f4").tobytes()).decode()
            self._answer(200, {"template": template})
        elif path == "/engine/sdk/match":
            probe = _vector(body["probe"])
            scores = [float(_vector(t) @ probe) for t in body["gallery"]]
            self._answer(
                200, {"results": [{"score": s, "matched": s >= 0.9, "threshold": 0.9} for s in scores]}
            )
        else:
            self._answer(404, {"error": {"code": "not_found", "message": "无此接口"}})

    def _special(self) -> bool:
        if self.server.delay:
            self.server.release.wait(self.server.delay)
        if self.server.override is not None:
            status, raw = self.server.override
            self._answer(status, raw)
            return True
        return False


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    server = FakeEngine()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def face(seed: int, noise: float = 0.0) -> Template:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(128)
    if noise:
        base = (
            base
            + noise * np.random.default_rng(seed + 1000).standard_normal(128) * np.linalg.norm(base) / 11.3
        )
    return Template(Modality.FACE, "dlib-128-f32", (base / np.linalg.norm(base)).astype("<f4").tobytes())


@pytest.mark.django_db  # writes are audited locally
def test_abis_round_trip(engine: FakeEngine) -> None:
    abis = HttpABIS(engine.url, timeout=2)
    abis.insert("person:1", face(1), Gallery.PERMANENT)
    abis.insert("person:2", face(2), Gallery.PERMANENT)
    abis.insert("person:1", face(1), Gallery.WANTED)
    assert abis.count(Gallery.PERMANENT) == 2 and abis.count(Gallery.FLOATING) == 0
    candidates = abis.identify(face(1, noise=0.2), Gallery.PERMANENT)
    assert [c.ref_id for c in candidates] == ["person:1"] and 0.9 < candidates[0].score <= 1.0
    assert len(abis.identify(face(1), Gallery.PERMANENT, max_results=1, threshold=-1.0)) == 1
    assert abis.delete("person:1", Gallery.PERMANENT) == 1
    assert abis.delete("person:1") == 1
    assert abis.count(Gallery.WANTED) == 0
    # What went over the wire: base64 templates, gallery names, the caller's threshold.
    method, _, body = next(r for r in engine.requests if r[1].endswith("/identify"))
    assert method == "POST" and body["gallery"] == "permanent" and body["max_results"] == 10
    assert body["threshold"] is None and base64.b64decode(body["template"]["data"]) == face(1, noise=0.2).data
    assert ("GET", "/engine/abis/count", {"gallery": ["permanent"]}) in engine.requests
    # The external engine keeps no trail of ours: every write is audited here too.
    trail = AuditEvent.objects.filter(action__startswith="biometrics.").order_by("id")
    assert [(e.action, e.object_id) for e in trail] == [
        ("biometrics.insert", "person:1"),
        ("biometrics.insert", "person:2"),
        ("biometrics.insert", "person:1"),
        ("biometrics.delete", "person:1"),
        ("biometrics.delete", "person:1"),
    ]


def test_sdk_round_trip(engine: FakeEngine) -> None:
    sdk = HttpSDK(engine.url + "/", timeout=2)
    good = sdk.check_quality(Sample(Modality.FACE, b"\xff\xd8" + b"x" * 100))
    assert good.passed and good.score == 100 and good.modality == Modality.FACE
    bad = sdk.check_quality(Sample(Modality.FINGER, b"tiny", position="11"))
    assert not bad.passed and bad.reasons == ("图像过小",)
    template = sdk.extract_template(Sample(Modality.FACE, b"photo bytes" * 60))
    assert (
        template.modality == Modality.FACE and template.format == "dlib-128-f32" and len(template.data) == 512
    )
    with pytest.raises(BiometricError) as excinfo:
        sdk.extract_template(Sample(Modality.FACE, b"no face"))
    assert (excinfo.value.code, excinfo.value.message) == ("no_face", "相片中未检测到人脸。")
    results = sdk.match(face(5), [face(5, noise=0.2), face(6)])
    assert [r.matched for r in results] == [True, False] and results[0].threshold == 0.9


def test_a_slow_engine_times_out_instead_of_hanging(engine: FakeEngine) -> None:
    engine.delay = 10.0
    abis = HttpABIS(engine.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(BiometricError) as excinfo:
        abis.identify(face(1), Gallery.PERMANENT)
    elapsed = time.monotonic() - started
    assert excinfo.value.code == "engine_unavailable"
    assert "暂时不可用" in excinfo.value.message
    assert elapsed < 1.5


def test_a_trickling_engine_is_cut_off_at_the_deadline() -> None:
    """Headers at once, then one byte every 0.1 s: each read is quick, the whole is not."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        while not stop.wait(0.1):
            try:
                conn.sendall(b" ")
            except OSError:
                break
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        abis = HttpABIS(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(BiometricError) as excinfo:
            abis.count(Gallery.PERMANENT)
        assert excinfo.value.code == "engine_unavailable"
        assert time.monotonic() - started < 1.5
    finally:
        stop.set()
        listener.close()


def test_an_engine_that_is_down(engine: FakeEngine) -> None:
    port = engine.server_address[1]
    engine.shutdown()
    engine.server_close()
    with pytest.raises(BiometricError) as excinfo:
        HttpABIS(f"http://127.0.0.1:{port}", timeout=1).count(Gallery.PERMANENT)
    assert excinfo.value.code == "engine_unavailable"


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (500, b'{"error": {"code": "boom", "message": "x"}}', "engine_unavailable"),
        (503, b"", "engine_unavailable"),
        (200, b"not json", "engine_error"),
        (200, b"[1, 2]", "engine_error"),
        (200, b'{"candidates": [{"ref_id": 5, "score": 1}]}', "engine_error"),
        (200, b'{"candidates": [{"ref_id": "a", "score": "high"}]}', "engine_error"),
        (400, '{"error": {"code": "bad_template", "message": "模板无效。"}}'.encode(), "bad_template"),
        (400, b"<html>bad request</html>", "engine_error"),
    ],
)
def test_engine_errors_become_biometric_errors(
    engine: FakeEngine, status: int, body: bytes, code: str
) -> None:
    engine.override = (status, body)
    with pytest.raises(BiometricError) as excinfo:
        HttpABIS(engine.url, timeout=2).identify(face(1), Gallery.PERMANENT)
    assert excinfo.value.code == code
    assert excinfo.value.message


def test_oversized_answers_are_refused(engine: FakeEngine) -> None:
    engine.override = (200, b'{"count": 1, "pad": "' + b"x" * (17 * 1024 * 1024) + b'"}')
    with pytest.raises(BiometricError) as excinfo:
        HttpABIS(engine.url, timeout=5).count(Gallery.PERMANENT)
    assert excinfo.value.code == "engine_error"


@pytest.mark.parametrize("url", ["", "ftp://engine.local", "file:///etc/passwd", "http://"])
def test_unusable_urls_are_refused(url: str) -> None:
    with pytest.raises(BiometricError) as excinfo:
        HttpABIS(url)
    assert excinfo.value.code == "engine_not_configured"


def test_settings_configure_url_and_timeout(engine: FakeEngine, settings: Any) -> None:
    settings.BIOMETRICS = {**settings.BIOMETRICS, "URL": engine.url, "TIMEOUT_SECONDS": 0.2}
    abis = HttpABIS()
    assert abis.client.timeout == 0.2
    assert abis.count(Gallery.PERMANENT) == 0
