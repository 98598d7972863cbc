"""通知模板: every message is written from a template whose text administrators may change, with
only the variables it lists; the change is audited and applies to messages written afterwards."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongban.audit.models import AuditEvent
from tongban.notifications import texts
from tongban.notifications.models import Message, MessageTemplate
from tongban.notifications.services import compose
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

ACCEPTED = texts.TEMPLATES["application.accepted"]


@pytest.mark.parametrize("code", list(texts.TEMPLATES))
def test_every_default_text_passes_its_own_check(code: str) -> None:
    template = texts.TEMPLATES[code]
    assert texts.check(template, template.default) == template.default
    assert set(texts.placeholders(template.default)) == set(template.variables)
    assert "{" not in texts.render(template.default, texts.sample(template))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "请填写通知内容"),
        ("   ", "请填写通知内容"),
        ("受理号 {number}，姓名 {name}", "不能使用变量 {name}"),
        ("受理号 {number.__class__}", "不能使用变量 {number.__class__}"),
        ("您的申领已受理。", "须包含 {number}（受理号）"),
        ("受理号 {number", "花括号须成对使用"),
        ("受理号 {number}}", "花括号须成对使用"),
        ("受理号 {number}" + "。" * texts.MAX_LENGTH, f"不能超过 {texts.MAX_LENGTH} 个字"),
    ],
)
def test_a_text_the_template_cannot_take_is_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(texts.TemplateError, match=says.replace("{", r"\{").replace("}", r"\}")):
        texts.check(ACCEPTED, text)


def test_rendering_substitutes_only_the_listed_names() -> None:
    # Never str.format: a value's attributes are out of reach, whatever the text says.
    assert texts.render("受理号 {number}", {"number": "360102"}) == "受理号 360102"
    assert texts.render("{number.__class__}", {"number": "x"}) == "{number.__class__}"


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox")
def test_an_administrator_changes_a_text_and_later_messages_use_it(
    personas: Personas, accept: Any, django_capture_on_commit_callbacks: Any
) -> None:
    api = api_client(personas.admin)
    body = api.get("/api/v1/notification-templates/application.accepted").json()
    assert body["text"] == ACCEPTED.default and body["customized"] is False
    assert body["variables"] == [{"name": "number", "meaning": "受理号", "mandatory": True}]

    text = "【江西公安】您的身份证申领已受理，受理号 {number}。"
    response = api.put("/api/v1/notification-templates/application.accepted", {"text": text}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["customized"] is True and response.json()["updated_by"]
    assert response.json()["preview"] == "【江西公安】您的身份证申领已受理，受理号 3601020012026120700001。"
    event = AuditEvent.objects.get(action="notification.template_update")
    assert event.detail == {"before": ACCEPTED.default, "after": text}

    with django_capture_on_commit_callbacks(execute=True):
        application = accept(personas.nanchang_clerk, PersonFactory.create())
    message = Message.objects.get(application=application, kind="application.accepted")
    assert message.text == f"【江西公安】您的身份证申领已受理，受理号 {application.number}。"
    assert message.template == "application.accepted"

    response = api.post("/api/v1/notification-templates/application.accepted/reset")
    assert response.status_code == 200 and response.json()["text"] == ACCEPTED.default
    assert not MessageTemplate.objects.exists()
    assert AuditEvent.objects.filter(action="notification.template_reset").count() == 1
    # Messages already written keep the text they were written with.
    assert Message.objects.get(pk=message.pk).text.startswith("【江西公安】")


@pytest.mark.django_db
def test_a_bad_text_changes_nothing_and_says_why(personas: Personas) -> None:
    api = api_client(personas.admin)
    response = api.put(
        "/api/v1/notification-templates/review.arrived",
        {"text": "受理号 {number}，申请人 {name}"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    said = body["fields"]["text"][0]["message"]
    assert body["code"] == "template_invalid" and said == "不能使用变量 {name}；可用的变量：{number}、{due}。"
    assert not MessageTemplate.objects.exists() and not AuditEvent.objects.filter(
        action__startswith="notification"
    )
    assert api.put("/api/v1/notification-templates/no.such", {"text": "x"}, format="json").status_code == 404


@pytest.mark.django_db
def test_only_administrators_see_or_change_templates(personas: Personas) -> None:
    for user in (personas.nanchang_clerk, personas.province_supervisor, personas.auditor):
        api = api_client(user)
        assert api.get("/api/v1/notification-templates").status_code == 403
        put = api.put(
            "/api/v1/notification-templates/application.accepted", {"text": "{number}"}, format="json"
        )
        assert put.status_code == 403 and put.json()["code"] == "permission_denied"
    assert not MessageTemplate.objects.exists()


@pytest.mark.django_db
def test_the_template_pages(client: Client, personas: Personas) -> None:
    login(client, personas.admin)
    listing = client.get("/notifications/templates/").content.decode()
    assert "通知模板" in listing and "审核期限提醒：已超期" in listing and "{due}" in listing

    page = client.post("/notifications/templates/review.arrived/", {"text": "新的待办 {due}"})
    assert page.status_code == 200
    assert "须包含 {number}（受理号）" in page.content.decode()  # next to the field, the text kept
    assert "新的待办 {due}" in page.content.decode() and not MessageTemplate.objects.exists()

    saved = client.post("/notifications/templates/review.arrived/", {"text": "待办：{number}，{due} 前办结"})
    assert saved.status_code == 302
    assert MessageTemplate.objects.get().text == "待办：{number}，{due} 前办结"
    assert "待办：{number}，{due} 前办结" in client.get("/notifications/templates/").content.decode()

    asked = client.post("/notifications/templates/review.arrived/reset/")
    assert "恢复默认" in asked.content.decode() and MessageTemplate.objects.exists()
    client.post("/notifications/templates/review.arrived/reset/", {"confirmed": "1"})
    assert not MessageTemplate.objects.exists()

    login(client, personas.province_supervisor)
    assert client.get("/notifications/templates/").status_code == 404


@pytest.mark.django_db
@pytest.mark.usefixtures("outbox")
def test_a_unit_reads_the_messages_about_its_own_work(
    client: Client, personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    from tongban.notifications.services import notify

    station = personas.nanchang_reviewer.unit_code  # 360102002
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            compose("review.arrived", unit_code=station, number="3601020022026120700001", due="2026-12-14")
        )
        notify(compose("shipment.sent", unit_code=station, shipment=7, count=3, sender="省制证中心"))
        notify(
            compose(
                "review.arrived", unit_code="360702001", number="3607020012026120700001", due="2026-12-14"
            )
        )
        notify(compose("application.accepted", phone="13800138000", number="3601020022026120700001"))

    rows = api_client(personas.nanchang_reviewer).get("/api/v1/notifications").json()["results"]
    # The reviewer gets the review work of the station, not its deliveries, nor anyone else's.
    assert [(row["kind_label"], row["text"]) for row in rows] == [
        ("审核签发待办", "新的审核签发事项：受理号 3601020022026120700001，办理期限 2026-12-14。")
    ]
    assert api_client(personas.nanchang_clerk).get("/api/v1/notifications").json()["results"] == []
    assert api_client(personas.auditor).get("/api/v1/notifications").json() == {
        "results": [],
        "next_after": None,
    }

    login(client, personas.nanchang_reviewer)
    page = client.get("/notifications/").content.decode()
    assert "新的审核签发事项：受理号 3601020022026120700001" in page and "3607020012026120700001" not in page
