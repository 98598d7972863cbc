"""The counter's REST API: accept in one call, read by 受理号, the station's lists, withdrawal,
the printed documents, every role against every endpoint, and the one error shape."""

from __future__ import annotations

import base64
import datetime
import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import override_settings
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from tongban.audit.models import AuditEvent
from tongban.biometrics.photo import conform_photo
from tongban.core import idnumber
from tongban.intake.models import Application, ApplicationEvent, Fingerprint
from tongban.notifications import services as notifications
from tongban.registry.models import Person
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station
from tongban.testing.personas import Personas, api_client

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------------------------
# Helpers (the review API's tests use them too)

NO_FINGERS = [
    {"position": position, "result": "not_registered", "reason": "手指受伤，无法采集"}
    for position in ("11", "12", "13", "14", "15", "16", "17", "18", "19", "20")
]
ADULT_MATERIALS = ["household_book", "residence_proof"]
GUARDIAN_ID_NUMBER = idnumber.build("360702", datetime.date(1984, 6, 1), 11)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


@functools.cache
def _astronaut() -> Image.Image:
    from skimage import data  # scikit-image's sample: one real frontal face

    return Image.fromarray(np.asarray(data.astronaut()))


@functools.cache
def standard_photo_b64() -> str:
    """The astronaut in the standard layout, base64: passes every photo rule."""
    return b64(conform_photo(_jpeg(_astronaut())))


@functools.cache
def guardian_photo() -> str:
    """Two clear faces side by side: the applicant with the guardian (同框)."""
    face = _astronaut().crop((120, 20, 320, 260))
    pair = Image.new("RGB", (720, 400), "white")
    pair.paste(face, (60, 80))
    pair.paste(face.transpose(Image.Transpose.FLIP_LEFT_RIGHT), (420, 80))
    return b64(_jpeg(pair))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def payload(person: Person, **changes: Any) -> dict[str, Any]:
    """An adult's complete first application as the counter client sends it."""
    body: dict[str, Any] = {
        "id_number": person.id_number,
        "type": "first",
        "reason": "12",
        "residence_address": "江西省赣州市章贡区红旗大道18号",
        "phone": "13807910001",
        "materials_shown": ADULT_MATERIALS,
        "pledge_signed": True,
        "photo": standard_photo_b64(),
        "fingers": NO_FINGERS,
    }
    return body | changes


def minor_payload(person: Person, guardianship: str, materials: list[str], **changes: Any) -> dict[str, Any]:
    return payload(
        person,
        reason="11",
        guardianship=guardianship,
        guardian_name="刘志强",
        guardian_id_number=GUARDIAN_ID_NUMBER,
        guardian_relation="父亲",
        guardian_phone="13907970002",
        materials_shown=materials,
        guardian_photo=guardian_photo(),
        **changes,
    )


def accept_by_api(api: APIClient, person: Person, **changes: Any) -> dict[str, Any]:
    response = api.post("/api/v1/applications", payload(person, **changes), format="json")
    assert response.status_code == 201, response.json()
    body: dict[str, Any] = response.json()
    return body


def nothing_created() -> tuple[int, int]:
    return Application.objects.count(), ApplicationEvent.objects.count()


# ---------------------------------------------------------------------------------------------
# Accepting


