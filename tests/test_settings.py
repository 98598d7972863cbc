"""The settings at start-up: production's guards and the JSON settings read into typed values. Each
case imports tongban.settings in a fresh interpreter, as a starting process does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ENV = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_")}


def _import_settings(then: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """Imports the settings as `s` under `env` (and no other TONGBAN_* variable), then runs `then`."""
    return subprocess.run(  # noqa: S603 (this interpreter, the test's own code)
        [sys.executable, "-c", f"import tongban.settings as s\n{then}"],
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


def test_json_settings_are_typed_values_from_start_up() -> None:
    result = _import_settings(
        "print(s.FEES['renewal'], s.FEES['replacement'])\n"
        "print(s.PHOTO_STANDARD.sharpness_min, s.DEADLINES.review_days)",
        TONGBAN_FEES='{"renewal": "25"}',
        TONGBAN_PHOTO_STANDARD='{"sharpness_min": 40}',
        TONGBAN_REVIEW_DEADLINE_DAYS="3",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["25", "40", "40.0", "3"]


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"TONGBAN_FEES": "{renewal: 25}"}, "TONGBAN_FEES is not valid JSON"),
        ({"TONGBAN_FEES": '["renewal", 25]'}, "TONGBAN_FEES must be a JSON object"),
        ({"TONGBAN_FEES": '{"gold": 1}'}, "TONGBAN_FEES: bad fee table entry 'gold'"),
        ({"TONGBAN_FEES": '{"renewal": -5}'}, "TONGBAN_FEES: bad fee table entry 'renewal'"),
        ({"TONGBAN_FEES": '{"renewal": "free"}'}, "TONGBAN_FEES: bad fee table entry 'renewal'"),
        ({"TONGBAN_PHOTO_STANDARD": "{not json"}, "TONGBAN_PHOTO_STANDARD is not valid JSON"),
        ({"TONGBAN_PHOTO_STANDARD": "[1, 2]"}, "TONGBAN_PHOTO_STANDARD must be a JSON object"),
        ({"TONGBAN_PHOTO_STANDARD": '{"face_widht": 200}'}, "TONGBAN_PHOTO_STANDARD: unknown photo standard"),
        (
            {"TONGBAN_PHOTO_STANDARD": '{"face_width": "wide"}'},
            "TONGBAN_PHOTO_STANDARD: photo standard setting face_width must be a number",
        ),
    ],
)
def test_a_bad_json_setting_stops_start_up_naming_the_variable(env: dict[str, str], complaint: str) -> None:
    result = _import_settings(**env)
    assert result.returncode != 0
    assert f"django.core.exceptions.ImproperlyConfigured: {complaint}" in result.stderr


def test_a_bad_deadline_stops_start_up() -> None:
    result = _import_settings(TONGBAN_REVIEW_DEADLINE_DAYS="five")
    assert result.returncode != 0
    assert "TONGBAN_REVIEW_DEADLINE_DAYS must be an integer" in result.stderr
