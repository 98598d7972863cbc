"""Error answers in Chinese in every mode: pages get the Chinese templates, /api/ gets the API's
error shape; `make run` never shows Django's debug page (tongban/errors.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from tongban import urls as project_urls
from tongban.testing.personas import Personas, api_client, login


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def _forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("只能由本单位维护本单位的联络人。")


def _forbidden_by_django(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


# This module doubles as a URLconf: the project's, plus views that fail.
urlpatterns = [
    path("boom/", _boom),
    path("api/v1/boom", _boom),
    path("forbidden/", _forbidden),
    path("forbidden-plain/", _forbidden_by_django),
    *project_urls.urlpatterns,
]
handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500

DJANGO_WORDS = ("Page not found", "URLconf", "Traceback", "Server Error", "Forbidden", "CSRF verification")


def _chinese_page(body: str, heading: str) -> None:
    assert f"<h1>{heading}" in body, body[:500]
    for words in DJANGO_WORDS:
        assert words not in body


@pytest.mark.django_db
def test_missing_page_is_the_chinese_404(client: Client, personas: Personas) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    _chinese_page(response.content.decode(), "未找到")
    login(client, personas.nanchang_clerk)
    response = client.get("/applications/999999/")
    assert response.status_code == 404
    _chinese_page(response.content.decode(), "未找到")


@pytest.mark.django_db
def test_missing_api_path_answers_in_the_error_shape(client: Client) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "未找到。", "fields": {}}


@pytest.mark.urls("tests.test_errors")
@pytest.mark.django_db
def test_a_failing_page_is_the_chinese_500_and_the_api_answers_json() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    _chinese_page(response.content.decode(), "系统错误")
    assert "a bug" not in response.content.decode()
    response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error" and "系统" in response.json()["message"]


@pytest.mark.urls("tests.test_errors")
@pytest.mark.django_db
def test_forbidden_pages_say_why_in_chinese(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_clerk)
    response = client.get("/forbidden/")
    assert response.status_code == 403
    _chinese_page(response.content.decode(), "无权访问")
    assert "只能由本单位维护本单位的联络人。" in response.content.decode()
    plain = client.get("/forbidden-plain/").content.decode()
    assert "您的岗位无权执行此操作" in plain


@pytest.mark.django_db
def test_a_bad_host_is_the_chinese_400(client: Client) -> None:
    response = client.get("/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    _chinese_page(response.content.decode(), "请求无效")
    api = client.get("/api/v1/units", HTTP_HOST="evil.example.com")
    assert api.status_code == 400 and api.json()["code"] == "bad_request"


@pytest.mark.django_db
def test_an_expired_form_is_the_chinese_csrf_page(personas: Personas) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    _chinese_page(response.content.decode(), "页面已过期")
    # A browser session calling the API without its token: the error shape, in Chinese.
    login(client, personas.nanchang_clerk)
    api = client.post("/api/v1/idnumbers/check", {"numbers": []}, content_type="application/json")
    assert api.status_code == 403
    assert api.json()["code"] == "csrf_failed" and "安全校验" in api.json()["message"]
    # A token is not a session: no CSRF check, no refusal.
    ok = api_client(personas.nanchang_clerk).post("/api/v1/idnumbers/check", {"numbers": []}, format="json")
    assert ok.status_code != 403


# --- The server `make run` starts, as a browser meets it -------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, **headers: str) -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (our own server)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own server)
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


@pytest.fixture(scope="module")
def make_run_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`tongban runserver` with what `make run` sets: no TONGBAN_DEBUG, no TONGBAN_ENV. Its database
    is an empty SQLite file, so every page that reads the database fails: a real 500."""
    var = tmp_path_factory.mktemp("make-run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TONGBAN_", "DJANGO_"))}
    env.update(TONGBAN_DATABASE_URL=f"sqlite:///{var / 'empty.sqlite3'}", TONGBAN_VAR_DIR=str(var))
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tongban", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the development server did not start") from None
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_make_run_serves_chinese_error_pages_and_static_files(make_run_server: str) -> None:
    status, _, body = _get(f"{make_run_server}/no-such-page/")
    assert status == 404
    _chinese_page(body, "未找到")
    # With a session cookie the page reads the session table, missing from the empty database.
    status, _, body = _get(f"{make_run_server}/accounts/login/", Cookie="sessionid=" + "s" * 32)
    assert status == 500
    _chinese_page(body, "系统错误")
    assert "no such table" not in body
    status, kind, body = _get(f"{make_run_server}/api/v1/units", Authorization="Token " + "t" * 40)
    assert (status, kind) == (500, "application/json")
    assert json.loads(body)["code"] == "server_error" and "no such table" not in body
    status, kind, body = _get(f"{make_run_server}/api/v1/no-such-thing")
    assert (status, kind) == (404, "application/json")
    assert json.loads(body)["code"] == "not_found"
    status, kind, body = _get(f"{make_run_server}/static/tongban/app.css")
    assert status == 200 and "text/css" in kind and body


@pytest.mark.parametrize(("debug", "expected"), [(None, "False"), ("1", "True"), ("false", "False")])
def test_debug_pages_are_opt_in(debug: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}
    if debug is not None:
        env["TONGBAN_DEBUG"] = debug
    result = subprocess.run(
        [sys.executable, "-c", "import tongban.settings as s; print(s.DEBUG)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == expected
