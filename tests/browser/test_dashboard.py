"""A city supervisor opens the dashboard (督导) in Debian's chromium: the ECharts canvases draw,
a chart switches to its table view, and the drill-down shows a county."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tongban.demo.history import generate_history
from tongban.registry.models import Unit
from tongban.testing.factories import PASSWORD, UserFactory

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


def test_dashboard_charts_and_table_view(browser: Browser, live_server: LiveServer) -> None:
    generate_history(applications=300, days=60, seed=3, acceptance_prefix="3601")
    supervisor = UserFactory.create(
        username="city_supervisor", role="supervisor", unit=Unit.objects.get(code="3601")
    )
    # Full records of a whole city: the account needs a second factor.
    device = TOTPDevice.objects.create(user=supervisor, name="t", confirmed=True)
    page = browser.new_page()
    refused = csp_violations(page)
    page.goto(live_server.url + "/")
    page.get_by_label("用户名").fill("city_supervisor")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_label("动态口令").fill(f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}")
    page.get_by_role("button", name="验证").click()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="督导").click()
    expect(page.get_by_role("heading", name="督导：南昌市公安局")).to_be_visible()
    daily = page.locator("#panel-daily")
    canvas = daily.locator("canvas")
    expect(canvas.first).to_be_visible()
    assert canvas.first.evaluate("c => c.width > 0 && c.height > 0")
    daily.get_by_role("button", name="表格").click()
    expect(daily.locator(".chart")).to_be_hidden()
    table = daily.locator("table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(30)
    daily.get_by_role("button", name="图表").click()
    expect(canvas.first).to_be_visible()
    page.get_by_label("查看单位").select_option("360102")
    expect(page.get_by_role("heading", name="督导：南昌市公安局东湖分局")).to_be_visible()
    assert refused == []
    page.close()
