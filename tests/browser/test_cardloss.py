"""挂失申报 in Debian's chromium: a clerk of another city reports a lost card, confirming in the
dialog; the pages run without a Content-Security-Policy refusal."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tests.browser.test_counter_input import log_in
from tongban.cardloss.models import LossReport
from tongban.registry.models import Card
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import make_personas

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


def test_a_clerk_reports_a_card_lost(live_server: LiveServer, browser: Browser) -> None:
    clerk = make_personas().ganzhou_clerk
    person = PersonFactory.create(name="陈晓明")
    CardFactory.create(person=person, valid_until=datetime.date(2040, 1, 1))
    page = browser.new_page(locale="zh-CN")
    refused = csp_violations(page)
    log_in(page, live_server.url, clerk.username)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="挂失招领").click()
    page.get_by_role("link", name="新建挂失申报").click()
    page.get_by_label("公民身份号码").fill(person.id_number)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("heading", name="陈晓明")).to_be_visible()
    page.wait_for_load_state("load")  # confirm.js is deferred
    page.get_by_role("radio", name="电话").check()
    page.get_by_label("联系电话").fill("13907910000")
    page.get_by_label("核实情况").fill("核对了户籍地址")
    page.get_by_role("button", name="登记挂失").click()
    dialog = page.get_by_role("alertdialog", name="登记挂失")
    expect(dialog).to_contain_text("即时失效")
    dialog.get_by_role("button", name="登记挂失").click()
    expect(page.get_by_role("heading", name="挂失申报：陈晓明")).to_be_visible()
    expect(page.locator(".messages .message-success")).to_contain_text("挂失申报已登记")
    report = LossReport.objects.get()
    assert (report.channel, report.verification) == ("phone", "核对了户籍地址")
    assert person.cards.get().state == Card.State.LOST
    assert refused == []
    page.close()
