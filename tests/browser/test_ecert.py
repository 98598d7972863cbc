"""电子证照 in Debian's chromium on a 390-px phone: the holder proves who they are and gets a QR
code; the verification page opened from the code says 有效, and after a loss report 已失效（已挂失）.
No Content-Security-Policy refusal on the way."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser.conftest import csp_violations
from tongban.cardloss.services import loss_report
from tongban.ecert import services
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import make_personas

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data", "production_dirs"),
]
PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "var"


def test_the_holder_shows_a_qr_code_and_a_loss_revokes_it(live_server: LiveServer, browser: Browser) -> None:
    person = PersonFactory.create(name="陈晓明")
    card = CardFactory.create(
        person=person, card_serial="360100000777", valid_until=datetime.date(2040, 1, 1)
    )
    certificate = services.certificate_issue(card=card)
    SHOTS.mkdir(exist_ok=True)

    holder = browser.new_page(locale="zh-CN", viewport=PHONE)
    refused = csp_violations(holder)
    holder.goto(f"{live_server.url}/guide/ecert/")
    expect(holder.get_by_role("heading", name="居民身份证电子证照")).to_be_visible()
    holder.get_by_label("公民身份号码").fill(person.id_number)
    holder.get_by_label("姓名").fill("陈晓明")
    holder.get_by_label("受理号或卡号").fill("360100000777")
    holder.get_by_role("button", name="查看电子证照").click()
    qr = holder.get_by_role("img", name="电子证照二维码")
    expect(qr).to_be_visible()
    assert qr.bounding_box() is not None and qr.bounding_box()["width"] <= 390  # type: ignore[index]
    expect(holder.locator("#expiry")).to_contain_text("二维码有效至")
    expect(holder.get_by_text(certificate.number)).to_be_visible()
    expect(holder.get_by_text("陈*明")).to_be_visible()
    holder.screenshot(path=str(SHOTS / "ecert-holder-390.png"), full_page=True)
    holder.get_by_text("二维码内容").click()
    token = holder.locator("#token").inner_text().strip()
    assert token.startswith("EC1.")

    checker = browser.new_page(locale="zh-CN", viewport=PHONE)
    refused += csp_violations(checker)
    checker.goto(f"{live_server.url}/guide/ecert/verify/?t={token}")
    verdict = checker.locator("#verdict")
    expect(verdict.locator(".result")).to_have_text("有效")
    expect(verdict).to_contain_text("陈*明")
    checker.screenshot(path=str(SHOTS / "ecert-verify-valid-390.png"), full_page=True)

    loss_report(actor=make_personas().ganzhou_clerk, person=person, channel="in_person", phone="13907910000")
    checker.reload()
    expect(verdict.locator(".result")).to_have_text("已失效")
    expect(verdict).to_contain_text("已挂失")
    expect(verdict).not_to_contain_text("陈*明")
    checker.screenshot(path=str(SHOTS / "ecert-verify-lost-390.png"), full_page=True)

    # Pasting the code gives the same answer.
    checker.goto(f"{live_server.url}/guide/ecert/verify/")
    checker.get_by_label("电子证照二维码内容").fill(token)
    checker.get_by_role("button", name="核验").click()
    expect(checker.locator("#verdict .result")).to_have_text("已失效")

    holder.reload()
    expect(holder.get_by_role("alert")).to_contain_text("已挂失")
    assert refused == []
    holder.close()
    checker.close()
