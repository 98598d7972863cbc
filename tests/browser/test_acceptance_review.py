"""A Ganzhou clerk accepts an application for someone registered in Nanchang (异地受理) through the
counter pages, and the household station's reviewer issues it (审核签发), in Debian's chromium.
A second scenario: a minor, whose acceptance waits for the guardian and the 同框 photo."""

from __future__ import annotations

import datetime
import functools

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, FilePayload, Locator, Page, expect
from pytest_django.live_server_helper import LiveServer

from tongban.core import idnumber
from tongban.core.dates import add_years
from tongban.demo.management.commands.demo import standard_photo, together_photo
from tongban.intake.models import Application
from tongban.testing.factories import PASSWORD, PersonFactory, UserFactory, station
from tongban.testing.personas import make_personas

# Flushing after a transactional test would delete audit rows, which the database forbids:
# leaving the audit app out of `available_apps` keeps the trail (and its chain) across tests.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS),
    pytest.mark.usefixtures("reference_data"),
]


@functools.cache
def jpeg(which: str) -> FilePayload:
    data = standard_photo() if which == "photo" else together_photo()
    return {"name": f"{which}.jpg", "mimeType": "image/jpeg", "buffer": data}


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="主导航").get_by_role("link", name=name)


def start_application(page: Page, id_number: str, reason: str) -> None:
    nav(page, "新建受理").click()
    page.get_by_label("公民身份号码").fill(id_number)
    page.get_by_label("申领类型").select_option("first")
    page.get_by_label("申领原因").select_option(reason)
    page.get_by_role("button", name="调取人口信息并开始受理").click()
    expect(page.get_by_role("heading", name="尚不能受理")).to_be_visible()


def save_details(page: Page, birth_date: datetime.date) -> None:
    # A date input takes ISO dates only: the register's birth date must be in it already.
    expect(page.get_by_label("出生日期")).to_have_value(birth_date.isoformat())
    page.get_by_role("button", name="保存申请信息").click()
    expect(page.locator("#details .message-success")).to_contain_text("申请信息已保存")


def upload_photo(page: Page) -> None:
    page.get_by_label("上传或拍摄相片（JPEG）").set_input_files(jpeg("photo"))
    page.locator("#photo").get_by_role("button", name="检测并保存").click()
    expect(page.locator("#photo .message-success")).to_contain_text("相片符合制证标准")


def record_fingers_not_registered(page: Page) -> None:
    """Ten fingers as 未注册, each in the position the page proposes next."""
    for _ in range(10):
        page.get_by_label("采集结果").select_option("not_registered")
        page.get_by_label("原因（注册失败/未注册）").fill("双手烧伤，无法采集")
        page.get_by_role("button", name="登记该指").click()
        expect(page.locator("#fingers .message-success")).to_contain_text("未注册")
    expect(page.get_by_text("指纹采集已完成。")).to_be_visible()


def accept(page: Page) -> str:
    page.get_by_role("button", name="确认受理").click()
    expect(page.locator(".messages")).to_contain_text("已受理，受理号")
    return page.locator(".messages").inner_text().split("受理号 ")[1][:22]


