"""Project-level behaviour: settings guards, the CLI, the API schema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client

ENV = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import tongban.settings"],
        env={**ENV, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "TONGBAN_SECRET_KEY"),
        ({"TONGBAN_SECRET_KEY": "x" * 50, "TONGBAN_DEBUG": "true", "TONGBAN_DATA_KEY": "ab" * 16}, "DEBUG"),
        ({"TONGBAN_SECRET_KEY": "x" * 50}, "TONGBAN_DATA_KEY"),
    ],
)
def test_production_refuses_development_secrets_and_debug(env: dict[str, str], complaint: str) -> None:
    result = _import_settings(TONGBAN_ENV="production", **env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_production_starts_with_real_secrets() -> None:
    result = _import_settings(
        TONGBAN_ENV="production", TONGBAN_SECRET_KEY="s" * 50, TONGBAN_DATA_KEY="ab" * 16
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"TONGBAN_BATCH_CENTRES": "360700901=200"}, "TONGBAN_BATCH_CENTRES: '360700901=200'"),
        ({"TONGBAN_BATCH_CENTRES": "360700901=0/8"}, "TONGBAN_BATCH_CENTRES"),
        ({"TONGBAN_DRAFT_MAX_AGE_DAYS": "0"}, "TONGBAN_DRAFT_MAX_AGE_DAYS"),
    ],
)
def test_a_malformed_schedule_setting_stops_start_up(env: dict[str, str], complaint: str) -> None:
    result = _import_settings(**env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_cli_lists_the_project_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tongban", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    for command in ("units", "registry", "idnumber", "demo", "audit", "migrate"):
        assert command in result.stdout


def test_idnumber_check_prints_one_json_object_per_input(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("idnumber", "check", "11010519491231002x", "360102199005171230", "abc")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["input"] for line in lines] == ["11010519491231002x", "360102199005171230", "abc"]
    first = lines[0]
    assert first == {
        "input": "11010519491231002x",
        "valid": True,
        "normalized": "11010519491231002X",
        "region_code": "110105",
        "region_name": "北京市朝阳区",
        "birth_date": "1949-12-31",
        "sex": "2",
        "errors": [],
    }
    assert lines[2]["valid"] is False and lines[2]["errors"][0]["code"] == "invalid_length"


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served_locally(client: Client) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/people/lookup" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger" in docs.lower()
    # Every script, stylesheet and icon is served by us (a bare "cdn" search also matched the
    # random CSRF token now and then).
    assets = re.findall(r'(?:src|href)="([^"]*)"', docs)
    assert assets and all(url.startswith("/static/") for url in assets), assets
