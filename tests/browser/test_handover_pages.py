"""Distribution and handover in Debian's chromium: the centre ships through the confirmation step,
the station scans the 领证回执 into 待领取 (the cursor is already in the box; Enter opens the
handover page), a refused handover comes back with the signature still drawn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tongban.handover.models import Shipment
from tongban.handover.services import shipment_receive
from tongban.intake.models import Application
from tongban.production.feedback import FeedbackLine
from tongban.production.services import batch_create, batch_package, feedback_apply
from tongban.registry.models import Unit
from tongban.review.services import review_approve
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


def test_ship_scan_and_a_refused_handover_keeping_the_signature(
    live_server: LiveServer, browser: Browser, accept: Callable[..., Application], centre_keys: Any
) -> None:
    personas = make_personas()
    reviewer = UserFactory.create(username="donghu_reviewer", role="reviewer", unit=station("360102001"))
    application = accept(personas.nanchang_clerk, PersonFactory.create(name="刘晓燕"))
    review_approve(actor=reviewer, application=application, step=1)
    centre = Unit.objects.get(code="360000901")
    batch = batch_package(
        actor=personas.centre_operator, batch=batch_create(actor=personas.centre_operator, centre=centre)
    )
    line = FeedbackLine(1, batch.number, application.number or "", "produced", card_serial="CS00000001")
    feedback_apply(actor=personas.centre_operator, centre=centre, lines=[line], source="api")
    number = application.number or ""

    page = browser.new_page(locale="zh-CN")
    refused = csp_violations(page)
    log_in(page, live_server.url, "centre_operator")
    page.goto(live_server.url + "/handover/shipments/new/")
    page.get_by_label("全选").check()  # static/tongban/page.js
    expect(page.get_by_label(f"选择 {number}")).to_be_checked()
    page.get_by_role("button", name="发出").click()
    expect(page.get_by_role("alert")).to_contain_text("确认发出以下 1 张证件？")
    assert not Shipment.objects.exists()
    page.get_by_role("button", name="确认发出").click()
    expect(page.get_by_role("heading", name="分发")).to_be_visible()
    shipment = Shipment.objects.get()
    shipment_receive(actor=personas.nanchang_distributor, shipment=shipment)
    assert refused == []
    page.close()

    page = browser.new_page(locale="zh-CN")
    refused = csp_violations(page)
    log_in(page, live_server.url, "nanchang_distributor")
    page.goto(live_server.url + "/handover/")
    assert page.evaluate("document.activeElement.id") == "worklist-q"
    page.keyboard.type(number)  # what a barcode scanner does: the digits, then Enter
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="发放 刘晓燕")).to_be_visible()
    assert number not in page.url and application.id_number not in page.url
    # The pad's script (handover/signature.js) is deferred: the heading shows before it has run.
    page.wait_for_load_state("load")

    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 20, box["y"] + 80)
    page.mouse.down()
    for step in range(1, 20):
        page.mouse.move(box["x"] + 20 + step * 15, box["y"] + 80 + (25 if step % 2 else -25))
    page.mouse.up()
    page.get_by_label("亲属代领").check()
    page.get_by_label("代领人姓名").fill("刘建国")
    page.get_by_label("代领人公民身份号码").fill("12345")
    page.get_by_role("button", name="确认发放").click()
    expect(page.get_by_text("实际为 5 位")).to_be_visible()
    expect(page.get_by_label("代领人姓名")).to_have_value("刘建国")
    # The signature is on the canvas again, once the deferred script has drawn the kept image.
    page.wait_for_function(
        """() => {
            const c = document.getElementById('signature-pad');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) ink++; }
            return ink > 100;
        }"""
    )
    assert Application.objects.get(pk=application.pk).status == Application.Status.AT_SITE
    assert refused == []
    page.close()
