"""The clean-up's REST API: every endpoint with the roles allowed and denied (403), outsiders 404,
bad input 400 in Chinese with nothing changed, and the approval rules through the API."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from tongban.audit.models import AuditEvent
from tongban.core import idnumber
from tongban.core.masking import mask_id_number
from tongban.dataquality import scan, services
from tongban.dataquality.models import AddressMatch, Case, ChangeRequest, ScanRun, StandardAddress
from tongban.dataquality.tests.planted import plant
from tongban.registry.models import ChangeItem, Person, PersonChange, Unit
from tongban.testing.factories import PersonFactory, UserFactory
from tongban.testing.personas import Personas, api_client

pytestmark = pytest.mark.django_db

API = "/api/v1/dataquality"
VIEWERS = {"donghu_supervisor", "nanchang_supervisor", "province_supervisor", "admin", "nanchang_reviewer"}
BIRTH = datetime.date(1992, 7, 15)


def _not_found(response: Any) -> None:
    assert response.status_code == 404
    body = response.json()
    assert (body["code"], body["fields"]) == ("not_found", {})
    assert body["message"].startswith("未找到"), body  # never "no right": outsiders learn nothing


def _denied(response: Any) -> None:
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def _case(unit_code: str, kind: str = "wrong_number") -> Case:
    case = Case.objects.filter(unit__code=unit_code, kind=kind).first()
    assert case is not None
    return case


def _wrong_person(name: str = "错号人", sequence: int = 303) -> Person:
    """A person of 东湖区城东派出所 (the reviewer's station) whose check character is wrong."""
    right = idnumber.build("360102", BIRTH, sequence)
    wrong = right[:17] + ("0" if right[17] != "0" else "1")
    return PersonFactory.create(
        id_number=wrong, birth_date=BIRTH, registration_unit=Unit.objects.get(code="360102002"), name=name
    )


def _request_body(person: Person, sequence: int = 303) -> dict[str, Any]:
    return {
        "person": person.pk,
        "item": ChangeItem.WRONG_NUMBER.value,
        "new_value": idnumber.build("360102", BIRTH, sequence),
        "reason": "户口登记表核对发现号码校验码错误",
        "evidence": "常住人口登记表 No.0001；调查笔录",
    }


def _file(user: Any, person: Person, sequence: int = 303) -> ChangeRequest:
    body = _request_body(person, sequence)
    return services.change_request_create(
        actor=user,
        person_id=person.pk,
        item=body["item"],
        new_value=body["new_value"],
        reason=body["reason"],
        evidence=body["evidence"],
    )


# ---------------------------------------------------------------------------------------------
# The work list


def test_case_list_is_for_the_clean_up_roles_only(personas: Personas, scanned: None) -> None:
    for name, user in personas.all().items():
        response = api_client(user).get(f"{API}/cases")
        if name in VIEWERS:
            assert response.status_code == 200, name
        else:
            _denied(response)
    assert APIClient().get(f"{API}/cases").status_code == 401


def test_case_list_is_the_subtree_masked_with_its_fields(personas: Personas, scanned: None) -> None:
    response = api_client(personas.donghu_supervisor).get(f"{API}/cases", {"status": ""})
    body = response.json()
    donghu = Case.objects.filter(unit__path__startswith=Unit.objects.get(code="360102").path)
    assert {row["id"] for row in body["results"]} == set(donghu.values_list("pk", flat=True))
    assert donghu.exists() and body["next_after"] is None
    text = response.content.decode()
    for case in donghu.exclude(id_number=""):
        if len(case.id_number) == 18:
            assert case.id_number not in text
    row = next(r for r in body["results"] if r["kind"] == "duplicate_number")
    case = Case.objects.get(pk=row["id"])
    assert row == {
        "id": case.pk,
        "kind": "duplicate_number",
        "kind_label": "重号",
        "id_number": mask_id_number(case.id_number),
        "unit": {"code": case.unit.code, "name": case.unit.name},
        "status": "open",
        "status_label": "待处理",
        "summary": case.evidence["summary"],
        "found_at": row["found_at"],
    }
    assert datetime.datetime.fromisoformat(row["found_at"]) == case.created_at


def test_case_list_defaults_to_open_and_filters(personas: Personas, scanned: None) -> None:
    api = api_client(personas.province_supervisor)
    decided = _case("360702001")
    services.case_decide(
        actor=personas.province_supervisor, case_id=decided.pk, status="resolved", decision="已申请更正"
    )
    open_ids = {r["id"] for r in api.get(f"{API}/cases").json()["results"]}
    assert decided.pk not in open_ids and len(open_ids) == Case.objects.filter(status="open").count()
    resolved = api.get(f"{API}/cases", {"status": "resolved"}).json()["results"]
    assert [r["id"] for r in resolved] == [decided.pk]
    kinds = {r["kind"] for r in api.get(f"{API}/cases", {"kind": "duplicate_number"}).json()["results"]}
    assert kinds == {"duplicate_number"}
    rows = api.get(f"{API}/cases", {"unit": "360702", "status": ""}).json()["results"]
    assert rows and all(r["unit"]["code"].startswith("360702") for r in rows)
    # A unit outside the caller's subtree yields nothing, not someone else's cases.
    outside = api_client(personas.donghu_supervisor).get(f"{API}/cases", {"unit": "360702", "status": ""})
    assert outside.json()["results"] == []


def test_case_list_refuses_bad_filters_in_chinese(personas: Personas, scanned: None) -> None:
    api = api_client(personas.province_supervisor)
    for params, field in (
        ({"kind": "nonsense"}, "kind"),
        ({"status": "x"}, "status"),
        ({"after": "0"}, "after"),
    ):
        response = api.get(f"{API}/cases", params)
        assert response.status_code == 400, params
        body = response.json()
        assert body["code"] == "invalid" and body["message"] == "输入有误，请检查标出的字段。"
        assert field in body["fields"], body
        assert any("\u4e00" <= ch <= "\u9fff" for ch in body["fields"][field][0]["message"]), body


def test_case_list_is_keyset_paginated(personas: Personas) -> None:
    unit = Unit.objects.get(code="360102001")
    Case.objects.bulk_create(
        Case(kind="no_household", key=f"person:{i}", unit=unit, evidence={"summary": f"无户号 {i}"})
        for i in range(55)
    )
    api = api_client(personas.donghu_supervisor)
    first = api.get(f"{API}/cases").json()
    assert len(first["results"]) == 50 and first["next_after"] == first["results"][-1]["id"]
    second = api.get(f"{API}/cases", {"after": first["next_after"]}).json()
    assert len(second["results"]) == 5 and second["next_after"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 55


def test_case_list_query_count_is_pinned(
    personas: Personas, scanned: None, django_assert_max_num_queries: Any
) -> None:
    api = api_client(personas.province_supervisor)
    with django_assert_max_num_queries(6):
        assert api.get(f"{API}/cases", {"status": ""}).status_code == 200


# ---------------------------------------------------------------------------------------------
# One case


def test_case_detail_shows_evidence_and_people_in_full_and_is_audited(
    personas: Personas, scanned: None
) -> None:
    donghu = Unit.objects.get(code="360102").path
    case = Case.objects.filter(unit__path__startswith=donghu, kind="duplicate_number").first()
    assert case is not None and case.links.count() > 1
    response = api_client(personas.donghu_supervisor).get(f"{API}/cases/{case.pk}")
    assert response.status_code == 200
    body = response.json()
    people = list(Person.objects.filter(pk__in=case.links.values("person_id")).order_by("pk"))
    assert [p["id_number"] for p in body["people"]] == [p.id_number for p in people]
    assert [p["name"] for p in body["people"]] == [p.name for p in people]
    assert body["people"][0]["registration_unit"]["code"] == people[0].registration_unit.code
    assert body["id_number"] == case.id_number
    assert body["evidence"] == case.evidence
    assert body["can_decide"] is True and body["changes"] == [] and body["decision"] == ""
    event = AuditEvent.objects.get(action="dataquality.case.view", object_id=str(case.pk))
    assert event.actor_id == personas.donghu_supervisor.pk


def test_case_detail_outsiders_get_404_and_no_audit(personas: Personas, scanned: None) -> None:
    ganzhou = _case("360702001")
    _not_found(api_client(personas.donghu_supervisor).get(f"{API}/cases/{ganzhou.pk}"))
    for user in (personas.nanchang_clerk, personas.finance):
        _denied(api_client(user).get(f"{API}/cases/{ganzhou.pk}"))
    _not_found(api_client(personas.province_supervisor).get(f"{API}/cases/999999"))
    assert not AuditEvent.objects.filter(action="dataquality.case.view").exists()
    # A reviewer may look (without the decision) within the own subtree only.
    own = api_client(personas.nanchang_reviewer).get(f"{API}/cases/{_case('360102002').pk}")
    assert own.status_code == 200 and own.json()["can_decide"] is False


# ---------------------------------------------------------------------------------------------
# Deciding a case


def test_case_decision_by_a_supervisor_once_with_a_reason(personas: Personas, scanned: None) -> None:
    case = _case("360102001")
    url = f"{API}/cases/{case.pk}/decide"
    decision = {"status": "false_positive", "note": "经核实户口登记表，号码无误"}
    # Roles that may look but not decide, and those that may not look, are refused.
    for user in (personas.admin, personas.nanchang_reviewer, personas.nanchang_clerk, personas.finance):
        _denied(api_client(user).post(url, decision, format="json"))
    api = api_client(personas.donghu_supervisor)
    blank = api.post(url, {"status": "resolved", "note": "   "}, format="json")
    assert blank.status_code == 400
    assert blank.json()["code"] == "invalid"
    assert "note" in blank.json()["fields"]
    wrong = api.post(url, {"status": "open", "note": "x"}, format="json")
    assert wrong.status_code == 400 and "status" in wrong.json()["fields"]
    case.refresh_from_db()
    assert case.status == "open" and not AuditEvent.objects.filter(action="dataquality.case.decide").exists()

    response = api.post(url, decision, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["status_label"], body["decision"]) == (
        "false_positive",
        "误报",
        decision["note"],
    )
    assert body["decided_by"] == personas.donghu_supervisor.display_name
    case.refresh_from_db()
    assert (case.status, case.decided_by_id) == ("false_positive", personas.donghu_supervisor.pk)
    assert AuditEvent.objects.filter(action="dataquality.case.decide", object_id=str(case.pk)).count() == 1

    again = api_client(personas.nanchang_supervisor).post(
        url, {"status": "resolved", "note": "再次"}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "already_decided"
    assert "已于" in again.json()["message"]
    _not_found(api.post(f"{API}/cases/{_case('360702001').pk}/decide", decision, format="json"))


# ---------------------------------------------------------------------------------------------
# Correction requests


def test_filing_a_correction_through_the_api(personas: Personas) -> None:
    person = _wrong_person()
    body = _request_body(person)
    for user in (personas.nanchang_clerk, personas.finance, personas.admin):
        _denied(api_client(user).post(f"{API}/changes", body, format="json"))
    # Another subtree's person: 404 as if it did not exist.
    ganzhou = UserFactory.create(role="reviewer", unit=Unit.objects.get(code="360702001"))
    _not_found(api_client(ganzhou).post(f"{API}/changes", body, format="json"))
    assert not ChangeRequest.objects.exists()

    response = api_client(personas.nanchang_reviewer).post(f"{API}/changes", body, format="json")
    assert response.status_code == 201
    created = response.json()
    change = ChangeRequest.objects.get()
    assert created["id"] == change.pk
    assert (created["old_value"], created["new_value"]) == (person.id_number, body["new_value"])
    assert (created["status"], created["item_label"], created["can_decide"]) == ("pending", "纠正错号", False)
    assert created["requested_by"] == personas.nanchang_reviewer.display_name
    person.refresh_from_db()
    assert person.id_number == change.old_value  # nothing changes before approval
    assert AuditEvent.objects.filter(action="dataquality.change.request", object_id=str(change.pk)).exists()

    second = api_client(personas.donghu_supervisor).post(f"{API}/changes", body, format="json")
    assert second.status_code == 409 and second.json()["code"] == "pending_exists"


def test_bad_correction_requests_are_refused_in_chinese_and_change_nothing(personas: Personas) -> None:
    person = _wrong_person()
    api = api_client(personas.nanchang_reviewer)
    good = _request_body(person)
    cases: list[tuple[dict[str, Any], str]] = [
        (good | {"reason": "  "}, "reason"),
        (good | {"evidence": ""}, "evidence"),
        (good | {"item": "address"}, "item"),
        (good | {"new_value": "360102199207150000"}, "new_value"),
        (good | {"new_value": person.id_number}, "new_value"),
        (good | {"person": "abc"}, "person"),
        ({k: v for k, v in good.items() if k != "new_value"}, "new_value"),
    ]
    for body, field in cases:
        response = api.post(f"{API}/changes", body, format="json")
        assert response.status_code == 400, body
        error = response.json()
        assert field in error["fields"], error
        message = error["fields"][field][0]["message"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in message), error
    not_duplicate = api.post(
        f"{API}/changes", good | {"item": ChangeItem.DUPLICATE_NUMBER.value}, format="json"
    )
    assert not_duplicate.status_code == 400 and not_duplicate.json()["code"] == "not_duplicate"
    assert not ChangeRequest.objects.exists()
    assert not AuditEvent.objects.filter(action="dataquality.change.request").exists()


def test_correction_list_is_masked_scoped_and_filtered(personas: Personas) -> None:
    person = _wrong_person()
    change = _file(personas.nanchang_reviewer, person)
    for name, user in personas.all().items():
        response = api_client(user).get(f"{API}/changes")
        if name in VIEWERS:
            assert [r["id"] for r in response.json()["results"]] == [change.pk], name
        else:
            _denied(response)
    response = api_client(personas.donghu_supervisor).get(f"{API}/changes")
    row = response.json()["results"][0]
    assert person.id_number not in response.content.decode()
    assert change.new_value not in response.content.decode()
    assert row["person"]["id_number"] == mask_id_number(person.id_number)
    assert row["new_value"] == mask_id_number(change.new_value)
    assert row["person"]["registration_unit"]["code"] == "360102002"
    api = api_client(personas.province_supervisor)
    assert api.get(f"{API}/changes", {"status": "approved"}).json()["results"] == []
    assert [r["id"] for r in api.get(f"{API}/changes", {"status": "all"}).json()["results"]] == [change.pk]
    assert [r["id"] for r in api.get(f"{API}/changes", {"status": ""}).json()["results"]] == [change.pk]
    for query in ({"after": ""}, {"after": "0"}, {"after": "x"}):
        assert api.get(f"{API}/changes", query).status_code == 400, query
    bad = api.get(f"{API}/changes", {"status": "maybe"})
    assert bad.status_code == 400 and "status" in bad.json()["fields"]
    # Another city's supervisor sees none of 东湖's requests.
    ganzhou = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="3607"))
    assert api_client(ganzhou).get(f"{API}/changes", {"status": "all"}).json()["results"] == []


def test_correction_detail_is_full_and_audited(personas: Personas) -> None:
    person = _wrong_person()
    change = _file(personas.nanchang_reviewer, person)
    response = api_client(personas.donghu_supervisor).get(f"{API}/changes/{change.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["person"]["id_number"] == person.id_number
    assert (body["old_value"], body["new_value"]) == (person.id_number, change.new_value)
    assert body["reason"] == change.reason and body["evidence"] == change.evidence
    assert body["can_decide"] is True
    assert AuditEvent.objects.filter(action="dataquality.change.view", object_id=str(change.pk)).count() == 1
    ganzhou = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="3607"))
    _not_found(api_client(ganzhou).get(f"{API}/changes/{change.pk}"))
    for user in (personas.nanchang_clerk, personas.finance):
        _denied(api_client(user).get(f"{API}/changes/{change.pk}"))
    assert AuditEvent.objects.filter(action="dataquality.change.view").count() == 1


