"""Named personas, one per role and unit (healthchecks' alice/bob/charlie), and a login helper.

A persona's rights are their role's actions (`ROLE_ACTIONS`, never restated here) over their unit's
subtree: `may(name, action)` and `reaches(name, unit_code)` say so, and `twin(name)` makes the same role
one city over (赣州 for 南昌), whose answer about a 南昌 record must be the one for a record that does
not exist (tests/test_routes.py)."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.accounts.roles import role_can
from tongban.accounts.services import api_token_issue
from tongban.registry.models import Unit
from tongban.testing.factories import PASSWORD, UserFactory


@dataclass(frozen=True)
class Personas:
    """Who is who: `<city>_<role>`; units are real Jiangxi codes."""

    nanchang_clerk: User  # 东湖区城关派出所 360102001
    nanchang_reviewer: User  # 东湖区城东派出所 360102002
    nanchang_distributor: User  # 360102001
    ganzhou_clerk: User  # 章贡区城关派出所 360702001
    donghu_supervisor: User  # 南昌市公安局东湖分局 360102
    nanchang_supervisor: User  # 南昌市公安局 3601
    province_supervisor: User  # 江西省公安厅 36
    centre_operator: User  # 省制证中心 360000901
    finance: User  # 东湖分局 360102
    civil_affairs: User  # 南昌市公安局 3601
    campaign_manager: User  # 南昌市公安局 3601
    auditor: User  # 江西省公安厅 36
    admin: User  # 江西省公安厅 36

    def all(self) -> dict[str, User]:
        return dict(self.__dict__)


# Each persona's rights, once: what their role may do (ROLE_ACTIONS), over their unit's subtree.
PERSONA_UNITS = {
    "nanchang_clerk": ("clerk", "360102001"),
    "nanchang_reviewer": ("reviewer", "360102002"),
    "nanchang_distributor": ("distributor", "360102001"),
    "ganzhou_clerk": ("clerk", "360702001"),
    "donghu_supervisor": ("supervisor", "360102"),
    "nanchang_supervisor": ("supervisor", "3601"),
    "province_supervisor": ("supervisor", "36"),
    "centre_operator": ("centre_operator", "360000901"),
    "finance": ("finance", "360102"),
    "civil_affairs": ("civil_affairs", "3601"),
    "campaign_manager": ("campaign_manager", "3601"),
    "auditor": ("auditor", "36"),
    "admin": ("admin", "36"),
}


# The city each persona's twin works in: 南昌 (3601) → 赣州 (3607). Province-wide personas and the
# provincial centre have no twin: nothing of the province is outside their jurisdiction.
TWIN_CITY = ("3601", "3607")


def may(name: str, *actions: str) -> bool:
    """Whether persona `name`'s role holds one of `actions` (anywhere: `reaches` says where)."""
    return any(role_can(PERSONA_UNITS[name][0], action) for action in actions)


def reaches(name: str, unit_code: str) -> bool:
    """Whether `unit_code` is in persona `name`'s subtree (a unit's code begins with its parent's)."""
    return unit_code.startswith(PERSONA_UNITS[name][1])


def twin(name: str) -> User | None:
    """A user of persona `name`'s role at the matching unit of the next city, or None for a persona
    with no city (the province, the provincial centre)."""
    role, code = PERSONA_UNITS[name]
    city, other = TWIN_CITY
    if not code.startswith(city):
        return None
    unit = Unit.objects.get(code=other + code.removeprefix(city))
    return UserFactory.create(username=f"{name}_twin", role=role, unit=unit)


def make_personas() -> Personas:
    users: dict[str, User] = {
        name: UserFactory.create(
            username=name, role=role, unit=Unit.objects.get(code=code), is_staff=(role == "admin")
        )
        for name, (role, code) in PERSONA_UNITS.items()
    }
    return Personas(**users)


def login(client: Client, user: User) -> Client:
    """Sign in a session and mark the second factor verified where the role needs one."""
    assert client.login(username=user.username, password=PASSWORD)
    if user.requires_second_factor:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def api_client(user: User) -> APIClient:
    """An API client holding a token issued to `user` the way `POST /api/v1/auth/token` does."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token " + api_token_issue(user=user))
    return api
