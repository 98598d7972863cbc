"""One status per situation, in every part of the API (docs/api.md, Errors), for every operation the
served schema lists — a new operation is covered the day it is added:

- a role that may not take the action at all answers `403 permission_denied`, whether or not the record
  exists (a list too: never an empty list that hides the refusal);
- a record outside the caller's jurisdiction answers `404 not_found`, exactly like one that does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tongban.intake.models import Application
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client

# What every signed-in member of staff may do, whatever the role (docs/api.md): read the own unit tree and
# the liaison directory, check ID numbers, read the own unit's notifications. Everything else needs an
# action of ROLE_ACTIONS.
ANY_STAFF = {
    ("GET", "/api/v1/units"),
    ("GET", "/api/v1/units/{code}"),
    ("GET", "/api/v1/liaisons"),
    ("POST", "/api/v1/idnumbers/check"),
    ("GET", "/api/v1/notifications"),
}
PUBLIC = {("POST", "/api/v1/auth/token")}
# Path parameters that name no record.
ABSENT = {"number": "3601020012026010100001", "id": "999999", "pk": "999999", "code": "369999"}


def operations(client: Client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def fill(path: str, values: dict[str, str]) -> str:
    """`values[name]`, or a number for any other `…pk` / `…id`, else a name nobody has."""

    def value(name: str) -> str:
        return values.get(name) or ("999999" if name.endswith(("pk", "id")) else "absent-user")

    return re.sub(r"\{(\w+)\}", lambda match: value(match.group(1)), path)


def call(user: Any, method: str, url: str) -> Any:
    return getattr(api_client(user), method.lower())(url, {}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["civil_affairs", "auditor"])
def test_an_action_the_role_may_not_take_answers_403_whatever_the_record(
    client: Client, personas: Personas, persona: str
) -> None:
    """民政人员 and 审计员 hold no action of the API beyond what any staff may do."""
    user = getattr(personas, persona)
    wrong = []
    for method, path in operations(client):
        if (method, path) in ANY_STAFF | PUBLIC:
            continue
        response = call(user, method, fill(path, ABSENT))
        body = response.json()
        if response.status_code != 403 or body.get("code") != "permission_denied":
            wrong.append(f"{method} {path}: {response.status_code} {body.get('code')}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_a_record_outside_the_jurisdiction_answers_like_one_that_does_not_exist(
    client: Client, personas: Personas, accept: Callable[..., Application]
) -> None:
    """赣州's clerk asks about an application of 南昌 (accepted, registered and reviewed there): for every
    operation on an application, the answer is the one for a number that does not exist."""
    nanchang = accept(personas.nanchang_clerk, PersonFactory.create())
    wrong = []
    for method, path in operations(client):
        if "{number}" not in path:
            continue
        foreign = call(personas.ganzhou_clerk, method, fill(path, {**ABSENT, "number": nanchang.number}))
        absent = call(personas.ganzhou_clerk, method, fill(path, ABSENT))
        answers = [(answer.status_code, answer.json().get("code")) for answer in (foreign, absent)]
        if answers[0] != answers[1]:
            wrong.append(f"{method} {path}: {foreign.status_code} for 南昌's, {absent.status_code} for none")
    assert not wrong, "\n".join(wrong)
