"""The settings at start-up: production's guards, the JSON settings read into typed values, and
secrets read from files. Each case imports tongban.settings in a fresh interpreter, as a starting
process does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tongban.settings

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


# Every secret setting: how the settings show it, and what its file holds.
SECRETS = {
    "TONGBAN_SECRET_KEY": ("s.SECRET_KEY", "k" * 50),
    "TONGBAN_DATA_KEY": ("s.DATA_KEY.hex()", "ab" * 16),
    "TONGBAN_DATABASE_URL": (
        "s.DATABASES['default']['PASSWORD']",
        "postgresql://tongban:pa55@db:5432/tongban",
    ),
    "TONGBAN_REDIS_URL": ("s.HUEY['url']", "redis://:pa55@redis:6379/0"),
    "TONGBAN_EMAIL_PASSWORD": ("s.EMAIL_HOST_PASSWORD", "mail-pa55"),
    "TONGBAN_NOTIFICATIONS_WEBHOOK_SECRET": ("s.NOTIFICATIONS_WEBHOOK_SECRET", "hook-secret"),
    "TONGBAN_ABIS_TOKEN": ("s.BIOMETRICS['TOKEN']", "abis-token"),
    "TONGBAN_BACKUP_KEY": ("s.BACKUP_KEY.hex()", "cd" * 16),
    "TONGBAN_KEYS_PASSPHRASE": ("s.CARD_PRODUCTION['KEYS_PASSPHRASE']", "keys-pa55"),
}


def test_every_secret_setting_is_listed() -> None:
    """A secret added to the settings must be added above, so it is proven to come from a file too."""
    source = Path(tongban.settings.__file__).read_text(encoding="utf-8")
    assert set(re.findall(r'env_(?:secret|hex_key)\("(TONGBAN_\w+)"', source)) == set(SECRETS)


def test_every_secret_can_come_from_a_file(tmp_path: Path) -> None:
    env = {"TONGBAN_ENV": "production"}
    for name, (_, contents) in SECRETS.items():
        path = tmp_path / name.lower()
        path.write_text(f"{contents}\n", encoding="utf-8")  # as `echo` writes it: the newline is dropped
        env[f"{name}_FILE"] = str(path)
    result = _import_settings("\n".join(f"print({shown})" for shown, _ in SECRETS.values()), **env)
    assert result.returncode == 0, result.stderr
    expected = [contents for _, contents in SECRETS.values()]
    expected[2] = "pa55"  # the database URL's password
    assert result.stdout.splitlines() == expected


def test_a_secret_set_twice_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    path.write_text("k" * 50, encoding="utf-8")
    result = _import_settings(TONGBAN_SECRET_KEY="k" * 50, TONGBAN_SECRET_KEY_FILE=str(path))
    assert result.returncode != 0
    assert "TONGBAN_SECRET_KEY and TONGBAN_SECRET_KEY_FILE are both set" in result.stderr


def test_a_missing_secret_file_stops_start_up(tmp_path: Path) -> None:
    result = _import_settings(TONGBAN_DATA_KEY_FILE=str(tmp_path / "absent"))
    assert result.returncode != 0
    assert "TONGBAN_DATA_KEY_FILE: cannot read" in result.stderr


# A production process answering an HTTPS request behind nginx (X-Forwarded-Proto), printing what a
# browser gets: the headers and the CSRF cookie the login page sets, and the session cookie's rules.
_PRODUCTION_ANSWER = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
r = Client(HTTP_HOST="tongban.example.gov.cn", HTTP_X_FORWARDED_PROTO="https").get("/accounts/login/")
c = r.cookies["csrftoken"]
print(json.dumps({"status": r.status_code, "headers": dict(r.headers),
    "csrf_cookie": {"secure": c["secure"], "samesite": c["samesite"]},
    "session_cookie": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_SAMESITE,
                       settings.SESSION_COOKIE_HTTPONLY]}))
"""


def test_production_sends_the_security_headers_nginx_also_sends(tmp_path: Path) -> None:
    result = _import_settings(
        _PRODUCTION_ANSWER,
        DJANGO_SETTINGS_MODULE="tongban.settings",
        TONGBAN_ENV="production",
        TONGBAN_SECRET_KEY="s" * 50,
        TONGBAN_DATA_KEY="ab" * 16,
        TONGBAN_BEHIND_PROXY="true",
        TONGBAN_ALLOWED_HOSTS="tongban.example.gov.cn",
        TONGBAN_DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    headers = answer["headers"]
    assert answer["status"] == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert answer["csrf_cookie"] == {"secure": True, "samesite": "Lax"}
    assert answer["session_cookie"] == [True, "Lax", True]
    # deploy/nginx.conf adds the same headers to the static files it serves itself.
    conf = (Path(tongban.settings.BASE_DIR).parent / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    nginx = dict(re.findall(r'add_header ([\w-]+) "([^"]*)" always;', conf))
    assert nginx == {name: headers[name] for name in nginx}
    assert set(nginx) >= {
        "Strict-Transport-Security",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
    }


def test_development_sends_no_hsts_and_cookies_over_http() -> None:
    result = _import_settings("print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)")
    assert result.stdout.split() == ["0", "False", "False"]


def test_second_factor_roles_are_checked_at_start_up() -> None:
    result = _import_settings(
        "print(sorted(s.SECOND_FACTOR_ROLES))", TONGBAN_SECOND_FACTOR_ROLES="admin,clerk"
    )
    assert result.stdout.strip() == "['admin', 'clerk']"
    result = _import_settings(TONGBAN_SECOND_FACTOR_ROLES="admin,chief")
    assert result.returncode != 0 and "TONGBAN_SECOND_FACTOR_ROLES: unknown roles ['chief']" in result.stderr
