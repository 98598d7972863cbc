"""临时居民身份证 in Debian's chromium: the clerk applies at the counter page, the county bureau's
reviewer (second factor) issues it from the 临时证签发 queue, the clerk prints it and hands it out."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tongban.intake.models import Application
from tongban.registry.models import Unit
from tongban.temporary.models import TemporaryCard
from tongban.testing.factories import PASSWORD, PersonFactory, UserFactory
from tongban.testing.personas import make_personas

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


def log_in(page: Page, base_url: str, username: str, device: TOTPDevice | None = None) -> None:
    page.goto(base_url + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if device is not None:
        page.get_by_label("动态口令").fill(
            f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"
        )
        page.get_by_role("button", name="验证").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def test_counter_issue_print_and_hand_out(
    live_server: LiveServer, browser: Browser, accept: Callable[..., Application]
) -> None:
    personas = make_personas()
    person = PersonFactory.create(name="刘晓燕")
    accept(personas.nanchang_clerk, person)

    page = browser.new_page(locale="zh-CN")
    refused = csp_violations(page)
    log_in(page, live_server.url, "nanchang_clerk")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="临时身份证").click()
    page.get_by_role("link", name="受理临时居民身份证").click()
    page.get_by_label("公民身份号码").fill(person.id_number)
    page.get_by_role("button", name="受理并收费").click()
    expect(page.get_by_test_id("state")).to_have_text("待签发")
    card = TemporaryCard.objects.get()
    assert refused == []
    page.close()

    reviewer = UserFactory.create(
        username="donghu_county", role="reviewer", unit=Unit.objects.get(code="360102")
    )
    device = TOTPDevice.objects.create(user=reviewer, name="t", confirmed=True)
    page = browser.new_page(locale="zh-CN")
    refused = csp_violations(page)
    log_in(page, live_server.url, "donghu_county", device)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="临时证签发").click()
    page.get_by_role("link", name=card.number).click()
    page.get_by_role("button", name="签发", exact=True).click()
    expect(page.get_by_test_id("state")).to_have_text("已签发（待发放）")
    assert refused == []
    page.close()

    page = browser.new_page(locale="zh-CN")
    refused = csp_violations(page)
    log_in(page, live_server.url, "nanchang_clerk")
    url = f"{live_server.url}/temporary/{card.pk}/"
    page.goto(url)
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="打印临时居民身份证")).to_be_visible()
    # The print button opens the PDF in a new tab; its request carries the page's session and token.
    token = page.locator("#station-actions input[name=csrfmiddlewaretoken]").first.input_value()
    printed = page.request.post(f"{url}print/", form={"csrfmiddlewaretoken": token}, headers={"Referer": url})
    assert printed.ok and printed.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(printed.body())).pages).replace(" ", "")
    assert "刘晓燕" in text and person.id_number in text
    page.reload()
    page.get_by_role("button", name="确认发放").click()
    expect(page.get_by_test_id("state")).to_have_text("已发放（有效）")
    expect(page.get_by_test_id("validity")).to_have_text(TemporaryCard.objects.get().validity_label)
    assert refused == []
