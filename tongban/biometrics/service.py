"""The engine service: the built-in engine over the HTTP protocol of docs/biometrics-http.md,
once per machine (`tongban abis serve`), so that web processes hold no gallery.

`EngineApp` is a plain WSGI application (no Django view, middleware or session) answering the
ABIS and SDK endpoints of the protocol with one `BuiltinABIS`, which may index only the regions
of a shard (`shards.Shard`), and the in-process SDKs. `serve()` runs it on gunicorn: one worker
process holding the galleries, gthread threads for the requests, a background thread that loads
every gallery at start and then catches up with the change log every REFRESH_SECONDS, and the
indexes saved under INDEX_DIR when the worker exits.

With a token (`TONGBAN_ABIS_TOKEN`) every request must carry `Authorization: Bearer <token>`
(compared in constant time), or it is answered 401. Templates and samples are never logged:
no access log, and error logs name the path and the exception's type only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from django.db import DatabaseError, connections

from tongban.biometrics.abis import BuiltinABIS
from tongban.biometrics.http import template_to_wire
from tongban.biometrics.interfaces import BiometricError, BiometricSDK, Gallery, Modality, Sample, Template

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 32 * 1024 * 1024
MAX_MATCH_GALLERY = 1000
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")]

StartResponse = Callable[..., Any]


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# ---------------------------------------------------------------------------------------------
# Reading the wire


def _text(body: dict[str, Any], name: str, what: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"请求缺少有效的{what}（{name}）。")
    return value


def _gallery(value: Any) -> Gallery:
    try:
        return Gallery(value)
    except (ValueError, TypeError) as exc:
        raise BadRequest("比对库名称无效（应为 permanent、wanted、floating 或 applications）。") from exc


def _modality(value: Any) -> Modality:
    try:
        return Modality(value)
    except (ValueError, TypeError) as exc:
        raise BadRequest("生物特征类型无效（应为 face 或 finger）。") from exc


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise BadRequest(f"{what}数据应为 base64 文本。")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f"{what}数据不是有效的 base64。") from exc


def _position(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("指位代码应为文本。")
    return value


def _template(value: Any) -> Template:
    if not isinstance(value, dict):
        raise BadRequest("请求缺少有效的特征模板（template）。")
    fmt = value.get("format")
    if not isinstance(fmt, str):
        raise BadRequest("特征模板缺少格式（format）。")
    return Template(
        _modality(value.get("modality")),
        fmt,
        _bytes(value.get("data"), "特征模板"),
        _position(value.get("position")),
    )


def _sample(value: Any) -> Sample:
    if not isinstance(value, dict):
        raise BadRequest("请求缺少有效的采集样本（sample）。")
    return Sample(
        _modality(value.get("modality")),
        _bytes(value.get("data"), "采集样本"),
        _position(value.get("position")),
    )


def _threshold(value: Any) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError
        return float(value)
    except (ValueError, OverflowError) as exc:
        raise BadRequest("比对阈值应为数字或 null。") from exc


# ---------------------------------------------------------------------------------------------
# The application


class EngineApp:
    """WSGI: the ABIS and SDK endpoints of docs/biometrics-http.md, plus `GET /health`."""

    def __init__(
        self,
        abis: BuiltinABIS,
        *,
        token: str = "",
        sdk: Callable[[Modality], BiometricSDK] | None = None,
    ) -> None:
        self.abis = abis
        self._expected = f"Bearer {token}".encode() if token else b""
        self._sdk_factory = sdk or _builtin_sdk
        self._sdks: dict[Modality, BiometricSDK] = {}
        self._sdk_lock = threading.Lock()
        self.routes: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
            "/abis/insert": ("POST", self.insert),
            "/abis/identify": ("POST", self.identify),
            "/abis/delete": ("POST", self.delete),
            "/abis/count": ("GET", self.count),
            "/sdk/quality": ("POST", self.quality),
            "/sdk/extract": ("POST", self.extract),
            "/sdk/match": ("POST", self.match),
            "/health": ("GET", self.health),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # Each request thread keeps its database connection from one request to the next
        # (opening one costs more than a search); one that failed is closed and opened again.
        status, body, extra = self.handle(environ)
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = [*JSON_HEADERS, ("Content-Length", str(len(raw))), *extra]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [raw]

    def handle(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        path = environ.get("PATH_INFO") or "/"
        if not self._authorised(environ):
            return 401, _error("unauthorized", "访问令牌无效。"), [("WWW-Authenticate", "Bearer")]
        route = self.routes.get(path)
        if route is None:
            return 404, _error("not_found", "无此接口。"), []
        method, handler = route
        if environ.get("REQUEST_METHOD") != method:
            return 405, _error("method_not_allowed", f"该接口只接受 {method} 请求。"), [("Allow", method)]
        try:
            argument = self._body(environ) if method == "POST" else parse_qs(environ.get("QUERY_STRING", ""))
            return 200, handler(argument), []
        except BadRequest as exc:
            return exc.status, _error("bad_request", exc.message), []
        except BiometricError as exc:
            if exc.code.startswith("engine_"):
                return 503, _error(exc.code, exc.message), []
            # No usable features in a sample: 422, as the protocol says for /sdk/extract.
            return (422 if path == "/sdk/extract" else 400), _error(exc.code, exc.message), []
        except DatabaseError as exc:
            logger.error("engine service %s: database error %s", path, type(exc).__name__)
            _close_connections()
            return 503, _error("engine_unavailable", "比对服务无法访问数据库，请稍后重试。"), []
        except Exception:
            logger.exception("engine service %s failed", path)
            return 500, _error("engine_error", "比对服务内部错误，请联系系统管理员。"), []

    def _authorised(self, environ: dict[str, Any]) -> bool:
        if not self._expected:
            return True
        given = str(environ.get("HTTP_AUTHORIZATION", "")).encode("utf-8", "replace")
        return hmac.compare_digest(given, self._expected)

    def _body(self, environ: dict[str, Any]) -> dict[str, Any]:
        length_text = environ.get("CONTENT_LENGTH") or ""
        if not length_text.isdigit():
            raise BadRequest("请求需要 Content-Length。", 411)
        length = int(length_text)
        if length > MAX_REQUEST_BYTES:
            raise BadRequest(f"请求内容超过 {MAX_REQUEST_BYTES // 2**20} MiB。", 413)
        raw = environ["wsgi.input"].read(length)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BadRequest("请求内容不是有效的 JSON。") from exc
        if not isinstance(body, dict):
            raise BadRequest("请求内容应为 JSON 对象。")
        return body

    def _sdk(self, modality: Modality) -> BiometricSDK:
        with self._sdk_lock:
            if modality not in self._sdks:
                self._sdks[modality] = self._sdk_factory(modality)
            return self._sdks[modality]

    # ABIS -----------------------------------------------------------------------------------

    def insert(self, body: dict[str, Any]) -> dict[str, Any]:
        ref_id = _text(body, "ref_id", "对象标识")
        self.abis.insert(ref_id, _template(body.get("template")), _gallery(body.get("gallery")))
        return {"ok": True}

    def identify(self, body: dict[str, Any]) -> dict[str, Any]:
        max_results = body.get("max_results", 10)
        if isinstance(max_results, bool) or not isinstance(max_results, int):
            raise BadRequest("候选人数（max_results）应为整数。")
        found = self.abis.identify(
            _template(body.get("template")),
            _gallery(body.get("gallery")),
            max_results=max_results,
            threshold=_threshold(body.get("threshold")),
        )
        return {"candidates": [{"ref_id": c.ref_id, "score": round(c.score, 6)} for c in found]}

    def delete(self, body: dict[str, Any]) -> dict[str, Any]:
        ref_id = _text(body, "ref_id", "对象标识")
        gallery = body.get("gallery")
        return {"deleted": self.abis.delete(ref_id, None if gallery is None else _gallery(gallery))}

    def count(self, query: dict[str, list[str]]) -> dict[str, Any]:
        return {"count": self.abis.count(_gallery((query.get("gallery") or [""])[0]))}

    def health(self, query: dict[str, list[str]]) -> dict[str, Any]:
        return {"ok": True, "shard": self.abis.shard.describe(), "galleries": self.abis.held()}

    # SDK ------------------------------------------------------------------------------------

    def quality(self, body: dict[str, Any]) -> dict[str, Any]:
        sample = _sample(body.get("sample"))
        result = self._sdk(sample.modality).check_quality(sample)
        return {"score": result.score, "passed": result.passed, "reasons": list(result.reasons)}

    def extract(self, body: dict[str, Any]) -> dict[str, Any]:
        sample = _sample(body.get("sample"))
        return {"template": template_to_wire(self._sdk(sample.modality).extract_template(sample))}

    def match(self, body: dict[str, Any]) -> dict[str, Any]:
        probe = _template(body.get("probe"))
        raw = body.get("gallery")
        if not isinstance(raw, list) or len(raw) > MAX_MATCH_GALLERY:
            raise BadRequest(f"比对模板（gallery）应为最多 {MAX_MATCH_GALLERY} 个模板的列表。")
        results = self._sdk(probe.modality).match(probe, [_template(t) for t in raw])
        return {
            "results": [{"score": r.score, "matched": r.matched, "threshold": r.threshold} for r in results]
        }


def _close_connections() -> None:
    """This thread's database connections (the next query opens a fresh one)."""
    for conn in connections.all(initialized_only=True):
        conn.close()


