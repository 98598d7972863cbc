"""账号管理 services: create, change, deactivate (tokens and sessions end at once), reactivate,
reset the second factor or the password; scoping, self-protection and concurrency."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tongban.accounts import services
from tongban.accounts.models import StaffSession, User
from tongban.accounts.services import AccountInput
from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.registry.models import Unit
from tongban.testing.factories import PASSWORD, UserFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


def _create(actor: User | None, username: str = "liuf", **fields: str) -> tuple[User, str]:
    data = {"name": "刘芳", "role": "clerk", "unit": "360102001", "phone": "13907910009", **fields}
    return services.user_create(actor=actor, username=username, data=AccountInput(**data))


def test_create_gives_an_account_without_password_and_a_one_time_code(personas: Personas) -> None:
    user, code = _create(personas.admin, username="LiuF")
    assert user.username == "liuf" and user.get_full_name() == "刘芳" and user.unit_code == "360102001"
    assert user.must_set_password and not user.has_usable_password() and user.status == "pending"
    assert code not in user.activation_code_hash and len(user.activation_code_hash) == 64
    assert services.activation_code_matches(user, code.lower())
    event = AuditEvent.objects.get(action="user.created", object_id=str(user.pk))
    assert event.actor_username == "admin"
    assert event.detail == {
        "username": "liuf",
        "name": "刘*",
        "role": "clerk",
        "unit": "360102001",
        "phone": "139****0009",
    }
    admin, _ = _create(personas.admin, username="cityadmin", role="admin", unit="3601")
    assert admin.is_staff


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"username": "nanchang_clerk"}, "username_taken", "username"),
        ({"username": "Nanchang_Clerk"}, "username_taken", "username"),
        ({"username": "x"}, "bad_username", "username"),
        ({"name": ""}, "empty_name", "name"),
        ({"role": "sheriff"}, "unknown_role", "role"),
        ({"unit": "369999"}, "unknown_unit", "unit"),
        ({"role": "clerk", "unit": "360102"}, "role_unit_mismatch", "role"),
        ({"phone": "123"}, "bad_phone", "phone"),
    ],
)
def test_create_refusals_name_the_field(
    personas: Personas, fields: dict[str, str], code: str, field: str
) -> None:
    username = fields.pop("username", "liuf")
    with pytest.raises(ServiceError) as refused:
        _create(personas.admin, username=username, **fields)
    assert refused.value.code == code and set(refused.value.fields) == {field}
    assert not User.objects.filter(username="liuf").exists()


def test_several_problems_are_one_invalid_refusal(personas: Personas) -> None:
    with pytest.raises(ServiceError) as refused:
        _create(personas.admin, name="", phone="1")
    assert refused.value.code == "invalid" and set(refused.value.fields) == {"name", "phone"}


def test_a_city_administrator_works_only_within_the_city(personas: Personas) -> None:
    city_admin = UserFactory.create(role="admin", unit=Unit.objects.get(code="3601"))
    with pytest.raises(ServiceError) as refused:
        _create(city_admin, unit="360702001")  # 赣州
    assert refused.value.code == "unknown_unit"
    with pytest.raises(ServiceError) as outside:
        services.user_deactivate(actor=city_admin, user=personas.ganzhou_clerk)
    assert outside.value.status == 404
    assert services.user_deactivate(actor=city_admin, user=personas.nanchang_clerk).is_active is False
    with pytest.raises(ServiceError) as denied:
        _create(personas.nanchang_supervisor)
    assert (denied.value.code, denied.value.status) == ("permission_denied", 403)


def test_deactivation_ends_every_session_and_the_token_at_once(personas: Personas) -> None:
    clerk = personas.nanchang_clerk
    browser, other_browser = login(Client(), clerk), login(Client(), clerk)
    api = api_client(clerk)
    assert browser.get("/applications/").status_code == 200
    assert other_browser.get("/applications/").status_code == 200
    assert api.get("/api/v1/applications").status_code == 200
    assert StaffSession.objects.filter(user=clerk).count() == 2
    bystander = login(Client(), personas.ganzhou_clerk)

    services.user_deactivate(actor=personas.admin, user=clerk, reason="调离")

    assert StaffSession.objects.filter(user=clerk).count() == 0
    assert not Token.objects.filter(user=clerk).exists()
    for client in (browser, other_browser):
        response = client.get("/applications/")
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    refused = api.get("/api/v1/applications")
    assert refused.status_code == 401 and refused.json()["code"] in {
        "authentication_failed",
        "not_authenticated",
    }
    assert bystander.get("/applications/").status_code == 200  # others keep their sessions
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.detail == {"username": "nanchang_clerk", "reason": "调离", "tokens": 1, "sessions": 2}
    # Signing in again is refused, with the reason, only to someone who knows the password.
    page = Client().post("/accounts/login/", {"username": clerk.username, "password": PASSWORD})
    assert "该账号已停用" in page.content.decode()
    # Reactivation lets the password in again, but the old sessions stay ended.
    services.user_reactivate(actor=personas.admin, user=clerk)
    assert browser.get("/applications/").status_code == 302
    assert login(Client(), clerk).get("/applications/").status_code == 200


def test_state_refusals(personas: Personas) -> None:
    with pytest.raises(ServiceError) as active:
        services.user_reactivate(actor=personas.admin, user=personas.nanchang_clerk)
    assert (active.value.code, active.value.status) == ("already_active", 409)
    services.user_deactivate(actor=personas.admin, user=personas.nanchang_clerk)
    with pytest.raises(ServiceError) as inactive:
        services.user_deactivate(actor=personas.admin, user=personas.nanchang_clerk)
    assert (inactive.value.code, inactive.value.status) == ("already_inactive", 409)
    with pytest.raises(ServiceError) as no_device:
        services.user_reset_second_factor(actor=personas.admin, user=personas.nanchang_reviewer)
    assert (no_device.value.code, no_device.value.status) == ("no_second_factor", 409)


def test_an_administrator_cannot_deactivate_or_demote_themselves(personas: Personas) -> None:
    admin = personas.admin
    for action in (
        lambda: services.user_deactivate(actor=admin, user=admin),
        lambda: services.user_update(actor=admin, user=admin, role="supervisor"),
        lambda: services.user_update(actor=admin, user=admin, unit="3601"),
        lambda: services.user_reset_second_factor(actor=admin, user=admin),
        lambda: services.user_reset_password(actor=admin, user=admin),
    ):
        with pytest.raises(ServiceError) as refused:
            action()
        assert (refused.value.code, refused.value.status) == ("own_account", 403)
    admin.refresh_from_db()
    assert admin.is_active and admin.role == "admin" and admin.unit_code == "36"
    # Their own name and phone they may change.
    assert services.user_update(actor=admin, user=admin, phone="13907910000").phone == "13907910000"


def test_update_changes_only_what_differs_and_audits_the_difference(personas: Personas) -> None:
    clerk = personas.nanchang_clerk
    clerk.last_name, clerk.first_name = "王", "晓燕"
    clerk.save()
    before = AuditEvent.objects.count()
    services.user_update(actor=personas.admin, user=clerk, name=clerk.get_full_name(), role="clerk")
    assert AuditEvent.objects.count() == before  # nothing changed, nothing written
    updated = services.user_update(
        actor=personas.admin, user=clerk, role="admin", unit="360102", name="欧阳修"
    )
    assert (updated.role, updated.unit_code, updated.last_name, updated.first_name) == (
        "admin",
        "360102",
        "欧阳",
        "修",
    )
    assert updated.is_staff
    changes = AuditEvent.objects.get(action="user.updated").detail["changes"]
    assert changes["role"] == ["clerk", "admin"] and changes["unit"] == ["360102001", "360102"]
    with pytest.raises(ServiceError) as refused:
        services.user_update(actor=personas.admin, user=clerk, role="clerk")  # a clerk at a county bureau
    assert refused.value.code == "role_unit_mismatch"
    assert services.user_update(actor=personas.admin, user=clerk, role="supervisor").is_staff is False


def test_reset_second_factor_removes_devices_and_ends_sessions(personas: Personas) -> None:
    auditor = personas.auditor
    browser = login(Client(), auditor)  # enrols a device
    assert browser.get("/audit/").status_code == 200
    services.user_reset_second_factor(actor=personas.admin, user=auditor)
    assert not TOTPDevice.objects.filter(user=auditor).exists()
    assert browser.get("/audit/")["Location"].startswith("/accounts/login/")
    # At the next login the auditor must enrol a new authenticator before anything else.
    fresh = Client()
    fresh.post("/accounts/login/", {"username": "auditor", "password": PASSWORD})
    assert fresh.get("/audit/")["Location"].startswith("/accounts/otp/")
    assert fresh.get("/accounts/otp/")["Location"].startswith("/accounts/otp/setup/")


def test_reset_password_issues_a_new_code_and_ends_sessions(personas: Personas) -> None:
    clerk = personas.nanchang_clerk
    browser = login(Client(), clerk)
    api = api_client(clerk)
    user, code = services.user_reset_password(actor=personas.admin, user=clerk)
    assert user.must_set_password and not user.has_usable_password()
    assert browser.get("/applications/").status_code == 302
    assert api.get("/api/v1/applications").status_code == 401
    assert not Client().login(username=clerk.username, password=PASSWORD)
    assert services.activation_code_matches(user, code)


# The audit tables are append-only (triggers): a transactional test leaves them alone.
AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_administrators_deactivating_one_account_give_one_outcome(reference_data: None) -> None:
    target = UserFactory.create(username="target", role="clerk", unit=Unit.objects.get(code="360102001"))
    admins = [UserFactory.create(role="admin", unit=Unit.objects.get(code=code)) for code in ("36", "3601")]
    browser = login(Client(), target)
    start = threading.Barrier(len(admins))
    outcomes: list[object] = []

    def deactivate(actor: User) -> None:
        try:
            start.wait()
            services.user_deactivate(actor=actor, user=target)
            outcomes.append("deactivated")
        except ServiceError as error:
            outcomes.append(error.code)
        except BaseException as exc:  # anything else fails the test below
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deactivate, args=(actor,)) for actor in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, outcomes)) == ["already_inactive", "deactivated"]
    assert not User.objects.get(pk=target.pk).is_active
    assert browser.get("/").status_code == 302


def test_every_account_action_has_a_chinese_label_in_the_audit_log(personas: Personas) -> None:
    TOTPDevice.objects.create(user=personas.auditor, name="t", confirmed=True)
    user, _ = _create(personas.admin)
    services.user_update(actor=personas.admin, user=user, phone="")
    services.user_deactivate(actor=personas.admin, user=user)
    services.user_reactivate(actor=personas.admin, user=user)
    services.user_reset_second_factor(actor=personas.admin, user=personas.auditor)
    user, _code = services.user_reset_password(actor=personas.admin, user=user)
    services.password_set(user=user, password="Hongqi-Road-18")
    actions = set(AuditEvent.objects.filter(action__startswith="user.").values_list("action", flat=True))
    assert len(actions) == 7
    for event in AuditEvent.objects.filter(action__startswith="user."):
        assert event.action_label != event.action
