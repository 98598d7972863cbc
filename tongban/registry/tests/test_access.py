"""Jurisdiction: every role against every register endpoint, the denied ones included."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client

from tongban.audit.models import AuditEvent
from tongban.registry.models import Person, Unit
from tongban.testing.factories import PersonFactory, station
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


@pytest.fixture
def nanchang_person() -> Person:
    """Registered at 东湖区城关派出所 (360102001), 南昌."""
    return PersonFactory.create(name="南昌人", birth_date=datetime.date(1988, 2, 29))


@pytest.fixture
def ganzhou_person() -> Person:
    return PersonFactory.create(name="赣州人", registration_unit=station("360702001"))


# role persona → can it open a Nanchang (东湖区) person's full record by URL?
DETAIL_ACCESS = {
    "nanchang_clerk": True,
    "nanchang_reviewer": True,  # station 360102002 — same county but another station: not in its subtree
    "nanchang_distributor": True,
    "ganzhou_clerk": False,
    "donghu_supervisor": True,
    "nanchang_supervisor": True,
    "province_supervisor": True,
    "centre_operator": False,
    "finance": False,
    "civil_affairs": False,
    "campaign_manager": False,
    "auditor": False,
    "admin": True,
}
DETAIL_ACCESS["nanchang_reviewer"] = False


@pytest.mark.parametrize("who", sorted(DETAIL_ACCESS))
def test_full_record_by_url_only_within_the_subtree(
    client: Client, personas: Personas, nanchang_person: Person, who: str
) -> None:
    login(client, personas.all()[who])
    response = client.get(f"/people/{nanchang_person.pk}/")
    assert response.status_code == (200 if DETAIL_ACCESS[who] else 404)
    viewed = AuditEvent.objects.filter(action="person.view", object_id=str(nanchang_person.pk)).exists()
    assert viewed is DETAIL_ACCESS[who]


@pytest.mark.parametrize("who", sorted(DETAIL_ACCESS))
def test_full_record_by_api_only_within_the_subtree(
    personas: Personas, nanchang_person: Person, who: str
) -> None:
    user = personas.all()[who]
    response = api_client(user).get(f"/api/v1/people/{nanchang_person.pk}")
    # A role that may not open full records is refused as such; the others find nothing outside.
    refused = (404, "not_found") if user.can("person.view") else (403, "permission_denied")
    if DETAIL_ACCESS[who]:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.json()["code"]) == refused


@pytest.mark.parametrize("who", sorted(DETAIL_ACCESS))
def test_lists_never_show_another_subtree(
    personas: Personas, nanchang_person: Person, ganzhou_person: Person, who: str
) -> None:
    user = personas.all()[who]
    api = api_client(user)
    response = api.get("/api/v1/people")
    if not user.can("person.browse"):
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
        return
    ids = {row["id"] for row in response.json()["results"]}
    assert all(
        user.unit is not None and Person.objects.get(pk=pk).registration_unit.path.startswith(user.unit.path)
        for pk in ids
    )
    visible = Person.objects.visible_to(user, "person.browse")
    assert (nanchang_person.pk in ids) is visible.filter(pk=nanchang_person.pk).exists()


def test_list_rows_mask_id_numbers(client: Client, personas: Personas, nanchang_person: Person) -> None:
    login(client, personas.nanchang_clerk)
    page = client.get("/people/").content.decode()
    assert nanchang_person.id_number not in page
    assert nanchang_person.id_number[:6] + "********" + nanchang_person.id_number[-4:] in page
    api = api_client(personas.nanchang_clerk)
    (row,) = [r for r in api.get("/api/v1/people").json()["results"] if r["id"] == nanchang_person.pk]
    assert row["id_number"] == nanchang_person.id_number[:6] + "********" + nanchang_person.id_number[-4:]


def test_clerk_looks_up_anyone_in_the_province_by_exact_number(
    client: Client, personas: Personas, nanchang_person: Person
) -> None:
    login(client, personas.ganzhou_clerk)
    response = client.post("/people/lookup/", {"id_number": nanchang_person.id_number.lower()})
    assert response.status_code == 200
    page = response.content.decode()
    assert nanchang_person.id_number in page and "南昌人" in page
    event = AuditEvent.objects.get(action="person.view", object_id=str(nanchang_person.pk))
    assert (event.actor_username, event.unit_code, event.detail) == (
        "ganzhou_clerk",
        "360702001",
        {"how": "lookup"},
    )
    assert event.remote_addr == "127.0.0.1"
    # ...but cannot then browse to the record, or list Nanchang's people.
    assert client.get(f"/people/{nanchang_person.pk}/").status_code == 404
    assert "南昌人" not in client.get("/people/").content.decode()


def test_lookup_of_someone_else_shows_no_household(
    client: Client, personas: Personas, nanchang_person: Person
) -> None:
    relative = PersonFactory.create(
        household_no=nanchang_person.household_no, name="同户亲属", relation_id="10"
    )
    login(client, personas.ganzhou_clerk)
    page = client.post("/people/lookup/", {"id_number": nanchang_person.id_number}).content.decode()
    assert relative.name not in page
    assert "不显示同户人员" in page
    login(client, personas.nanchang_clerk)
    page = client.post("/people/lookup/", {"id_number": nanchang_person.id_number}).content.decode()
    assert relative.name in page


def test_supervisors_may_not_search_outside_their_subtree(
    client: Client, personas: Personas, ganzhou_person: Person
) -> None:
    login(client, personas.nanchang_supervisor)
    response = client.post("/people/lookup/", {"id_number": ganzhou_person.id_number})
    assert "不在您的查询范围内" in response.content.decode()
    assert not AuditEvent.objects.filter(action="person.view").exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "请输入公民身份号码"), ("36010219900517", "18 位"), ("360102199005171234", "校验码")],
)
def test_lookup_form_explains_bad_numbers_in_chinese(
    client: Client, personas: Personas, value: str, message: str
) -> None:
    login(client, personas.nanchang_clerk)
    page = client.post("/people/lookup/", {"id_number": value}).content.decode()
    assert message in page


def test_api_lookup_validates_and_scopes(personas: Personas, nanchang_person: Person) -> None:
    api = api_client(personas.centre_operator)
    refused = api.post("/api/v1/people/lookup", {"id_number": nanchang_person.id_number}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    api = api_client(personas.ganzhou_clerk)
    for number in ("123", nanchang_person.id_number[:17] + "Y", "３６" + nanchang_person.id_number[2:]):
        bad = api.post("/api/v1/people/lookup", {"id_number": number}, format="json")
        assert bad.status_code == 400
        assert bad.json()["code"] == "invalid"
        assert bad.json()["fields"]["id_number"][0]["code"] == "invalid_id_number"
    # The API reads JSON only: a form body is refused before anything is looked up.
    form = api.post("/api/v1/people/lookup", {"id_number": nanchang_person.id_number})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    good = api.post(
        "/api/v1/people/lookup", {"id_number": f" {nanchang_person.id_number.lower()} "}, format="json"
    )
    assert good.status_code == 200
    body = good.json()
    assert body["id_number"] == nanchang_person.id_number
    assert body["registration_unit"]["code"] == "360102001"
    assert body["household"] is None


def test_keyset_pagination_walks_the_whole_subtree(personas: Personas) -> None:
    PersonFactory.create_batch(120)
    api = api_client(personas.donghu_supervisor)
    seen: list[int] = []
    query = ""
    while True:
        body = api.get(f"/api/v1/people{query}").json()
        seen.extend(row["id"] for row in body["results"])
        if body["next_after"] is None:
            break
        query = f"?after={body['next_after']}"
    assert seen == sorted(seen)
    assert len(seen) == Person.objects.visible_to(personas.donghu_supervisor).count() == 120


def test_units_are_scoped(personas: Personas) -> None:
    api = api_client(personas.nanchang_supervisor)
    codes = {u["code"] for u in api.get("/api/v1/units").json()}
    assert "3601" in codes and "360102001" in codes
    assert not any(code.startswith("3607") for code in codes)
    assert codes == set(Unit.objects.subtree(Unit.objects.get(code="3601")).values_list("code", flat=True))


def test_the_api_refuses_what_its_schema_does(personas: Personas) -> None:
    """A number where the schema says text, an empty value where it says a boolean or one of a
    list: refused (400), never read as something else or as absent."""
    api = api_client(personas.nanchang_clerk)
    numbers = api.post("/api/v1/idnumbers/check", {"numbers": [360102199005170027]}, format="json")
    assert numbers.status_code == 400 and numbers.json()["fields"]["numbers.0"][0]["code"] == "invalid"
    assert api.get("/api/v1/units?missing_contact=").status_code == 400
    assert api.get("/api/v1/people?after=").status_code == 400
    assert api.get("/api/v1/people?status=").status_code == 200  # an empty filter is no filter
    assert api.get("/api/v1/applications?sort=").status_code == 200
    reviewer = api_client(personas.nanchang_reviewer)
    assert reviewer.get("/api/v1/review/queue?sort=").json()["fields"]["sort"][0]["code"] == "invalid_choice"
