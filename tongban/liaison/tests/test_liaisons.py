"""The liaison directory (联络人): kept by the unit itself, read by the whole province, audited."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.liaison.models import Liaison
from tongban.liaison.services import LiaisonEntry, liaisons_replace
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory
from tongban.testing.personas import api_client, login

pytestmark = pytest.mark.django_db

ENTRY = LiaisonEntry(
    name="罗建华", position="户政大队大队长", phone="0791-86210201", duties=("cross_region",)
)


def unit(code: str) -> Unit:
    return Unit.objects.get(code=code)


@pytest.fixture
def donghu(personas):
    return liaisons_replace(actor=personas.donghu_supervisor, unit=unit("360102"), entries=[ENTRY])


def test_the_own_unit_keeps_its_liaisons_and_it_is_audited(personas, donghu):
    assert [(row.name, row.duties, row.updated_by) for row in donghu] == [
        ("罗建华", ["cross_region"], personas.donghu_supervisor)
    ]
    event = AuditEvent.objects.get(action="liaison.updated", object_id="360102")
    assert event.actor_id == personas.donghu_supervisor.pk
    assert event.detail["before"] == [] and event.detail["after"][0]["name"] == "罗建华"
    assert "86210201" not in str(event.detail) and event.detail["after"][0]["phone"].endswith("0201")
    replaced = liaisons_replace(
        actor=personas.donghu_supervisor,
        unit=unit("360102"),
        entries=[LiaisonEntry(name="胡晓梅", position="副大队长", phone="13907910000", duties=("review",))],
    )
    assert [row.name for row in replaced] == ["胡晓梅"] and Liaison.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("donghu_supervisor", "360102001"),  # a station below: kept by the station itself
        ("nanchang_supervisor", "360102"),
        ("province_supervisor", "3601"),
        ("nanchang_clerk", "360102001"),  # no liaison.manage
        ("finance", "360102"),
        ("admin", "3601"),
    ],
)
def test_only_the_units_own_managers_edit(personas, who, code):
    with pytest.raises(ServiceError) as refused:
        liaisons_replace(actor=getattr(personas, who), unit=unit(code), entries=[ENTRY])
    assert refused.value.status == 403 and not Liaison.objects.exists()
    assert not AuditEvent.objects.filter(action="liaison.updated").exists()


def test_a_station_supervisor_keeps_the_stations_list(personas):
    chief = UserFactory.create(username="suozhang", role="supervisor", unit=unit("360102001"))
    rows = liaisons_replace(actor=chief, unit=unit("360102001"), entries=[ENTRY])
    assert rows[0].unit.code == "360102001"


def test_bad_entries_are_refused_per_field(personas):
    other = personas.nanchang_supervisor  # of 3601, not of 360102
    with pytest.raises(ServiceError) as refused:
        liaisons_replace(
            actor=personas.donghu_supervisor,
            unit=unit("360102"),
            entries=[
                LiaisonEntry(name="", position="x", phone="abc", duties=()),
                LiaisonEntry(
                    name="甲", position="乙", phone="0791-1234567", duties=("nope",), user_id=other.pk
                ),
            ],
        )
    assert set(refused.value.fields) == {
        "liaisons.0.name",
        "liaisons.0.phone",
        "liaisons.0.duties",
        "liaisons.1.duties",
        "liaisons.1.user_id",
    }
    assert not Liaison.objects.exists()


# ---------------------------------------------------------------------------------------------
# Pages


@pytest.mark.parametrize("who", ["ganzhou_clerk", "finance", "centre_operator", "auditor", "civil_affairs"])
def test_every_unit_of_the_province_reads_the_directory(client, personas, donghu, who):
    login(client, getattr(personas, who))
    page = client.get("/liaisons/?q=东湖分局").content.decode()
    assert "罗建华" in page and "0791-86210201" in page


def test_search_and_tree_filter(client, personas, donghu):
    login(client, personas.ganzhou_clerk)
    by_code = client.get("/liaisons/?q=360102").context["page"].rows
    assert {u.code for u in by_code} == {u.code for u in Unit.objects.filter(code__startswith="360102")}
    tree = client.get("/liaisons/?unit=3607").context["page"].rows
    assert tree and all(u.path.startswith(unit("3607").path) for u in tree)
    assigned = client.get("/liaisons/?assigned=on").context["page"].rows
    assert [u.code for u in assigned] == ["360102"]
    by_duty = client.get("/liaisons/?duty=review").context["page"].rows
    assert by_duty == []


def test_the_missing_list_covers_the_supervisors_subtree(client, personas, donghu):
    login(client, personas.nanchang_supervisor)
    units = client.get("/liaisons/missing/").context["units"]
    codes = {u.code for u in units}
    assert "360102" not in codes and "360102001" in codes and "3601" in codes
    assert all(u.path.startswith(unit("3601").path) for u in units)
    for who in ("nanchang_clerk", "finance"):
        login(client, getattr(personas, who))
        assert client.get("/liaisons/missing/").status_code == 404


def test_the_edit_page_saves_and_shows_errors_beside_the_field(client, personas, donghu):
    login(client, personas.donghu_supervisor)
    assert client.get("/liaisons/360102/edit/").status_code == 200
    form = {
        "form-TOTAL_FORMS": "3",
        "form-INITIAL_FORMS": "1",
        "form-0-name": "罗建华",
        "form-0-position": "大队长",
        "form-0-phone": "0791-86210299",
        "form-0-duties": ["cross_region", "review"],
        "form-1-name": "杨丽",
        "form-1-position": "内勤",
        "form-1-phone": "bad",
        "form-1-duties": ["finance"],
    }
    response = client.post("/liaisons/360102/edit/", form)
    assert response.status_code == 400
    assert "联系电话格式不正确" in response.content.decode().split('id="error-form-1-phone">', 1)[1][:80]
    assert list(Liaison.objects.values_list("phone", flat=True)) == ["0791-86210201"]
    form["form-1-phone"] = "13907910001"
    assert client.post("/liaisons/360102/edit/", form).status_code == 302
    assert list(Liaison.objects.order_by("order").values_list("name", "phone")) == [
        ("罗建华", "0791-86210299"),
        ("杨丽", "13907910001"),
    ]


@pytest.mark.parametrize(
    ("who", "status"), [("nanchang_supervisor", 403), ("nanchang_clerk", 403), ("auditor", 403)]
)
def test_other_units_cannot_open_the_edit_page(client, personas, who, status):
    login(client, getattr(personas, who))
    assert client.get("/liaisons/360102/edit/").status_code == status
    assert (
        client.post(
            "/liaisons/360102/edit/", {"form-TOTAL_FORMS": "0", "form-INITIAL_FORMS": "0"}
        ).status_code
        == status
    )


def test_anonymous_and_unknown_units(client, personas):
    assert client.get("/liaisons/").status_code == 302
    login(client, personas.donghu_supervisor)
    assert client.get("/liaisons/999999/edit/").status_code == 404


# ---------------------------------------------------------------------------------------------
# API


def test_api_lists_the_directory(personas, donghu):
    body = api_client(personas.ganzhou_clerk).get("/api/v1/liaisons?q=360102").json()
    assert [(row["unit"]["code"], row["name"]) for row in body["results"]] == [("360102", "罗建华")]


def test_api_put_by_the_own_unit(personas):
    api = api_client(personas.donghu_supervisor)
    payload = {
        "liaisons": [{"name": "罗建华", "position": "大队长", "phone": "0791-86210201", "duties": ["review"]}]
    }
    response = api.put("/api/v1/liaisons/360102", payload, format="json")
    assert response.status_code == 200 and response.json()[0]["duty_labels"] == ["审核签发"]
    assert api.put("/api/v1/liaisons/3601", payload, format="json").status_code == 403
    assert api.put("/api/v1/liaisons/999999", payload, format="json").status_code == 404
    bad = api.put(
        "/api/v1/liaisons/360102",
        {"liaisons": [{**payload["liaisons"][0], "user": "nanchang_supervisor"}]},
        format="json",
    )
    assert bad.status_code == 400 and "liaisons.0.user_id" in bad.json()["fields"]
    assert Liaison.objects.get().position == "大队长"
    assert (
        api_client(personas.nanchang_clerk).put("/api/v1/liaisons/360102", payload, format="json").status_code
        == 403
    )