def _builtin_sdk(modality: Modality) -> BiometricSDK:
    # Not engine.get_sdk: in "http" mode that would be an external engine.
    if modality == Modality.FACE:
        from tongban.biometrics.face import FaceSDK

        return FaceSDK()
    from tongban.biometrics.finger import FingerSDK

    return FingerSDK()


# ---------------------------------------------------------------------------------------------
# Keeping the galleries current between requests


class Refresher(threading.Thread):
    """Loads every gallery at start (a saved index plus the change log since, or a rebuild), then
    catches the loaded ones up with the change log every `interval` seconds, so that a search
    seldom waits for a burst of inserts."""

    def __init__(self, abis: BuiltinABIS, interval: float) -> None:
        super().__init__(name="tongban-abis-refresh", daemon=True)
        self.abis = abis
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            for gallery in Gallery:
                started = time.perf_counter()
                try:
                    info = self.abis.index_info(gallery)
                except Exception:
                    logger.exception("could not load the face index of gallery %s", gallery)
                    continue
                logger.info(
                    "face index of gallery %s ready: %s templates (%s) in %.1f s",
                    gallery,
                    info["count"],
                    info["mode"],
                    time.perf_counter() - started,
                )
            while not self.stopping.wait(self.interval):
                try:
                    self.abis.refresh()
                except Exception:  # the next round (or the next search) retries
                    logger.exception("face index catch-up failed")
                    _close_connections()
        finally:
            _close_connections()


