"""A unit's own telephone and address (printed on its documents): kept by holders of `unit.manage`
over it, on the page and through the API; required for stations; the missing ones listed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.registry import services
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory, station
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

PHONE, ADDRESS = "0791-86781234", "江西省南昌市东湖区八一大道288号"


def test_a_station_needs_both_and_a_proper_phone(personas: Personas) -> None:
    unit = station("360102001")
    with pytest.raises(ServiceError) as refused:
        services.unit_contact_update(actor=personas.admin, unit=unit, phone="86781234", address="")
    assert refused.value.code == "invalid" and set(refused.value.fields) == {"phone", "address"}
    assert "区号" in refused.value.fields["phone"] and "派出所" in refused.value.fields["address"]
    unit.refresh_from_db()
    assert (unit.phone, unit.address) == ("", "")
    services.unit_contact_update(actor=personas.admin, unit=unit, phone=" 0791 86781234-801", address=ADDRESS)
    unit.refresh_from_db()
    assert (unit.phone, unit.address) == ("0791-86781234-801", ADDRESS)
    services.unit_contact_update(actor=personas.admin, unit=unit, phone="138 0013 8000", address=ADDRESS)
    unit.refresh_from_db()
    assert unit.phone == "13800138000"
    first, second = AuditEvent.objects.filter(action="unit.contact_updated", object_id=str(unit.pk)).order_by(
        "pk"
    )
    assert first.detail["changes"]["address"] == ["", ADDRESS]
    assert set(second.detail["changes"]) == {"phone"}


def test_a_county_bureau_may_leave_them_blank(personas: Personas) -> None:
    county = Unit.objects.get(code="360102")
    assert services.unit_contact_update(actor=personas.admin, unit=county, phone="", address="").phone == ""


def test_only_unit_manage_over_the_unit(personas: Personas) -> None:
    unit = station("360102001")
    with pytest.raises(ServiceError) as denied:
        services.unit_contact_update(
            actor=personas.donghu_supervisor, unit=unit, phone=PHONE, address=ADDRESS
        )
    assert denied.value.status == 403
    ganzhou_admin = UserFactory.create(role="admin", unit=Unit.objects.get(code="3607"))
    with pytest.raises(ServiceError) as outside:
        services.unit_contact_update(actor=ganzhou_admin, unit=unit, phone=PHONE, address=ADDRESS)
    assert outside.value.status == 404


def test_the_page_edits_and_the_missing_list_empties(client: Client, personas: Personas) -> None:
    unit = station("360102001")
    login(client, personas.admin)
    missing = client.get(reverse("registry:units_missing_contact")).content.decode()
    assert unit.name in missing and "补录" in missing
    assert "未登记对外联系电话或办公地址" in client.get(reverse("home")).content.decode()
    url = reverse("registry:unit_edit", args=[unit.code])
    bad = client.post(url, {"phone": "12345", "address": ""})
    assert bad.status_code == 400
    page = bad.content.decode()
    assert "电话号码格式不正确" in page and "须登记办公地址" in page and 'value="12345"' in page
    ok = client.post(url, {"phone": PHONE, "address": ADDRESS, "next": "missing"})
    assert ok.status_code == 302 and ok["Location"] == reverse("registry:units_missing_contact")
    unit.refresh_from_db()
    assert (unit.phone, unit.address) == (PHONE, ADDRESS)
    assert (
        f"<td>{unit.name}</td>" not in client.get(reverse("registry:units_missing_contact")).content.decode()
    )
    listing = client.get(reverse("registry:unit_list")).content.decode()
    assert PHONE in listing and ADDRESS in listing


@pytest.mark.parametrize("who", ["nanchang_clerk", "donghu_supervisor", "province_supervisor", "auditor"])
def test_others_cannot_open_the_edit_page(client: Client, personas: Personas, who: str) -> None:
    login(client, getattr(personas, who))
    assert client.get(reverse("registry:unit_edit", args=["360102001"])).status_code == 404
    assert client.get(reverse("registry:units_missing_contact")).status_code == 404


def test_the_api_reads_and_patches_a_unit(personas: Personas) -> None:
    api = api_client(personas.admin)
    body = api.get("/api/v1/units/360102001").json()
    assert (body["code"], body["kind_label"], body["phone"], body["address"]) == (
        "360102001",
        "派出所",
        "",
        "",
    )
    missing = api.get("/api/v1/units", {"missing_contact": "true"}).json()
    assert "360102001" in {row["code"] for row in missing} and {row["kind"] for row in missing} == {"station"}
    refused = api.patch("/api/v1/units/360102001", {"phone": "12"}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid"
    assert set(refused.json()["fields"]) == {"phone", "address"}
    done = api.patch("/api/v1/units/360102001", {"phone": PHONE, "address": ADDRESS}, format="json")
    assert done.status_code == 200 and (done.json()["phone"], done.json()["address"]) == (PHONE, ADDRESS)
    kept = api.patch("/api/v1/units/360102001", {"address": ADDRESS + "一楼"}, format="json").json()
    assert kept["phone"] == PHONE  # left out: kept
    assert "360102001" not in {row["code"] for row in api.get("/api/v1/units?missing_contact=true").json()}


def test_the_api_refuses_others(personas: Personas) -> None:
    clerk = api_client(personas.nanchang_clerk)
    assert clerk.get("/api/v1/units/360102001").status_code == 200  # reading the own unit
    denied = clerk.patch("/api/v1/units/360102001", {"phone": PHONE}, format="json")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert clerk.get("/api/v1/units/3607").json()["code"] == "not_found"
    missing = clerk.get("/api/v1/units?missing_contact=true")
    assert missing.status_code == 403 and missing.json()["code"] == "permission_denied"
