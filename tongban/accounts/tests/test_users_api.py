"""`/api/v1/users` (账号管理) with every persona: administrators manage the accounts of their
subtree; every other role is refused (403), accounts elsewhere are not found (404)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory
from tongban.testing.personas import PERSONA_UNITS, Personas, api_client, login

pytestmark = pytest.mark.django_db

NEW = {"username": "liuf", "name": "刘芳", "role": "clerk", "unit": "360102001", "phone": "13907910009"}


@pytest.fixture
def city_admin(personas: Personas) -> User:
    return UserFactory.create(username="nanchang_admin", role="admin", unit=Unit.objects.get(code="3601"))


@pytest.mark.parametrize("persona", sorted(PERSONA_UNITS))
def test_only_administrators_reach_the_users_api(personas: Personas, persona: str) -> None:
    api = api_client(personas.all()[persona])
    calls = [
        api.get("/api/v1/users"),
        api.post("/api/v1/users", NEW, format="json"),
        api.get("/api/v1/users/nanchang_clerk"),
        api.patch("/api/v1/users/nanchang_clerk", {"phone": "13907910000"}, format="json"),
        api.post("/api/v1/users/nanchang_clerk/deactivate", {}, format="json"),
        api.post("/api/v1/users/nanchang_clerk/reactivate"),
        api.post("/api/v1/users/nanchang_clerk/reset-second-factor"),
        api.post("/api/v1/users/nanchang_clerk/reset-password"),
    ]
    if persona == "admin":
        assert [c.status_code for c in calls] == [200, 201, 200, 200, 200, 200, 409, 200]
    else:
        assert {(c.status_code, c.json()["code"]) for c in calls} == {(403, "permission_denied")}
        assert not User.objects.filter(username="liuf").exists()
        assert User.objects.get(username="nanchang_clerk").is_active


def test_list_filters_masks_phones_and_counts(personas: Personas) -> None:
    User.objects.filter(username="nanchang_clerk").update(
        phone="13907910001", last_name="王", first_name="晓燕"
    )
    api = api_client(personas.admin)
    everyone = api.get("/api/v1/users").json()
    assert everyone["count"] == len(PERSONA_UNITS) and everyone["next_after"] is None
    usernames = [row["username"] for row in everyone["results"]]
    assert usernames == sorted(usernames)
    clerk = next(row for row in everyone["results"] if row["username"] == "nanchang_clerk")
    assert clerk["phone"] == "139****0001" and clerk["name"] == "王晓燕"
    assert clerk["unit"] == {"code": "360102001", "name": "东湖区城关派出所", "kind": "station"}
    assert (clerk["role_label"], clerk["status"], clerk["status_label"]) == ("受理员", "active", "在用")

    def names(**query: str) -> list[str]:
        return [row["username"] for row in api.get("/api/v1/users", query).json()["results"]]

    assert names(unit="360102") == [
        "donghu_supervisor",
        "finance",
        "nanchang_clerk",
        "nanchang_distributor",
        "nanchang_reviewer",
    ]
    assert names(role="supervisor") == ["donghu_supervisor", "nanchang_supervisor", "province_supervisor"]
    assert names(q="晓燕") == ["nanchang_clerk"] and names(q="GANZHOU") == ["ganzhou_clerk"]
    assert names(q="360102002") == ["nanchang_reviewer"]  # a station by its code
    assert names(q="城东派出所") == ["nanchang_reviewer"]  # or its name
    User.objects.filter(username="finance").update(is_active=False)
    User.objects.filter(username="civil_affairs").update(must_set_password=True)
    assert names(status="inactive") == ["finance"] and names(status="pending") == ["civil_affairs"]
    assert "finance" not in names(status="active")
    bad = api.get("/api/v1/users", {"role": "sheriff"})
    assert bad.status_code == 400 and bad.json()["fields"]["role"][0]["code"] == "invalid_choice"
    assert api.get("/api/v1/users", {"unit": "369999"}).status_code == 404


def test_keyset_pages(personas: Personas) -> None:
    station = Unit.objects.get(code="360102001")
    UserFactory.create_batch(60, unit=station)
    api = api_client(personas.admin)
    first = api.get("/api/v1/users").json()
    assert len(first["results"]) == 50 and first["count"] == 60 + len(PERSONA_UNITS)
    second = api.get("/api/v1/users", {"after": first["next_after"]}).json()
    assert second["next_after"] is None
    seen = [row["username"] for row in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == first["count"]


def test_a_city_administrator_sees_and_manages_only_the_city(city_admin: User, personas: Personas) -> None:
    TOTPDevice.objects.create(user=city_admin, name="t", confirmed=True)
    api = api_client(city_admin)
    listed = {row["username"] for row in api.get("/api/v1/users").json()["results"]}
    assert "nanchang_clerk" in listed and "ganzhou_clerk" not in listed and "admin" not in listed
    for call in (
        api.get("/api/v1/users/ganzhou_clerk"),
        api.post("/api/v1/users/ganzhou_clerk/deactivate", {}, format="json"),
        api.post("/api/v1/users/admin/reset-password"),
        api.get("/api/v1/users/nobody"),
        api.get("/api/v1/users/no%00body"),
    ):
        assert (call.status_code, call.json()["code"]) == (404, "not_found")
    assert api.get("/api/v1/users", {"unit": "3607"}).status_code == 404
    outside = api.post("/api/v1/users", {**NEW, "unit": "360702001"}, format="json")
    assert outside.status_code == 400 and outside.json()["code"] == "unknown_unit"
    moved = api.patch("/api/v1/users/nanchang_clerk", {"unit": "360702001"}, format="json")
    assert moved.json()["code"] == "unknown_unit"
    assert User.objects.get(username="ganzhou_clerk").is_active


def test_create_answers_the_code_once(personas: Personas) -> None:
    api = api_client(personas.admin)
    created = api.post("/api/v1/users", NEW, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["username"] == "liuf" and body["status"] == "pending" and body["phone"] == "13907910009"
    assert len(body["activation_code"]) == 14 and body["activation_expires"]
    assert body["activation_code"] not in str(AuditEvent.objects.filter(action="user.created").values())
    assert "activation_code" not in api.get("/api/v1/users/liuf").json()
    # The code works on the login page.
    response = Client().post("/accounts/login/", {"username": "liuf", "password": body["activation_code"]})
    assert response["Location"].startswith("/accounts/password/set/")


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        ({**NEW, "username": "nanchang_clerk"}, 400, "username_taken", {"username"}),
        ({**NEW, "username": "李"}, 400, "bad_username", {"username"}),
        ({**NEW, "name": ""}, 400, "empty_name", {"name"}),
        ({**NEW, "role": "sheriff"}, 400, "invalid", {"role"}),
        ({**NEW, "unit": "369999"}, 400, "unknown_unit", {"unit"}),
        ({**NEW, "role": "centre_operator"}, 400, "role_unit_mismatch", {"role"}),
        ({**NEW, "phone": "88"}, 400, "bad_phone", {"phone"}),
        ({**NEW, "phone": "88", "name": ""}, 400, "invalid", {"phone", "name"}),
        ({"username": "liuf"}, 400, "invalid", {"name", "role", "unit"}),
    ],
)
def test_create_refusals(
    personas: Personas, body: dict[str, str], status: int, code: str, fields: set[str]
) -> None:
    answer = api_client(personas.admin).post("/api/v1/users", body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert set(answer.json()["fields"]) == fields
    assert "message" in answer.json() and not User.objects.filter(username="liuf").exists()


def test_detail_shows_the_phone_and_is_audited(personas: Personas) -> None:
    User.objects.filter(username="nanchang_clerk").update(phone="13907910001")
    answer = api_client(personas.admin).get("/api/v1/users/nanchang_clerk").json()
    assert answer["phone"] == "13907910001" and answer["has_second_factor"] is False
    assert AuditEvent.objects.filter(action="user.view", object_id=str(personas.nanchang_clerk.pk)).exists()


def test_change_and_the_administrators_own_account(personas: Personas) -> None:
    api = api_client(personas.admin)
    changed = api.patch(
        "/api/v1/users/nanchang_clerk", {"role": "distributor", "name": "刘芳"}, format="json"
    )
    assert (
        changed.status_code == 200
        and changed.json()["role"] == "distributor"
        and changed.json()["name"] == "刘芳"
    )
    mismatch = api.patch("/api/v1/users/nanchang_clerk", {"unit": "360000901"}, format="json")
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "role_unit_mismatch")
    for call in (
        api.patch("/api/v1/users/admin", {"role": "supervisor"}, format="json"),
        api.post("/api/v1/users/admin/deactivate", {}, format="json"),
        api.post("/api/v1/users/admin/reset-second-factor"),
    ):
        assert (call.status_code, call.json()["code"]) == (403, "own_account")
    assert (
        api.patch("/api/v1/users/admin", {"phone": "0791-86201234"}, format="json").json()["phone"]
        == "0791-86201234"
    )


def test_deactivate_revokes_the_token_and_the_session_then_reactivate(personas: Personas) -> None:
    clerk = personas.nanchang_clerk
    old_token, browser = api_client(clerk), login(Client(), clerk)
    api = api_client(personas.admin)
    answer = api.post("/api/v1/users/nanchang_clerk/deactivate", {"reason": "调离"}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "inactive"
    assert old_token.get("/api/v1/units").status_code == 401
    assert browser.get("/api/v1/units").status_code in {401, 403}
    assert browser.get("/")["Location"].startswith("/accounts/login/")
    again = api.post("/api/v1/users/nanchang_clerk/deactivate", {}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_inactive")
    token = APIClient().post(
        "/api/v1/auth/token", {"username": "nanchang_clerk", "password": "Persona-pass-2026"}, format="json"
    )
    assert token.status_code == 401
    assert api.post("/api/v1/users/nanchang_clerk/reactivate").json()["status"] == "active"
    again = api.post("/api/v1/users/nanchang_clerk/reactivate")
    assert (again.status_code, again.json()["code"]) == (409, "already_active")


def test_reset_second_factor_and_password(personas: Personas) -> None:
    TOTPDevice.objects.create(user=personas.auditor, name="t", confirmed=True)
    api = api_client(personas.admin)
    assert api.get("/api/v1/users/auditor").json()["has_second_factor"] is True
    reset = api.post("/api/v1/users/auditor/reset-second-factor")
    assert reset.status_code == 200 and reset.json()["has_second_factor"] is False
    again = api.post("/api/v1/users/auditor/reset-second-factor")
    assert (again.status_code, again.json()["code"]) == (409, "no_second_factor")
    password = api.post("/api/v1/users/nanchang_clerk/reset-password")
    assert password.status_code == 200 and password.json()["status"] == "pending"
    assert len(password.json()["activation_code"]) == 14
    assert AuditEvent.objects.filter(action="user.password_reset").count() == 1


def test_the_schema_declares_the_users_endpoints(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/users",
        "/api/v1/users/{username}",
        "/api/v1/users/{username}/deactivate",
        "/api/v1/users/{username}/reactivate",
        "/api/v1/users/{username}/reset-second-factor",
        "/api/v1/users/{username}/reset-password",
    ):
        assert path in paths, path
    assert set(paths["/api/v1/users"]["post"]["responses"]) >= {"201", "400", "403"}
    assert set(paths["/api/v1/users/{username}/deactivate"]["post"]["responses"]) >= {
        "200",
        "403",
        "404",
        "409",
    }


def test_several_refused_fields_keep_their_own_codes(personas: Personas) -> None:
    body = {**NEW, "unit": "360102", "phone": "1390"}
    answer = api_client(personas.admin).post("/api/v1/users", body, format="json").json()
    assert answer["code"] == "invalid"
    assert answer["fields"]["phone"][0]["code"] == "bad_phone"
    assert answer["fields"]["role"][0]["code"] == "role_unit_mismatch"
    assert "只能设在：派出所" in answer["fields"]["role"][0]["message"]


def test_a_reason_over_its_length_is_refused_as_sent(personas: Personas) -> None:
    """The length the schema states is the length sent: spaces around it count too."""
    admin = api_client(personas.admin)
    target = personas.finance
    reason = "\u00a0" + "长" * 200
    response = admin.post(f"/api/v1/users/{target.username}/deactivate", {"reason": reason}, format="json")
    assert response.status_code == 400 and response.json()["fields"]["reason"][0]["code"] == "max_length"
    target.refresh_from_db()
    assert target.is_active
