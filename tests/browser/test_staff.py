"""账号管理 in Debian's chromium: an administrator creates an account, its holder signs in with the
activation code and must set a password first; deactivation ends the holder's session at once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tongban.accounts.models import User
from tongban.registry.models import Unit
from tongban.testing.factories import PASSWORD, UserFactory

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)]


@pytest.mark.usefixtures("reference_data")
def test_create_first_login_and_deactivation(live_server: LiveServer, browser: Browser) -> None:
    admin = UserFactory.create(
        username="admin", role="admin", unit=Unit.objects.get(code="36"), last_name="周", first_name="明"
    )
    device = TOTPDevice.objects.create(user=admin, name="t", confirmed=True)

    page = browser.new_page(locale="zh-CN")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("动态口令").fill(f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}")
    page.get_by_role("button", name="验证").click()
    page.get_by_role("link", name="账号管理").click()
    expect(page.get_by_role("heading", name="账号管理")).to_be_visible()
    page.get_by_role("link", name="新建账号").click()
    page.get_by_label("用户名").fill("liuf")
    page.get_by_label("姓名").fill("刘芳")
    page.get_by_label("角色").select_option(label="受理员")
    page.get_by_label("所属机构").select_option("360102")
    page.get_by_label("联系电话").fill("13907910009")
    page.get_by_role("button", name="保存并生成激活码").click()
    expect(page.locator("#error-role")).to_contain_text("受理员不能设在县（市、区）公安局")
    expect(page.get_by_label("姓名")).to_have_value("刘芳")  # nothing typed is lost
    expect(page.get_by_label("联系电话")).to_have_value("13907910009")
    page.get_by_label("所属机构").select_option("360102001")
    page.get_by_role("button", name="保存并生成激活码").click()
    code = page.locator("#activation-code").inner_text()
    assert len(code) == 14

    holder = browser.new_page(locale="zh-CN")
    holder.goto(live_server.url + "/accounts/login/")
    holder.get_by_label("用户名").fill("liuf")
    holder.get_by_label("密码", exact=True).fill(code)
    holder.get_by_role("button", name="登录").click()
    expect(holder.get_by_role("heading", name="设置密码")).to_be_visible()
    holder.goto(live_server.url + "/applications/")
    expect(holder.get_by_role("heading", name="设置密码")).to_be_visible()
    holder.get_by_label("新密码", exact=True).fill("Hongqi-Road-18")
    holder.get_by_label("再次输入新密码").fill("Hongqi-Road-18")
    holder.get_by_role("button", name="设置密码").click()
    expect(holder.locator(".messages")).to_contain_text("密码已设置")
    assert not User.objects.get(username="liuf").must_set_password

    page.goto(live_server.url + "/accounts/users/liuf/")
    page.get_by_role("link", name="停用").click()
    expect(page.get_by_text("确定停用？")).to_be_visible()
    page.get_by_label("停用原因").fill("调离")
    page.get_by_role("button", name="确认停用").click()
    expect(page.locator(".messages")).to_contain_text("已停用账号 liuf")

    holder.goto(live_server.url + "/applications/")
    expect(holder.get_by_role("heading", name="登录")).to_be_visible()
    page.close()
    holder.close()
