"""What an application caused to be sent is on its 办理记录, page and API alike, with its delivery
state and the phone masked."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tongban.notifications.models import Message
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("outbox")
def test_the_application_shows_its_notifications(
    client: Client, personas: Personas, accept: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        application = accept(personas.nanchang_clerk, PersonFactory.create())
    messages = list(Message.objects.filter(application=application))
    assert [m.kind for m in messages] == ["application.accepted", "review.arrived"]
    assert all(m.status == Message.Status.SENT for m in messages)
    Message.objects.filter(pk=messages[1].pk).update(
        status=Message.Status.PENDING, attempts=2, last_error="短信平台答复 HTTP 503"
    )

    body = api_client(personas.nanchang_clerk).get(f"/api/v1/applications/{application.number}").json()
    assert [(n["kind_label"], n["to"], n["status"]) for n in body["notifications"]] == [
        ("受理通知（申请人）", "138****8000", "sent"),
        ("审核签发待办", application.household_unit.code, "pending"),
    ]
    assert body["notifications"][1]["error"] == "短信平台答复 HTTP 503"

    login(client, personas.nanchang_clerk)
    page = client.get(f"/applications/{application.pk}/").content.decode()
    assert "通知记录" in page and "受理通知（申请人）" in page and "138****8000" in page
    assert f"<td>{application.review_unit.name}</td>" in page.split("通知记录", 1)[1]  # a unit by name
    assert "13800138000" not in page.split("通知记录", 1)[1]
    assert "待发送（第 2 次）" in page and "短信平台答复 HTTP 503" in page
