"""The Content-Security-Policy header on every answer (Django 5.2 has none of its own; the other
security headers come from Django's SecurityMiddleware and the settings), and the bound on uploaded
files (BoundedUploadHandler)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class BoundedUploadHandler(FileUploadHandler):
    """Django's request body limit (DATA_UPLOAD_MAX_MEMORY_SIZE, TONGBAN_UPLOAD_MAX_BYTES) leaves
    out uploaded files, which it would write to a temporary file whatever their size. This first
    handler stops reading a file as soon as it passes that limit, so it never reaches memory, disk
    or a view: the request is refused as one whose body is too large (the API's `413 too_large`,
    a page's 400). Each endpoint also holds its own, smaller limit (`upload.size`) before it reads
    a byte."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and start + len(raw_data) > limit:
            raise RequestDataTooBig("Uploaded file exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
