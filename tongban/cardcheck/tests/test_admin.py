"""The provincial department's side: the pages (register, key shown once after a confirmation,
suspend and resume with a reason), the same through the API, the operators' command line, the
dashboard's monthly counts, and who may see any of it (nobody below the province)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tongban.audit.models import AuditEvent
from tongban.cardcheck import selectors, services
from tongban.cardcheck.models import Institution
from tongban.cardcheck.tests.test_check import bank_entry
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import Personas, api_client, login

FORM = {
    "name": "中国移动江西公司",
    "kind": "telecom",
    "credit_code": "91360100MA35ABCD0N",
    "purpose": "办理电话入网时核验用户身份证件",
    "contact": "李经理 0791-88000000",
    "per_minute_limit": "30",
    "daily_limit": "5000",
}


def checker(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Institution {key}")
    return api


def test_an_administrator_registers_issues_a_key_once_and_suspends(personas: Personas) -> None:
    client = login(Client(), personas.admin)
    assert "身份证核查" in client.get("/").content.decode()  # in the navigation
    refused = client.post(reverse("cardcheck:institution_new"), {**FORM, "credit_code": "91360100MA35ABCD0A"})
    assert refused.status_code == 400 and "校验位不正确" in refused.content.decode()
    assert "办理电话入网时核验用户身份证件" in refused.content.decode()  # what was typed stays
    done = client.post(reverse("cardcheck:institution_new"), FORM)
    institution = Institution.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse(
        "cardcheck:institution", args=[institution.pk]
    )
    detail = client.get(done["Location"]).content.decode()
    assert "未签发" in detail and "签发密钥" in detail

    key_url = reverse("cardcheck:institution_key", args=[institution.pk])
    asked = client.post(key_url)  # without JavaScript: asked first, nothing issued
    assert asked.status_code == 200 and "确定签发" in asked.content.decode()
    institution.refresh_from_db()
    assert institution.key_prefix == ""
    shown = client.post(key_url, {"confirmed": "1"})
    institution.refresh_from_db()
    page = shown.content.decode()
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    key = page.split('<code id="institution-key">', 1)[1].split("</code>", 1)[0]
    assert key.startswith(f"tbk_{institution.key_prefix}_") and "只显示这一次" in page
    assert selectors.institution_by_key(key) == institution
    again = client.get(reverse("cardcheck:institution", args=[institution.pk])).content.decode()
    assert key not in again and f"tbk_{institution.key_prefix}" in again and "更换密钥" in again
    listing = client.get(reverse("cardcheck:institutions")).content.decode()
    assert key not in listing and institution.key_prefix in listing and "30／5000" in listing

    suspend_url = reverse("cardcheck:institution_suspend", args=[institution.pk])
    blank = client.post(suspend_url, {"reason": " ", "confirmed": "1"})
    assert blank.status_code == 400 and "请填写原因" in blank.content.decode()
    asked = client.post(suspend_url, {"reason": "违规查询"})
    assert asked.status_code == 200 and "确定暂停" in asked.content.decode()
    assert Institution.objects.get().state == "active"
    body = {"id_number": "360102199001011234", "name": "张三", "card_serial": "X"}
    assert checker(key).post("/api/v1/card-checks", body, format="json").status_code == 200
    done = client.post(suspend_url, {"reason": "违规查询", "confirmed": "1"})
    assert done.status_code == 302
    assert checker(key).post("/api/v1/card-checks", body, format="json").status_code == 403
    page = client.get(done["Location"]).content.decode()
    assert "已暂停" in page and "违规查询" in page and "恢复核查" in page
    resumed = client.post(
        reverse("cardcheck:institution_resume", args=[institution.pk]),
        {"reason": "整改完成", "confirmed": "1"},
    )
    assert resumed.status_code == 302 and Institution.objects.get().state == "active"
    actions = list(
        AuditEvent.objects.filter(object_type="cardcheck.institution")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "cardcheck.institution_added",
        "cardcheck.key_issued",
        "cardcheck.check",
        "cardcheck.suspended",
        "cardcheck.resumed",
    ]
    assert key not in json.dumps(
        list(AuditEvent.objects.values_list("detail", flat=True)), ensure_ascii=False
    )


def test_editing_keeps_the_key_and_refuses_a_taken_code(personas: Personas) -> None:
    client = login(Client(), personas.admin)
    first = services.institution_add(actor=personas.admin, entry=bank_entry())
    first, key = services.key_issue(actor=personas.admin, institution=first)
    other = services.institution_add(actor=personas.admin, entry=bank_entry(credit_code=FORM["credit_code"]))
    url = reverse("cardcheck:institution_edit", args=[first.pk])
    assert 'value="中国银行南昌分行"' in client.get(url).content.decode()
    taken = client.post(url, {**FORM, "name": "中国银行南昌分行"})
    assert taken.status_code == 400 and "已登记" in taken.content.decode()
    saved = client.post(url, {**FORM, "credit_code": first.credit_code, "per_minute_limit": "5"})
    assert saved.status_code == 302
    first.refresh_from_db()
    assert (first.name, first.per_minute_limit, first.kind) == ("中国移动江西公司", 5, "telecom")
    assert selectors.institution_by_key(key) == first and other.pk != first.pk


def test_supervisors_of_the_province_read_and_nobody_below_sees(personas: Personas) -> None:
    institution = services.institution_add(actor=personas.admin, entry=bank_entry())
    reader = login(Client(), personas.province_supervisor)
    page = reader.get(reverse("cardcheck:institution", args=[institution.pk])).content.decode()
    assert "中国银行南昌分行" in page and "签发密钥" not in page and "暂停核查" not in page
    assert reader.get(reverse("cardcheck:institution_new")).status_code == 404
    key_url = reverse("cardcheck:institution_key", args=[institution.pk])
    assert reader.post(key_url, {"confirmed": "1"}).status_code == 404
    for persona in (personas.nanchang_supervisor, personas.donghu_supervisor, personas.nanchang_clerk):
        client = login(Client(), persona)
        assert client.get(reverse("cardcheck:institutions")).status_code == 404
        assert client.get(reverse("cardcheck:institution", args=[institution.pk])).status_code == 404
        assert "身份证核查" not in client.get("/").content.decode()
    api = api_client(personas.nanchang_supervisor)
    assert api.get("/api/v1/cardcheck/institutions").json() == []
    assert api.get(f"/api/v1/cardcheck/institutions/{institution.pk}").status_code == 404
    assert api_client(personas.nanchang_clerk).get("/api/v1/cardcheck/institutions").status_code == 403


def test_the_api_registers_issues_suspends_and_counts(personas: Personas) -> None:
    api = api_client(personas.admin)
    made = api.post("/api/v1/cardcheck/institutions", {**FORM, "per_minute_limit": 30}, format="json")
    assert made.status_code == 201
    pk = made.json()["id"]
    assert made.json()["state_label"] == "启用" and made.json()["key_prefix"] == ""
    dup = api.post("/api/v1/cardcheck/institutions", FORM, format="json")
    assert (dup.status_code, dup.json()["code"]) == (409, "institution_exists")
    bad = api.post("/api/v1/cardcheck/institutions", {**FORM, "credit_code": "123"}, format="json")
    assert bad.status_code == 400 and "credit_code" in bad.json()["fields"]
    issued = api.post(f"/api/v1/cardcheck/institutions/{pk}/key")
    key = issued.json()["key"]
    assert issued.status_code == 200 and key.startswith("tbk_" + issued.json()["key_prefix"])
    assert "key" not in api.get(f"/api/v1/cardcheck/institutions/{pk}").json()
    holder = PersonFactory.create()
    CardFactory.create(person=holder, card_serial="CS-API")
    body = {"id_number": holder.id_number, "name": holder.name, "card_serial": "CS-API"}
    assert checker(key).post("/api/v1/card-checks", body, format="json").json()["result"] == "valid"
    patched = api.patch(f"/api/v1/cardcheck/institutions/{pk}", {"daily_limit": 100}, format="json")
    assert patched.json()["daily_limit"] == 100 and patched.json()["per_minute_limit"] == 30
    listed = api.get("/api/v1/cardcheck/institutions").json()
    assert [(i["id"], i["month_total"]) for i in listed] == [(pk, 1)]
    no_reason = api.post(f"/api/v1/cardcheck/institutions/{pk}/suspend", {"reason": ""}, format="json")
    assert no_reason.status_code == 400
    suspended = api.post(f"/api/v1/cardcheck/institutions/{pk}/suspend", {"reason": "暂停"}, format="json")
    assert suspended.json()["state"] == "suspended"
    again = api.post(f"/api/v1/cardcheck/institutions/{pk}/suspend", {"reason": "暂停"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_suspended")
    assert (
        checker(key).post("/api/v1/card-checks", body, format="json").json()["code"]
        == "institution_suspended"
    )
    resumed = api.post(f"/api/v1/cardcheck/institutions/{pk}/resume", {"reason": "恢复"}, format="json")
    assert resumed.json()["state"] == "active"
    not_suspended = api.post(f"/api/v1/cardcheck/institutions/{pk}/resume", {"reason": "x"}, format="json")
    assert not_suspended.json()["code"] == "not_suspended"
    counts = api.get(f"/api/v1/cardcheck/institutions/{pk}/counts?months=2").json()["months"]
    assert len(counts) == 2 and counts[0]["total"] == 1 and counts[0]["counts"]["valid"] == 1
    reader = api_client(personas.province_supervisor)
    assert reader.get(f"/api/v1/cardcheck/institutions/{pk}/counts").status_code == 200
    assert reader.post(f"/api/v1/cardcheck/institutions/{pk}/key").status_code == 403


def test_the_dashboard_shows_this_months_checks_at_the_province(personas: Personas) -> None:
    institution = services.institution_add(actor=personas.admin, entry=bank_entry())
    institution, key = services.key_issue(actor=personas.admin, institution=institution)
    body = {"id_number": "360102199001011234", "name": "张三", "card_serial": "X"}
    checker(key).post("/api/v1/card-checks", body, format="json")
    page = (
        login(Client(), personas.province_supervisor).get(reverse("supervision:dashboard")).content.decode()
    )
    assert "居民身份证核查（本月，按机构）" in page and "中国银行南昌分行" in page
    city = (
        login(Client(), personas.nanchang_supervisor).get(reverse("supervision:dashboard")).content.decode()
    )
    assert "居民身份证核查" not in city
    board = api_client(personas.province_supervisor).get("/api/v1/supervision/dashboard").json()
    assert board["card_checks"] == [
        {
            "institution": institution.pk,
            "name": "中国银行南昌分行",
            "kind": "银行",
            "counts": {"valid": 0, "lost": 0, "superseded": 0, "expired": 0, "mismatch": 1},
            "total": 1,
        }
    ]
    assert (
        api_client(personas.nanchang_supervisor).get("/api/v1/supervision/dashboard").json()["card_checks"]
        == []
    )


def run(*args: str) -> Any:
    out = io.StringIO()
    call_command("cardcheck", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_the_command_line() -> None:
    made = run(
        "institution", "add", "--name", "某某宾馆", "--kind", "hotel", "--credit-code", FORM["credit_code"],
        "--purpose", "住宿登记核验", "--contact", "前台 0791-1", "--per-minute", "10",
    )  # fmt: skip
    pk = str(made["id"])
    issued = run("institution", "key", pk)
    assert selectors.institution_by_key(issued["key"]) is not None
    assert run("institution", "list") == [
        {
            "id": made["id"],
            "name": "某某宾馆",
            "kind": "旅馆业",
            "state": "启用",
            "key_prefix": issued["key"][4:12],
            "per_minute_limit": 10,
            "daily_limit": 10000,
            "month_checks": 0,
        }
    ]
    assert run("institution", "suspend", pk, "--reason", "停业")["state"] == "suspended"
    assert run("institution", "resume", pk, "--reason", "复业")["state"] == "active"
    with pytest.raises(CommandError, match="not_suspended"):
        run("institution", "resume", pk, "--reason", "x")
    with pytest.raises(CommandError, match="invalid"):
        run(
            "institution",
            "add",
            "--name",
            "x",
            "--kind",
            "bank",
            "--credit-code",
            "1",
            "--purpose",
            "p",
            "--contact",
            "c",
        )
    event = AuditEvent.objects.filter(action="cardcheck.key_issued").get()
    assert event.actor_id is None and event.actor_username.startswith("cli")
