"""`POST /api/v1/public/progress`: open to anyone, answers as the served schema says, says
“未查询到” alike for every wrong combination, and refuses with 429 and Retry-After."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tongban.intake.models import Application
from tongban.portal.tests.progress_fixtures import a_number, application, posted
from tongban.registry.models import RefusalReason

pytestmark = pytest.mark.django_db
URL = "/api/v1/public/progress"
Status = Application.Status


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(SchemaGenerator().get_schema(request=None, public=True))


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` as JSON Schema's null type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def conforms(schema: dict[str, Any], status: int, body: Any) -> None:
    operation = schema["paths"]["/api/v1/public/progress"]["post"]
    answer = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    document = {**_json_schema(answer), "components": _json_schema(copy.deepcopy(schema["components"]))}
    jsonschema.validate(body, document)


def ask(body: dict[str, Any], client: APIClient | None = None, **extra: Any) -> Any:
    return (client or APIClient()).post(URL, body, format="json", **extra)


def test_found_answers_as_the_schema_says(schema: dict[str, Any]) -> None:
    app = application(Status.PENDING_REVIEW)
    response = ask({"number": app.number, "id_suffix": app.id_number[-6:].lower()})
    assert response.status_code == 200, response.content
    body = response.json()
    conforms(schema, 200, body)
    assert body["stage"] == "in_review" and body["stage_label"] == "审核中" and body["number"] == app.number
    assert response["Cache-Control"] == "no-store"
    for personal in (app.name, app.id_number, app.household_address):
        assert personal not in response.content.decode()


def test_every_stage_conforms(schema: dict[str, Any]) -> None:
    reason = RefusalReason.objects.get(code="03")
    cases = [
        application(Status.ACCEPTED),
        application(Status.ISSUED),
        application(Status.AT_SITE),
        application(Status.REJECTED, refusal_code=reason, refusal_reason=reason.name),
        application(Status.WITHDRAWN),
        application(Status.VERIFIED),
    ]
    postal = application(Status.SHIPPED, collection=Application.Collection.POST)
    posted(postal)
    cases.append(postal)
    client = APIClient(REMOTE_ADDR="192.0.2.50")
    stages = []
    for app in cases:
        response = ask({"number": app.number, "name": app.name}, client)
        assert response.status_code == 200, response.content
        conforms(schema, 200, response.json())
        stages.append(response.json()["stage"])
    assert stages == ["accepted", "issued", "at_site", "refused", "withdrawn", "collected", "posted"]


def test_not_found_is_one_answer_for_every_wrong_combination(schema: dict[str, Any]) -> None:
    app = application(Status.PENDING_REVIEW)
    wrong = "000000" if not app.id_number.endswith("000000") else "111111"
    answers = [
        ask({"number": a_number(), "id_suffix": app.id_number[-6:]}),
        ask({"number": app.number, "id_suffix": wrong}),
        ask({"number": app.number, "name": "张三"}),
        ask({"number": application(Status.DRAFT).number, "id_suffix": app.id_number[-6:]}),
    ]
    bodies = {response.content for response in answers}
    assert {response.status_code for response in answers} == {404} and len(bodies) == 1
    body = answers[0].json()
    conforms(schema, 404, body)
    assert body["code"] == "not_found" and "未查询到" in body["message"] and body["fields"] == {}
    assert {tuple(sorted(response.headers)) for response in answers} == {tuple(sorted(answers[0].headers))}


def test_too_many_answers_429_with_retry_after(schema: dict[str, Any], settings: Any) -> None:
    settings.PROGRESS_FAILURES_PER_NUMBER = 2
    app = application(Status.PENDING_REVIEW)
    for _ in range(2):
        assert ask({"number": app.number, "name": "张三"}).status_code == 404
    refused = ask({"number": app.number, "id_suffix": app.id_number[-6:]})  # right, but locked
    assert refused.status_code == 429
    body = refused.json()
    conforms(schema, 429, body)
    assert body["code"] == "rate_limited" and "请求过于频繁" in body["message"]
    assert 0 < int(refused["Retry-After"]) <= settings.PROGRESS_FAILURE_WINDOW_MINUTES * 60


def test_the_address_limit(settings: Any) -> None:
    settings.PROGRESS_LOOKUPS_PER_ADDRESS = 2
    app = application(Status.PENDING_REVIEW)
    statuses = [ask({"number": app.number, "name": app.name}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = APIClient(REMOTE_ADDR="192.0.2.77")
    assert ask({"number": app.number, "name": app.name}, other).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "number"),
        ({"number": "12345", "id_suffix": "123456"}, "number"),
        ({"number": "3601020012026120100000", "id_suffix": "123456"}, "number"),  # sequence 0
        ({"number": "3601020012026120100001"}, "id_suffix"),
        ({"number": "3601020012026120100001", "id_suffix": "12345"}, "id_suffix"),
        ({"number": "3601020012026120100001", "id_suffix": "123456", "name": "刘晓燕"}, "name"),
        ({"number": 3601020012026120100001, "name": "刘晓燕"}, "number"),
    ],
)
def test_bad_input_is_invalid_and_counts_nothing(
    schema: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    response = ask(body)
    assert response.status_code == 400
    conforms(schema, 400, response.json())
    assert response.json()["code"] == "invalid" and field in response.json()["fields"]
    from tongban.audit.models import AuditEvent

    assert not AuditEvent.objects.filter(action__startswith="progress.").exists()


def test_no_login_no_csrf_and_only_post() -> None:
    app = application(Status.PENDING_REVIEW)
    browser = APIClient(enforce_csrf_checks=True)
    assert ask({"number": app.number, "name": app.name}, browser).status_code == 200
    assert APIClient().get(URL).status_code == 405


def test_the_audit_row_carries_the_client_address() -> None:
    from tongban.audit.models import AuditEvent

    app = application(Status.PENDING_REVIEW)
    ask({"number": app.number, "name": app.name}, APIClient(REMOTE_ADDR="192.0.2.33"))
    row = AuditEvent.objects.get(action="progress.found")
    assert (row.object_id, row.remote_addr) == (app.number, "192.0.2.33")
    assert app.name not in repr(row.detail)
