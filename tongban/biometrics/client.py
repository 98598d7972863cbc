"""The `service` engine mode: web processes and jobs hold no gallery; the engine nodes of
`tongban abis serve` (`service.py`) do, once per machine.

`ServiceABIS` writes like the built-in engine, in the caller's transaction: the template row, its
audit record (with the clerk) and its change-log row commit or roll back with the business action
that stores it, and the owning node catches up from the change log before its next search, exactly
as the in-process index does. Writing through the node's `/abis/insert` instead would be a second
transaction: on PostgreSQL the template outlives an acceptance rolled back after it (and its audit
record names the system), on SQLite it waits for the caller's write lock until the call times out
(and is written after all).

Before a face is written, its owning node (`shards.route` of the template's region) must answer,
or the write is refused with `engine_unavailable`: a region whose node is down takes no new faces
that it could not search. `identify` asks every node at once, each call bounded by the deadline,
and merges their candidates by score; a node that does not answer makes the whole search fail
with `engine_unavailable`, never a shorter list. `count` reads the database.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.conf import settings

from tongban.audit.services import AuditActor
from tongban.biometrics.abis import TemplateStore, _check_ref, _check_template, check_identify
from tongban.biometrics.http import (
    UNAVAILABLE_MESSAGE,
    HttpClient,
    candidates_from_wire,
    template_to_wire,
)
from tongban.biometrics.interfaces import ABIS, BiometricError, Candidate, Gallery, Modality, Template
from tongban.biometrics.models import BiometricTemplate
from tongban.biometrics.regions import ref_region
from tongban.biometrics.shards import Node, parse_nodes, route

NO_NODE_MESSAGE = "未配置负责该户籍地区划（{region}）的人像比对服务节点，请联系系统管理员。"
# Waiting for a node's thread beyond its own deadline (it is cut off at the deadline itself).
FAN_OUT_SLACK_SECONDS = 1.0


def _unavailable() -> BiometricError:
    return BiometricError("engine_unavailable", UNAVAILABLE_MESSAGE)


class ServiceABIS(TemplateStore, ABIS):
    """The ABIS of the engine nodes in settings.BIOMETRICS["NODES"] (`TONGBAN_ABIS_NODES`)."""

    def __init__(
        self, nodes: str | None = None, *, timeout: float | None = None, token: str | None = None
    ) -> None:
        super().__init__()
        config: dict[str, Any] = settings.BIOMETRICS
        self.nodes: tuple[Node, ...] = parse_nodes(nodes if nodes is not None else config["NODES"])
        self.timeout = float(timeout if timeout is not None else config["TIMEOUT_SECONDS"])
        self._token = token if token is not None else str(config.get("TOKEN") or "")
        self.urls = sorted({node.url for node in self.nodes})
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _client(self, url: str, deadline: float | None = None) -> HttpClient:
        timeout = self.timeout if deadline is None else deadline - time.monotonic()
        if timeout <= 0:
            raise _unavailable()
        return HttpClient(url, timeout, self._token)

    def _owner(self, region: str) -> str:
        node = route(self.nodes, region)
        if node is None:
            raise BiometricError("engine_not_configured", NO_NODE_MESSAGE.format(region=region or "未知"))
        return node.url

    def _check_up(self, url: str) -> None:
        answer = self._client(url).get("/health", {})
        if answer.get("ok") is not True:
            raise _unavailable()

    # -----------------------------------------------------------------------------------------
    # Writes: in the caller's transaction, once the owning node answers

    def insert(
        self,
        ref_id: str,
        template: Template,
        gallery: Gallery,
        *,
        actor: AuditActor | None = None,
        region: str | None = None,
    ) -> None:
        gallery = Gallery(gallery)
        _check_ref(ref_id)
        _check_template(template)
        if region is None:
            region = ref_region(ref_id)
        if template.modality == Modality.FACE:  # fingers are stored, never searched 1:N
            self._check_up(self._owner(region))
        super().insert(ref_id, template, gallery, actor=actor, region=region)

    def delete(self, ref_id: str, gallery: Gallery | None = None, *, actor: AuditActor | None = None) -> int:
        _check_ref(ref_id)
        galleries = [Gallery(gallery)] if gallery is not None else list(Gallery)
        regions = set(
            BiometricTemplate.objects.filter(
                ref_id=ref_id, gallery__in=galleries, modality=Modality.FACE
            ).values_list("region", flat=True)
        )
        # The nodes indexing the faces that go (a region no node takes is indexed nowhere).
        for url in sorted({node.url for r in regions if (node := route(self.nodes, r)) is not None}):
            self._check_up(url)
        return super().delete(ref_id, gallery, actor=actor)

    # -----------------------------------------------------------------------------------------
    # Search: every node at once

    def identify(
        self, template: Template, gallery: Gallery, max_results: int = 10, threshold: float | None = None
    ) -> list[Candidate]:
        gallery = Gallery(gallery)
        check_identify(template, max_results)
        payload = {
            "gallery": gallery.value,
            "template": template_to_wire(template),
            "max_results": max_results,
            "threshold": threshold,
        }
        deadline = time.monotonic() + self.timeout

        def ask(url: str) -> list[Candidate]:
            return candidates_from_wire(self._client(url, deadline).post("/abis/identify", payload))

        found = ask(self.urls[0]) if len(self.urls) == 1 else self._fan_out(ask, deadline)
        best: dict[str, float] = {}
        for candidate in found:  # a ref on two nodes (a node without the others' prefixes) once
            if candidate.score > best.get(candidate.ref_id, float("-inf")):
                best[candidate.ref_id] = candidate.score
        merged = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return [Candidate(ref_id, score) for ref_id, score in merged[:max_results]]

    def _fan_out(self, ask: Any, deadline: float) -> list[Candidate]:
        pool = self._executor()
        futures = [pool.submit(ask, url) for url in self.urls[1:]]
        found: list[Candidate] = []
        errors: list[BiometricError] = []
        try:  # the first node from this thread, the others from the pool meanwhile
            found.extend(ask(self.urls[0]))
        except BiometricError as error:
            errors.append(error)
        for future in futures:
            try:
                found.extend(
                    future.result(timeout=max(0.0, deadline - time.monotonic()) + FAN_OUT_SLACK_SECONDS)
                )
            except BiometricError as error:
                errors.append(error)
            except FutureTimeout:
                future.cancel()
                errors.append(_unavailable())
        if errors:
            # A node down makes the search fail as a whole: fewer nodes would mean missed matches.
            raise next((e for e in errors if e.code == "engine_unavailable"), errors[0])
        return found

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                # Enough for the threads of a gunicorn worker asking every other node at once.
                self._pool = ThreadPoolExecutor(
                    max_workers=8 * (len(self.urls) - 1), thread_name_prefix="tongban-abis-fanout"
                )
            return self._pool
