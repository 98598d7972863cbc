from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from tongban.audit.models import AuditEvent
from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.dataquality import services
from tongban.dataquality.models import Case, ChangeRequest
from tongban.registry.models import Card, ChangeItem, NumberRedirect, Person, PersonChange, Unit
from tongban.registry.selectors import person_lookup
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db

BIRTH = datetime.date(1992, 7, 15)


def _station() -> Unit:
    return Unit.objects.get(code="360102002")  # the reviewer persona's station, in 东湖分局


def _wrong_person() -> Person:
    right = idnumber.build("360102", BIRTH, 303)
    wrong = right[:17] + ("0" if right[17] != "0" else "1")
    return PersonFactory.create(
        id_number=wrong, birth_date=BIRTH, registration_unit=_station(), name="错号人"
    )


def _file(personas: Personas, person: Person, item: str, value: str, by: object = None) -> ChangeRequest:
    return services.change_request_create(
        actor=by or personas.nanchang_reviewer,  # type: ignore[arg-type]
        person_id=person.pk,
        item=item,
        new_value=value,
        reason="户口登记表核对发现号码校验码错误",
        evidence="常住人口登记表 No.0001；调查笔录",
    )


def test_a_wrong_number_correction_takes_effect_only_when_approved(personas: Personas) -> None:
    person = _wrong_person()
    card = CardFactory.create(person=person, state=Card.State.ACTIVE)
    old = person.id_number
    right = idnumber.build("360102", BIRTH, 303)
    change = _file(personas, person, ChangeItem.WRONG_NUMBER, right)
    person.refresh_from_db()
    assert person.id_number == old  # nothing changes before approval
    assert (change.old_value, change.new_value, change.field) == (old, right, "id_number")

    # A station cannot approve; a county bureau outside the person's subtree does not see it.
    with pytest.raises(ServiceError) as station:
        services.change_request_decide(
            actor=personas.nanchang_reviewer, request_id=change.pk, approve=True, note=""
        )
    assert station.value.status == 404
    ganzhou = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="360702"))
    with pytest.raises(ServiceError) as outside:
        services.change_request_decide(actor=ganzhou, request_id=change.pk, approve=True, note="")
    assert outside.value.status == 404

    services.change_request_decide(
        actor=personas.donghu_supervisor, request_id=change.pk, approve=True, note="同意"
    )
    person.refresh_from_db()
    assert person.id_number == right
    history = PersonChange.objects.get(person=person)
    assert (history.old_value, history.new_value, history.item) == (old, right, "12")
    assert history.approved_by == personas.donghu_supervisor.username
    # The old number points to the new one: lookups follow, and the card follows the person.
    assert NumberRedirect.objects.get(old_number=old).new_number == right
    assert person_lookup(personas.nanchang_clerk, old) == person
    assert person_lookup(personas.nanchang_clerk, right) == person
    assert list(person.cards.all()) == [card]
    # The valid card carries the old number: a 换领 case for the station.
    renewal = Case.objects.get(kind=Case.Kind.CARD_RENEWAL)
    assert renewal.unit == _station() and renewal.evidence["card_id"] == card.pk
    page = login(Client(), personas.donghu_supervisor).get(
        reverse("dataquality:case_detail", args=[renewal.pk])
    )
    assert page.status_code == 200 and "换领" in page.content.decode()
    assert list(renewal.persons.all()) == [person]
    assert AuditEvent.objects.filter(action="dataquality.change.decide", object_id=str(change.pk)).exists()
    # The person's full record shows the change with both values, kept for good.
    record = login(Client(), personas.nanchang_reviewer).get(
        reverse("registry:person_detail", args=[person.pk])
    )
    text = record.content.decode()
    assert "变更更正记录" in text and "纠正错号" in text and old in text and right in text

    # One decision: a second approver (or the same one again) is refused.
    with pytest.raises(ServiceError) as again:
        services.change_request_decide(
            actor=personas.nanchang_supervisor, request_id=change.pk, approve=False, note="重复"
        )
    assert again.value.code == "already_decided"


def test_the_requester_cannot_approve_their_own_request(personas: Personas) -> None:
    person = _wrong_person()
    change = _file(personas, person, ChangeItem.NAME, "王更名", by=personas.donghu_supervisor)
    with pytest.raises(ServiceError) as own:
        services.change_request_decide(
            actor=personas.donghu_supervisor, request_id=change.pk, approve=True, note=""
        )
    assert own.value.code == "own_request"
    services.change_request_decide(
        actor=personas.nanchang_supervisor, request_id=change.pk, approve=True, note=""
    )
    person.refresh_from_db()
    assert person.name == "王更名"


