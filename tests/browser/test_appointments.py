"""网上预约 in Debian's chromium: a citizen books on a 390-px phone (station, half-day, pre-application,
the code with its QR code), then on the day the clerk types the code at the counter and the draft
opens with what the citizen typed; no page meets a Content-Security-Policy refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tests.browser.test_counter_input import log_in
from tongban.appointments import services
from tongban.appointments.models import Booking
from tongban.testing.appointments import open_day
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import make_personas

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]
PHONE: ViewportSize = {"width": 390, "height": 844}
# TONGBAN_SCREENSHOTS=var/shots keeps a picture of each page for a person to look at.
SHOTS = os.environ.get("TONGBAN_SCREENSHOTS", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_a_citizen_books_on_a_phone_and_the_clerk_opens_it(live_server: LiveServer, browser: Browser) -> None:
    clerk = make_personas().nanchang_clerk
    person = PersonFactory.create(name="刘晓燕", sex_id="2")
    day = open_day()
    phone = browser.new_page(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    refused = csp_violations(phone)
    phone.goto(live_server.url + "/guide/")
    phone.get_by_role("link", name="网上预约").first.click()
    expect(phone.get_by_role("heading", name="居民身份证办理网上预约")).to_be_visible()
    phone.get_by_label("所在地区").select_option("360102")
    phone.get_by_label("派出所名称、地址关键字").fill("城关")
    phone.get_by_role("button", name="查找受理单位").click()
    shot(phone, "1-stations")
    phone.get_by_role("link", name="东湖区城关派出所").click()
    expect(phone.get_by_role("heading", name="东湖区城关派出所")).to_be_visible()
    shot(phone, "2-slots")
    phone.get_by_role("link", name=f"{day.month}月{day.day}日上午，余 20 个").click()
    expect(phone.get_by_role("heading", name="填写预申请")).to_be_visible()
    phone.get_by_label("姓名", exact=True).fill("刘晓燕")
    phone.get_by_label("公民身份号码", exact=True).fill(person.id_number)
    phone.get_by_label("申领类型").select_option("first")
    phone.get_by_label("申领原因").select_option("12")
    phone.get_by_label("手机号码", exact=True).fill("13907910001")
    phone.get_by_label("现居住地住址").fill("南昌市东湖区阳明路1号")
    phone.get_by_role("radio", name="邮政寄递").check()
    phone.get_by_label("收件人", exact=True).fill("刘晓燕")
    phone.get_by_label("邮寄地址").fill("南昌市东湖区阳明路1号")
    phone.get_by_label("本人承诺所填信息真实").check()
    shot(phone, "3-form")
    phone.get_by_role("button", name="提交预约").click()
    expect(phone.get_by_role("heading", name="居民身份证办理预约凭证")).to_be_visible()
    booking = Booking.objects.get()
    expect(phone.locator("#booking-code")).to_have_text(booking.display_code)
    expect(phone.locator(".qr svg")).to_be_visible()
    expect(phone.get_by_text("签署《告知承诺书》")).to_be_visible()
    # Nothing on the page is wider than the phone.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "4-confirmation")
    assert refused == []
    phone.close()

    # The day comes: the booking is today's.
    Booking.objects.filter(pk=booking.pk).update(date=services.local_now().date())
    counter = browser.new_page(locale="zh-CN")
    refused = csp_violations(counter)
    log_in(counter, live_server.url, clerk.username)
    counter.get_by_role("navigation", name="主导航").get_by_role("link", name="新建受理").click()
    counter.get_by_role("link", name="按预约码受理").click()
    counter.get_by_label("预约码").fill(booking.code.lower())
    counter.get_by_role("button", name="打开受理草稿").click()
    expect(counter.locator(".messages")).to_contain_text("预申请信息已带入")
    expect(counter.get_by_label("联系电话", exact=True)).to_have_value("13907910001")
    expect(counter.get_by_label("现居住地住址")).to_have_value("南昌市东湖区阳明路1号")
    expect(counter.get_by_label("邮寄地址")).to_have_value("南昌市东湖区阳明路1号")
    shot(counter, "5-counter-draft")
    counter.get_by_role("navigation", name="主导航").get_by_role("link", name="网上预约").click()
    expect(counter.locator("#bookings")).to_contain_text("已到场")
    shot(counter, "6-day-list")
    booking.refresh_from_db()
    assert booking.state == "arrived" and booking.application is not None
    assert booking.application.collection == "post"
    assert refused == []
    counter.close()
