"""The public guide: open to anyone, and written by the counter's own rules."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from django.urls import reverse

from tongban.intake import rules
from tongban.intake.rules import ApplicationType, GuardianshipCase
from tongban.portal.views import CASE_LABELS
from tongban.testing.personas import Personas, login

URL = "/guide/"


def _page(client: Client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _checklists() -> list[tuple[rules.Material, ...]]:
    adult = rules.materials(ApplicationType.FIRST, age=rules.ADULT_AGE)
    minors = [
        rules.materials(ApplicationType.FIRST, age=rules.ADULT_AGE - 1, guardianship=case)
        for case in GuardianshipCase
    ]
    return [adult, *minors]


def test_the_url_is_named() -> None:
    assert reverse("portal:guide") == URL


def test_anyone_can_read_it_without_logging_in(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 200  # no redirect to the login page
    page = response.content.decode()
    assert "首次申领居民身份证“全省通办”办事指南" in page
    assert "退出" not in page and "工作台" not in page  # no staff navigation for the public


@pytest.mark.django_db
def test_staff_see_it_too(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_clerk)
    assert "办事指南" in _page(client)


def test_it_lists_every_material_the_counter_asks_for(client: Client) -> None:
    page = _page(client)
    for checklist in _checklists():
        for material in checklist:
            assert material.label in page, material.label
            if material.alternatives:
                options = "、".join(label for _, label in material.alternatives)
                assert f"其中一种：{options}" in page
    for case in GuardianshipCase:
        assert CASE_LABELS[case] in page


def test_each_minor_case_shows_its_own_checklist(client: Client) -> None:
    page = _page(client)
    for case in GuardianshipCase:
        start = page.index(CASE_LABELS[case])
        section = page[start : page.index("</ul>", start)]
        materials = rules.materials(ApplicationType.FIRST, age=rules.ADULT_AGE - 1, guardianship=case)
        assert re.findall(r"<li>", section) == ["<li>"] * len(materials)
        for material in materials:
            assert material.label in section


def test_it_explains_the_flow_the_photo_and_collection(client: Client) -> None:
    page = _page(client)
    for step in ("受理", "户籍地审核签发", "制证", "分发", "核验发放"):
        assert step in page
    assert "5个工作日内审核签发" in page
    assert "同框" in page and rules.needs_guardian_photo(rules.ADULT_AGE - 1)
    for way in ("受理点领取", "领证回执", "亲属代领", "邮政寄递", "30个工作日内"):
        assert way in page


def test_fees_and_validity_come_from_the_rules(client: Client) -> None:
    page = _page(client)
    assert "首次申领居民身份证</td><td>免费" in page
    for amount in ("20元", "40元", "10元"):
        assert amount in page
    for ages, period in (
        ("未满16周岁", "5年"),
        ("16至25周岁", "10年"),
        ("26至45周岁", "20年"),
        ("46周岁以上", "长期"),
    ):
        assert f"<td>{ages}</td><td>{period}</td>" in page


def test_changing_the_fee_table_changes_the_page(client: Client) -> None:
    assert "25元" not in _page(client)
    with override_settings(FEES=rules.fee_table({"renewal": "25", "temporary": 12.5})):
        page = _page(client)
    assert "有效期满、登记项目变更等）</td><td>25元" in page
    assert "临时居民身份证</td><td>12.5元" in page


def test_deadlines_come_from_the_settings(client: Client, settings: Any) -> None:
    settings.DEADLINES = replace(settings.DEADLINES, review_days=3, post_verification_days=20)
    page = _page(client)
    assert "3个工作日内审核签发" in page and "20个工作日内" in page


def test_it_is_print_and_mobile_friendly(client: Client) -> None:
    page = _page(client)
    assert 'name="viewport"' in page and "portal/guide.css" in page
    found = finders.find("portal/guide.css")
    assert isinstance(found, str)
    css = Path(found).read_text(encoding="utf-8")
    assert "@media print" in css and "@media (max-width" in css


def test_only_reading_is_allowed(client: Client) -> None:
    assert client.post(URL).status_code == 405


def test_the_login_page_links_to_it(client: Client) -> None:
    page = client.get("/accounts/login/").content.decode()
    assert f'href="{URL}"' in page and "办事指南" in page
