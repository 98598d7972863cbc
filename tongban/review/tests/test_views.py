"""The review pages as reviewers use them: only the actions they can take now, the outcome in
words where the action was taken, 不予签发 confirmed first, errors beside the forms with what
was typed kept, and the queue's search, scopes, sorting and pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tongban.accounts.models import User
from tongban.core.dates import add_years
from tongban.intake.models import Application, ReviewChain
from tongban.review import services
from tongban.review.models import ReviewStep
from tongban.testing.factories import PersonFactory, UserFactory, station
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(personas: Personas, accept: Callable[..., Application]) -> Application:
    """Accepted at 章贡区城关派出所 for 刘晓燕, registered at 东湖区城关派出所."""
    return accept(personas.ganzhou_clerk, PersonFactory.create(name="刘晓燕", sex_id="2"))


@pytest.fixture
def colleague(db: None) -> User:
    return UserFactory.create(username="donghu_colleague", role="reviewer", unit=station("360102001"))


def page_of(client: Client, application: Application) -> str:
    response = client.get(f"/review/{application.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def buttons(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", b).strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", html)]


def decide(client: Client, application: Application, **data: str) -> Any:
    return client.post(f"/review/{application.pk}/decide/", {"step": "1", **data})


def test_an_item_nobody_holds_offers_only_take(
    client: Client, application: Application, household_reviewer: User
) -> None:
    html = page_of(login(client, household_reviewer), application)
    assert "领取办理" in buttons(html)
    assert "退回待办（放弃领取）" not in buttons(html) and "签发" not in buttons(html)
    assert "该事项尚未领取" in html


def test_take_then_decide_with_the_outcome_in_words(
    client: Client, application: Application, household_reviewer: User, colleague: User
) -> None:
    login(client, household_reviewer)
    response = client.post(f"/review/{application.pk}/take/")
    assert response.status_code == 302 and response["Location"].endswith(f"/review/{application.pk}/#decide")
    html = page_of(client, application)
    assert "已领取办理，该事项由您办理。" in html and "办理下一件" not in html
    assert {"签发", "记录核实情况", "不予签发…", "退回待办（放弃领取）"} <= set(buttons(html))
    ids = re.findall(r' id="([^"]+)"', html)  # three forms share field names, never ids
    assert len(ids) == len(set(ids)) and 'for="refuse_reason"' in html and 'id="refuse_reason"' in html
    assert "领取办理" not in buttons(html)
    assert "已领取办理" not in page_of(client, application)  # the outcome is shown once

    # A colleague of the unit sees who holds it and nothing to do.
    other = Client()
    html = page_of(login(other, colleague), application)
    assert "该事项已由" in html and "领取办理，您可查看，无需办理。" in html
    assert not {"领取办理", "签发", "不予签发…"} & set(buttons(html))

    response = decide(client, application, decision="issue", reason="信息核对无误")
    assert response.status_code == 302
    html = page_of(client, application)
    application.refresh_from_db()
    assert application.status == Application.Status.ISSUED
    assert application.valid_from is not None
    assert f"已签发，签发机关南昌市公安局东湖分局，有效期限{application.validity_label}。" in html
    assert application.valid_until == add_years(application.valid_from, 20)
    assert "该事项已于" in html and "签发机关南昌市公安局东湖分局，无需办理。" in html
    assert not {"领取办理", "签发", "不予签发…"} & set(buttons(html))


def test_release_gives_it_back(client: Client, application: Application, household_reviewer: User) -> None:
    login(client, household_reviewer)
    client.post(f"/review/{application.pk}/take/")
    client.post(f"/review/{application.pk}/release/")
    html = page_of(client, application)
    assert "已退回待办，本单位其他审核人员可以领取。" in html and "领取办理" in buttons(html)


def test_a_passed_step_offers_nothing_to_the_station_and_says_where_it_went(
    client: Client, personas: Personas, accept: Callable[..., Application], household_reviewer: User
) -> None:
    chain = ReviewChain.objects.create(name="两级", region_prefix="3601")
    chain.steps.create(order=1, level="station", title="审核")
    chain.steps.create(order=2, level="county", title="审核签发")
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    login(client, household_reviewer)
    client.post(f"/review/{application.pk}/take/")
    html = page_of(client, application)
    assert "审核通过，流转至南昌市公安局东湖分局审核签发" in buttons(html)
    decide(client, application, decision="issue")
    html = page_of(client, application)
    assert "已审核通过，流转至南昌市公安局东湖分局审核签发。" in html
    assert "该事项已流转至南昌市公安局东湖分局审核签发，您无需办理。" in html
    assert not {"领取办理", "签发", "不予签发…", "退回待办（放弃领取）"} & set(buttons(html))
    # A take posted from a stale page is refused on the page, as an error.
    response = client.post(f"/review/{application.pk}/take/")
    assert response.status_code == 409
    assert "未能办理：" in response.content.decode() and "已流转至" in response.content.decode()
    # The county bureau's reviewer takes it; the county supervisor's reviewers above only look.
    county = UserFactory.create(role="reviewer", unit=station("360102"))
    html = page_of(login(Client(), county), application)
    assert "领取办理" in buttons(html)


def test_units_that_only_see_the_item_read_it(
    application: Application, personas: Personas, household_reviewer: User
) -> None:
    county = UserFactory.create(role="reviewer", unit=station("360102"))
    html = page_of(login(Client(), county), application)
    assert "该事项由东湖区城关派出所审核签发，本单位只可查看。" in html
    assert not {"领取办理", "签发"} & set(buttons(html))
    acceptance_side = UserFactory.create(role="reviewer", unit=station("360702001"))
    html = page_of(login(Client(), acceptance_side), application)
    assert "该事项由东湖区城关派出所审核签发，您无需办理。" in html
    assert "领取办理" not in buttons(html)
    assert Client().get(f"/review/{application.pk}/").status_code == 302  # to the login page
    assert login(Client(), personas.nanchang_reviewer).get(f"/review/{application.pk}/").status_code == 404


def test_refusal_is_confirmed_first_then_answered_in_words(
    client: Client, application: Application, household_reviewer: User
) -> None:
    login(client, household_reviewer)
    client.post(f"/review/{application.pk}/take/")
    asked = decide(client, application, decision="refuse", refusal_reason="02", reason="出生日期与户籍不一致")
    html = asked.content.decode()
    assert asked.status_code == 200 and "确认不予签发？" in html
    assert "户籍信息不符" in html and "出生日期与户籍不一致" in html
    assert {"确认不予签发", "返回修改"} <= set(buttons(html))
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW  # nothing happened yet

    edit = decide(
        client, application, decision="refuse", refusal_reason="02", reason="出生日期不一致", edit="1"
    )
    html = edit.content.decode()
    assert "确认不予签发？" not in html and "出生日期不一致</textarea>" in html
    assert re.search(r'<option value="02" selected>户籍信息不符</option>', html)

    done = decide(
        client, application, decision="refuse", refusal_reason="02", reason="出生日期不一致", confirm="1"
    )
    assert done.status_code == 302
    html = page_of(client, application)
    assert (
        "已不予签发（户籍信息不符：出生日期不一致），已退回受理单位章贡区城关派出所，"
        "由其告知申请人回户口所在地公安机关办理。"
    ) in html
    assert "<dt>不予签发原因</dt><dd>户籍信息不符：出生日期不一致</dd>" in html
    application.refresh_from_db()
    assert (application.status, application.refusal_code_id) == (Application.Status.REJECTED, "02")


def test_errors_show_beside_the_form_and_keep_what_was_typed(
    client: Client, application: Application, household_reviewer: User, colleague: User
) -> None:
    login(client, household_reviewer)
    client.post(f"/review/{application.pk}/take/")
    # 其他 needs a remark: refused at the confirmation step already, beside the field.
    response = decide(client, application, decision="refuse", refusal_reason="99", reason=" ")
    html = response.content.decode()
    assert response.status_code == 400 and "确认不予签发？" not in html
    assert "请写明不予签发的具体情况。" in html
    no_reason = decide(client, application, decision="refuse", reason="写了说明没选原因")
    assert no_reason.status_code == 400 and "写了说明没选原因</textarea>" in no_reason.content.decode()
    verify = decide(client, application, decision="verify", reason="走访邻居")
    assert verify.status_code == 400 and "走访邻居</textarea>" in verify.content.decode()

    # Somebody else acts meanwhile: the decision is refused as an error and the text survives.
    services.review_release(actor=household_reviewer, application=application)
    services.review_take(actor=colleague, application=application)
    taken = decide(client, application, decision="issue", reason="我写的审核意见")
    html = taken.content.decode()
    assert taken.status_code == 409
    assert 'class="action-error" role="alert"' in html and "该事项已由东湖区城关派出所" in html
    assert "您填写的内容未提交" in html and "我写的审核意见" in html
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW
    assert not ReviewStep.objects.filter(application=application).exclude(decision="").exists()


def test_a_stale_step_keeps_the_form_for_the_current_step(
    client: Client, personas: Personas, accept: Callable[..., Application]
) -> None:
    chain = ReviewChain.objects.create(name="两级", region_prefix="3601")
    chain.steps.create(order=1, level="county", title="审核")
    chain.steps.create(order=2, level="county", title="签发")
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    county = UserFactory.create(role="reviewer", unit=station("360102"))
    login(client, county)
    colleague = UserFactory.create(role="reviewer", unit=station("360102"))
    services.review_approve(actor=colleague, application=application, step=1)
    # Still on the page of step 1: the text comes back, and the item (now unheld) can be taken.
    response = decide(client, application, decision="issue", reason="第一环节意见")
    html = response.content.decode()
    assert response.status_code == 409 and "该环节已由他人办结" in html
    assert "您填写的内容未提交" in html and "第一环节意见" in html and "领取办理" in buttons(html)
    # Holding step 2 (taken in another tab), a stale post is offered again for step 2.
    services.review_take(actor=county, application=application)
    response = decide(client, application, decision="issue", reason="第一环节意见")
    html = response.content.decode()
    assert response.status_code == 409 and 'name="step" value="2"' in html
    assert "第一环节意见</textarea>" in html


def test_the_item_page_shows_no_raw_codes(
    client: Client,
    personas: Personas,
    accept: Callable[..., Application],
) -> None:
    earlier = accept(personas.ganzhou_clerk, PersonFactory.create(name="王甲"))
    application = accept(personas.ganzhou_clerk, PersonFactory.create(name="王乙"))
    reviewer = UserFactory.create(
        username="donghu_named", role="reviewer", unit=station("360102001"), last_name="李", first_name="审"
    )
    services.review_take(actor=reviewer, application=application)
    html = page_of(login(client, reviewer), application)
    text = re.sub(r"<[^>]+>", " ", html)
    for raw in ("household_book", "residence_proof", "application:", "person:", "pending_review", "donghu_"):
        assert raw not in text, raw
    assert "居民户口簿、居住证明" in html
    # The other application with the same face: named and linked (in the reviewer's jurisdiction).
    assert f'<a href="/review/{earlier.pk}/">王甲（' in html and f"受理号 {earlier.number}" in html


# ---------------------------------------------------------------------------------------------
# The queue page


def test_queue_page_splits_mine_from_the_subtree_and_masks_numbers(
    client: Client, application: Application, household_reviewer: User
) -> None:
    county = UserFactory.create(role="reviewer", unit=station("360102"))
    html = login(client, county).get("/review/").content.decode()
    assert '我的待办 <span class="count">0</span>' in html and '辖区在办 <span class="count">1</span>' in html
    assert "暂无待办事项。" in html and "autofocus" in html
    html = client.get("/review/?scope=subtree").content.decode()
    assert f">{application.number}<" in html and "共 1 件" in html
    assert application.id_number not in html and application.masked_id_number in html
    assert 'aria-sort="ascending"' in html and "?scope=subtree&amp;sort=-due" in html


def test_scanning_a_number_opens_the_item(
    client: Client, application: Application, household_reviewer: User
) -> None:
    login(client, household_reviewer)
    number = str(application.number)
    for typed in (number, application.id_number.lower(), f" {number} "):
        response = client.get("/review/", {"q": typed})
        assert response.status_code == 302 and response["Location"] == f"/review/{application.pk}/"
    missing = client.get("/review/", {"q": "3607020012026112399999"}).content.decode()
    assert "在辖区在办中找到 0 件" in missing and "辖区内没有该受理号或公民身份号码的审核事项。" in missing
    bad = client.get("/review/", {"q": "刘晓燕"}).content.decode()
    assert 'aria-invalid="true"' in bad and "“刘晓燕”不是受理号或公民身份号码，请重新扫描或输入。" in bad
    assert 'value="刘晓燕"' in bad and f">{number}<" in bad and "共 1 件" in bad  # the queue stays


def test_queue_page_numbers(client: Client, application: Application, household_reviewer: User) -> None:
    from tongban.review.tests.test_queue import clone

    clone(application, 120)
    html = login(client, household_reviewer).get("/review/").content.decode()
    assert "共 121 件，第 1/3 页" in html
    links = re.findall(r'<a href="(\?[^"]*page=\d[^"]*)">(\d)</a>', html)
    assert [number for _, number in links] == ["2", "3"]
    third = client.get("/review/" + links[1][0].replace("&amp;", "&")).content.decode()
    assert "第 3/3 页" in third and third.count("/review/") - third.count('href="/review/"') >= 21