def test_adult_first_application_is_accepted_in_one_call(
    personas: Personas,
    person: Person,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    api = api_client(personas.ganzhou_clerk)
    with django_capture_on_commit_callbacks(execute=True):
        body = accept_by_api(api, person)
    today = timezone.localdate()
    number = body["number"]
    assert len(number) == 22 and number.startswith(f"360702001{today:%Y%m%d}")
    assert (body["status"], body["status_label"]) == ("pending_review", "待审核")
    assert (body["type"], body["reason"], body["reason_name"]) == ("first", "12", "年满16周岁申领")
    assert body["id_number"] == person.id_number
    assert body["cross_region"] is True
    assert body["acceptance_unit"]["code"] == "360702001"
    assert body["household_unit"]["code"] == "360102001"
    assert (body["validity"], body["validity_label"]) == ("20", "20年")
    assert body["fee"] == {"item": "first", "amount": "0.00", "waived": False, "waiver_evidence": ""}
    review = body["review"]
    assert (review["step"], review["title"], review["unit"]["code"]) == (1, "审核签发", "360102001")
    assert review["due"] and review["assignee"] is None
    assert [f["result"] for f in body["fingerprints"]] == ["not_registered"] * 10
    assert "template" not in body["fingerprints"][0]
    assert "photo" not in body and "face_hits" not in body
    actions = [event["action"] for event in body["events"]]
    assert actions == ["created", "updated", "photo_checked", "fingers_recorded", "accepted", "routed"]
    assert [event["action_label"] for event in body["events"]] == [
        "开始受理",
        "修改申请信息",
        "相片检测",
        "指纹采集",
        "受理",
        "流转审核",
    ]
    assert body["events"][-1]["to_status"] == "pending_review"
    assert body["events"][-1]["unit"]["code"] == "360702001"
    application = Application.objects.get(number=number)
    assert application.photo is not None and application.accepted_by == personas.ganzhou_clerk
    assert {(n.kind, n.phone, n.unit_code) for n in outbox} == {
        ("application.accepted", "13807910001", ""),
        ("review.arrived", "", "360102001"),
    }


def test_an_old_15_digit_number_finds_the_person(personas: Personas, person: Person) -> None:
    old = person.id_number[:6] + person.id_number[8:17]
    body = accept_by_api(api_client(personas.ganzhou_clerk), person, id_number=old)
    assert body["id_number"] == person.id_number


def test_detail_by_number_has_the_history_and_is_audited(personas: Personas, person: Person) -> None:
    number = accept_by_api(api_client(personas.ganzhou_clerk), person)["number"]
    api = api_client(personas.ganzhou_clerk)
    response = api.get(f"/api/v1/applications/{number}")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == number and body["id_number"] == person.id_number
    assert body["name"] == "刘晓燕" and body["sex_name"] == "女"
    assert body["face_hits"] is None  # only reviewers see the comparisons
    assert body["events"][0] == {
        "action": "created",
        "action_label": "开始受理",
        "from_status": "",
        "to_status": "draft",
        "actor": personas.ganzhou_clerk.display_name,
        "unit": {"code": "360702001", "name": station("360702001").name},
        "at": body["events"][0]["at"],
        "note": "",
    }
    application = Application.objects.get(number=number)
    viewed = AuditEvent.objects.get(action="application.view", object_id=str(application.pk))
    assert (viewed.actor_username, viewed.unit_code, viewed.object_type) == (
        "ganzhou_clerk",
        "360702001",
        "intake.application",
    )
    # A number that does not exist reads like one outside the jurisdiction.
    missing = api.get("/api/v1/applications/3607020012026010100001")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("guardianship", "materials"),
    [
        ("same_household", ["household_book", "guardian_id_card", "guardian_residence_proof"]),
        (
            "birth_certificate",
            ["household_book", "guardian_id_card", "applicant_study_proof", "birth_certificate"],
        ),
        (
            "birth_certificate_and_marriage",
            [
                "household_book",
                "guardian_id_card",
                "guardian_employment_proof",
                "birth_certificate",
                "marriage_certificate",
            ],
        ),
    ],
)
def test_minor_is_accepted_with_each_guardianship_case(
    personas: Personas, guardianship: str, materials: list[str]
) -> None:
    child = PersonFactory.create(name="刘子涵", birth_date=datetime.date(2015, 7, 1))
    api = api_client(personas.ganzhou_clerk)
    response = api.post("/api/v1/applications", minor_payload(child, guardianship, materials), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["guardianship"], body["guardian_name"], body["guardian_id_number"]) == (
        guardianship,
        "刘志强",
        GUARDIAN_ID_NUMBER,
    )
    assert (body["validity"], body["reason"]) == ("5", "11")
    assert Application.objects.get(number=body["number"]).guardian_photo is not None


def test_a_14_year_old_under_12_is_refused_with_a_code_at_the_reason(personas: Personas) -> None:
    today = timezone.localdate()
    child = PersonFactory.create(birth_date=today.replace(year=today.year - 14))
    before = nothing_created()
    body = minor_payload(
        child, "same_household", ["household_book", "guardian_id_card", "applicant_study_proof"]
    )
    body["reason"] = "12"
    response = api_client(personas.ganzhou_clerk).post("/api/v1/applications", body, format="json")
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "reason_age_mismatch" and "未满16周岁" in error["message"]
    assert error["fields"]["reason"][0]["code"] == "reason_age_mismatch"
    assert nothing_created() == before


