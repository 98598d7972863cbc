"""Project-level behaviour: the CLI, the API schema (the settings: tests/test_settings.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client


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
    assert assets and all(url.startswith(("/static/", "/api/docs/?script")) for url in assets), assets
    # Its start-up script is a file of ours too: the Content-Security-Policy allows no inline one.
    assert "<script>" not in docs
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "/api/schema/" in script.content.decode()
