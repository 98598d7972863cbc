"""首次登录: an account created by an administrator signs in with its one-time activation code and
can do nothing but set its own password; the API refuses it until then."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tongban.accounts import services
from tongban.accounts.models import User
from tongban.accounts.services import AccountInput
from tongban.audit.models import AuditEvent
from tongban.testing.factories import PASSWORD
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Hongqi-Road-18"


def _new(personas: Personas, role: str = "clerk", unit: str = "360102001") -> tuple[User, str]:
    return services.user_create(
        actor=personas.admin, username="liuf", data=AccountInput(name="刘芳", role=role, unit=unit)
    )


def test_the_code_signs_in_and_only_the_password_page_opens(client: Client, personas: Personas) -> None:
    _, code = _new(personas)
    response = client.post(
        "/accounts/login/", {"username": "liuf", "password": code, "next": "/applications/"}
    )
    assert response["Location"] == "/accounts/password/set/?next=%2Fapplications%2F"
    for path in ("/", "/applications/", "/people/", "/accounts/otp/", "/admin/"):
        assert client.get(path)["Location"].startswith("/accounts/password/set/"), path
    page = client.get("/accounts/password/set/").content.decode()
    assert "设置密码" in page and "刘芳" in page
    assert "新建受理" not in page  # no navigation to pages it cannot reach yet
    # The session may not use the API either.
    api = client.get("/api/v1/applications")
    assert api.status_code == 403 and api.json()["code"] == "password_change_required"
    assert "设置密码" in api.json()["message"]


def test_setting_the_password(client: Client, personas: Personas) -> None:
    _, code = _new(personas)
    client.post("/accounts/login/", {"username": "liuf", "password": code})
    mismatch = client.post(
        "/accounts/password/set/", {"password": NEW_PASSWORD, "password2": "other-Pass-123"}
    )
    assert mismatch.status_code == 400 and "两次输入的密码不一致" in mismatch.content.decode()
    weak = client.post("/accounts/password/set/", {"password": "123456", "password2": "123456"})
    assert weak.status_code == 400 and 'id="error-password"' in weak.content.decode()
    assert "密码太短，至少 10 位。" in weak.content.decode() and "密码不能全是数字。" in weak.content.decode()
    assert "This password" not in weak.content.decode()
    same = client.post("/accounts/password/set/", {"password": code, "password2": code})
    assert "不能与激活码相同" in same.content.decode()
    assert User.objects.get(username="liuf").must_set_password
    done = client.post(
        "/accounts/password/set/",
        {"password": NEW_PASSWORD, "password2": NEW_PASSWORD, "next": "/applications/"},
    )
    assert done["Location"] == "/applications/"
    assert client.get("/applications/").status_code == 200  # the session goes on
    user = User.objects.get(username="liuf")
    assert not user.must_set_password and not user.activation_code_hash and user.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.get(action="user.password_set").detail == {"first_login": True}
    # The code is spent; the new password signs in, and tokens are issued now.
    assert not Client().login(username="liuf", password=code)
    token = APIClient().post(
        "/api/v1/auth/token", {"username": "liuf", "password": NEW_PASSWORD}, format="json"
    )
    assert token.status_code == 200


def test_the_token_endpoint_refuses_an_account_that_must_set_its_password(personas: Personas) -> None:
    _, code = _new(personas)
    api = APIClient()
    refused = api.post("/api/v1/auth/token", {"username": "liuf", "password": code}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "password_change_required" and "设置密码" in refused.json()["message"]
    wrong = api.post("/api/v1/auth/token", {"username": "liuf", "password": "ABCD-EFGH-JKMN"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")


def test_a_new_administrator_sets_the_password_then_enrols_the_authenticator(
    client: Client, personas: Personas
) -> None:
    _, code = _new(personas, role="admin", unit="3601")
    client.post("/accounts/login/", {"username": "liuf", "password": code})
    done = client.post("/accounts/password/set/", {"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done["Location"] == "/"
    assert client.get("/")["Location"].startswith("/accounts/otp/")


def test_an_expired_code_says_so_and_signs_nobody_in(client: Client, personas: Personas) -> None:
    user, code = _new(personas)
    User.objects.filter(pk=user.pk).update(activation_expires=timezone.now() - datetime.timedelta(minutes=1))
    page = client.post("/accounts/login/", {"username": "liuf", "password": code}).content.decode()
    assert "激活码已过期" in page
    assert "_auth_user_id" not in client.session
    # A wrong code reads as any wrong password.
    other = client.post(
        "/accounts/login/", {"username": "liuf", "password": "ABCD-EFGH-JKMN"}
    ).content.decode()
    assert "用户名或密码不正确" in other


def test_after_a_password_reset_the_old_password_fails_and_the_new_code_leads_to_the_password_page(
    client: Client, personas: Personas
) -> None:
    _, code = services.user_reset_password(actor=personas.admin, user=personas.nanchang_clerk)
    assert not client.login(username="nanchang_clerk", password=PASSWORD)
    response = client.post("/accounts/login/", {"username": "nanchang_clerk", "password": code})
    assert response["Location"].startswith("/accounts/password/set/")


def test_accounts_with_a_password_never_see_the_password_page(client: Client, personas: Personas) -> None:
    client.post("/accounts/login/", {"username": "nanchang_clerk", "password": PASSWORD})
    assert client.get("/accounts/password/set/")["Location"] == "/"