def test_minor_without_the_birth_certificate_is_refused_and_nothing_is_created(personas: Personas) -> None:
    child = PersonFactory.create(birth_date=datetime.date(2015, 7, 1))
    before = nothing_created()
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications",
        minor_payload(
            child, "birth_certificate", ["household_book", "guardian_id_card", "guardian_residence_proof"]
        ),
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "incomplete"
    (problem,) = body["fields"]["materials"]
    assert problem["code"] == "incomplete" and "出生医学证明" in problem["message"]
    assert nothing_created() == before


def test_minor_without_the_guardian_photo_is_refused(personas: Personas) -> None:
    child = PersonFactory.create(birth_date=datetime.date(2015, 7, 1))
    body = minor_payload(child, "same_household", ["household_book", "guardian_id_card", "study_proof"])
    del body["guardian_photo"]
    response = api_client(personas.ganzhou_clerk).post("/api/v1/applications", body, format="json")
    assert response.status_code == 400
    assert {"guardian_photo", "materials"} <= response.json()["fields"].keys()
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("application_type", "reason", "fee"), [("renewal", "21", "20.00"), ("replacement", "31", "40.00")]
)
def test_renewal_and_replacement_for_a_card_holder(
    personas: Personas, application_type: str, reason: str, fee: str
) -> None:
    holder = CardFactory.create().person
    body = accept_by_api(
        api_client(personas.ganzhou_clerk),
        holder,
        type=application_type,
        reason=reason,
        materials_shown=ADULT_MATERIALS,
        pledge_signed=False,
    )
    assert (body["type"], body["reason"], body["fee"]["amount"]) == (application_type, reason, fee)
    assert body["fee"]["item"] == application_type