# ---------------------------------------------------------------------------------------------
# Approving a correction


def test_approval_rules_through_the_api(personas: Personas) -> None:
    person = _wrong_person()
    old = person.id_number
    change = _file(personas.nanchang_reviewer, person)
    url = f"{API}/changes/{change.pk}/decide"
    # The requesting station's reviewer holds no approval: refused, as everyone without it.
    for user in (personas.nanchang_reviewer, personas.nanchang_clerk, personas.finance, personas.admin):
        _denied(api_client(user).post(url, {"approve": True, "note": "同意"}, format="json"))
    # A supervisor posted at a station sees the request but a station never approves.
    station_supervisor = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="360102002"))
    station = api_client(station_supervisor).post(url, {"approve": True}, format="json")
    assert station.status_code == 403
    assert station.json() == {
        "code": "not_authorised",
        "message": "变更更正须由分县局及以上审批。",
        "fields": {},
    }
    # Another county's supervisor does not see it.
    outside = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="360702"))
    _not_found(api_client(outside).post(url, {"approve": True}, format="json"))

    api = api_client(personas.donghu_supervisor)
    refusal = api.post(url, {"approve": False, "note": ""}, format="json")
    assert refusal.status_code == 400
    assert refusal.json()["fields"] == {"note": [{"code": "invalid", "message": "请写明理由。"}]}
    bad = api.post(url, {"approve": "perhaps"}, format="json")
    assert bad.status_code == 400 and "approve" in bad.json()["fields"]
    change.refresh_from_db()
    person.refresh_from_db()
    assert change.status == "pending" and person.id_number == old

    response = api.post(url, {"approve": True, "note": "同意，已核对户口登记表"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decided_by"], body["can_decide"]) == (
        "approved",
        personas.donghu_supervisor.display_name,
        False,
    )
    person.refresh_from_db()
    assert person.id_number == change.new_value
    assert PersonChange.objects.get(person=person).old_value == old
    again = api_client(personas.nanchang_supervisor).post(
        url, {"approve": False, "note": "重复"}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "already_decided"


def test_the_requester_never_approves_their_own(personas: Personas) -> None:
    change = _file(personas.donghu_supervisor, _wrong_person())
    response = api_client(personas.donghu_supervisor).post(
        f"{API}/changes/{change.pk}/decide", {"approve": True, "note": "同意"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "own_request"
    assert response.json()["message"] == "不能审批本人提出的申请。"
    detail = api_client(personas.donghu_supervisor).get(f"{API}/changes/{change.pk}").json()
    assert detail["can_decide"] is False
    change.refresh_from_db()
    assert change.status == "pending"


def test_a_stale_request_is_refused_and_changes_nothing(personas: Personas) -> None:
    person = _wrong_person()
    change = _file(personas.nanchang_reviewer, person)
    other = idnumber.build("360102", BIRTH, 305)
    Person.objects.filter(pk=person.pk).update(id_number=other)  # changed meanwhile
    response = api_client(personas.donghu_supervisor).post(
        f"{API}/changes/{change.pk}/decide", {"approve": True, "note": "同意"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "stale" and "重新申请" in response.json()["message"]
    change.refresh_from_db()
    person.refresh_from_db()
    assert change.status == "pending" and person.id_number == other
    assert not PersonChange.objects.exists()


# ---------------------------------------------------------------------------------------------
# Scan runs


def test_runs_of_the_subtree_with_progress(personas: Personas, scanned: None) -> None:
    donghu = scan.run_start(unit=Unit.objects.get(code="360102"), kinds=list(scan.NUMBER_KINDS))
    ScanRun.objects.filter(pk=donghu.pk).update(total_rows=200, processed_rows=50)
    province = ScanRun.objects.get(unit__code="36")
    for name, user in personas.all().items():
        response = api_client(user).get(f"{API}/runs")
        if name not in VIEWERS:
            _denied(response)
            continue
        ids = [r["id"] for r in response.json()["results"]]
        # Runs whose scope lies in the caller's subtree: a station does not see its county's run.
        assert user.unit is not None
        expected = {"36": [donghu.pk, province.pk], "360102002": []}.get(user.unit.code, [donghu.pk])
        assert ids == expected, name
    rows = api_client(personas.province_supervisor).get(f"{API}/runs").json()["results"]
    running, done = rows
    assert (running["status"], running["status_label"], running["percent"]) == ("running", "进行中", 25)
    assert running["unit"] == {"code": "360102", "name": Unit.objects.get(code="360102").name}
    assert running["kind_labels"] == ["重号", "错号"]
    assert (done["status"], done["percent"]) == ("done", 100)
    assert done["found"] == province.found and sum(done["found"].values()) > 0
    assert done["finished_at"] is not None
    bad = api_client(personas.province_supervisor).get(f"{API}/runs", {"after": "x"})
    assert bad.status_code == 400


# ---------------------------------------------------------------------------------------------
# Schema


def test_the_openapi_schema_lists_the_clean_up(client: Any) -> None:
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/dataquality/cases:",
        "/api/v1/dataquality/cases/{id}:",
        "/api/v1/dataquality/cases/{id}/decide:",
        "/api/v1/dataquality/changes:",
        "/api/v1/dataquality/changes/{id}:",
        "/api/v1/dataquality/changes/{id}/decide:",
        "/api/v1/dataquality/runs:",
    ):
        assert path in schema, path
    assert "CaseKindEnum" in schema and "ChangeRequestStatusEnum" in schema


# ---------------------------------------------------------------------------------------------
# A scan from the API (the page's 扫描本辖区)


def test_a_supervisor_scans_through_the_api(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    plant()
    kinds = ["duplicate_number", "wrong_number", "double_by_face"]
    for user in (personas.nanchang_reviewer, personas.admin, personas.nanchang_clerk):
        _denied(api_client(user).post(f"{API}/runs", {"unit": "360102", "kinds": kinds}, format="json"))
    api = api_client(personas.donghu_supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/runs", {"unit": "360102", "kinds": kinds}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert (body["kind"], body["kind_label"], body["status"]) == (
        "dataquality.scan",
        "数据清理扫描",
        "queued",
    )
    assert body["params"] == {"unit": "360102", "kinds": kinds}
    assert body["started_by"] == personas.donghu_supervisor.display_name
    job = api.get(f"/api/v1/jobs/{body['id']}").json()
    assert (
        job["status"] == "succeeded" and job["percent"] == 100 and job["object_type"] == "dataquality.scanrun"
    )
    run = ScanRun.objects.get()
    assert run.status == ScanRun.Status.DONE and "faces" not in (run.stage,)
    assert AuditEvent.objects.filter(action="dataquality.scan", object_id=str(run.pk)).exists()
    assert AuditEvent.objects.filter(action="job.start", object_id=str(body["id"])).exists()

    outside = api.post(f"{API}/runs", {"unit": "360702", "kinds": kinds}, format="json")
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"
    for bad in ({"unit": "360102", "kinds": ["faces"]}, {"unit": "360102", "kinds": []}):
        refused = api.post(f"{API}/runs", bad, format="json")
        assert refused.status_code == 400 and refused.json()["code"] == "invalid", bad
    assert ScanRun.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# Address normalisation (住址规范)


def test_address_matches_listed_and_adopted_through_the_api(personas: Personas) -> None:
    standard = StandardAddress.objects.create(
        code="360102-0001",
        region_code="360102",
        address="江西省南昌市东湖区八一大道103号",
        key="八一大道103号",
    )
    station = Unit.objects.get(code="360102001")
    variant = PersonFactory.create(address="八一大道一百零三号", registration_unit=station)
    unknown = PersonFactory.create(address="不存在路9号", registration_unit=station)
    proposed = AddressMatch.objects.create(
        person=variant, unit=station, address=variant.address, standard=standard, status="proposed"
    )
    unmatched = AddressMatch.objects.create(
        person=unknown, unit=station, address=unknown.address, status="unmatched"
    )
    api = api_client(personas.donghu_supervisor)
    listed = api.get(f"{API}/addresses", {"unit": "360102001", "status": "proposed"}).json()
    assert [r["id"] for r in listed["results"]] == [proposed.pk] and listed["next_after"] is None
    row = listed["results"][0]
    assert row["standard"] == {"code": "360102-0001", "address": standard.address}
    assert row["person"]["id_number"] == mask_id_number(variant.id_number)
    assert [r["id"] for r in api.get(f"{API}/addresses").json()["results"]] == [proposed.pk, unmatched.pk]
    _denied(api_client(personas.finance).get(f"{API}/addresses"))
    assert api_client(personas.ganzhou_clerk).get(f"{API}/addresses").status_code == 403

    url = f"{API}/addresses/{proposed.pk}/decide"
    _denied(api_client(personas.admin).post(url, {"accept": True}, format="json"))  # no corrections
    outsider = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="360702"))
    _not_found(api_client(outsider).post(url, {"accept": True}, format="json"))
    adopted = api.post(url, {"accept": True}, format="json")
    assert adopted.status_code == 200 and adopted.json()["status"] == "accepted"
    variant.refresh_from_db()
    assert variant.address == standard.address
    assert PersonChange.objects.filter(person=variant, field="address").count() == 1
    again = api.post(url, {"accept": False}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_proposed"
    nothing = api.post(f"{API}/addresses/{unmatched.pk}/decide", {"accept": True}, format="json")
    assert nothing.status_code == 409 and nothing.json()["code"] == "not_proposed"
