"""The check itself (POST /api/v1/card-checks) and the services behind it: the answer for each
card, the institution's key (wrong, replaced, suspended at once), its limits, its monthly counts
and the audit row of every check, which never holds the name or the whole number."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tongban.audit.models import AuditEvent
from tongban.cardcheck import selectors, services
from tongban.cardcheck.models import Institution, MonthlyCount
from tongban.cardcheck.rules import Outcome
from tongban.cardloss.services import loss_report
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.registry.models import Card, Person
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import Personas

URL = "/api/v1/card-checks"
FAR = datetime.date(2040, 1, 1)


def bank_entry(**changes: Any) -> services.InstitutionEntry:
    fields: dict[str, Any] = {
        "name": "中国银行南昌分行",
        "kind": "bank",
        "credit_code": "91360100705520351R",
        "purpose": "开立银行账户时核验客户身份证件",
        "contact": "王经理 0791-86000000",
        "per_minute_limit": 60,
        "daily_limit": 10000,
    }
    return services.InstitutionEntry(**{**fields, **changes})


@pytest.fixture
def bank(personas: Personas) -> tuple[Institution, str]:
    institution = services.institution_add(actor=personas.admin, entry=bank_entry())
    return services.key_issue(actor=personas.admin, institution=institution)


@pytest.fixture
def holder(db: None) -> Person:
    person = PersonFactory.create(name="买买提·艾力")
    CardFactory.create(person=person, card_serial="CS-VALID", valid_until=FAR)
    return person


def caller(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Institution {key}")
    return api


def check(api: APIClient, person: Person, serial: str, name: str | None = None) -> Any:
    body = {
        "id_number": person.id_number,
        "name": person.name if name is None else name,
        "card_serial": serial,
    }
    return api.post(URL, body, format="json")


# The answers ------------------------------------------------------------------------------------


def test_a_valid_card_and_its_name_say_only_that(bank: tuple[Institution, str], holder: Person) -> None:
    response = check(caller(bank[1]), holder, "CS-VALID", name="买买提•艾力 ")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"check_id", "result", "result_label", "checked_at"}
    assert (body["result"], body["result_label"]) == ("valid", "一致且有效")
    assert len(body["check_id"]) == 32
    text = response.content.decode()
    for secret in (holder.id_number, holder.name, "CS-VALID", "2040", holder.address, str(holder.birth_date)):
        assert secret not in text
    assert response["Cache-Control"] == "no-store"


def test_each_card_state_answers_as_the_register_says(bank: tuple[Institution, str]) -> None:
    api = caller(bank[1])
    today = timezone.localdate()
    moved = PersonFactory.create()  # 换领: the old card superseded by a newer one
    CardFactory.create(person=moved, card_serial="CS-OLD", state=Card.State.SUPERSEDED, valid_until=FAR)
    CardFactory.create(person=moved, card_serial="CS-NEW", valid_until=FAR)
    expired = PersonFactory.create()
    CardFactory.create(person=expired, card_serial="CS-EXP", valid_until=today - datetime.timedelta(days=1))
    waiting = PersonFactory.create()  # made, not handed over yet
    CardFactory.create(person=waiting, card_serial="CS-MADE", state=Card.State.PRODUCED, valid_until=FAR)
    gone = PersonFactory.create()
    CardFactory.create(person=gone, card_serial="CS-CANC", state=Card.State.CANCELLED, valid_until=FAR)
    answers = {
        "superseded": check(api, moved, "CS-OLD"),
        "valid": check(api, moved, "CS-NEW"),
        "expired": check(api, expired, "CS-EXP"),
        "produced": check(api, waiting, "CS-MADE"),
        "cancelled": check(api, gone, "CS-CANC"),
        "other's serial": check(api, expired, "CS-NEW"),
        "unknown serial": check(api, moved, "CS-NONE"),
        "wrong name": check(api, moved, "CS-NEW", name="王五"),
    }
    got = {case: response.json()["result_label"] for case, response in answers.items()}
    assert got == {
        "superseded": "已换领作废",
        "valid": "一致且有效",
        "expired": "已过期",
        "produced": "不一致",
        "cancelled": "已换领作废",
        "other's serial": "不一致",
        "unknown serial": "不一致",
        "wrong name": "不一致",
    }


def test_a_lost_card_is_reported_at_once_but_only_with_the_right_name(
    personas: Personas, bank: tuple[Institution, str], holder: Person
) -> None:
    api = caller(bank[1])
    loss_report(actor=personas.nanchang_clerk, person=holder, channel="in_person", phone="13907910000")
    assert check(api, holder, "CS-VALID").json()["result_label"] == "已挂失"
    assert check(api, holder, "CS-VALID", name="买买提").json()["result_label"] == "不一致"


def test_unknown_or_malformed_numbers_and_duplicates_are_mismatches(bank: tuple[Institution, str]) -> None:
    api = caller(bank[1])
    for number in ("360102199001011234", "123", "36010219900101123X"):
        body = {"id_number": number, "name": "张三", "card_serial": "CS-1"}
        assert api.post(URL, body, format="json").json()["result"] == "mismatch"
    twin = PersonFactory.create()
    CardFactory.create(person=twin, card_serial="CS-TWIN", valid_until=FAR)
    PersonFactory.create(id_number=twin.id_number, name=twin.name)  # 重号: never guessed
    assert check(api, twin, "CS-TWIN").json()["result"] == "mismatch"


def test_a_body_missing_a_field_is_refused_by_field(bank: tuple[Institution, str]) -> None:
    response = caller(bank[1]).post(URL, {"id_number": "360102199001011234", "name": " "}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"name", "card_serial"}
    assert not AuditEvent.objects.filter(action="cardcheck.check").exists()


# Counts and audit ---------------------------------------------------------------------------------


def test_every_check_is_counted_and_audited_masked(bank: tuple[Institution, str], holder: Person) -> None:
    institution, key = bank
    api = caller(key)
    first = check(api, holder, "CS-VALID").json()
    check(api, holder, "CS-VALID")
    check(api, holder, "CS-VALID", name="李四")
    month = selectors.this_month()
    counts = dict(
        MonthlyCount.objects.filter(institution=institution, month=month).values_list("outcome", "count")
    )
    assert counts == {"valid": 2, "mismatch": 1}
    rows = AuditEvent.objects.filter(action="cardcheck.check").order_by("pk")
    assert rows.count() == 3
    row = rows.first()
    assert row is not None
    assert row.object_id == str(institution.pk) and row.remote_addr == "127.0.0.1"
    assert (row.actor_id, row.actor_username) == (None, f"institution:{institution.key_prefix}")
    assert row.detail == {
        "check_id": first["check_id"],
        "institution": "中国银行南昌分行",
        "credit_code": "91360100705520351R",
        "purpose": "开立银行账户时核验客户身份证件",
        "outcome": "valid",
        "outcome_label": "一致且有效",
        "id_number": mask_id_number(holder.id_number),
    }
    everything = json.dumps([r.detail for r in rows], ensure_ascii=False)
    assert holder.id_number not in everything and holder.name not in everything and "李四" not in everything
    listed = selectors.monthly_counts(institution, months=3)
    assert listed[0].month == month and len(listed) == 3
    assert listed[0].cells() == [2, 0, 0, 0, 1] and listed[1].total == 0


# The key ------------------------------------------------------------------------------------------


def test_no_key_or_a_wrong_one_is_refused(bank: tuple[Institution, str], holder: Person) -> None:
    body = {"id_number": holder.id_number, "name": holder.name, "card_serial": "CS-VALID"}
    none = APIClient().post(URL, body, format="json")
    assert none.status_code == 401 and none.json()["code"] == "institution_key_required"
    assert none["WWW-Authenticate"] == "Institution"
    staff_token = APIClient()
    staff_token.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert staff_token.post(URL, body, format="json").json()["code"] == "institution_key_required"
    key = bank[1]
    for wrong in (
        key[:-1] + ("A" if key[-1] != "A" else "B"),
        "tbk_00000000_" + "x" * 32,
        "nonsense",
        key + " x",
    ):
        response = caller(wrong).post(URL, body, format="json")
        assert (response.status_code, response.json()["code"]) == (401, "institution_key_invalid"), wrong
    assert not AuditEvent.objects.filter(action="cardcheck.check").exists()


def test_a_new_key_replaces_the_old_one_at_once(
    personas: Personas, bank: tuple[Institution, str], holder: Person
) -> None:
    institution, old = bank
    assert check(caller(old), holder, "CS-VALID").status_code == 200
    institution, new = services.key_issue(actor=personas.admin, institution=institution)
    assert new != old and institution.key_prefix in new and institution.key_hash not in (new, old)
    assert check(caller(old), holder, "CS-VALID").json()["code"] == "institution_key_invalid"
    assert check(caller(new), holder, "CS-VALID").json()["result"] == "valid"
    assert new not in json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_a_suspension_holds_from_the_next_request(
    personas: Personas, bank: tuple[Institution, str], holder: Person
) -> None:
    institution, key = bank
    api = caller(key)
    assert check(api, holder, "CS-VALID").status_code == 200
    services.institution_suspend(actor=personas.admin, institution=institution, reason="合作协议到期")
    refused = check(api, holder, "CS-VALID")
    assert (refused.status_code, refused.json()["code"]) == (403, "institution_suspended")
    with pytest.raises(ServiceError) as again:
        services.institution_suspend(actor=personas.admin, institution=institution, reason="再次")
    assert again.value.code == "already_suspended"
    services.institution_resume(actor=personas.admin, institution=institution, reason="续签协议")
    assert check(api, holder, "CS-VALID").json()["result"] == "valid"
    assert AuditEvent.objects.filter(action="cardcheck.check").count() == 2


# Limits -------------------------------------------------------------------------------------------


def test_the_per_minute_limit_answers_429_with_retry_after(
    personas: Personas, bank: tuple[Institution, str], holder: Person
) -> None:
    institution, key = bank
    services.institution_update(
        actor=personas.admin, institution=institution, entry=bank_entry(per_minute_limit=2)
    )
    api = caller(key)
    assert [check(api, holder, "CS-VALID").status_code for _ in range(2)] == [200, 200]
    refused = check(api, holder, "CS-VALID")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "请求过于频繁" in refused.json()["message"]
    assert AuditEvent.objects.filter(action="cardcheck.check").count() == 2
    other = services.institution_add(
        actor=personas.admin, entry=bank_entry(name="某酒店", kind="hotel", credit_code="91360100MA35ABCD0N")
    )
    other, other_key = services.key_issue(actor=personas.admin, institution=other)
    assert check(caller(other_key), holder, "CS-VALID").status_code == 200  # limits are per institution


def test_the_daily_limit_too(personas: Personas, bank: tuple[Institution, str], holder: Person) -> None:
    institution, key = bank
    entry = bank_entry(per_minute_limit=1, daily_limit=1)
    services.institution_update(actor=personas.admin, institution=institution, entry=entry)
    api = caller(key)
    assert check(api, holder, "CS-VALID").status_code == 200
    refused = check(api, holder, "CS-VALID")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


# Registering -------------------------------------------------------------------------------------


def test_only_the_provincial_departments_administrators_register(personas: Personas) -> None:
    for actor in (personas.province_supervisor, personas.nanchang_supervisor, personas.nanchang_clerk):
        with pytest.raises(ServiceError) as refused:
            services.institution_add(actor=actor, entry=bank_entry())
        assert refused.value.code == "permission_denied"
    made = services.institution_add(actor=None, entry=bank_entry())  # the operator's CLI
    assert made.state == Institution.State.ACTIVE and made.key_prefix == "" and made.created_by is None
    assert selectors.institution_by_key("tbk_" + "0" * 8 + "_" + "x" * 32) is None


def test_registration_is_checked(personas: Personas) -> None:
    admin = personas.admin
    cases = {
        "credit_code": bank_entry(credit_code="91360100705520351A"),
        "kind": bank_entry(kind="school"),
        "purpose": bank_entry(purpose="  "),
        "per_minute_limit": bank_entry(per_minute_limit=100, daily_limit=50),
        "daily_limit": bank_entry(daily_limit=0),
    }
    for field, entry in cases.items():
        with pytest.raises(ServiceError) as refused:
            services.institution_add(actor=admin, entry=entry)
        assert field in refused.value.fields, field
    services.institution_add(actor=admin, entry=bank_entry())
    with pytest.raises(ServiceError) as taken:
        services.institution_add(actor=admin, entry=bank_entry(credit_code="91360100705520351r"))
    assert (taken.value.code, taken.value.status) == ("institution_exists", 409)
    assert AuditEvent.objects.filter(action="cardcheck.institution_added").count() == 1


def test_the_dashboard_counts_by_institution(
    personas: Personas, bank: tuple[Institution, str], holder: Person
) -> None:
    check(caller(bank[1]), holder, "CS-VALID")
    check(caller(bank[1]), holder, "CS-VALID", name="王五")
    rows = selectors.month_by_institution(personas.province_supervisor)
    assert [(r.name, r.kind, r.counts.cells()) for r in rows] == [
        ("中国银行南昌分行", "银行", [1, 0, 0, 0, 1])
    ]
    assert selectors.month_by_institution(personas.nanchang_supervisor) == []
    assert Outcome.VALID.value == "valid"
