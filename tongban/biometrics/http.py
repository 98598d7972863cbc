"""Adapters to an external biometric engine: `HttpABIS` and `HttpSDK`, JSON over HTTP.

The wire protocol is in docs/biometrics-http.md. Configured by settings.BIOMETRICS["URL"],
["TIMEOUT_SECONDS"] and ["TOKEN"] (sent as a bearer token when set); standard library only.
`HttpClient` is also how `client.ServiceABIS` reaches the engine nodes of `tongban abis serve`.
Every call is bounded: connecting, sending and each read wait at most the time left of the
call's deadline, and the body is read in chunks against that deadline, so a slow or silent
engine turns into BiometricError("engine_unavailable"), never a hung clerk. Templates and
samples travel base64-encoded and are never logged.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings

from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.biometrics.interfaces import (
    ABIS,
    BiometricError,
    BiometricSDK,
    Candidate,
    Gallery,
    MatchResult,
    Modality,
    QualityResult,
    Sample,
    Template,
)

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
UNAVAILABLE_MESSAGE = "生物特征比对服务暂时不可用，请稍后重试；如持续出现请联系系统管理员。"
BAD_RESPONSE_MESSAGE = "生物特征比对服务返回了无法识别的结果，请联系系统管理员。"
NOT_CONFIGURED_MESSAGE = "未配置外部生物特征比对服务地址，请联系系统管理员。"
UNAUTHORIZED_MESSAGE = "生物特征比对服务拒绝了本系统的访问令牌，请联系系统管理员核对配置。"


def _unavailable() -> BiometricError:
    return BiometricError("engine_unavailable", UNAVAILABLE_MESSAGE)


def _bad_response() -> BiometricError:
    return BiometricError("engine_error", BAD_RESPONSE_MESSAGE)


class HttpClient:
    """POST/GET JSON to one engine base URL with a deadline per call."""

    def __init__(
        self, url: str | None = None, timeout: float | None = None, token: str | None = None
    ) -> None:
        config: dict[str, Any] = settings.BIOMETRICS
        base = (url if url is not None else config["URL"]).rstrip("/")
        if not base:
            raise BiometricError("engine_not_configured", NOT_CONFIGURED_MESSAGE)
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BiometricError("engine_not_configured", NOT_CONFIGURED_MESSAGE)
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path
        self.timeout = float(timeout if timeout is not None else config["TIMEOUT_SECONDS"])
        self._token = token if token is not None else str(config.get("TOKEN") or "")

    def get(self, path: str, query: dict[str, str]) -> Any:
        return self._call("GET", f"{path}?{urlencode(query)}" if query else path, None)

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        return self._call("POST", path, json.dumps(payload).encode())

    def _call(self, method: str, path: str, body: bytes | None) -> Any:
        deadline = time.monotonic() + self.timeout

        def left() -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            return remaining

        conn: http.client.HTTPConnection
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=left())
        try:
            headers = {"Accept": "application/json"}
            if self._token:
                headers["Authorization"] = f"Bearer {self._token}"
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, self.prefix + path, body=body, headers=headers)
            if conn.sock is not None:
                conn.sock.settimeout(left())
            response = conn.getresponse()
            declared = response.getheader("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
                raise _bad_response()
            chunks: list[bytes] = []
            size = 0
            while True:
                if conn.sock is not None:
                    conn.sock.settimeout(left())
                chunk = response.read1(65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise _bad_response()
                chunks.append(chunk)
            status = response.status
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            logger.warning(
                "biometric engine %s %s failed: %s", method, path.split("?")[0], type(exc).__name__
            )
            raise _unavailable() from exc
        finally:
            conn.close()
        return self._decode(status, b"".join(chunks), path.split("?")[0])

    def _decode(self, status: int, raw: bytes, path: str) -> Any:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        if status >= 500 or status in (408, 429):
            logger.warning("biometric engine %s answered %s", path, status)
            raise _unavailable()
        if status == 401:  # the token: a configuration fault, not the clerk's
            logger.warning("biometric engine %s refused the access token", path)
            raise BiometricError("engine_error", UNAUTHORIZED_MESSAGE)
        if status >= 400:
            error = data.get("error") if isinstance(data, dict) else None
            if isinstance(error, dict) and isinstance(error.get("code"), str):
                message = error.get("message")
                raise BiometricError(
                    error["code"], message if isinstance(message, str) else BAD_RESPONSE_MESSAGE
                )
            raise _bad_response()
        if not isinstance(data, dict):
            raise _bad_response()
        return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise _bad_response()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad_response() from exc


def template_to_wire(template: Template) -> dict[str, Any]:
    return {
        "modality": str(template.modality),
        "format": template.format,
        "position": template.position,
        "data": _b64(template.data),
    }


def template_from_wire(obj: Any) -> Template:
    try:
        position = obj.get("position")
        return Template(
            modality=Modality(obj["modality"]),
            format=str(obj["format"]),
            data=_unb64(obj["data"]),
            position=str(position) if position else None,
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise _bad_response() from exc


def sample_to_wire(sample: Sample) -> dict[str, Any]:
    return {"modality": str(sample.modality), "position": sample.position, "data": _b64(sample.data)}


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad_response()
    return float(value)


def candidates_from_wire(data: dict[str, Any]) -> list[Candidate]:
    """The candidates of an identify answer, best first."""
    raw = data.get("candidates")
    if not isinstance(raw, list):
        raise _bad_response()
    candidates: list[Candidate] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("ref_id"), str):
            raise _bad_response()
        candidates.append(Candidate(item["ref_id"], _number(item.get("score"))))
    candidates.sort(key=lambda c: -c.score)
    return candidates


class HttpABIS(ABIS):
    """The ABIS protocol against `{URL}/abis/...`."""

    def __init__(self, url: str | None = None, timeout: float | None = None) -> None:
        self.client = HttpClient(url, timeout)

    def insert(
        self, ref_id: str, template: Template, gallery: Gallery, *, actor: AuditActor | None = None
    ) -> None:
        self.client.post(
            "/abis/insert",
            {"ref_id": ref_id, "gallery": Gallery(gallery).value, "template": template_to_wire(template)},
        )
        # The external engine keeps no trail of ours: record the change here, as the built-in does.
        record(
            actor=actor,
            action=AuditAction.BIOMETRICS_INSERT,
            object_type="template",
            object_id=ref_id,
            detail={"gallery": Gallery(gallery).value, "modality": str(template.modality), "engine": "http"},
        )

    def identify(
        self, template: Template, gallery: Gallery, max_results: int = 10, threshold: float | None = None
    ) -> list[Candidate]:
        data = self.client.post(
            "/abis/identify",
            {
                "gallery": Gallery(gallery).value,
                "template": template_to_wire(template),
                "max_results": max_results,
                "threshold": threshold,
            },
        )
        return candidates_from_wire(data)[:max_results]

    def delete(self, ref_id: str, gallery: Gallery | None = None, *, actor: AuditActor | None = None) -> int:
        data = self.client.post(
            "/abis/delete", {"ref_id": ref_id, "gallery": Gallery(gallery).value if gallery else None}
        )
        deleted = int(_number(data.get("deleted")))
        record(
            actor=actor,
            action=AuditAction.BIOMETRICS_DELETE,
            object_type="template",
            object_id=ref_id,
            detail={
                "gallery": Gallery(gallery).value if gallery else None,
                "deleted": deleted,
                "engine": "http",
            },
        )
        return deleted

    def count(self, gallery: Gallery) -> int:
        data = self.client.get("/abis/count", {"gallery": Gallery(gallery).value})
        return int(_number(data.get("count")))


class HttpSDK(BiometricSDK):
    """The Biometric SDK protocol against `{URL}/sdk/...`."""

    def __init__(self, url: str | None = None, timeout: float | None = None) -> None:
        self.client = HttpClient(url, timeout)

    def check_quality(self, sample: Sample) -> QualityResult:
        data = self.client.post("/sdk/quality", {"sample": sample_to_wire(sample)})
        reasons = data.get("reasons", [])
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise _bad_response()
        passed = data.get("passed")
        if not isinstance(passed, bool):
            raise _bad_response()
        return QualityResult(sample.modality, _number(data.get("score")), passed, tuple(reasons))

    def extract_template(self, sample: Sample) -> Template:
        data = self.client.post("/sdk/extract", {"sample": sample_to_wire(sample)})
        return template_from_wire(data.get("template"))

    def match(self, probe: Template, gallery: Sequence[Template]) -> list[MatchResult]:
        data = self.client.post(
            "/sdk/match",
            {"probe": template_to_wire(probe), "gallery": [template_to_wire(t) for t in gallery]},
        )
        raw = data.get("results")
        if not isinstance(raw, list) or len(raw) != len(gallery):
            raise _bad_response()
        results: list[MatchResult] = []
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("matched"), bool):
                raise _bad_response()
            results.append(
                MatchResult(_number(item.get("score")), item["matched"], _number(item.get("threshold")))
            )
        return results