def test_clerk_accepts_and_household_reviewer_issues(live_server: LiveServer, browser: Browser) -> None:
    clerk = make_personas().ganzhou_clerk
    reviewer = UserFactory.create(
        username="donghu_reviewer",
        role="reviewer",
        unit=station("360102001"),
        last_name="李",
        first_name="强",
    )
    person = PersonFactory.create(name="陈晓明")  # registered at 东湖区城关派出所 (360102001)

    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, clerk.username)
    start_application(page, person.id_number, "12")
    expect(page.get_by_role("heading", name="受理：陈晓明")).to_be_visible()
    expect(page.get_by_text("异地受理")).to_be_visible()
    expect(page.get_by_role("button", name="确认受理")).to_be_disabled()

    page.get_by_label("联系电话", exact=True).fill("13800138000")
    page.get_by_label("现居住地住址").fill("江西省赣州市章贡区红旗大道1号")
    page.get_by_label("居民户口簿", exact=True).check()
    page.get_by_label("居住证明", exact=True).check()
    page.get_by_label("申请人已签署《告知承诺书》").check()
    save_details(page, person.birth_date)
    upload_photo(page)
    record_fingers_not_registered(page)
    expect(page.get_by_role("heading", name="尚不能受理")).to_have_count(0)
    number = accept(page)

    application = Application.objects.get(person=person)
    assert (application.number, application.status) == (number, Application.Status.PENDING_REVIEW)
    expect(page.get_by_text(number).first).to_be_visible()
    receipt = page.get_by_role("link", name="领证回执（PDF）").get_attribute("href")
    assert receipt is not None
    pdf = page.request.get(live_server.url + receipt)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    log_in(page, live_server.url, reviewer.username)
    nav(page, "审核签发").click()
    expect(page.get_by_role("heading", name="审核签发待办")).to_be_visible()
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name="审核签发：陈晓明")).to_be_visible()
    page.get_by_role("button", name="领取办理").click()
    expect(page.locator(".outcome")).to_contain_text("已领取办理")
    page.get_by_role("button", name="签发", exact=True).click()
    expect(page.locator(".outcome")).to_contain_text("已签发，签发机关南昌市公安局东湖分局")
    expect(page.get_by_role("button", name="领取办理")).to_have_count(0)
    page.close()

    application.refresh_from_db()
    assert application.status == Application.Status.ISSUED
    assert application.issued_at is not None and application.valid_from is not None


def test_minor_waits_for_guardian_and_together_photo(live_server: LiveServer, browser: Browser) -> None:
    clerk = make_personas().ganzhou_clerk
    child = PersonFactory.create(name="陈小雨", birth_date=add_years(timezone.localdate(), -10))

    page = browser.new_page(locale="zh-CN")
    log_in(page, live_server.url, clerk.username)
    start_application(page, child.id_number, "11")
    expect(page.get_by_text("未满16周岁，须监护人陪同")).to_be_visible()
    checklist = page.locator("#details .checklist")
    expect(checklist).to_contain_text("监护人居民身份证")
    expect(checklist).not_to_contain_text("出生医学证明")

    # The guardianship case decides the checklist: not in the same household → 出生医学证明.
    page.get_by_label("监护关系证明情形").select_option("birth_certificate")
    page.get_by_label("联系电话", exact=True).fill("13800138000")
    save_details(page, child.birth_date)
    expect(checklist).to_contain_text("出生医学证明")
    for material in ("居民户口簿", "监护人居民身份证", "申请人就学证明", "出生医学证明"):
        page.get_by_label(material, exact=True).check()
    page.get_by_label("申请人已签署《告知承诺书》").check()
    save_details(page, child.birth_date)
    upload_photo(page)
    record_fingers_not_registered(page)

    problems = page.locator("#problems li")
    expect(problems).to_have_text(
        ["未满16周岁：请登记陪同监护人的姓名和公民身份号码。", "未满16周岁：须采集申请人与监护人同框相片。"]
    )
    expect(page.get_by_role("button", name="确认受理")).to_be_disabled()
    # The server refuses too, whatever the page lets through.
    page.get_by_role("button", name="确认受理").evaluate("button => { button.disabled = false; }")
    page.get_by_role("button", name="确认受理").click()
    expect(page.locator("#accept .message-error")).to_contain_text("尚不能受理")
    assert Application.objects.get(person=child).status == Application.Status.DRAFT

    page.get_by_label("监护人姓名").fill("陈建华")
    page.get_by_label("监护人公民身份号码").fill(idnumber.build("360102", datetime.date(1985, 3, 1), 11))
    page.get_by_label("与申请人关系").fill("父亲")
    save_details(page, child.birth_date)
    expect(problems).to_have_text(["未满16周岁：须采集申请人与监护人同框相片。"])
    page.get_by_label("上传同框相片").set_input_files(jpeg("together"))
    page.locator("#guardian").get_by_role("button", name="检测并保存").click()
    expect(page.locator("#guardian .message-success")).to_contain_text("同框相片已采集")
    expect(page.get_by_role("heading", name="尚不能受理")).to_have_count(0)
    number = accept(page)
    page.close()

    application = Application.objects.get(person=child)
    assert (application.number, application.status) == (number, Application.Status.PENDING_REVIEW)
    assert application.guardianship == "birth_certificate"
    assert "birth_certificate" in application.materials_shown
    assert application.guardian_photo is not None
