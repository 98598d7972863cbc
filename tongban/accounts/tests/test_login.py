from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tongban.accounts import services
from tongban.accounts.models import LoginFailure
from tongban.accounts.roles import ROLE_ACTIONS, SECOND_FACTOR_ROLES, Role, role_can, second_factor_required
from tongban.audit.models import AuditEvent
from tongban.testing.factories import PASSWORD
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def test_login_page_is_in_chinese(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert "登录" in page and "用户名" in page and "密码" in page


def test_anonymous_users_are_sent_to_login(client: Client) -> None:
    response = client.get("/people/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_clerk_logs_in_with_password(client: Client, personas: Personas) -> None:
    response = client.post("/accounts/login/", {"username": "nanchang_clerk", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert "受理员" in page and "东湖区城关派出所" in page
    assert AuditEvent.objects.filter(action="auth.login", actor_username="nanchang_clerk").exists()


def test_wrong_password_is_refused_in_chinese_and_audited(client: Client, personas: Personas) -> None:
    response = client.post("/accounts/login/", {"username": "nanchang_clerk", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_repeated_wrong_passwords_lock_the_username(client: Client, personas: Personas) -> None:
    for _ in range(5):
        client.post("/accounts/login/", {"username": "nanchang_clerk", "password": "wrong-password"})
    response = client.post("/accounts/login/", {"username": "nanchang_clerk", "password": PASSWORD})
    until = timezone.localtime(timezone.now() + datetime.timedelta(minutes=15))
    assert response.status_code == 429
    assert f"连续登录失败次数过多，请于 {until:%H:%M} 后再试" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_locked").exists()


def test_failures_are_counted_in_the_database_for_page_and_api_alike(personas: Personas) -> None:
    """Every process reads the same rows: failures through the token endpoint lock the page
    login of another client, and the lock ends when the oldest failure leaves the window."""
    api = APIClient()
    for _ in range(5):
        refused = api.post("/api/v1/auth/token", {"username": "Nanchang_Clerk", "password": "wrong"})
        assert refused.status_code == 401
    assert LoginFailure.objects.filter(username="nanchang_clerk").count() == 5
    page = Client().post("/accounts/login/", {"username": "nanchang_clerk", "password": PASSWORD})
    assert page.status_code == 429
    locked = api.post("/api/v1/auth/token", {"username": "nanchang_clerk", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "login_locked"
    assert "请于" in locked.json()["message"] and 0 < int(locked["Retry-After"]) <= 15 * 60
    # Another account from another address is not concerned.
    other = APIClient(REMOTE_ADDR="10.0.0.9")
    assert (
        other.post("/api/v1/auth/token", {"username": "ganzhou_clerk", "password": PASSWORD}).status_code
        == 200
    )
    later = timezone.now() + datetime.timedelta(minutes=15, seconds=1)
    assert services.login_locked_until(username="nanchang_clerk", address=None, now=later) is None


@override_settings(LOGIN_FAILURES_PER_ADDRESS=3)
def test_failures_from_one_address_lock_it_for_every_account(personas: Personas) -> None:
    api = APIClient(REMOTE_ADDR="10.1.2.3")
    for name in ("a1", "a2", "a3"):
        api.post("/api/v1/auth/token", {"username": name, "password": "wrong"})
    locked = api.post("/api/v1/auth/token", {"username": "nanchang_clerk", "password": PASSWORD})
    assert locked.status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="10.1.2.4")
    assert (
        elsewhere.post("/api/v1/auth/token", {"username": "nanchang_clerk", "password": PASSWORD}).status_code
        == 200
    )


def test_a_successful_login_forgives_the_account_its_failures(client: Client, personas: Personas) -> None:
    for _ in range(4):
        client.post("/accounts/login/", {"username": "nanchang_clerk", "password": "wrong-password"})
    assert (
        client.post("/accounts/login/", {"username": "nanchang_clerk", "password": PASSWORD}).status_code
        == 302
    )
    assert not LoginFailure.objects.filter(username="nanchang_clerk").exists()


def test_passwords_are_stored_hashed(personas: Personas) -> None:
    assert PASSWORD not in personas.nanchang_clerk.password
    assert personas.nanchang_clerk.check_password(PASSWORD)


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0)  # the test retries at once after a wrong code
def test_admin_must_enrol_totp_then_use_it(client: Client, personas: Personas) -> None:
    response = client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    assert response["Location"].startswith("/accounts/otp/")
    # Not verified yet: every page leads back to the second factor.
    assert client.get("/people/")["Location"].startswith("/accounts/otp/")
    setup = client.get("/accounts/otp/", follow=True)
    assert "绑定动态口令" in setup.content.decode() and "<svg" in setup.content.decode()
    device = TOTPDevice.objects.get(user=personas.admin, confirmed=False)
    bad = client.post("/accounts/otp/setup/", {"token": "000000" if _code(device) != "000000" else "111111"})
    assert "动态口令不正确" in bad.content.decode()
    client.post("/accounts/otp/setup/", {"token": _code(device)})
    assert client.get("/people/").status_code == 200
    # The next login asks for the code of the confirmed device.
    client.logout()
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    assert "动态口令验证" in client.get("/accounts/otp/").content.decode()
    device.refresh_from_db()
    device.last_t = -1  # allow the same 30-second code again in this test
    device.save()
    response = client.post("/accounts/otp/", {"token": _code(device), "next": "/people/"})
    assert response["Location"] == "/people/"


def test_repeated_wrong_codes_are_throttled(client: Client, personas: Personas) -> None:
    device = TOTPDevice.objects.create(user=personas.admin, name="t", confirmed=True)
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    wrong = "000000" if _code(device) != "000000" else "111111"
    client.post("/accounts/otp/", {"token": wrong})
    page = client.post("/accounts/otp/", {"token": _code(device)}).content.decode()
    assert "尝试过于频繁" in page


def test_open_redirects_are_refused(client: Client, personas: Personas) -> None:
    response = client.post(
        "/accounts/login/",
        {"username": "nanchang_clerk", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_api_token_needs_otp_for_admins(personas: Personas) -> None:
    api = APIClient()
    clerk = api.post(
        "/api/v1/auth/token", {"username": "nanchang_clerk", "password": PASSWORD}, format="json"
    )
    assert clerk.status_code == 200 and len(clerk.json()["token"]) == 40
    wrong = api.post("/api/v1/auth/token", {"username": "nanchang_clerk", "password": "nope"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    assert "不正确" in wrong.json()["message"]
    missing = api.post("/api/v1/auth/token", {"username": "admin", "password": PASSWORD}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (401, "second_factor_required")
    device = TOTPDevice.objects.create(user=personas.admin, name="t", confirmed=True)
    ok = api.post(
        "/api/v1/auth/token", {"username": "admin", "password": PASSWORD, "otp": _code(device)}, format="json"
    )
    assert ok.status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token " + ok.json()["token"])
    assert api.get("/api/v1/units").status_code == 200


def test_token_authenticates_and_bad_input_uses_the_error_shape(personas: Personas) -> None:
    api = APIClient()
    assert api.get("/api/v1/people").json()["code"] == "not_authenticated"
    bad = api.post("/api/v1/auth/token", {"username": ""}, format="json")
    assert bad.status_code == 400
    body = bad.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"username", "password"}
    assert all({"code", "message"} <= set(err) for errs in body["fields"].values() for err in errs)


def test_admin_session_without_second_factor_cannot_use_the_api(client: Client, personas: Personas) -> None:
    client.post("/accounts/login/", {"username": "admin", "password": PASSWORD})
    assert client.get("/api/v1/people").status_code == 403


def test_every_role_has_a_label_and_actions() -> None:
    assert set(ROLE_ACTIONS) == set(Role)
    assert all(role.label for role in Role)
    assert role_can("clerk", "person.lookup")
    assert not role_can("centre_operator", "person.browse")
    assert not role_can("nonsense", "person.browse")


def test_admin_pages_follow_the_role_and_audit_changes(client: Client, personas: Personas) -> None:
    assert client.get("/admin/login/")["Location"].startswith("/accounts/login/")
    login(client, personas.admin)
    assert client.get("/admin/registry/unit/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200
    response = client.post("/admin/registry/ethnicity/22/change/", {"code": "22", "name": "畲族"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.change")
    assert (event.object_type, event.object_id, event.detail) == (
        "registry.ethnicity",
        "22",
        {"fields": ["active"]},
    )
    client.logout()
    personas.nanchang_supervisor.is_staff = True  # even staff status opens nothing without the role
    personas.nanchang_supervisor.save()
    login(client, personas.nanchang_supervisor)
    assert client.get("/admin/registry/unit/").status_code == 403


def test_an_idle_session_ends_with_a_chinese_notice(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_clerk)
    assert client.get("/people/").status_code == 200
    session = client.session
    session["tongban_last_seen"] -= 30 * 60 + 1  # half an hour (the default) and a second ago
    session.save()
    response = client.get("/people/?q=1")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fpeople%2F%3Fq%3D1"
    page = client.get(response["Location"]).content.decode()
    assert "会话已超时，请重新登录" in page
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.session_idle", actor_username="nanchang_clerk").exists()


@override_settings(SESSION_IDLE_SECONDS=600)
def test_a_session_in_use_stays_and_the_api_answers_401_once_idle(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_clerk)
    client.get("/people/")
    session = client.session
    session["tongban_last_seen"] -= 590
    session.save()
    assert client.get("/people/").status_code == 200  # in use: the clock starts again
    assert client.session["tongban_last_seen"] >= session["tongban_last_seen"] + 590
    session = client.session
    session["tongban_last_seen"] -= 601
    session.save()
    assert client.get("/api/v1/people").status_code == 401


@pytest.mark.parametrize(
    ("role", "unit_kind", "required"),
    [
        ("admin", "province", True),
        ("auditor", "province", True),  # configured (TONGBAN_SECOND_FACTOR_ROLES's default)
        ("supervisor", "county", True),  # full records of a county
        ("supervisor", "city", True),
        ("reviewer", "county", True),
        ("distributor", "county", True),
        ("reviewer", "station", False),
        ("clerk", "station", False),
        ("campaign_manager", "city", False),  # masked lists only (person.browse)
        ("finance", "province", False),
        ("centre_operator", "centre", False),
    ],
)
def test_a_second_factor_for_full_records_of_a_county_or_more(
    role: str, unit_kind: str, required: bool
) -> None:
    assert second_factor_required(role, unit_kind, SECOND_FACTOR_ROLES) is required


def test_the_setting_adds_roles(client: Client, personas: Personas, settings: Any) -> None:
    assert not personas.nanchang_clerk.requires_second_factor
    settings.SECOND_FACTOR_ROLES = frozenset({"admin", "auditor", "clerk"})
    assert personas.nanchang_clerk.requires_second_factor
    response = client.post("/accounts/login/", {"username": "nanchang_clerk", "password": PASSWORD})
    assert response["Location"].startswith("/accounts/otp/")
    assert client.get("/people/")["Location"].startswith("/accounts/otp/")
    refused = APIClient().post("/api/v1/auth/token", {"username": "nanchang_clerk", "password": PASSWORD})
    assert refused.status_code == 401 and refused.json()["code"] == "second_factor_required"
