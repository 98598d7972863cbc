"""The example deployment keeps ID numbers out of the access logs: gunicorn's access logger gets
the application's masking filter (an API client may search a list by number, `?q=`), and nginx
logs request paths without their query strings."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_gunicorn_masks_id_numbers_in_its_access_log(caplog: pytest.LogCaptureFixture) -> None:
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    access = logging.getLogger("gunicorn.access")
    before = list(access.filters)
    try:
        config["on_starting"](None)
        with caplog.at_level(logging.INFO, logger="gunicorn.access"):
            request = "GET /api/v1/handover/ready?q=36010219900101123X HTTP/1.1"
            atoms = {"h": "10.0.0.1", "t": "[now]", "r": request, "s": "200", "b": "10", "M": "3"}
            access.info(config["access_log_format"], atoms)
        assert "36010219900101123X" not in caplog.text and "360102********123X" in caplog.text
    finally:
        access.filters[:] = before


def test_nginx_logs_paths_without_query_strings() -> None:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert "access_log" in conf and " tongban;" in conf
    log_format = next(line for line in conf.splitlines() if line.startswith("log_format tongban"))
    assert "$uri" in log_format and "$request " not in log_format and "$request_uri" not in log_format
