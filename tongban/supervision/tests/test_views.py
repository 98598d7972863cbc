"""The dashboard pages: who sees which subtree, drill-down, the table views and their Excel files,
the query count, the stuck list and 督办 from the page."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from tongban.demo.history import HistoryCounts
from tongban.intake.models import Application, ApplicationEvent
from tongban.notifications import services as notifications
from tongban.registry.models import Unit
from tongban.supervision import selectors
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db

SUPERVISORS = {"province_supervisor": "36", "nanchang_supervisor": "3601", "donghu_supervisor": "360102"}
DENIED = (
    "nanchang_clerk",
    "nanchang_reviewer",
    "centre_operator",
    "finance",
    "auditor",
    "admin",
    "campaign_manager",
)


def _get(client: Client, name: str, **query: str) -> Any:
    return client.get(reverse(name), query)


@pytest.mark.parametrize(("persona", "code"), SUPERVISORS.items())
def test_supervisor_sees_own_subtree(
    client: Client, personas: Personas, history: HistoryCounts, persona: str, code: str
) -> None:
    login(client, getattr(personas, persona))
    response = _get(client, "supervision:dashboard")
    assert response.status_code == 200
    assert response.context["board"].unit.code == code
    picker = {u.code for u in response.context["units"]}
    unit = Unit.objects.get(code=code)
    assert picker == set(
        Unit.objects.subtree(unit).exclude(kind=Unit.Kind.CENTRE).values_list("code", flat=True)
    )
    page = response.content.decode()
    assert 'id="dashboard-data"' in page and "vendor/echarts/echarts.min.js" in page
    # Outside the subtree: 404, not 403.
    outside = "360702" if code != "36" else None
    if outside:
        assert _get(client, "supervision:dashboard", unit=outside).status_code == 404
        assert client.get(reverse("supervision:export_all"), {"unit": outside}).status_code == 404


def test_drill_down_shows_the_chosen_unit(client: Client, personas: Personas, history: HistoryCounts) -> None:
    login(client, personas.nanchang_supervisor)
    response = _get(client, "supervision:dashboard", unit="360102")
    assert response.context["board"].unit.code == "360102"
    names = [row[0] for row in response.context["board"].table("units").rows]
    stations = set(Unit.objects.get(code="360102").children.values_list("name", flat=True))
    assert names[-1] == selectors.TOTAL
    assert names[:-1] and set(names[:-1]) <= stations | {selectors.OWN}
    assert [u.code for u in response.context["ancestors"]] == ["3601", "360102"]


@pytest.mark.parametrize("persona", DENIED)
def test_other_roles_are_denied(client: Client, personas: Personas, persona: str) -> None:
    login(client, getattr(personas, persona))
    for name in ("supervision:dashboard", "supervision:export_all", "supervision:stuck"):
        assert client.get(reverse(name)).status_code == 404
    home = client.get(reverse("home")).content.decode()
    assert reverse("supervision:dashboard") not in home


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(reverse("supervision:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def _sheet_rows(content: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(content))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def _cell(value: Any) -> Any:
    # Excel keeps dates as date-times.
    return value.date() if isinstance(value, datetime.datetime) else value


def test_exports_equal_the_table_views(client: Client, personas: Personas, history: HistoryCounts) -> None:
    login(client, personas.nanchang_supervisor)
    board = client.get(reverse("supervision:dashboard")).context["board"]
    everything = _sheet_rows(client.get(reverse("supervision:export_all")).content)
    assert next(iter(everything)) == "主要指标"
    for table in board.tables:
        response = client.get(reverse("supervision:export", args=[table.key]))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        (rows,) = _sheet_rows(response.content).values()
        header_at = rows.index(list(table.headers))
        body = [[_cell(v) for v in row] for row in rows[header_at + 1 :]]
        assert body == [list(row) for row in table.rows], table.key
        assert everything[table.title[:31]] == rows
    assert client.get(reverse("supervision:export", args=["nothing"])).status_code == 404


def test_table_view_prints_the_same_rows(client: Client, personas: Personas, history: HistoryCounts) -> None:
    login(client, personas.donghu_supervisor)
    response = client.get(reverse("supervision:dashboard"))
    page = response.content.decode()
    for table in response.context["board"].tables:
        assert f'id="panel-{table.key}"' in page
        assert reverse("supervision:export", args=[table.key]) in page
    charts = response.context["charts"]
    assert [c["rows"][0][0] for c in charts if c["key"] == "daily"] == [
        response.context["board"].table("daily").rows[0][0].isoformat()
    ]


def test_province_dashboard_query_count(
    client: Client, personas: Personas, history: HistoryCounts, django_assert_max_num_queries: Any
) -> None:
    login(client, personas.province_supervisor)
    client.get(reverse("supervision:dashboard"))  # session and calendar caches warm
    # 21, 1 for 网上预约, 8 for the units holding work nobody can do, 1 for 居民身份证核查's counts
    # (the province only)
    with django_assert_max_num_queries(31):
        assert client.get(reverse("supervision:dashboard")).status_code == 200


def test_stuck_list_and_urge_from_the_page(
    client: Client,
    personas: Personas,
    history: HistoryCounts,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Any,
) -> None:
    login(client, personas.nanchang_supervisor)
    response = client.get(reverse("supervision:stuck"))
    assert response.status_code == 200
    rows = response.context["page"].rows
    assert rows
    target = rows[0]
    responsible = target.responsible_unit
    assert responsible.contains(responsible) and personas.nanchang_supervisor.unit_code == "3601"
    assert responsible.path.startswith("36/3601/")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("supervision:urge", args=[target.number]),
            {"note": "请于今日内办结", "back": "view=stuck"},
        )
    assert response.status_code == 302 and response["Location"].endswith("?view=stuck")
    event = ApplicationEvent.objects.filter(application=target, action=selectors.SUPERVISED).get()
    assert event.actor == personas.nanchang_supervisor and event.note == "请于今日内办结"
    assert Application.objects.get(pk=target.pk).last_event_at == event.at
    assert [(n.kind, n.unit_code) for n in outbox] == [("application.supervised", responsible.code)]
    # The urged item is listed under 已督办待办理 with who urged it and when.
    urged = client.get(reverse("supervision:stuck"), {"view": "urged"})
    listed = {a.number: a for a in urged.context["page"].rows}
    assert target.number in listed
    assert listed[target.number].last_supervision.pk == event.pk
    assert "请于今日内办结" in urged.content.decode()
    detail = client.get(reverse("supervision:stuck_item", args=[target.number]))
    assert detail.status_code == 200 and "请于今日内办结" in detail.content.decode()


def test_urge_of_an_application_outside_is_404(
    client: Client, personas: Personas, history: HistoryCounts
) -> None:
    outside = (
        Application.objects.filter(status=Application.Status.AT_SITE)
        .exclude(acceptance_unit__code__startswith="360102")
        .first()
    )
    assert outside is not None
    login(client, personas.donghu_supervisor)
    assert (
        client.post(reverse("supervision:urge", args=[outside.number]), {"note": "请办理"}).status_code == 404
    )
    assert client.get(reverse("supervision:stuck_item", args=[outside.number])).status_code == 404
    assert not ApplicationEvent.objects.filter(action=selectors.SUPERVISED).exists()


def test_urge_without_a_note_is_refused_beside_the_field(
    client: Client, personas: Personas, history: HistoryCounts
) -> None:
    login(client, personas.province_supervisor)
    target = selectors.stuck_page(selectors.scope_for(Unit.objects.get(code="36")), limit=1).rows[0]
    response = client.post(reverse("supervision:stuck_item", args=[target.number]), {"note": " "})
    assert response.status_code == 400
    assert "请填写督办意见" in response.content.decode()
    assert not ApplicationEvent.objects.filter(action=selectors.SUPERVISED).exists()


def test_home_card_for_supervisors(client: Client, personas: Personas, history: HistoryCounts) -> None:
    login(client, personas.nanchang_supervisor)
    response = client.get(reverse("home"))
    counts = response.context["supervision"]
    board = selectors.dashboard(Unit.objects.get(code="3601"))
    assert counts == {"review_overdue": board.kpis["review_overdue"], "stuck": board.kpis["stuck"]}
    assert reverse("supervision:stuck") in response.content.decode()