def test_a_duplicate_number_correction_gives_one_holder_a_new_number(personas: Personas) -> None:
    shared = idnumber.build("360102", BIRTH, 401)
    first, second = (
        PersonFactory.create(id_number=shared, birth_date=BIRTH, registration_unit=_station(), name=n)
        for n in ("重号甲", "重号乙")
    )
    with pytest.raises(ServiceError):
        person_lookup(personas.nanchang_clerk, shared)
    new = idnumber.build("360102", BIRTH, 403)
    change = _file(personas, second, ChangeItem.DUPLICATE_NUMBER, new)
    services.change_request_decide(
        actor=personas.province_supervisor, request_id=change.pk, approve=True, note=""
    )
    assert person_lookup(personas.nanchang_clerk, shared) == first  # the number is no longer shared
    assert person_lookup(personas.nanchang_clerk, new) == second
    assert not Case.objects.filter(kind=Case.Kind.CARD_RENEWAL).exists()  # no valid card, no 换领
    # 纠正重号 on a number nobody else holds is the wrong item.
    with pytest.raises(ServiceError) as wrong_item:
        _file(personas, first, ChangeItem.DUPLICATE_NUMBER, idnumber.build("360102", BIRTH, 405))
    assert wrong_item.value.code == "not_duplicate"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("360102199207153031", "无效"),
        (idnumber.build("360102", datetime.date(1992, 7, 16), 303), "不一致"),
        (idnumber.build("360102", BIRTH, 304), "不一致"),  # a woman's number for a man
        ("taken", "已登记给其他人员"),
    ],
)
def test_a_new_number_must_be_valid_agree_and_be_free(personas: Personas, value: str, message: str) -> None:
    person = _wrong_person()
    if value == "taken":
        value = PersonFactory.create(birth_date=BIRTH).id_number
    with pytest.raises(ServiceError) as refused:
        _file(personas, person, ChangeItem.WRONG_NUMBER, value)
    assert message in refused.value.fields["new_value"]


def test_registered_items_keep_their_history_and_refusals_need_a_reason(personas: Personas) -> None:
    person = _wrong_person()
    birth = _file(personas, person, ChangeItem.BIRTH_DATE, "1992-07-16")
    with pytest.raises(ServiceError) as pending:
        _file(personas, person, ChangeItem.BIRTH_DATE, "1992-07-17")
    assert pending.value.code == "pending_exists"
    with pytest.raises(ServiceError) as no_reason:
        services.change_request_decide(
            actor=personas.donghu_supervisor, request_id=birth.pk, approve=False, note=""
        )
    assert no_reason.value.fields == {"note": "请写明理由。"}
    services.change_request_decide(
        actor=personas.donghu_supervisor, request_id=birth.pk, approve=False, note="材料不足"
    )
    ethnicity = _file(personas, person, ChangeItem.ETHNICITY, "3")
    services.change_request_decide(
        actor=personas.donghu_supervisor, request_id=ethnicity.pk, approve=True, note=""
    )
    person.refresh_from_db()
    assert person.birth_date == BIRTH and person.ethnicity_id == "03"
    assert list(
        PersonChange.objects.filter(person=person).values_list("field", "old_value", "new_value")
    ) == [("ethnicity", "01", "03")]


def test_a_change_made_meanwhile_makes_the_request_stale(personas: Personas) -> None:
    person = _wrong_person()
    change = _file(personas, person, ChangeItem.NAME, "新名")
    Person.objects.filter(pk=person.pk).update(name="别的名字")
    with pytest.raises(ServiceError) as stale:
        services.change_request_decide(
            actor=personas.donghu_supervisor, request_id=change.pk, approve=True, note=""
        )
    assert stale.value.code == "stale"
    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.PENDING


def test_pages_file_and_approve_a_correction(client: Client, personas: Personas) -> None:
    person = _wrong_person()
    url = reverse("dataquality:change_new", args=[person.pk])
    login(client, personas.nanchang_clerk)
    assert client.get(url).status_code == 404
    login(client, personas.nanchang_reviewer)
    assert client.get(url).status_code == 200
    response = client.post(url, {"item": "name", "new_name": "", "reason": "x", "evidence": "y"})
    assert response.status_code == 200 and not ChangeRequest.objects.exists()  # the form says what is missing
    response = client.post(url, {"item": "name", "new_name": "李新", "reason": "改名", "evidence": "公证书"})
    change = ChangeRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "dataquality:change_detail", args=[change.pk]
    )
    detail = reverse("dataquality:change_detail", args=[change.pk])
    assert client.post(detail, {"approve": "1", "note": ""}).status_code == 404  # a station may not approve
    login(client, personas.donghu_supervisor)
    page = client.get(detail)
    assert page.status_code == 200 and "提交审批" in page.content.decode()
    assert client.get(reverse("dataquality:change_list")).context["changes"] == [change]
    assert client.post(detail, {"approve": "1", "note": "同意"}).status_code == 302
    person.refresh_from_db()
    assert person.name == "李新"
