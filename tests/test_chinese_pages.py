"""The pages outside the counter, review, production and handover read in Chinese for every role:
no English words, no codes of actions, no login names in what a browser shows (§3 of issue 12)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, login

# Names written as they are: file formats, the command operators run (shown as code).
ALLOWED = re.compile(r"Excel|PDF|ECharts|API|GB/T|GB|TOTP|<code>.*?</code>", re.S)
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")

PAGES = {
    "nanchang_clerk": [
        "/",
        "/people/",
        "/units/",
        "/liaisons/",
        "/campaigns/",
        "/cardloss/",
        "/cardloss/report/",
        "/cardloss/found/",
        "/cardloss/found/new/",
    ],
    "donghu_supervisor": [
        "/",
        "/supervision/",
        "/supervision/stuck/",
        "/dataquality/",
        "/dataquality/changes/",
        "/cardloss/",
        "/cardloss/found/?view=due",
    ],
    "nanchang_supervisor": ["/", "/dataquality/households/", "/dataquality/addresses/", "/campaigns/"],
    "finance": ["/", "/finance/", "/finance/unremitted/", "/finance/settlement/", "/finance/remittances/"],
    "campaign_manager": ["/", "/campaigns/", "/people/"],
    "civil_affairs": ["/", "/liaisons/"],
    "auditor": ["/", "/audit/"],
    "admin": ["/", "/people/", "/units/", "/liaisons/", "/dataquality/"],
}


def _visible_text(page: str) -> str:
    body = page.split("<body", 1)[-1].split(">", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    body = ALLOWED.sub(" ", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.django_db
@pytest.mark.parametrize("who", sorted(PAGES))
def test_pages_show_no_english_codes_or_login_names(client: Client, personas: Personas, who: str) -> None:
    for user in personas.all().values():
        user.last_name, user.first_name = "张", "明"
        user.save(update_fields=["last_name", "first_name"])
    PersonFactory.create(name="王晓燕")
    record(
        actor=personas.nanchang_clerk,
        action=AuditAction.PERSON_VIEW,
        object_type="registry.person",
        object_id=1,
    )
    login(client, getattr(personas, who))
    for url in PAGES[who]:
        response = client.get(url)
        assert response.status_code == 200, url
        text = _visible_text(response.content.decode())
        english = sorted(set(LATIN_WORD.findall(text)))
        assert not english, f"{url}: {english}"
        for username in personas.all():
            assert username not in text, f"{url} shows the login name {username}"
