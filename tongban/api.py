"""Shared REST API pieces: the one error shape, the base permission, the caller (`staff`) and a
unit's reference in answers (`UnitRefSerializer`).

Every error is `{"code": "...", "message": "中文说明", "fields": {"field": [{"code", "message"}]}}`
with the HTTP status saying what kind of error it is. A service's refusal (core.errors.ServiceError)
answers in the same shape with the status the service chose (400 bad input, 404, 409 conflict).
"""

from __future__ import annotations

import datetime
import math
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, permissions, serializers

from tongban.accounts import limits
from tongban.core.errors import ServiceError
from tongban.errors import CSRF_ERROR

if TYPE_CHECKING:
    # rest_framework.views imports this module (through DEFAULT_PERMISSION_CLASSES) while it
    # loads, so it can only be imported lazily here.
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from tongban.accounts.models import User
    from tongban.registry.access import Viewer

_MESSAGES = {
    "not_authenticated": "未登录或令牌无效，请先获取令牌。",
    "authentication_failed": "身份认证失败。",
    "permission_denied": "无权执行此操作。",
    "not_found": "未找到。",
    "method_not_allowed": "不支持该请求方法。",
    "parse_error": "请求内容格式错误。",
    "unsupported_media_type": "不支持的请求内容类型。",
    "invalid": "输入有误，请检查标出的字段。",
}


class ApiError(exceptions.APIException):
    """A business-rule refusal with its own code, e.g. `ApiError("second_factor_required", ...)`."""

    status_code = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        fields: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(detail=message, code=code)
        self.error_code = code
        self.status_code = status
        self.fields = fields or {}
        self.wait = retry_after  # DRF's handler sends it as Retry-After (seconds)


def rate_limited(until: datetime.datetime) -> ApiError:
    """`429 rate_limited` for a public door's knock that was one too many (accounts.limits)."""
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    return ApiError("rate_limited", limits.wait_message(until), status=429, retry_after=wait)


def service_error(exc: ServiceError) -> ApiError:
    """A service's refusal in the API's shape: each field's message under the refusal's code."""
    fields = {name: [{"code": exc.code, "message": message}] for name, message in exc.fields.items()}
    return ApiError(exc.code, exc.message, status=exc.status, fields=fields)


def _field_errors(detail: Any, prefix: str = "") -> dict[str, Any]:
    """Flat: a nested serializer's field is named by its path, e.g. `fingers.0.image`."""
    if not isinstance(detail, dict):
        return {prefix or "non_field_errors": _error_list(detail)}
    errors: dict[str, Any] = {}
    for key, value in detail.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            errors.update(_field_errors(value, name))
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            # A list of nested objects: one error dict per item, empty for the items that passed.
            for index, item in enumerate(value):
                if item:
                    errors.update(_field_errors(item, f"{name}.{index}"))
        else:
            errors[name] = _error_list(value)
    return errors


def _error_list(value: Any) -> list[dict[str, str]]:
    items = value if isinstance(value, list) else [value]
    return [{"code": getattr(item, "code", "invalid"), "message": str(item)} for item in items]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, ServiceError):
        exc = service_error(exc)
    elif isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        # A browser session's call without its CSRF token (DRF's words are English).
        exc = ApiError(*CSRF_ERROR, status=403)
    elif isinstance(exc, RequestDataTooBig):
        # Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE before any field is read.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        exc = ApiError("too_large", f"请求内容过大，不能超过 {limit / (1024 * 1024):g} MB。", status=413)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body: dict[str, Any] = {"code": exc.error_code, "message": str(exc.detail), "fields": exc.fields}
    elif isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "message": _MESSAGES["invalid"], "fields": _field_errors(exc.detail)}
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = code if isinstance(code, str) else "error"
        body = {"code": code, "message": _MESSAGES.get(code, str(getattr(exc, "detail", ""))), "fields": {}}
    response.data = body
    return response


class Text(serializers.CharField):
    """A text field (of a body or a query) held to what its schema says: only a string (DRF's
    CharField also turns a number into text), and no longer than `max_length` as sent, before
    the spaces around it are trimmed."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return str(super().to_internal_value(data))


def query_of(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The query parameters as `serializer` validates them (`400 invalid` otherwise), read as a JSON
    body is read: an empty value (`?sort=`) is checked like any other instead of being taken for an
    absent one as in an HTML form, so the server refuses what the schema does."""
    query = serializer(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def require(viewer: Viewer, *actions: str) -> None:
    """`403 permission_denied` unless the caller's role holds one of `actions` at all: checked before
    any record is fetched, so a role that may never act answers the same whatever it names (a record
    outside the caller's jurisdiction is the selectors' `404 not_found`)."""
    if not any(viewer.can(action) for action in actions):
        raise exceptions.PermissionDenied()


FIRST_LOGIN_CODE = "password_change_required"
FIRST_LOGIN_MESSAGE = "须先设置密码：请在网页登录页用激活码登录并设置新密码。"


class IsVerifiedStaff(permissions.BasePermission):
    """Authenticated, bound to a unit, and past the second factor where their role needs one.

    Tokens are only issued after the second factor, so token requests pass; a browser session
    of an administrator who has not entered a TOTP code yet does not.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and getattr(user, "unit_id", None)):
            return False
        if getattr(user, "must_set_password", False):
            # A session signed in with an activation code (首次登录): only the password page works.
            self.code, self.message = FIRST_LOGIN_CODE, FIRST_LOGIN_MESSAGE
            return False
        if request.auth is None and getattr(user, "requires_second_factor", False):
            return bool(getattr(user, "is_verified", lambda: False)())
        return True


class UnitRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class _ReadOn(Protocol):
    @property
    def next_after(self) -> Any: ...


def page_answer(page: _ReadOn, results: Any) -> dict[str, Any]:
    """A keyset page's answer, as `api_schema.page_of` declares it: `{"results": [row…],
    "next_after": cursor or null}` (a list's own keys go around it)."""
    return {"results": results, "next_after": page.next_after}


def staff(request: Request) -> User:
    """The caller: IsVerifiedStaff has let only signed-in staff bound to a unit through."""
    return cast("User", request.user)
