"""新建受理 in Debian's chromium: the reason list follows the type, a scanned number (Enter) shows the
person's cards with their state and fills in the proposal, and a reason that contradicts the age
is refused at the field."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from tongban.intake.models import Application
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import make_personas

from .test_acceptance_review import log_in, nav

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


def test_the_counter_proposes_renewal_for_an_expired_card_and_refuses_12_for_a_child(
    live_server: LiveServer, browser: Browser
) -> None:
    clerk = make_personas().nanchang_clerk
    holder = PersonFactory.create(name="到期人")
    CardFactory.create(
        person=holder, valid_from=datetime.date(2006, 3, 1), valid_until=datetime.date(2016, 3, 1)
    )
    today = timezone.localdate()
    child = PersonFactory.create(name="少年人", birth_date=today.replace(year=today.year - 14))

    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, clerk.username)
    nav(page, "新建受理").click()
    reason = page.get_by_label("申领原因（首次申领）")
    expect(reason.locator("option")).to_have_text(
        ["——请选择——", "11 未满16周岁申领", "12 年满16周岁申领", "13 港澳台居民定居申领",
         "14 华侨回国定居申领", "15 入籍或恢复国籍申领", "19 其他原因首次申领"]
    )  # fmt: skip
    page.get_by_label("申领类型").select_option("replacement")  # HTMX swaps the list
    expect(page.get_by_label("申领原因（补领）").locator("option")).to_have_count(4)

    # A scanner types the number and presses Enter: the register's cards and the proposal.
    page.get_by_label("公民身份号码").fill(holder.id_number)
    page.get_by_label("公民身份号码").press("Enter")
    applicant = page.get_by_test_id("applicant")
    expect(applicant).to_contain_text("到期人")
    expect(applicant).to_contain_text("已过期")
    expect(page.get_by_label("申领类型")).to_have_value("renewal")
    expect(page.get_by_label("申领原因（换领）")).to_have_value("21")
    page.get_by_role("button", name="调取人口信息并开始受理").click()
    expect(page.get_by_role("heading", name="受理：到期人")).to_be_visible()
    assert Application.objects.get(person=holder).reason_id == "21"

    nav(page, "新建受理").click()
    page.get_by_label("公民身份号码").fill(child.id_number)
    page.get_by_label("申领原因（首次申领）").select_option("12")
    page.get_by_role("button", name="调取人口信息并开始受理").click()
    expect(page.locator("#reason-field .error")).to_contain_text("未满16周岁（14周岁）")
    expect(page.get_by_test_id("applicant")).to_contain_text("从未申领过居民身份证")
    assert not Application.objects.filter(person=child).exists()
