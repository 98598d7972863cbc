"""Error answers outside the views: Django's 400/403/404/500 handlers and the CSRF failure view.

Pages get the Chinese templates (`templates/400.html` …); anything under /api/ gets the API's one
error shape (`tongban/api.py`), never HTML. Django's own pages (its debug page with the URL list,
its English "CSRF verification failed") are only seen by a developer who turned TONGBAN_DEBUG on.
"""

from __future__ import annotations

import logging
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
CJK = re.compile(r"[\u4e00-\u9fff]")

# code, Chinese message: the API's shape for each status (listed in docs/api.md).
API_ERRORS = {
    400: ("bad_request", "请求无效，无法处理。"),
    403: ("permission_denied", "无权执行此操作。"),
    404: ("not_found", "未找到。"),
    500: ("server_error", "系统暂时无法处理该请求，请稍后重试；如问题持续，请联系系统管理员。"),
}
CSRF_ERROR = ("csrf_failed", "安全校验未通过：页面已过期或不是从本系统提交的。请刷新页面后重试。")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _api_error(status: int, code: str, message: str) -> JsonResponse:
    body = {"code": code, "message": message, "fields": {}}
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    response["Content-Language"] = "zh-hans"
    return response


def _page(request: HttpRequest, status: int, template: str, reason: str = "") -> HttpResponse:
    if _is_api(request):
        return _api_error(status, *API_ERRORS[status])
    return render(request, template, {"reason": reason}, status=status)


def _chinese(exception: Exception) -> str:
    """The exception's own message where ours wrote one in Chinese; Django's are English or empty."""
    message = str(exception.args[0]) if exception.args else ""
    return message if CJK.search(message) else ""


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # Without the request context: a bad Host fails before the session and the user are read.
    if _is_api(request):
        return _api_error(400, *API_ERRORS[400])
    return HttpResponse(loader.get_template("400.html").render(), status=400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, 403, "403.html", _chinese(exception))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _page(request, 404, "404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context and no database: whatever failed may fail again while rendering.
    if _is_api(request):
        return _api_error(500, *API_ERRORS[500])
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form posted from an expired page (or another site)."""
    logger.warning("CSRF check failed on %s: %s", request.path, reason)
    if _is_api(request):
        return _api_error(403, *CSRF_ERROR)
    return render(request, "403_csrf.html", status=403)
