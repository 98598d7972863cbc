"""电子证照's pages and public API: the holder's proof and QR code (screen and print), the
verification page, the API's answers against the served schema, limits, and the staff's pages
with their scope and audit."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.cardloss.services import loss_report
from tongban.ecert import services
from tongban.ecert.models import ElectronicCertificate
from tongban.intake.models import Application
from tongban.registry.models import Person
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r'id="token">(EC1\.[A-Za-z0-9_.-]+)<')


def prove(client: Client, application: Application, **changes: str) -> Any:
    fields = {
        "id_number": application.id_number,
        "name": application.name,
        "reference": application.number or "",
        **changes,
    }
    return client.post("/guide/ecert/", fields)


def shown_token(client: Client, query: str = "") -> str:
    page = client.get("/guide/ecert/show/" + query).content.decode()
    found = TOKEN.search(page)
    assert found, page
    return found.group(1)


def test_the_holder_proves_who_they_are_and_shows_a_fresh_code(handed_over: Application) -> None:
    client = Client()
    form = client.get("/guide/ecert/")
    assert form.status_code == 200 and "公民身份号码" in form.content.decode()
    assert client.get("/guide/ecert/show/").status_code == 302
    wrong = prove(client, handed_over, name="刘小燕")
    assert wrong.status_code == 400 and "未查询到电子证照" in wrong.content.decode()
    assert handed_over.name not in wrong.content.decode().split("<form")[0]
    done = prove(client, handed_over)
    assert done.status_code == 302 and done["Location"] == "/guide/ecert/show/"
    page = client.get("/guide/ecert/show/")
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert "<svg" in html and "二维码有效至" in html and 'http-equiv="refresh"' in html
    assert "刘*燕" in html and "刘晓燕" not in html and handed_over.id_number not in html
    first, second = shown_token(client), shown_token(client)
    assert first != second  # a new code at every load
    assert AuditEvent.objects.filter(action="ecert.code_issued", detail__kind="screen").count() == 3
    printed = client.get("/guide/ecert/show/?print=1").content.decode()
    until = timezone.localtime(timezone.now() + datetime.timedelta(hours=24))
    assert f"本二维码有效至 {until:%Y-%m-%d}" in printed and "http-equiv" not in printed
    assert client.post("/guide/ecert/signout/").status_code == 302
    assert client.get("/guide/ecert/show/").status_code == 302


def test_the_holders_view_ends_after_its_minutes(
    handed_over: Application, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    client = Client()
    prove(client, handed_over)
    later = timezone.now() + datetime.timedelta(minutes=settings.ECERT_HOLDER_MINUTES + 1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.get("/guide/ecert/show/").status_code == 302


def test_a_revoked_certificate_shows_no_code(personas: Personas, handed_over: Application) -> None:
    client = Client()
    prove(client, handed_over)
    loss_report(
        actor=personas.nanchang_clerk,
        person=Person.objects.get(pk=handed_over.person_id),
        channel="in_person",
        phone="13907910000",
    )
    html = client.get("/guide/ecert/show/").content.decode()
    assert "已挂失" in html and "<svg" not in html


def test_the_holder_page_is_limited(handed_over: Application, settings: Any) -> None:
    settings.ECERT_HOLDER_PER_HOUR = 1
    client = Client()
    assert prove(client, handed_over, name="错").status_code == 400
    limited = prove(client, handed_over)
    assert limited.status_code == 429 and "请求过于频繁" in limited.content.decode()


def test_the_verification_page(personas: Personas, handed_over: Application) -> None:
    holder = Client()
    prove(holder, handed_over)
    token = shown_token(holder)
    checker = Client()
    page = checker.get("/guide/ecert/verify/", {"t": token}).content.decode()
    assert 'class="result">有效<' in page and "刘*燕" in page and "南昌市公安局东湖分局" in page
    pasted = checker.post("/guide/ecert/verify/", {"token": f"  {token}\n"}).content.decode()
    assert "刘*燕" in pasted
    empty = checker.post("/guide/ecert/verify/", {"token": ""})
    assert empty.status_code == 400 and "该字段是必填项" in empty.content.decode()
    assert "不是电子证照二维码" in checker.get("/guide/ecert/verify/", {"t": "EC1.x.y"}).content.decode()
    loss_report(
        actor=personas.nanchang_clerk,
        person=Person.objects.get(pk=handed_over.person_id),
        channel="in_person",
        phone="13907910000",
    )
    after = checker.get("/guide/ecert/verify/", {"t": token}).content.decode()
    assert 'class="result">已失效<' in after and "已挂失" in after and "刘*燕" not in after
    rows = AuditEvent.objects.filter(action="ecert.verified", detail__channel="page")
    assert rows.count() == 4


def _schema_component(client: APIClient, name: str) -> dict[str, Any]:
    """A component of the served schema, its properties' references resolved."""
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return resolve(schemas[node["$ref"].rsplit("/", 1)[1]])
        if "allOf" in node and len(node["allOf"]) == 1:
            return {**resolve(node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
        return node

    component = resolve(schemas[name])
    return {**component, "properties": {k: resolve(v) for k, v in component.get("properties", {}).items()}}


def test_the_api_answers_as_the_schema_says(personas: Personas, handed_over: Application) -> None:
    api = APIClient()
    certificate = ElectronicCertificate.objects.get()
    token = services.code_issue(
        certificate=certificate, lifetime=datetime.timedelta(minutes=5), actor=None, kind="screen"
    ).token
    answer = api.post("/api/v1/public/ecert/verify", {"token": token}, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    verdict = _schema_component(api, "EcertVerdict")
    facts = _schema_component(api, "EcertFacts")
    assert set(body) == set(verdict["properties"]) and set(verdict["required"]) <= set(body)
    assert set(body["certificate"]) == set(facts["properties"])
    assert body["result"] in verdict["properties"]["result"]["enum"]
    assert (body["result"], body["label"], body["certificate"]["masked_name"]) == ("valid", "有效", "刘*燕")
    assert body["certificate"]["photo_sm3"] == certificate.photo_sm3 and body["number"] == certificate.number
    loss_report(
        actor=personas.nanchang_clerk,
        person=Person.objects.get(pk=handed_over.person_id),
        channel="in_person",
        phone="13907910000",
    )
    revoked = api.post("/api/v1/public/ecert/verify", {"token": token}, format="json").json()
    assert (revoked["result"], revoked["state"], revoked["reason"], revoked["certificate"]) == (
        "revoked",
        "lost",
        "已挂失",
        None,
    )
    assert revoked["state"] in _schema_component(api, "EcertVerdict")["properties"]["state"]["enum"]
    bad = api.post("/api/v1/public/ecert/verify", {}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    keys = api.get("/api/v1/public/ecert/keys").json()
    assert [k["status"] for k in keys["keys"]] == ["current"] and keys["keys"][0][
        "key_id"
    ] == certificate.key_id
    assert "PRIVATE" not in str(keys) and "private" not in str(keys)
    assert set(keys["keys"][0]) == set(_schema_component(api, "EcertPublicKey")["properties"])


def test_the_api_is_limited_per_address(handed_over: Application, settings: Any) -> None:
    settings.ECERT_VERIFY_PER_MINUTE = 1
    api = APIClient()
    assert api.post("/api/v1/public/ecert/verify", {"token": "x"}, format="json").status_code == 200
    refused = api.post("/api/v1/public/ecert/verify", {"token": "x"}, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) > 0


def test_staff_find_see_and_print_a_certificate(
    personas: Personas, household_reviewer: User, handed_over: Application
) -> None:
    certificate = ElectronicCertificate.objects.get()
    station = login(Client(), personas.nanchang_distributor)
    found = station.get("/ecert/", {"q": handed_over.number or ""})
    assert found.status_code == 302 and found["Location"] == f"/ecert/{certificate.number}/"
    detail = station.get(found["Location"]).content.decode()
    assert "刘晓燕" in detail and certificate.card_serial in detail and "有效" in detail
    assert AuditEvent.objects.filter(action="ecert.view", object_id=certificate.number).count() == 1
    printed = station.get(f"/ecert/{certificate.number}/print/").content.decode()
    assert "<svg" in printed and "本二维码有效至" in printed
    assert AuditEvent.objects.filter(action="ecert.code_issued", detail__kind="print").exists()
    missing = station.get("/ecert/", {"q": "3601020012026010100001"})
    assert missing.status_code == 200 and "未找到电子证照" in missing.content.decode()
    # The application page links to it.
    application_page = station.get(f"/applications/{handed_over.pk}/").content.decode()
    assert f"/ecert/?q={handed_over.number}" in application_page
    for who in ("ganzhou_clerk", "finance", "centre_operator"):
        other = login(Client(), personas.all()[who])
        assert other.get(f"/ecert/{certificate.number}/").status_code == 404, who
        assert other.get(f"/ecert/{certificate.number}/print/").status_code == 404, who
    ganzhou = login(Client(), personas.ganzhou_clerk)
    assert "未找到电子证照" in ganzhou.get("/ecert/", {"q": handed_over.number or ""}).content.decode()
    # The household police (the reviewer at the household station) see it too.
    assert login(Client(), household_reviewer).get(f"/ecert/{certificate.number}/").status_code == 200


def test_the_holder_shows_the_certificate_through_the_api(handed_over: Application, settings: Any) -> None:
    api = APIClient()
    body = {"id_number": handed_over.id_number, "name": handed_over.name, "reference": handed_over.number}
    answer = api.post("/api/v1/public/ecert/holder", body, format="json")
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store", answer.json()
    shown = answer.json()
    certificate = ElectronicCertificate.objects.get()
    assert set(shown) == set(_schema_component(api, "EcertCertificate")["properties"])
    assert (shown["number"], shown["masked_name"], shown["state"]) == (certificate.number, "刘*燕", "valid")
    assert handed_over.id_number not in str(shown) and "刘晓燕" not in str(shown)
    assert shown["code"]["verify_url"].endswith("/guide/ecert/verify/?t=" + shown["code"]["token"])
    checked = api.post("/api/v1/public/ecert/verify", {"token": shown["code"]["token"]}, format="json")
    assert checked.json()["result"] == "valid"
    printed = api.post("/api/v1/public/ecert/holder", {**body, "print": True}, format="json").json()
    assert printed["code"]["expires_at"] > shown["code"]["expires_at"]
    wrong = api.post("/api/v1/public/ecert/holder", {**body, "name": "刘小燕"}, format="json")
    assert wrong.status_code == 404 and wrong.json()["code"] == "not_found"
    settings.ECERT_HOLDER_PER_HOUR = 3
    refused = api.post("/api/v1/public/ecert/holder", body, format="json")
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"


def test_staff_read_and_print_through_the_api(personas: Personas, handed_over: Application) -> None:
    certificate = ElectronicCertificate.objects.get()
    station = APIClient()
    station.force_authenticate(personas.nanchang_distributor)
    read = station.get(f"/api/v1/ecert/certificates/{handed_over.number}")
    assert read.status_code == 200 and read.json()["number"] == certificate.number
    assert read.json()["code"] is None
    assert AuditEvent.objects.filter(action="ecert.view", object_id=certificate.number).count() == 1
    printed = station.post(f"/api/v1/ecert/certificates/{certificate.number}/code")
    assert printed.status_code == 200 and printed.json()["code"]["token"].startswith("EC1.")
    ganzhou = APIClient()
    ganzhou.force_authenticate(personas.ganzhou_clerk)
    assert ganzhou.get(f"/api/v1/ecert/certificates/{certificate.number}").status_code == 404
    loss_report(
        actor=personas.nanchang_clerk,
        person=Person.objects.get(pk=handed_over.person_id),
        channel="in_person",
        phone="13907910000",
    )
    refused = station.post(f"/api/v1/ecert/certificates/{certificate.number}/code")
    assert refused.status_code == 409 and refused.json()["code"] == "certificate_not_valid"
