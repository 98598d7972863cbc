"""办理进度查询 in Debian's chromium on a 390-px phone: from the guide to the form, the answer in
plain words without horizontal scrolling, “未查询到” for a wrong combination, the wait message when
the number is locked, and no Content-Security-Policy refusal on the way."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tongban.intake.models import Application
from tongban.portal.tests.progress_fixtures import application
from tongban.registry.models import Unit

from .conftest import csp_violations

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]
PHONE = {"width": 390, "height": 844}
# Where to leave screenshots for a person to look at (never committed); unset: none taken.
SHOTS = os.environ.get("TONGBAN_SCREENSHOTS", "")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"progress-{name}.png"), full_page=True)


def fits_the_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_a_citizen_looks_up_on_a_phone(live_server: LiveServer, browser: Browser, settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 2
    station = Unit.objects.get(code="360102001")
    Unit.objects.filter(pk=station.pk).update(address="南昌市东湖区八一大道1号", phone="0791-86000000")
    ready = application(Application.Status.AT_SITE)
    other = application(Application.Status.PENDING_REVIEW)

    page = browser.new_page(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    refused = csp_violations(page)
    page.goto(f"{live_server.url}/guide/")
    page.get_by_role("link", name="查询办理进度").click()
    expect(page.get_by_role("heading", name="居民身份证办理进度查询")).to_be_visible()
    fits_the_phone(page)
    shot(page, "form")

    page.get_by_label("受理号").fill(ready.number or "")
    page.get_by_label("公民身份号码后6位").fill(ready.id_number[-6:].lower())
    page.get_by_role("button", name="查询").click()
    result = page.locator("[data-answer=progress]")
    expect(result.get_by_role("heading", name="待领取", exact=True)).to_be_visible()
    expect(result).to_contain_text(station.name)
    expect(result).to_contain_text("0791-86000000")
    expect(result.locator(".track [aria-current=step]")).to_have_text("待领取")
    expect(page.get_by_label("公民身份号码后6位")).to_have_value("")  # the proof is not kept on the page
    assert ready.name not in page.content()
    fits_the_phone(page)
    shot(page, "at-site")

    # Wrong name twice: 未查询到, then the number is locked, even for the right name.
    for _ in range(2):
        page.get_by_label("受理号").fill(other.number or "")
        page.get_by_label("或：申请人姓名").fill("张三")
        page.get_by_role("button", name="查询").click()
        expect(page.get_by_role("alert")).to_contain_text("未查询到")
    shot(page, "not-found")
    page.get_by_label("受理号").fill(other.number or "")
    page.get_by_label("或：申请人姓名").fill(other.name)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_role("alert")).to_contain_text("请求过于频繁，请于")
    expect(page.locator("[data-answer=progress]")).to_have_count(0)
    fits_the_phone(page)
    assert not refused, refused
    page.close()


def test_a_refusal_and_a_posted_card_on_a_phone(live_server: LiveServer, browser: Browser) -> None:
    from tongban.portal.tests.progress_fixtures import posted

    refused_app = application(Application.Status.REJECTED, refusal_code_id="01", refusal_reason="非首次申领")
    by_post = application(Application.Status.SHIPPED, collection=Application.Collection.POST)
    posted(by_post, "EMS1234567890CN")

    page = browser.new_page(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    refused = csp_violations(page)
    page.goto(f"{live_server.url}/guide/progress/")
    page.get_by_label("受理号").fill(refused_app.number or "")
    page.get_by_label("或：申请人姓名").fill(refused_app.name)
    page.get_by_role("button", name="查询").click()
    result = page.locator("[data-answer=progress]")
    expect(result.get_by_role("heading", name="不予签发", exact=True)).to_be_visible()
    expect(result).to_contain_text("不符合首次申领条件")
    expect(result).to_contain_text("户籍地")
    fits_the_phone(page)
    shot(page, "refused")

    page.get_by_label("受理号").fill(by_post.number or "")
    page.get_by_label("公民身份号码后6位").fill(by_post.id_number[-6:])
    page.get_by_role("button", name="查询").click()
    expect(result.get_by_role("heading", name="已邮寄", exact=True)).to_be_visible()
    expect(result.locator(".tracking")).to_have_text("EMS1234567890CN")
    fits_the_phone(page)
    shot(page, "posted")
    assert not refused, refused
    page.close()