def test_an_engine_gone_between_search_and_insert_answers_503_and_keeps_nothing(
    personas: Personas, person: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine searched the face, then died (tests/test_crash.py kills it): the acceptance's
    insert fails inside its transaction, which answers 503 at the photo and leaves nothing."""
    from tongban.biometrics.abis import BuiltinABIS
    from tongban.biometrics.interfaces import BiometricError

    def gone(*args: Any, **kwargs: Any) -> None:
        raise BiometricError("engine_unavailable", "生物特征比对服务暂时不可用。")

    monkeypatch.setattr(BuiltinABIS, "insert", gone)
    before = nothing_created()
    api = api_client(personas.nanchang_clerk)
    response = api.post("/api/v1/applications", payload(person), format="json")
    assert response.status_code == 503 and response.json()["code"] == "engine_unavailable"
    assert "photo" in response.json()["fields"]
    assert nothing_created() == before


def test_first_application_for_a_card_holder_is_not_eligible(personas: Personas) -> None:
    holder = CardFactory.create().person
    response = api_client(personas.ganzhou_clerk).post("/api/v1/applications", payload(holder), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "not_eligible" and "换领或补领" in body["message"]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"photo": "not*base64!"}, "photo", "invalid_base64"),
        ({"photo": "QUJ"}, "photo", "invalid_base64"),  # bad padding
        ({"photo": ""}, "photo", "blank"),
        ({"id_number": "360102199005171234"}, "id_number", "invalid_id_number"),
        ({"reason": "98"}, "reason", "bad_reason"),
        ({"reason": "21"}, "reason", "bad_reason"),  # a renewal's reason on a first application
        ({"reason": "11"}, "reason", "reason_age_mismatch"),  # an adult under 未满16周岁申领
        ({"reason": "13"}, "reason", "bad_reason"),  # 全省通办 takes 11 or 12 only
        ({"birth_date": "2014-05-17"}, "reason", "reason_age_mismatch"),  # 12 for the typed birth date
        ({"type": "temporary"}, "type", "invalid_choice"),
        ({"phone": "12345"}, "phone", "invalid"),
        ({"materials_shown": ["household_book", "passport"]}, "materials_shown", "invalid"),
        ({"sex": "5"}, "sex", "invalid"),
    ],
)
def test_bad_input_is_refused_per_field_and_changes_nothing(
    personas: Personas, person: Person, changes: dict[str, Any], field: str, code: str
) -> None:
    before = nothing_created()
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications", payload(person, **changes), format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["message"] and body["fields"][field][0]["code"] == code
    assert body["fields"][field][0]["message"]
    assert nothing_created() == before


def test_sizes_are_capped(settings: Any, personas: Personas, person: Person) -> None:
    api = api_client(personas.ganzhou_clerk)
    big = b64(b"\xff" * (2 * 1024 * 1024 + 1))
    # The cap on a whole request body (TONGBAN_UPLOAD_MAX_BYTES) answers in the same shape.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = api.post("/api/v1/applications", payload(person, photo=big), format="json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large" and "MB" in response.json()["message"]
    # Under the default body limit, each binary field still has its own cap.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
    fingers = [{"position": "11", "result": "registered", "image": big}, *NO_FINGERS[5:]]
    response = api.post("/api/v1/applications", payload(person, photo=big, fingers=fingers), format="json")
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["photo"][0]["code"] == "too_large" and "2 MB" in fields["photo"][0]["message"]
    assert fields["fingers.0.image"][0]["code"] == "too_large"
    assert nothing_created() == (0, 0)


def test_bad_finger_image_is_refused_per_field(personas: Personas, person: Person) -> None:
    fingers = [{"position": "11", "result": "registered", "image": "%%%"}, *NO_FINGERS[5:]]
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications", payload(person, fingers=fingers), format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["fingers.0.image"][0]["code"] == "invalid_base64"
    duplicate = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications", payload(person, fingers=[*NO_FINGERS, NO_FINGERS[0]]), format="json"
    )
    assert duplicate.json()["fields"]["fingers"][0]["code"] == "duplicate_position"
    assert not Application.objects.exists()


def test_a_photo_failing_the_standard_leaves_nothing_behind(personas: Personas, person: Person) -> None:
    grey = _jpeg(Image.new("RGB", (358, 441), (128, 128, 128)))
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications", payload(person, photo=b64(grey)), format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "photo_rejected"
    assert body["fields"]["photo"][0]["code"] == "photo_rejected"
    assert nothing_created() == (0, 0)


def test_a_missing_finger_order_is_refused(personas: Personas, person: Person) -> None:
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications", payload(person, fingers=NO_FINGERS[1:]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "finger_order"
    assert not Application.objects.exists()


def test_a_real_fingerprint_is_registered_and_its_template_never_shown(
    personas: Personas, person: Person, prints: dict[str, bytes]
) -> None:
    png = prints["p1_1"]
    fingers = [{"position": "11", "result": "registered", "image": b64(png)}, *NO_FINGERS[5:]]
    body = accept_by_api(api_client(personas.ganzhou_clerk), person, fingers=fingers)
    assert body["fingerprints"][0] == {
        "position": "11",
        "position_name": "右手拇指",
        "result": "registered",
        "result_label": "注册成功",
        "reason": "",
    }
    finger = Fingerprint.objects.get(application__number=body["number"], position="11")
    assert finger.template and finger.format
    assert finger.template.hex() not in str(body) and b64(bytes(finger.template)) not in str(body)


def test_the_person_must_exist(personas: Personas) -> None:
    unknown = idnumber.build("360102", datetime.date(1991, 1, 1), 25)
    response = api_client(personas.ganzhou_clerk).post(
        "/api/v1/applications", {**payload(PersonFactory.build()), "id_number": unknown}, format="json"
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_second_open_application_is_a_conflict(personas: Personas, person: Person) -> None:
    api = api_client(personas.ganzhou_clerk)
    accept_by_api(api, person)
    response = api.post("/api/v1/applications", payload(person), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "application_open"
    assert Application.objects.count() == 1


# ---------------------------------------------------------------------------------------------
# The station's lists


def test_counter_list_masks_numbers_and_pages(personas: Personas) -> None:
    api = api_client(personas.ganzhou_clerk)
    people = PersonFactory.create_batch(3)
    numbers = [accept_by_api(api, p)["number"] for p in people]
    body = api.get("/api/v1/applications?view=in_review").json()
    assert [row["number"] for row in body["results"]] == numbers[::-1]
    row = body["results"][0]
    assert row["id_number"] == people[-1].id_number[:6] + "********" + people[-1].id_number[-4:]
    assert (row["status"], row["type_label"], row["acceptance_unit"]["code"]) == (
        "pending_review",
        "首次申领",
        "360702001",
    )
    assert body["next_after"] is None and body["count"] == 3
    assert api.get("/api/v1/applications?view=issued").json() == {
        "count": 0,
        "results": [],
        "next_after": None,
    }
    bad = api.get("/api/v1/applications?view=everything")
    assert bad.status_code == 400 and bad.json()["fields"]["view"][0]["code"] == "invalid_choice"


def test_counter_list_searches_sorts_and_pages_by_cursor(personas: Personas, monkeypatch: Any) -> None:
    from tongban.intake import selectors

    monkeypatch.setattr(selectors, "COUNTER_PAGE_SIZE", 2)
    api = api_client(personas.ganzhou_clerk)
    people = [PersonFactory.create(name=name) for name in ("丙", "甲", "乙")]
    numbers = [accept_by_api(api, p)["number"] for p in people]
    # By name, two to a page: the cursor leads on, the count is the whole list's.
    first = api.get("/api/v1/applications?sort=name").json()
    assert first["count"] == 3 and [r["name"] for r in first["results"]] == sorted(["丙", "甲", "乙"])[:2]
    rest = api.get(f"/api/v1/applications?sort=name&after={first['next_after']}").json()
    assert [r["name"] for r in rest["results"]] == sorted(["丙", "甲", "乙"])[2:] and rest[
        "next_after"
    ] is None
    # The search box's query: a whole 受理号, a 公民身份号码, a name.
    assert [r["number"] for r in api.get(f"/api/v1/applications?q={numbers[1]}").json()["results"]] == [
        numbers[1]
    ]
    by_id = api.get(f"/api/v1/applications?q={people[2].id_number}").json()
    assert by_id["count"] == 1 and by_id["results"][0]["number"] == numbers[2]
    assert api.get("/api/v1/applications?q=丙&view=in_review").json()["count"] == 1
    # A cursor of another order, or made up, is refused by name.
    wrong = api.get(f"/api/v1/applications?sort=-accepted&after={first['next_after']}")
    assert wrong.status_code == 400 and wrong.json()["fields"]["after"][0]["code"] == "bad_cursor"
    assert api.get("/api/v1/applications?after=12").status_code == 400
    assert api.get("/api/v1/applications?sort=phone").json()["fields"]["sort"][0]["code"] == "invalid_choice"


def test_abandon_a_draft_by_api(personas: Personas, person: Person) -> None:
    from tongban.intake import rules, services

    draft = services.application_start(
        actor=personas.ganzhou_clerk,
        person=person,
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    api = api_client(personas.ganzhou_clerk)
    listed = api.get("/api/v1/applications?view=draft").json()["results"]
    assert [row["id"] for row in listed] == [draft.pk]
    # Another station's clerk finds nothing, as for an unknown id; a role that does not accept is
    # refused as such, whether it can see the draft (a supervisor) or not (the centre).
    other = api_client(personas.nanchang_clerk).post(f"/api/v1/applications/drafts/{draft.pk}/abandon")
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    assert api.post("/api/v1/applications/drafts/999999/abandon").status_code == 404
    for role in (personas.donghu_supervisor, personas.centre_operator):
        refused = api_client(role).post(f"/api/v1/applications/drafts/{draft.pk}/abandon")
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    response = api.post(
        f"/api/v1/applications/drafts/{draft.pk}/abandon", {"reason": "申请人离开"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "withdrawn" and body["number"] is None
    assert (
        body["events"][-1]["action"] == "abandoned"
        and body["events"][-1]["note"] == "放弃本次受理：申请人离开"
    )
    again = api.post(f"/api/v1/applications/drafts/{draft.pk}/abandon")
    assert again.status_code == 409 and again.json()["code"] == "not_draft"
    accepted = accept_by_api(api, PersonFactory.create())
    pk = Application.objects.get(number=accepted["number"]).pk
    refused = api.post(f"/api/v1/applications/drafts/{pk}/abandon")
    assert refused.status_code == 409 and refused.json()["code"] == "not_draft"


# ---------------------------------------------------------------------------------------------
# Withdrawal


def test_clerk_withdraws_before_issue(
    personas: Personas,
    person: Person,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    api = api_client(personas.ganzhou_clerk)
    number = accept_by_api(api, person)["number"]
    empty = api.post(f"/api/v1/applications/{number}/withdraw", {"reason": "  "}, format="json")
    assert empty.status_code == 400
    assert empty.json()["fields"]["reason"] == [{"code": "reason_required", "message": "请填写撤销原因。"}]
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/applications/{number}/withdraw", {"reason": "申请人自愿撤回"}, format="json"
        )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "withdrawn"
    assert body["events"][-1]["action"] == "withdrawn" and body["events"][-1]["note"] == "申请人自愿撤回"
    assert {n.kind for n in outbox} == {"application.withdrawn", "review.withdrawn"}
    again = api.post(f"/api/v1/applications/{number}/withdraw", {"reason": "再次撤回"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_withdrawable"
    assert [row["number"] for row in api.get("/api/v1/applications?view=withdrawn").json()["results"]] == [
        number
    ]


def test_only_the_acceptance_station_withdraws(personas: Personas, person: Person) -> None:
    number = accept_by_api(api_client(personas.ganzhou_clerk), person)["number"]
    # The household station's clerk sees the application but may not withdraw it.
    response = api_client(personas.nanchang_clerk).post(
        f"/api/v1/applications/{number}/withdraw", {"reason": "撤回"}, format="json"
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Application.objects.get(number=number).status == "pending_review"


# ---------------------------------------------------------------------------------------------
# Documents


def test_the_three_documents_download_as_pdf_and_are_audited(personas: Personas, person: Person) -> None:
    api = api_client(personas.ganzhou_clerk)
    number = accept_by_api(api, person)["number"]
    for kind in ("form", "pledge", "receipt"):
        response = api.get(f"/api/v1/applications/{number}/documents/{kind}", HTTP_ACCEPT="application/pdf")
        assert response.status_code == 200, kind
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert f"{number}-{kind}.pdf" in response["Content-Disposition"]
    printed = AuditEvent.objects.filter(action="application.print").order_by("id")
    assert [event.detail["document"] for event in printed] == ["form", "pledge", "receipt"]
    unknown = api.get(f"/api/v1/applications/{number}/documents/invoice")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


def test_only_first_applications_have_a_pledge(personas: Personas) -> None:
    holder = CardFactory.create().person
    api = api_client(personas.ganzhou_clerk)
    number = accept_by_api(api, holder, type="renewal", reason="21")["number"]
    response = api.get(f"/api/v1/applications/{number}/documents/pledge", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and response.json()["code"] == "not_found"
    assert api.get(f"/api/v1/applications/{number}/documents/receipt").status_code == 200


def test_a_server_without_its_pdf_font_says_so(
    personas: Personas, person: Person, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The 500 the fuzzing met on a real 受理号: the install lacked fonts-wqy-zenhei. The caller is
    told the server cannot print (503, declared); the operator reads why in the log."""
    api = api_client(personas.ganzhou_clerk)
    number = accept_by_api(api, person)["number"]
    with override_settings(PDF_FONT=tmp_path / "wqy-zenhei.ttc"):
        response = api.get(f"/api/v1/applications/{number}/documents/form", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 503
    assert response.json() == {
        "code": "printing_unavailable",
        "message": "服务器暂时无法生成单据，请联系系统管理员。",
        "fields": {},
    }
    assert "fonts-wqy-zenhei" in caplog.text
    assert not AuditEvent.objects.filter(action="application.print").exists()


# ---------------------------------------------------------------------------------------------
# Telling the applicant of a refusal; a new photo after the centre's quality failure (the pages'
# 已告知申请人 and 重新采集相片, through the same services)


def test_the_station_records_that_it_told_the_applicant(personas: Personas, person: Person) -> None:
    api = api_client(personas.ganzhou_clerk)
    number = accept_by_api(api, person)["number"]
    url = f"/api/v1/applications/{number}/refusal-notified"
    early = api.post(url, {"note": "电话告知本人"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_refused"
    Application.objects.filter(number=number).update(status=Application.Status.REJECTED)
    listed = api.get("/api/v1/applications?view=refused_unnotified").json()["results"]
    assert [row["number"] for row in listed] == [number]
    too_long = api.post(url, {"note": "长" * 201}, format="json")
    assert too_long.status_code == 400 and too_long.json()["fields"]["note"][0]["code"] == "max_length"
    told = api.post(url, {"note": "电话告知本人"}, format="json")
    assert told.status_code == 200
    body = told.json()
    assert body["refusal_notified_at"] is not None
    assert body["events"][-1]["action"] == "refusal_notified" and body["events"][-1]["note"] == "电话告知本人"
    assert api.get("/api/v1/applications?view=refused_unnotified").json()["results"] == []
    again = api.post(url, {}, format="json")  # told already: nothing more is recorded
    assert again.status_code == 200 and again.json()["refusal_notified_at"] == body["refusal_notified_at"]
    assert ApplicationEvent.objects.filter(application__number=number, action="refusal_notified").count() == 1


@pytest.mark.parametrize("who", ["nanchang_clerk", "donghu_supervisor", "centre_operator"])
def test_only_the_acceptance_station_records_it(personas: Personas, person: Person, who: str) -> None:
    number = accept_by_api(api_client(personas.ganzhou_clerk), person)["number"]
    Application.objects.filter(number=number).update(status=Application.Status.REJECTED)
    user = personas.all()[who]
    response = api_client(user).post(f"/api/v1/applications/{number}/refusal-notified", {}, format="json")
    # The household station's clerk sees the application but it is not theirs to tell (404).
    expected = (404, "not_found") if user.can("application.accept") else (403, "permission_denied")
    assert (response.status_code, response.json()["code"]) == expected
    assert Application.objects.get(number=number).refusal_notified_at is None


def test_the_station_retakes_the_photo_the_centre_refused(personas: Personas, person: Person) -> None:
    api = api_client(personas.ganzhou_clerk)
    number = accept_by_api(api, person)["number"]
    url = f"/api/v1/applications/{number}/photo"
    early = api.post(url, {"photo": standard_photo_b64()}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_recollect"
    Application.objects.filter(number=number).update(status=Application.Status.RECOLLECT)
    blank = api.post(url, {"photo": "   "}, format="json")
    assert blank.status_code == 400 and blank.json()["fields"]["photo"][0]["code"] == "blank"
    # A photo that fails the standard is not kept: 400 with the rules it failed, still to retake.
    grey = b64(_jpeg(Image.new("RGB", (358, 441), (128, 128, 128))))
    refused = api.post(url, {"photo": grey}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "photo_rejected" and refused.json()["fields"]["photo"]
    assert Application.objects.get(number=number).status == Application.Status.RECOLLECT
    taken = api.post(url, {"photo": standard_photo_b64()}, format="json")
    assert taken.status_code == 200
    body = taken.json()
    assert body["status"] == "issued" and body["events"][-1]["action"] == "photo_recollected"
    again = api.post(url, {"photo": standard_photo_b64()}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "not_recollect"


@pytest.mark.parametrize("who", ["nanchang_clerk", "nanchang_reviewer", "centre_operator"])
def test_only_the_acceptance_station_retakes_the_photo(personas: Personas, person: Person, who: str) -> None:
    number = accept_by_api(api_client(personas.ganzhou_clerk), person)["number"]
    Application.objects.filter(number=number).update(status=Application.Status.RECOLLECT)
    user = personas.all()[who]
    response = api_client(user).post(
        f"/api/v1/applications/{number}/photo", {"photo": standard_photo_b64()}, format="json"
    )
    expected = (404, "not_found") if user.can("application.accept") else (403, "permission_denied")
    assert (response.status_code, response.json()["code"]) == expected
    assert Application.objects.get(number=number).status == Application.Status.RECOLLECT


# ---------------------------------------------------------------------------------------------
# Every role against every endpoint

# Who sees an application accepted at 章贡区城关派出所 (360702001) for a person registered at
# 东湖区城关派出所 (360102001): the acceptance side, the household side and their supervisors.
SEES = {
    "nanchang_clerk": True,  # the household station
    "nanchang_reviewer": False,  # 360102002: another station of the same county
    "nanchang_distributor": True,  # the household station: hands over and verifies cards
    "ganzhou_clerk": True,  # the acceptance station
    "donghu_supervisor": True,
    "nanchang_supervisor": True,
    "province_supervisor": True,
    "centre_operator": False,
    "finance": False,
    "civil_affairs": False,
    "campaign_manager": False,
    "auditor": False,
    "admin": False,
}


@pytest.mark.parametrize("who", sorted(SEES))
def test_every_role_against_the_counter_endpoints(personas: Personas, person: Person, who: str) -> None:
    number = accept_by_api(api_client(personas.ganzhou_clerk), person)["number"]
    user = personas.all()[who]
    api = api_client(user)
    sees = SEES[who]

    # A role without application.view is refused as such (403); a role with it, outside the
    # application's jurisdiction, finds nothing (404).
    hidden = 404 if user.can("application.view") else 403
    detail = api.get(f"/api/v1/applications/{number}")
    assert detail.status_code == (200 if sees else hidden)
    assert AuditEvent.objects.filter(action="application.view").exists() is sees
    for kind in ("form", "pledge", "receipt"):
        assert api.get(f"/api/v1/applications/{number}/documents/{kind}").status_code == (
            200 if sees else hidden
        )

    listed = api.get("/api/v1/applications")
    if user.can("application.view"):
        # The list holds what was accepted in the caller's subtree, not what is registered there.
        in_subtree = user.unit is not None and user.unit.contains(station("360702001"))
        assert (number in {row["number"] for row in listed.json()["results"]}) is (sees and in_subtree)
    else:
        assert listed.status_code == 403 and listed.json()["code"] == "permission_denied"

    withdraw = api.post(f"/api/v1/applications/{number}/withdraw", {"reason": "撤回"}, format="json")
    if who == "ganzhou_clerk":
        assert withdraw.status_code == 200
    elif user.can("application.withdraw"):
        assert withdraw.status_code == 404 and withdraw.json()["code"] == "not_found"
    else:
        assert withdraw.status_code == 403 and withdraw.json()["code"] == "permission_denied"

    other = PersonFactory.create()
    created = api.post("/api/v1/applications", payload(other), format="json")
    # Whoever may not accept is refused by role before anything is looked up.
    assert created.status_code == (201 if user.can("application.accept") else 403)
    assert Application.objects.filter(person=other).exists() is user.can("application.accept")


def test_a_clerk_of_another_station_sees_nothing(personas: Personas, person: Person) -> None:
    number = accept_by_api(api_client(personas.ganzhou_clerk), person)["number"]
    neighbour = api_client(UserFactory.create(role="clerk", unit=station("360702002")))
    assert neighbour.get(f"/api/v1/applications/{number}").status_code == 404
    assert neighbour.get(f"/api/v1/applications/{number}/documents/form").status_code == 404
    assert neighbour.get("/api/v1/applications").json()["results"] == []
    withdraw = neighbour.post(f"/api/v1/applications/{number}/withdraw", {"reason": "撤回"}, format="json")
    assert withdraw.status_code == 404


def test_a_reviewer_may_not_accept(personas: Personas, person: Person) -> None:
    response = api_client(personas.nanchang_reviewer).post(
        "/api/v1/applications", payload(person), format="json"
    )
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied", "message": "无权受理申领。", "fields": {}}


def test_anonymous_callers_are_refused(person: Person) -> None:
    api = APIClient()
    assert api.get("/api/v1/applications").status_code == 401
    response = api.post("/api/v1/applications", payload(person), format="json")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    assert not Application.objects.exists()


def test_openapi_schema_lists_the_new_paths(personas: Personas) -> None:
    response = api_client(personas.ganzhou_clerk).get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/applications",
        "/api/v1/applications/{number}",
        "/api/v1/applications/{number}/withdraw",
        "/api/v1/applications/{number}/documents/{kind}",
        "/api/v1/applications/{number}/review/take",
        "/api/v1/applications/{number}/review/release",
        "/api/v1/applications/{number}/review/decide",
        "/api/v1/review/queue",
    ):
        assert path in paths, path
    create = paths["/api/v1/applications"]["post"]
    assert create["summary"].startswith("受理申领")
    assert "201" in create["responses"]
