"""更正性别 and 变更民族 in the clean-up: the sex correction and what it means for the number's
sequence digit, 民族 chosen from GB 3304 on the page and checked in the API, values by name."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.dataquality import scan, services
from tongban.dataquality.models import Case, ChangeRequest
from tongban.registry.models import ChangeItem, Person, PersonChange, Unit
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

BIRTH = datetime.date(1992, 7, 15)
API = "/api/v1/dataquality/changes"


def _named(personas: Personas) -> None:
    for user, family, given in (
        (personas.nanchang_reviewer, "李", "审核"),
        (personas.donghu_supervisor, "王", "督导"),
    ):
        user.last_name, user.first_name = family, given
        user.save(update_fields=["last_name", "first_name"])


def _person(*, number_sex: str, registered_sex: str) -> Person:
    """A person of 东湖区城东派出所 whose number tells `number_sex` (its 17th digit)."""
    sequence = 303 if number_sex == "1" else 304
    return PersonFactory.create(
        id_number=idnumber.build("360102", BIRTH, sequence),
        birth_date=BIRTH,
        sex_id=registered_sex,
        registration_unit=Unit.objects.get(code="360102002"),
        name="性别待核",
    )


def _file(personas: Personas, person: Person, item: str, value: str) -> ChangeRequest:
    return services.change_request_create(
        actor=personas.nanchang_reviewer,
        person_id=person.pk,
        item=item,
        new_value=value,
        reason="户口登记表核对",
        evidence="常住人口登记表 No.0001",
    )


def _approve(personas: Personas, change: ChangeRequest) -> ChangeRequest:
    return services.change_request_decide(
        actor=personas.donghu_supervisor, request_id=change.pk, approve=True, note="同意"
    )


def _open_wrong_number(person: Person) -> Case | None:
    return Case.objects.filter(kind=Case.Kind.WRONG_NUMBER, key=f"person:{person.pk}", status="open").first()


def test_a_sex_registered_wrong_is_corrected_to_agree_with_the_number(personas: Personas) -> None:
    person = _person(number_sex="1", registered_sex="2")  # a man's number, registered 女
    run = scan.run_start(unit=Unit.objects.get(code="360102"), kinds=[Case.Kind.WRONG_NUMBER.value])
    scan.run_scan(run)
    found = _open_wrong_number(person)
    assert found is not None and "性别" in found.evidence["summary"]  # the scan reports it

    change = _file(personas, person, ChangeItem.SEX, "男")  # by name; stored as the code
    assert (change.field, change.old_value, change.new_value) == ("sex", "2", "1")
    assert (change.old_value_label, change.new_value_label) == ("女", "男")
    person.refresh_from_db()
    assert person.sex_id == "2"  # nothing before approval

    _approve(personas, change)
    person.refresh_from_db()
    assert person.sex_id == "1"
    history = PersonChange.objects.get(person=person)
    assert (history.item, history.field, history.old_value_label, history.new_value_label) == (
        "sex",
        "sex",
        "女",
        "男",
    )
    # The number now agrees: a re-scan finds nothing new (the case stays for people to close).
    assert scan._wrong_findings([person.pk], scan._Units.load(), datetime.date(2026, 1, 1)) == []


def test_a_sex_change_against_the_number_opens_a_wrong_number_case_for_the_new_number(
    personas: Personas,
) -> None:
    person = _person(number_sex="1", registered_sex="1")  # number and register agree: 男
    change = _file(personas, person, ChangeItem.SEX, "2")
    decided = _approve(personas, change)
    person.refresh_from_db()
    assert person.sex_id == "2"
    # At once, not at the next scan: the sequence digit now contradicts the register.
    case = _open_wrong_number(person)
    assert case is not None and case.unit.code == "360102002"
    assert "性别" in case.evidence["summary"]
    assert decided.status == ChangeRequest.Status.APPROVED
    # The way on: 纠正错号 to a number whose 17th digit is even (agrees with 女).
    renumber = _file(personas, person, ChangeItem.WRONG_NUMBER, idnumber.build("360102", BIRTH, 306))
    _approve(personas, renumber)
    person.refresh_from_db()
    assert person.id_number == idnumber.build("360102", BIRTH, 306)


@pytest.mark.parametrize(("value", "message"), [("9", "男”或“女"), ("未知", "男”或“女"), ("1", "相同")])
def test_a_sex_correction_takes_only_a_sex_the_number_can_tell(
    personas: Personas, value: str, message: str
) -> None:
    person = _person(number_sex="1", registered_sex="1")
    with pytest.raises(ServiceError) as refused:
        _file(personas, person, ChangeItem.SEX, value)
    assert message in refused.value.fields["new_value"]
    assert not ChangeRequest.objects.exists()


@pytest.mark.parametrize(("value", "stored"), [("03", "03"), ("3", "03"), ("回族", "03"), ("回", "03")])
def test_ethnicity_is_a_gb_3304_code_by_code_or_name(personas: Personas, value: str, stored: str) -> None:
    change = _file(personas, _person(number_sex="1", registered_sex="1"), ChangeItem.ETHNICITY, value)
    assert (change.new_value, change.old_value_label, change.new_value_label) == (stored, "汉族", "回族")


@pytest.mark.parametrize("value", ["火星族", "99", "汉族x"])
def test_an_ethnicity_outside_gb_3304_is_refused(personas: Personas, value: str) -> None:
    with pytest.raises(ServiceError) as refused:
        _file(personas, _person(number_sex="1", registered_sex="1"), ChangeItem.ETHNICITY, value)
    assert "民族列表" in refused.value.fields["new_value"]


def _options(html: str, name: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None, name
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(1))


def test_the_page_picks_ethnicity_and_sex_from_lists(client: Client, personas: Personas) -> None:
    _named(personas)
    person = _person(number_sex="1", registered_sex="1")
    url = reverse("dataquality:change_new", args=[person.pk])
    login(client, personas.nanchang_reviewer)
    page = client.get(url).content.decode()
    ethnicities = _options(page, "new_ethnicity")
    assert ("01", "汉族") in ethnicities and ("03", "回族") in ethnicities and len(ethnicities) > 56
    assert _options(page, "new_sex") == [("", "请选择"), ("1", "男"), ("2", "女")]
    assert ("sex", "更正性别") in _options(page, "item")
    assert "第17位表示男" in page
    # Nothing chosen: said beside the list, nothing filed.
    base = {"reason": "户口登记表核对", "evidence": "常住人口登记表"}
    response = client.post(url, {"item": "ethnicity", "new_ethnicity": "", **base})
    assert response.status_code == 200 and not ChangeRequest.objects.exists()
    assert response.context["form"].errors["new_ethnicity"] == ["请填写或选择更正后的内容。"]
    # The registered value again: the service's refusal, beside the same list.
    response = client.post(url, {"item": "ethnicity", "new_ethnicity": "01", **base})
    assert response.context["form"].errors["new_ethnicity"] == ["新值与现登记内容相同。"]
    response = client.post(url, {"item": "sex", "new_sex": "2", **base})
    change = ChangeRequest.objects.get()
    assert response.status_code == 302 and (change.field, change.new_value) == ("sex", "2")

    login(client, personas.donghu_supervisor)
    detail = client.get(reverse("dataquality:change_detail", args=[change.pk])).content.decode()
    assert "<dd>男</dd>" in detail and "<dd>女</dd>" in detail
    assert "李审核" in detail and "nanchang_reviewer" not in detail
    assert "第17位表示“男”，与更正后的性别不符" in detail
    client.post(reverse("dataquality:change_detail", args=[change.pk]), {"approve": "1", "note": "同意"})
    record = client.get(reverse("registry:person_detail", args=[person.pk])).content.decode()
    history = record.split("变更更正记录", 1)[1]
    assert "更正性别" in history and "<td>男</td><td>女</td>" in history
    assert "王督导" in history and "donghu_supervisor" not in history


def test_the_api_checks_and_names_sex_and_ethnicity(personas: Personas) -> None:
    _named(personas)
    person = _person(number_sex="1", registered_sex="1")
    api = api_client(personas.nanchang_reviewer)
    body: dict[str, Any] = {"person": person.pk, "reason": "户口登记表核对", "evidence": "登记表"}
    for item, value in (("sex", "3"), ("ethnicity", "火星族")):
        refused = api.post(API, {**body, "item": item, "new_value": value}, format="json")
        assert refused.status_code == 400
        assert refused.json()["code"] == "invalid" and "new_value" in refused.json()["fields"]
    created = api.post(API, {**body, "item": "sex", "new_value": "女"}, format="json")
    assert created.status_code == 201, created.json()
    row = created.json()
    assert (row["new_value"], row["old_value_label"], row["new_value_label"]) == ("2", "男", "女")
    assert row["requested_by"] == "李审核"
    listed = api_client(personas.donghu_supervisor).get(API).json()["results"][0]
    assert (listed["item_label"], listed["new_value_label"]) == ("更正性别", "女")


def test_case_evidence_names_the_sex_and_shows_no_codes(client: Client, personas: Personas) -> None:
    person = _person(number_sex="1", registered_sex="2")
    run = scan.run_start(unit=Unit.objects.get(code="360102"), kinds=[Case.Kind.WRONG_NUMBER.value])
    scan.run_scan(run)
    case = _open_wrong_number(person)
    assert case is not None
    login(client, personas.donghu_supervisor)
    page = client.get(reverse("dataquality:case_detail", args=[case.pk])).content.decode()
    evidence = page.split("扫描时的证据", 1)[1].split("</table>", 1)[0]
    assert "<td>女</td>" in evidence and "性别代码" not in page
    assert "<code>" not in page
