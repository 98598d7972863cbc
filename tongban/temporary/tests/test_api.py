"""The API of 临时居民身份证: every page action as an operation, scoped and audited."""

from __future__ import annotations

import base64
import io

import pytest
from pypdf import PdfReader

from tongban.audit.models import AuditEvent
from tongban.testing.personas import api_client

pytestmark = pytest.mark.django_db
URL = "/api/v1/temporary-cards"


def test_the_whole_round_through_the_api(personas, applied, person, county_reviewer, standard_photo):
    clerk = api_client(personas.nanchang_clerk)
    none = clerk.post(URL, {"id_number": "110101199003070000"}, format="json")
    assert none.status_code in (400, 404)
    created = clerk.post(
        URL,
        {"id_number": person.id_number, "photo": base64.b64encode(standard_photo).decode()},
        format="json",
    )
    assert created.status_code == 201, created.json()
    card = created.json()
    assert card["state"] == "pending" and card["state_label"] == "待签发"
    assert card["id_number"] == person.id_number and card["photo_source"] == "new"
    assert card["fee_amount"] == "10.00" and card["events"][0]["action"] == "accepted"
    again = clerk.post(URL, {"id_number": person.id_number}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "temporary_in_force"

    listed = clerk.get(URL).json()
    assert [row["number"] for row in listed["results"]] == [card["number"]] and "*" in listed["results"][0][
        "id_number"
    ]
    assert listed["next_after"] is None
    assert clerk.get(f"{URL}?state=bad").status_code == 400

    reviewer = api_client(county_reviewer)
    (waiting,) = reviewer.get(f"{URL}/queue").json()
    assert waiting["card"]["number"] == card["number"] and waiting["overdue"] is False
    assert clerk.post(f"{URL}/{card['id']}/issue").status_code == 403
    issued = reviewer.post(f"{URL}/{card['id']}/issue")
    assert issued.status_code == 200 and issued.json()["state"] == "issued"
    assert issued.json()["issuing_authority"] == "南昌市公安局东湖分局"
    early = clerk.post(f"{URL}/{card['id']}/hand-out")
    assert early.status_code == 409 and early.json()["code"] == "not_printed"
    printed = clerk.post(f"{URL}/{card['id']}/print")
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    assert card["number"] in "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(printed.content)).pages
    )
    assert clerk.post(f"{URL}/{card['id']}/hand-out").json()["state"] == "handed_out"
    assert clerk.get(f"{URL}/unreturned").json() == []
    void = clerk.post(f"{URL}/{card['id']}/void", {"reason": ""}, format="json")
    assert void.status_code == 400 and void.json()["code"] == "reason_required"
    returned = clerk.post(f"{URL}/{card['id']}/return")
    assert returned.status_code == 200 and returned.json()["state"] == "returned"
    twice = clerk.post(f"{URL}/{card['id']}/return")
    assert twice.status_code == 409 and twice.json()["code"] == "bad_state"
    assert AuditEvent.objects.filter(action="temporary.view", detail__how="api").count() >= 1


def test_refusal_through_the_api(personas, applied, person, county_reviewer):
    card = (
        api_client(personas.nanchang_clerk).post(URL, {"id_number": person.id_number}, format="json").json()
    )
    reviewer = api_client(county_reviewer)
    blank = reviewer.post(f"{URL}/{card['id']}/refuse", {"reason": " "}, format="json")
    assert blank.status_code == 400 and blank.json()["code"] == "reason_required"
    refused = reviewer.post(f"{URL}/{card['id']}/refuse", {"reason": "身份存疑"}, format="json")
    assert refused.status_code == 200 and refused.json()["refusal_reason"] == "身份存疑"


def test_no_pending_application(personas, person):
    refused = api_client(personas.nanchang_clerk).post(URL, {"id_number": person.id_number}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "no_pending_application"


def test_scope(personas, applied, person):
    card = (
        api_client(personas.nanchang_clerk).post(URL, {"id_number": person.id_number}, format="json").json()
    )
    assert api_client(personas.nanchang_supervisor).get(f"{URL}/{card['id']}").status_code == 200
    assert api_client(personas.ganzhou_clerk).get(f"{URL}/{card['id']}").json()["code"] == "not_found"
    assert api_client(personas.ganzhou_clerk).get(URL).json()["results"] == []
    assert api_client(personas.finance).get(URL).json()["code"] == "permission_denied"