def serve(
    abis: BuiltinABIS,
    *,
    bind: str,
    threads: int,
    token: str,
    refresh_seconds: float,
) -> None:
    """Run the engine service on gunicorn until it is stopped (SIGTERM/SIGINT)."""
    from gunicorn.app.base import BaseApplication

    app = EngineApp(abis, token=token)
    refresher: list[Refresher] = []

    def post_worker_init(worker: Any) -> None:
        thread = Refresher(abis, refresh_seconds)
        refresher.append(thread)
        thread.start()

    def worker_exit(server: Any, worker: Any) -> None:
        for thread in refresher:
            thread.stopping.set()
        abis.save_loaded()

    options: dict[str, Any] = {
        "bind": [bind],
        # One process holds the galleries; its threads answer the requests.
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        # Time to finish the requests and save the indexes changed since their last save.
        "graceful_timeout": 120,
        "keepalive": 5,
        "proc_name": "tongban-abis",
        "accesslog": None,  # request lines carry no personal data, but nothing is needed from them
        "errorlog": "-",
        "loglevel": "info",
        "post_worker_init": post_worker_init,
        "worker_exit": worker_exit,
    }

    class EngineServer(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)
            # gunicorn ≥ 25.1 opens a control socket under $HOME or $XDG_RUNTIME_DIR, one path for
            # every instance of the user (the web server's included): not for this service.
            if "control_socket_disable" in self.cfg.settings:
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    # The worker is forked: it must not share this process's database connections.
    connections.close_all()
    EngineServer().run()
