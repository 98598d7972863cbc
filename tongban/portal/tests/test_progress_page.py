"""The public page /guide/progress/: a form on a phone, the answer in plain words, “未查询到”
alike for every wrong combination, the wait message when limited, linked from the guide."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from tongban.audit.models import AuditEvent
from tongban.intake.models import Application
from tongban.portal.tests.progress_fixtures import a_number, application
from tongban.registry.models import Unit
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db
URL = "/guide/progress/"
Status = Application.Status


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def test_the_url_is_named_and_the_guide_links_to_it(client: Client) -> None:
    assert reverse("portal:progress") == URL
    assert f'href="{URL}"' in client.get("/guide/").content.decode()


def test_anyone_gets_the_form_without_logging_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    page = text_of(response)
    for label in ("受理号", "公民身份号码后6位", "申请人姓名", "查询"):
        assert label in page
    assert "退出" not in page and "工作台" not in page
    assert 'name="viewport"' in page and "portal/progress.css" in page
    assert "no-store" in response["Cache-Control"]


def test_the_page_explains_itself(client: Client) -> None:
    page = text_of(client.get(URL))
    for stage in ("已受理", "审核中", "已签发", "制证中", "待领取", "已邮寄", "已领取", "不予签发", "已撤回"):
        assert f"<dt>{stage}</dt>" in page
    assert "暂估" in page and "未查询到" in page and "5次" in page and "30分钟" in page


def test_the_css_is_made_for_a_phone() -> None:
    found = finders.find("portal/progress.css")
    assert isinstance(found, str)
    assert "@media (max-width" in Path(found).read_text(encoding="utf-8")


def test_found_shows_the_stage_and_not_what_was_typed(client: Client) -> None:
    station = Unit.objects.get(code="360102001")
    Unit.objects.filter(pk=station.pk).update(address="南昌市东湖区八一大道1号", phone="0791-86000000")
    app = application(Status.AT_SITE)
    response = client.post(URL, {"number": app.number, "id_suffix": app.id_number[-6:], "name": ""})
    assert response.status_code == 200
    page = text_of(response)
    assert "待领取" in page and station.name in page and "0791-86000000" in page and "八一大道1号" in page
    assert app.id_number[-6:] not in page and app.name not in page and app.id_number not in page
    assert f'value="{app.number}"' in page  # the number stays for another try, the proof does not


def test_spaces_in_the_number_and_a_dot_variant_in_the_name_are_fine(client: Client) -> None:
    app = application(Status.ISSUED, person=None, name="买买提·吐尔逊")
    number = app.number or ""
    spaced = " ".join([number[:6], number[6:14], number[14:]])
    page = text_of(client.post(URL, {"number": spaced, "name": "买买提•吐尔逊"}))
    assert "已签发" in page and "未查询到" not in page.split("查询说明")[0]


def test_wrong_combinations_say_only_not_found(client: Client) -> None:
    app = application(Status.PENDING_REVIEW)
    wrong = "000000" if not app.id_number.endswith("000000") else "111111"
    answers = [
        client.post(URL, {"number": a_number(), "id_suffix": app.id_number[-6:]}),
        client.post(URL, {"number": app.number, "id_suffix": wrong}),
        client.post(URL, {"number": app.number, "name": "张三"}),
    ]
    assert {response.status_code for response in answers} == {200}
    results = {text_of(response).split('data-answer="refusal">')[1].split("<")[0] for response in answers}
    assert len(results) == 1 and "未查询到" in results.pop()
    assert all('data-answer="progress"' not in text_of(response) for response in answers)


def test_a_locked_number_shows_the_wait_message(client: Client, settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 2
    app = application(Status.PENDING_REVIEW)
    for _ in range(2):
        client.post(URL, {"number": app.number, "name": "张三"})
    response = client.post(URL, {"number": app.number, "name": app.name})
    assert response.status_code == 429
    page = text_of(response)
    assert "请求过于频繁，请于" in page and "后再试" in page and 'data-answer="progress"' not in page


def test_form_errors_are_shown_beside_the_fields(client: Client) -> None:
    page = text_of(client.post(URL, {"number": "12345", "id_suffix": "", "name": ""}))
    assert "受理号应为22位数字" in page
    page = text_of(client.post(URL, {"number": a_number(), "id_suffix": "123456", "name": "刘晓燕"}))
    assert "二选一" in page
    assert not AuditEvent.objects.filter(action__startswith="progress.").exists()


def test_a_refusal_says_what_to_do(client: Client) -> None:
    app = application(Status.REJECTED, refusal_code_id="01", refusal_reason="非首次申领")
    page = text_of(client.post(URL, {"number": app.number, "name": app.name}))
    assert "不予签发" in page and "不符合首次申领条件" in page and "户籍地" in page


def test_staff_may_use_it_too(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_clerk)
    app = application(Status.PENDING_REVIEW)
    assert "审核中" in text_of(client.post(URL, {"number": app.number, "name": app.name}))
