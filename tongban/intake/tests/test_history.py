"""The 办理记录 (intake/_history.html) on every page that shows one: Chinese names for actions,
people's names for usernames, unit names for codes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.audit.actions import EventAction
from tongban.audit.labels import UNKNOWN_ACTION_LABEL
from tongban.intake.models import ApplicationEvent
from tongban.review import services as review
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db


def _history(html: str) -> list[list[str]]:
    section = html.split("<h2>办理记录</h2>", 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1]
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_history_names_actions_people_and_units(
    client: Client, personas: Any, accept: Any, household_reviewer: Any
) -> None:
    clerk = personas.ganzhou_clerk
    for user, family, given in ((clerk, "张", "受理"), (household_reviewer, "王", "审一")):
        user.last_name, user.first_name = family, given
        user.save(update_fields=["last_name", "first_name"])
    application = accept(clerk, PersonFactory.create())
    review.review_take(actor=household_reviewer, application=application)
    review.review_approve(actor=household_reviewer, application=application, step=1)
    # An action some older version wrote and nobody labelled: named, never shown as its code.
    ApplicationEvent.objects.create(application=application, action="legacy_thing", to_status="issued")

    for user, url in (
        (clerk, reverse("intake:detail", args=[application.pk])),
        (household_reviewer, reverse("review:item", args=[application.pk])),
    ):
        client.logout()
        html = login(client, user).get(url).content.decode()
        rows = _history(html)
        actions = [row[1] for row in rows]
        assert actions[:6] == [
            EventAction(a).label
            for a in ("created", "updated", "photo_checked", "fingers_recorded", "accepted", "routed")
        ]
        assert "签发" in actions and actions[-1] == UNKNOWN_ACTION_LABEL
        assert rows[0][3:5] == ["张受理", "章贡区城关派出所"]
        assert ["王审一", "东湖区城关派出所"] in [row[3:5] for row in rows]
        assert rows[-1][3] == "系统"
        for row in rows:
            assert row[1] in set(EventAction.labels) | {UNKNOWN_ACTION_LABEL}
            assert "ganzhou_clerk" not in row and household_reviewer.username not in row
            assert "legacy_thing" not in row
