"""A clerk logs in through the real login page and looks a person up, in Debian's chromium."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tongban.audit.models import AuditEvent
from tongban.testing.factories import PASSWORD, PersonFactory, UserFactory, station

# Flushing after a transactional test would delete audit rows, which the database forbids:
# leaving the audit app out of `available_apps` keeps the trail (and its chain) across tests.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)]


@pytest.mark.usefixtures("reference_data")
def test_clerk_logs_in_and_looks_a_person_up(live_server: LiveServer, browser: Browser) -> None:
    UserFactory.create(
        username="clerk", role="clerk", unit=station("360702001"), last_name="李", first_name="娜"
    )
    person = PersonFactory.create(
        name="陈晓明", birth_date=datetime.date(2001, 8, 9), registration_unit=station("360102001")
    )
    masked = person.id_number[:6] + "********" + person.id_number[-4:]

    page = browser.new_page(locale="zh-CN")
    page.goto(live_server.url + "/")
    expect(page).to_have_title("登录 · 通办 居民身份证业务系统")
    page.get_by_label("用户名").fill("clerk")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码不正确")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.locator(".who")).to_contain_text("李娜")

    page.get_by_role("link", name="人员查询").click()
    page.get_by_label("公民身份号码").fill("123")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("18 位")
    page.get_by_label("公民身份号码").fill(person.id_number.lower())
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("name")).to_have_text("陈晓明")
    expect(page.get_by_test_id("id-number")).to_have_text(person.id_number)
    expect(page.get_by_text("东湖区城关派出所")).to_be_visible()
    assert masked not in page.content()
    page.close()

    event = AuditEvent.objects.filter(action="person.view", object_id=str(person.pk)).latest("id")
    assert (event.actor_username, event.unit_code) == ("clerk", "360702001")
