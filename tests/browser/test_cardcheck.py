"""居民身份证核查 in Debian's chromium: the provincial department's administrator registers a bank,
issues its key (confirmed in the dialog, shown once), sees it work, and suspends the bank with a
reason; the next check is refused at once. Also on a 390-px phone screen; no CSP refusal."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer
from rest_framework.test import APIClient

from tests.browser.conftest import csp_violations
from tongban.cardcheck.models import Institution
from tongban.registry.models import Unit
from tongban.testing.factories import PASSWORD, CardFactory, PersonFactory, UserFactory

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]
SHOTS = os.environ.get("TONGBAN_SCREENSHOTS", "")  # a folder to keep screenshots in (var/…)


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def sign_in_admin(page: Page, base: str) -> None:
    admin = UserFactory.create(username="admin", role="admin", unit=Unit.objects.get(code="36"))
    device = TOTPDevice.objects.create(user=admin, name="t", confirmed=True)
    page.goto(base + "/accounts/login/")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("动态口令").fill(f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}")
    page.get_by_role("button", name="验证").click()


def check(key: str, body: dict[str, str]) -> tuple[int, str]:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Institution {key}")
    answer = api.post("/api/v1/card-checks", body, format="json").json()
    return answer.get("result_label", ""), answer.get("code", "")


@pytest.mark.parametrize("viewport", [None, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_an_administrator_registers_a_bank_gets_its_key_once_and_suspends_it(
    live_server: LiveServer, browser: Browser, viewport: dict[str, int] | None
) -> None:
    holder = PersonFactory.create(name="古丽·艾买提")
    CardFactory.create(person=holder, card_serial="360102000001")
    body = {"id_number": holder.id_number, "name": "古丽•艾买提", "card_serial": "360102000001"}
    page = (
        browser.new_page(locale="zh-CN", viewport=viewport) if viewport else browser.new_page(locale="zh-CN")
    )
    refused = csp_violations(page)
    tag = "phone" if viewport else "desktop"
    sign_in_admin(page, live_server.url)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="身份证核查").click()
    expect(page.get_by_role("heading", name="居民身份证核查：核查机构")).to_be_visible()
    page.get_by_role("link", name="登记机构").click()
    page.get_by_label("机构名称").fill("中国银行南昌分行")
    page.get_by_label("机构类别").select_option(label="银行")
    page.get_by_label("统一社会信用代码").fill("91360100705520351A")
    page.get_by_label("核查用途").fill("开立银行账户时核验客户身份证件")
    page.get_by_label("联系人及电话").fill("王经理 0791-86000000")
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_text("统一社会信用代码校验位不正确，请核对。")).to_be_visible()
    expect(page.get_by_label("核查用途")).to_have_value("开立银行账户时核验客户身份证件")
    page.get_by_label("统一社会信用代码").fill("91360100705520351R")
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_role("heading", name="核查机构：中国银行南昌分行")).to_be_visible()
    page.wait_for_load_state("load")  # confirm.js is deferred
    shot(page, f"cardcheck-detail-{tag}")

    page.get_by_role("button", name="签发密钥").click()
    dialog = page.get_by_role("alertdialog", name="签发密钥")
    expect(dialog).to_contain_text("只显示一次")
    dialog.get_by_role("button", name="签发密钥").click()
    expect(page.get_by_role("heading", name="机构密钥：中国银行南昌分行")).to_be_visible()
    key = page.locator("#institution-key").inner_text().strip()
    shot(page, f"cardcheck-key-{tag}")
    assert key.startswith("tbk_") and check(key, body) == ("一致且有效", "")

    page.get_by_role("link", name="已交给机构，返回").click()
    expect(page.get_by_role("heading", name="核查机构：中国银行南昌分行")).to_be_visible()
    expect(page.get_by_text(key)).to_have_count(0)  # shown once only
    page.wait_for_load_state("load")
    page.get_by_label("原因").fill("合作协议到期")
    page.get_by_role("button", name="暂停核查").click()
    dialog = page.get_by_role("alertdialog", name="暂停核查")
    expect(dialog).to_contain_text("下一次核查请求起即被拒绝")
    dialog.get_by_role("button", name="暂停核查").click()
    expect(page.locator(".messages .message-success")).to_contain_text("已暂停 中国银行南昌分行 的核查")
    expect(page.get_by_text("已暂停（合作协议到期）")).to_be_visible()
    assert Institution.objects.get().state == Institution.State.SUSPENDED
    assert check(key, body) == ("", "institution_suspended")

    page.get_by_role("link", name="返回核查机构").click()
    row = page.get_by_role("row", name="中国银行南昌分行")
    expect(row).to_contain_text("已暂停")
    expect(row).to_contain_text(f"tbk_{key[4:12]}")
    shot(page, f"cardcheck-list-{tag}")
    if viewport:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, "the page scrolls sideways"
    assert refused == []
    page.close()
