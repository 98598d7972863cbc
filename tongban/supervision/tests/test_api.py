"""The supervision API: the same tables as the page, scoping by subtree, stuck items and 督办,
and every persona against every endpoint."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse

from tongban.demo.history import HistoryCounts
from tongban.intake.models import Application, ApplicationEvent
from tongban.notifications import services as notifications
from tongban.registry.models import Unit
from tongban.supervision import selectors
from tongban.testing.personas import Personas, api_client

pytestmark = pytest.mark.django_db

ALLOWED = {"province_supervisor": "36", "nanchang_supervisor": "3601", "donghu_supervisor": "360102"}


def test_dashboard_is_the_selector_result(personas: Personas, history: HistoryCounts) -> None:
    api = api_client(personas.nanchang_supervisor)
    response = api.get(reverse("api:supervision_dashboard"), {"unit": "360102"})
    assert response.status_code == 200
    body = response.json()
    board = selectors.dashboard(Unit.objects.get(code="360102"))
    assert body["unit"] == {"code": "360102", "name": board.unit.name}
    assert body["kpis"] == board.kpis
    assert [t["key"] for t in body["tables"]] == [t.key for t in board.tables]
    for sent, table in zip(body["tables"], board.tables, strict=True):
        expected = [[v.isoformat() if isinstance(v, datetime.date) else v for v in row] for row in table.rows]
        assert sent["rows"] == expected and sent["headers"] == table.headers


@pytest.mark.parametrize("persona", sorted(Personas.__annotations__))
def test_every_persona(
    personas: Personas, history: HistoryCounts, persona: str, django_capture_on_commit_callbacks: Any
) -> None:
    user = getattr(personas, persona)
    api = api_client(user)
    dashboard = api.get(reverse("api:supervision_dashboard"))
    stuck = api.get(reverse("api:supervision_stuck"))
    target = (
        Application.objects.filter(
            status__in=selectors.STUCK_STATUSES, acceptance_unit__code__startswith="360102"
        )
        .exclude(status__in=selectors.REVIEW_STATUSES)
        .first()
    )
    assert target is not None
    with django_capture_on_commit_callbacks(execute=True):
        urge = api.post(
            reverse("api:supervision_urge", args=[target.number]), {"note": "请尽快办理"}, format="json"
        )
    if persona in ALLOWED:
        assert dashboard.status_code == 200 and dashboard.json()["unit"]["code"] == ALLOWED[persona]
        assert stuck.status_code == 200
        assert urge.status_code == 201, urge.json()
        assert urge.json()["note"] == "请尽快办理"
        assert ApplicationEvent.objects.filter(application=target, action="supervised").count() == 1
    else:
        # A role without supervision: refused, not told "not found".
        for response in (dashboard, stuck, urge):
            assert response.status_code == 403 and response.json()["code"] == "permission_denied"
        assert not ApplicationEvent.objects.filter(action="supervised").exists()


def test_unit_outside_the_subtree_is_404(personas: Personas, history: HistoryCounts) -> None:
    api = api_client(personas.donghu_supervisor)
    assert api.get(reverse("api:supervision_dashboard"), {"unit": "3601"}).status_code == 404
    assert api.get(reverse("api:supervision_dashboard"), {"unit": "360702"}).status_code == 404
    assert api.get(reverse("api:supervision_stuck"), {"unit": "360702001"}).status_code == 404


def test_stuck_pages_and_filters(personas: Personas, history: HistoryCounts) -> None:
    api = api_client(personas.nanchang_supervisor)
    scope = selectors.scope_for(Unit.objects.get(code="3601"))
    expected = [a.number for a in selectors.stuck_page(scope, workdays=1, limit=10_000).rows]
    seen: list[str] = []
    query: dict[str, str] = {"days": "1"}
    while True:
        body = api.get(reverse("api:supervision_stuck"), query).json()
        seen += [row["number"] for row in body["results"]]
        for row in body["results"]:
            assert "*" in row["id_number"]  # masked
            assert isinstance(row["supervisions"], int)  # 0 before any 督办, never null
        if not body["next_after"]:
            break
        query["after"] = body["next_after"]
    assert seen == expected
    shipped = api.get(reverse("api:supervision_stuck"), {"days": "1", "status": "shipped"}).json()["results"]
    assert {row["status"] for row in shipped} <= {"shipped"}
    blank = api.get(reverse("api:supervision_stuck"), {"view": "", "status": ""})
    assert blank.status_code == 200  # as absent: the stuck items of every stage
    for query in ({"days": ""}, {"days": "0"}, {"days": "61"}):
        assert api.get(reverse("api:supervision_stuck"), query).status_code == 400, query
    bad = api.get(reverse("api:supervision_stuck"), {"status": "verified"})
    assert bad.status_code == 400 and "status" in bad.json()["fields"]


def test_urge_notifies_the_responsible_unit(
    personas: Personas,
    history: HistoryCounts,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Any,
) -> None:
    target = Application.objects.filter(
        status=Application.Status.PENDING_REVIEW, review_unit__code__startswith="3601"
    ).first()
    assert target is not None
    api = api_client(personas.nanchang_supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            reverse("api:supervision_urge", args=[target.number]), {"note": "超期未审，请说明"}, format="json"
        )
    assert response.status_code == 201
    assert [(n.kind, n.unit_code) for n in outbox] == [
        ("application.supervised", target.review_unit.code if target.review_unit else "")
    ]
    for note in [" ", "a", " a "]:
        blank = api.post(reverse("api:supervision_urge", args=[target.number]), {"note": note}, format="json")
        assert blank.status_code == 400 and "note" in blank.json()["fields"], note


def test_urge_outside_the_subtree_or_unknown_is_404(personas: Personas, history: HistoryCounts) -> None:
    target = Application.objects.filter(
        status__in=selectors.STUCK_STATUSES, acceptance_unit__code__startswith="360103"
    ).exclude(status__in=selectors.REVIEW_STATUSES)[0]
    api = api_client(personas.donghu_supervisor)
    for number in [target.number, "0" * 22, "x"]:
        response = api.post(
            reverse("api:supervision_urge", args=[number]), {"note": "请尽快办理"}, format="json"
        )
        assert response.status_code == 404 and response.json()["code"] == "not_found", number


def test_stuck_cursor_from_elsewhere_starts_over(personas: Personas, history: HistoryCounts) -> None:
    api = api_client(personas.nanchang_supervisor)
    first = api.get(reverse("api:supervision_stuck")).json()
    for after in ["garbage", "2026-01-01T00:00:00+08:00|" + "9" * 30]:
        response = api.get(reverse("api:supervision_stuck"), {"after": after})
        assert response.status_code == 200 and response.json()["results"] == first["results"], after
