"""The household station's reviewer in Debian's chromium: a scanned 受理号 opens the item, only
the possible actions are offered, a refusal is confirmed first and refused input is kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tongban.intake.models import Application
from tongban.testing.factories import PASSWORD, PersonFactory, UserFactory, station
from tongban.testing.personas import make_personas

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def test_scan_take_and_refuse_with_confirmation(
    live_server: LiveServer, browser: Browser, accept: Callable[..., Application]
) -> None:
    clerk = make_personas().ganzhou_clerk
    UserFactory.create(
        username="donghu_reviewer",
        role="reviewer",
        unit=station("360102001"),
        last_name="李",
        first_name="强",
    )
    application = accept(clerk, PersonFactory.create(name="陈晓明"))
    number = str(application.number)

    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, "donghu_reviewer")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="审核签发").click()
    search = page.get_by_label("受理号 / 公民身份号码")
    expect(search).to_be_focused()  # a scanner types into it at once
    expect(page.get_by_role("link", name="我的待办 1")).to_be_visible()
    page.keyboard.type(number)
    page.keyboard.press("Enter")  # the scanner's Enter
    expect(page.get_by_role("heading", name="审核签发：陈晓明")).to_be_visible()
    expect(page.get_by_role("button", name="签发", exact=True)).to_have_count(0)
    page.get_by_role("button", name="领取办理").click()
    expect(page.locator(".outcome")).to_contain_text("已领取办理，该事项由您办理。")

    refuse = page.locator("form.refuse")
    refuse.get_by_label("不予签发原因").select_option(label="其他（须填写说明）")
    refuse.get_by_role("button", name="不予签发…").click()
    expect(page.locator("form.refuse")).to_contain_text("请写明不予签发的具体情况。")
    expect(page.locator(".action-error")).to_contain_text("未能提交")

    refuse = page.locator("form.refuse")
    refuse.get_by_label("不予签发原因").select_option(label="户籍信息不符")
    refuse.get_by_label("说明").fill("户籍登记出生日期与申请不一致")
    refuse.get_by_role("button", name="不予签发…").click()
    confirm = page.get_by_role("alertdialog", name="确认不予签发？")
    expect(confirm).to_contain_text("户籍登记出生日期与申请不一致")
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW
    confirm.get_by_role("button", name="确认不予签发").click()
    expect(page.locator(".outcome")).to_contain_text(
        "已不予签发（户籍信息不符：户籍登记出生日期与申请不一致），已退回受理单位章贡区城关派出所"
    )
    expect(page.get_by_role("button", name="领取办理")).to_have_count(0)
    page.close()
    application.refresh_from_db()
    assert (application.status, application.refusal_code_id) == (Application.Status.REJECTED, "02")
