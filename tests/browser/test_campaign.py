"""集中换发 in Debian's chromium: the campaign manager sees the progress chart and its table view,
and a station clerk generates and signs off the station's periodic report (定期上报)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tongban.campaigns.models import StationReport
from tongban.demo.campaign import seed_campaign
from tongban.demo.history import generate_history
from tongban.registry.models import Unit
from tongban.testing.factories import PASSWORD, UserFactory
from tongban.testing.staffing import staff_city_campaign

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


def _login(page: Page, url: str, username: str) -> None:
    page.goto(url + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_campaign_progress_and_a_station_report(browser: Browser, live_server: LiveServer) -> None:
    city = Unit.objects.get(code="3601")
    station = Unit.objects.get(code="360102001")
    UserFactory.create(username="manager", role="campaign_manager", unit=city)
    UserFactory.create(username="station_clerk", role="clerk", unit=station)
    generate_history(applications=300, days=60, seed=5, acceptance_prefix="3601")
    staff_city_campaign()  # the demo's configuration goes into force only where someone can work it
    campaign = seed_campaign(today=timezone.localdate())
    assert campaign is not None

    page = browser.new_page()
    refused = csp_violations(page)
    _login(page, live_server.url, "manager")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="集中换发").click()
    page.get_by_role("link", name=campaign.name).click()
    expect(page.get_by_role("heading", name=campaign.name)).to_be_visible()
    chart = page.locator("#progress-chart canvas")
    expect(chart.first).to_be_visible()
    assert chart.first.evaluate("c => c.width > 0 && c.height > 0")
    page.get_by_text("表格视图").click()
    expect(page.locator("details table").first).to_be_visible()
    assert refused == []
    page.close()

    page = browser.new_page()
    _login(page, live_server.url, "station_clerk")
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/reports/")
    page.get_by_role("button", name="生成本所报表").click()
    page.get_by_role("button", name="核对无误，签报").click()
    expect(page.get_by_text("已签报").first).to_be_visible()
    page.close()
    report = StationReport.objects.get(campaign=campaign, station=station)
    assert report.signed_at is not None and report.signed_by is not None
    assert report.signed_by.username == "station_clerk"
