"""The audit context: what a service cannot know about the call it serves, set once per call.

A web request's client address is set by `AuditContextMiddleware`; the CLI and background work
run without one (no address). Services never take an `HttpRequest` for the audit's sake:
`services.record` reads the context. Each thread and each task sees its own (a ContextVar).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class AuditContext:
    remote_addr: str | None = None
    web: bool = False  # a web request: a row without an actor is a visitor's (公众), not the CLI's


_NONE = AuditContext()
_current: ContextVar[AuditContext] = ContextVar("tongban_audit_context", default=_NONE)


def current() -> AuditContext:
    return _current.get()


@contextmanager
def audit_context(*, remote_addr: str | None = None, web: bool = False) -> Iterator[AuditContext]:
    context = AuditContext(remote_addr=remote_addr, web=web)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def client_address(request: HttpRequest) -> str | None:
    # Behind nginx, the peer is the proxy; it passes the client's address as X-Real-IP
    # (deploy/nginx.conf). Trusted only when configured, or anyone could forge it.
    if settings.BEHIND_PROXY and request.META.get("HTTP_X_REAL_IP"):
        return str(request.META["HTTP_X_REAL_IP"])
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Every request's audit rows carry its client address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(remote_addr=client_address(request), web=True):
            return self.get_response(request)
