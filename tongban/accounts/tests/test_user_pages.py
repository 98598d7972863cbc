"""账号管理 pages: the list with filters, count and pages; the create form; an account's page
with its confirmed actions; only for administrators, only within their subtree."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory
from tongban.testing.personas import PERSONA_UNITS, Personas, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, personas: Personas) -> Client:
    return login(client, personas.admin)


@pytest.mark.parametrize("persona", sorted(PERSONA_UNITS))
def test_only_administrators_see_the_pages(client: Client, personas: Personas, persona: str) -> None:
    login(client, personas.all()[persona])
    home = client.get("/").content.decode()
    pages = [
        client.get("/accounts/users/"),
        client.get("/accounts/new-user/"),
        client.get("/accounts/users/nanchang_clerk/"),
        client.get("/accounts/users/nanchang_clerk/deactivate/"),
    ]
    if persona == "admin":
        assert "账号管理" in home
        assert [page.status_code for page in pages] == [200, 200, 200, 200]
    else:
        assert "账号管理" not in home
        assert {page.status_code for page in pages} == {403}
        assert "无权" in pages[0].content.decode()


def test_the_list_filters_counts_and_masks_phones(admin_client: Client, personas: Personas) -> None:
    User.objects.filter(username="nanchang_clerk").update(
        phone="13907910001", last_name="王", first_name="晓燕"
    )
    page = admin_client.get("/accounts/users/").content.decode()
    assert f"共 {len(PERSONA_UNITS)} 个账号" in page
    assert "139****0001" in page and "13907910001" not in page
    assert "王晓燕" in page and "受理员" in page and "东湖区城关派出所" in page and "在用" in page
    donghu = admin_client.get("/accounts/users/", {"unit": "360102", "role": "supervisor"}).content.decode()
    assert "共 1 个账号" in donghu and "donghu_supervisor" in donghu
    assert 'value="360102" selected' in donghu  # the filter keeps what was chosen
    found = admin_client.get("/accounts/users/", {"q": "晓燕"}).content.decode()
    assert "共 1 个账号" in found and 'value="晓燕"' in found
    User.objects.filter(username="finance").update(is_active=False)
    stopped = admin_client.get("/accounts/users/", {"status": "inactive"}).content.decode()
    assert "共 1 个账号" in stopped and "已停用" in stopped


def test_pages_of_fifty(admin_client: Client, django_assert_max_num_queries: Any) -> None:
    UserFactory.create_batch(60, unit=Unit.objects.get(code="360102001"))
    with django_assert_max_num_queries(9):  # session, user, device, units, count, one page: not per row
        first = admin_client.get("/accounts/users/").content.decode()
    total = 60 + len(PERSONA_UNITS)
    assert (
        f"共 {total} 个账号，第 1 / 2 页" in first
        and len(re.findall(r"/accounts/users/[^/\"]+/\"", first)) == 50
    )
    second = admin_client.get("/accounts/users/", {"page": "2"}).content.decode()
    assert "第 2 / 2 页" in second and len(re.findall(r"/accounts/users/[^/\"]+/\"", second)) == total - 50


def test_create_keeps_what_was_typed_on_errors_and_shows_the_code_once(admin_client: Client) -> None:
    typed = {"username": "liuf", "name": "刘芳", "role": "clerk", "unit": "360102", "phone": "0791-12"}
    refused = admin_client.post("/accounts/new-user/", typed)
    page = refused.content.decode()
    assert refused.status_code == 400
    assert 'id="error-role"' in page and "受理员不能设在县（市、区）公安局" in page
    assert 'id="error-phone"' in page and "格式不正确" in page
    assert 'value="liuf"' in page and 'value="刘芳"' in page and 'value="0791-12"' in page
    assert 'value="360102" selected' in page and 'value="clerk" selected' in page
    assert not User.objects.filter(username="liuf").exists()
    done = admin_client.post("/accounts/new-user/", {**typed, "unit": "360102001", "phone": "13907910009"})
    assert done.status_code == 201
    code = re.search(r'id="activation-code">([A-Z0-9-]{14})<', done.content.decode())
    assert code is not None and "只显示这一次" in done.content.decode()
    user = User.objects.get(username="liuf")
    assert user.must_set_password and user.unit_code == "360102001"
    assert (
        Client().post("/accounts/login/", {"username": "liuf", "password": code.group(1)}).status_code == 302
    )
    taken = admin_client.post("/accounts/new-user/", {**typed, "unit": "360102001", "phone": ""})
    assert "已被使用" in taken.content.decode()


def test_the_account_page_edits_and_is_audited(admin_client: Client, personas: Personas) -> None:
    User.objects.filter(username="nanchang_clerk").update(phone="13907910001")
    page = admin_client.get("/accounts/users/nanchang_clerk/").content.decode()
    assert "13907910001" in page and "停用" in page and "重置密码" in page
    assert AuditEvent.objects.filter(action="user.view", object_id=str(personas.nanchang_clerk.pk)).exists()
    bad = admin_client.post(
        "/accounts/users/nanchang_clerk/",
        {"name": "刘芳", "role": "clerk", "unit": "360102001", "phone": "12"},
    )
    assert (
        bad.status_code == 400
        and 'value="刘芳"' in bad.content.decode()
        and "格式不正确" in bad.content.decode()
    )
    saved = admin_client.post(
        "/accounts/users/nanchang_clerk/",
        {"name": "刘芳", "role": "distributor", "unit": "360102002", "phone": ""},
    )
    assert saved["Location"] == "/accounts/users/nanchang_clerk/"
    clerk = User.objects.get(username="nanchang_clerk")
    assert (clerk.get_full_name(), clerk.role, clerk.unit_code, clerk.phone) == (
        "刘芳",
        "distributor",
        "360102002",
        "",
    )
    assert "已保存" in admin_client.get("/accounts/users/nanchang_clerk/").content.decode()


def test_the_own_account_offers_no_destructive_action(admin_client: Client) -> None:
    page = admin_client.get("/accounts/users/admin/").content.decode()
    assert "这是您本人的账号" in page and "/deactivate/" not in page
    refused = admin_client.post("/accounts/users/admin/deactivate/", {"reason": ""})
    assert "不能停用自己的账号" in refused.content.decode()
    assert User.objects.get(username="admin").is_active


def test_deactivate_is_confirmed_and_ends_the_sessions(admin_client: Client, personas: Personas) -> None:
    clerk_browser = login(Client(), personas.nanchang_clerk)
    confirm = admin_client.get("/accounts/users/nanchang_clerk/deactivate/").content.decode()
    assert "确定停用" in confirm and "确认停用" in confirm
    assert User.objects.get(username="nanchang_clerk").is_active  # nothing happens before the confirmation
    done = admin_client.post("/accounts/users/nanchang_clerk/deactivate/", {"reason": "调离"})
    assert done["Location"] == "/accounts/users/nanchang_clerk/"
    assert not User.objects.get(username="nanchang_clerk").is_active
    assert clerk_browser.get("/")["Location"].startswith("/accounts/login/")
    page = admin_client.get("/accounts/users/nanchang_clerk/").content.decode()
    assert "已停用" in page and "全部注销" in page and "启用" in page
    admin_client.post("/accounts/users/nanchang_clerk/reactivate/")
    assert User.objects.get(username="nanchang_clerk").is_active


def test_reset_second_factor_and_password_are_confirmed(admin_client: Client, personas: Personas) -> None:
    TOTPDevice.objects.create(user=personas.auditor, name="t", confirmed=True)
    assert "/reset-second-factor/" in admin_client.get("/accounts/users/auditor/").content.decode()
    confirm = admin_client.get("/accounts/users/auditor/reset-second-factor/").content.decode()
    assert "确定重置" in confirm and TOTPDevice.objects.filter(user=personas.auditor).exists()
    admin_client.post("/accounts/users/auditor/reset-second-factor/")
    assert not TOTPDevice.objects.filter(user=personas.auditor).exists()
    assert "/reset-second-factor/" not in admin_client.get("/accounts/users/auditor/").content.decode()
    assert "确定重置" in admin_client.get("/accounts/users/nanchang_clerk/reset-password/").content.decode()
    shown = admin_client.post("/accounts/users/nanchang_clerk/reset-password/").content.decode()
    assert "密码已重置" in shown and re.search(r'id="activation-code">[A-Z0-9-]{14}<', shown)
    assert User.objects.get(username="nanchang_clerk").must_set_password


def test_accounts_outside_the_subtree_are_not_found(client: Client) -> None:
    city_admin = UserFactory.create(role="admin", unit=Unit.objects.get(code="3601"))
    login(client, city_admin)
    assert client.get("/accounts/users/ganzhou_clerk/").status_code == 404
    assert client.post("/accounts/users/ganzhou_clerk/deactivate/").status_code == 404
    assert "ganzhou_clerk" not in client.get("/accounts/users/").content.decode()


def test_the_django_admin_keeps_to_the_subtree_and_cannot_bypass_the_account_steps(client: Client) -> None:
    city_admin = UserFactory.create(role="admin", unit=Unit.objects.get(code="3601"), is_staff=True)
    UserFactory.create(username="nc_clerk", unit=Unit.objects.get(code="360102001"))
    UserFactory.create(username="gz_clerk", unit=Unit.objects.get(code="360702001"))
    login(client, city_admin)
    listing = client.get("/admin/accounts/user/").content.decode()
    assert "nc_clerk" in listing and "gz_clerk" not in listing
    assert client.get("/admin/accounts/user/add/").status_code == 403
    other = User.objects.get(username="gz_clerk")
    assert (
        client.get(f"/admin/accounts/user/{other.pk}/change/").status_code == 302
    )  # not found: back to the index
    mine = User.objects.get(username="nc_clerk")
    page = client.get(f"/admin/accounts/user/{mine.pk}/change/").content.decode()
    assert 'name="is_active"' not in page and 'name="role"' not in page
