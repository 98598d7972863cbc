"""异地办理统计 against counts taken directly from the rows (each application's 办理记录 read in
Python), for the province, a city and a county; the period's bounds; the page, its Excel and the
API showing the same rows."""

from __future__ import annotations

import datetime
import io
from collections import Counter
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from tongban.core.crypto import sm2_generate
from tongban.core.regions import place_name
from tongban.demo.history import HistoryCounts
from tongban.exchange.services import peer_add
from tongban.intake.models import Application, ApplicationEvent
from tongban.intake.remote import remote_application_receive, remote_decision_apply
from tongban.intake.tests.test_remote import issued, register_guest, remote_data
from tongban.registry.models import Person, Unit
from tongban.supervision import outofarea, selectors
from tongban.supervision.outofarea import STAGES, Period
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


def _expected(unit: Unit, period: Period) -> Counter[tuple[str, str, str]]:
    """(origin city name, destination city name, stage) → applications, the slow way."""
    cities = {
        code: place_name(code)
        for code in Unit.objects.filter(kind=Unit.Kind.CITY).values_list("code", flat=True)
    }
    stage_of = {action.value: key for key, _, actions in STAGES for action in actions}
    found: set[tuple[int, str]] = set()
    counts: Counter[tuple[str, str, str]] = Counter()
    applications = {
        a.pk: a
        for a in Application.objects.filter(cross_region=True).select_related(
            "acceptance_unit", "household_unit"
        )
    }
    for event in ApplicationEvent.objects.filter(application_id__in=list(applications)):
        day = timezone.localdate(event.at)
        stage = stage_of.get(event.action)
        if stage is None or not period.start <= day <= period.end:
            continue
        application = applications[event.application_id]
        mine = unit.contains(application.acceptance_unit) or unit.contains(application.household_unit)
        if not mine or (application.pk, stage) in found:
            continue
        found.add((application.pk, stage))
        origin = cities[application.region_code[:4]]
        destination = cities[application.acceptance_unit.code[:4]]
        counts[(origin, destination, stage)] += 1
    return counts


@pytest.mark.parametrize("code", ["36", "3601", "360102"])
def test_counts_agree_with_each_applications_history(history: HistoryCounts, code: str) -> None:
    unit = Unit.objects.get(code=code)
    today = timezone.localdate()
    period = Period(today - datetime.timedelta(days=60), today - datetime.timedelta(days=5))
    table = outofarea.out_of_area(selectors.scope_for(unit), period).table("within_province")
    expected = _expected(unit, period)
    assert expected, "the generated history has out-of-area work in the period"
    keys = [key for key, _, _ in STAGES]
    shown = {}
    for row in table.rows[:-1]:
        origin, destination = str(row[0]).split(" → ")
        for key, value in zip(keys, row[1:], strict=True):
            if value:
                shown[(origin, destination, key)] = value
    assert shown == dict(expected)
    assert table.rows[-1] == [
        "合计",
        *(sum(v for (_, _, k), v in expected.items() if k == key) for key in keys),
    ]


def test_period_problems() -> None:
    today = datetime.date(2026, 12, 7)
    assert outofarea.period_problems(datetime.date(2026, 12, 1), today, today=today) == {}
    assert "to" in outofarea.period_problems(
        datetime.date(2026, 12, 1), datetime.date(2026, 12, 8), today=today
    )
    assert "from" in outofarea.period_problems(
        datetime.date(2026, 12, 8), datetime.date(2026, 12, 7), today=today
    )
    assert "from" in outofarea.period_problems(datetime.date(2025, 12, 6), today, today=today)
    assert outofarea.period_problems(datetime.date(2025, 12, 7), today, today=today) == {}


def test_page_excel_and_api_show_the_same_rows(
    history: HistoryCounts, client: Client, personas: Personas
) -> None:
    supervisor = personas.nanchang_supervisor
    login(client, supervisor)
    today = timezone.localdate()
    start = f"{today - datetime.timedelta(days=60):%Y-%m-%d}"
    nanchang = Unit.objects.get(code="3601")
    data = outofarea.out_of_area(
        selectors.scope_for(nanchang), Period(today - datetime.timedelta(days=60), today)
    )
    rows = data.table("within_province").rows

    page = client.get("/supervision/out-of-area/", {"from": start})
    assert page.status_code == 200
    assert "省内异地办理" in page.content.decode()

    excel = client.get("/supervision/out-of-area/export/within_province/", {"from": start})
    sheet = load_workbook(io.BytesIO(excel.content)).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [list(r) for r in rows] == values[-len(rows) :]

    answer = api_client(supervisor).get("/api/v1/supervision/out-of-area", {"from": start})
    assert answer.status_code == 200
    assert answer.json()["tables"][0]["rows"] == [list(r) for r in rows]
    assert answer.json()["start"] == start


def test_a_wrong_period_is_refused_at_its_field(client: Client, personas: Personas) -> None:
    login(client, personas.nanchang_supervisor)
    page = client.get("/supervision/out-of-area/", {"from": "2026-13-01"})
    assert page.status_code == 400
    assert "请输入日期" in page.content.decode()
    tomorrow = f"{timezone.localdate() + datetime.timedelta(days=1):%Y-%m-%d}"
    answer = api_client(personas.nanchang_supervisor).get("/api/v1/supervision/out-of-area", {"to": tomorrow})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert "to" in answer.json()["fields"]


def test_cross_province_work_is_counted_apart_on_the_side_this_province_holds(
    personas: Personas,
    accept: Callable[..., Application],
    person: Person,
    standard_photo: bytes,
    production_dirs: None,
) -> None:
    """A 广东 resident accepted in 南昌 and issued by 广东; a 南昌 resident accepted in 广东."""
    peer_add(
        actor=None,
        prefix="44",
        name="广东省公安厅",
        endpoint="http://127.0.0.1:9",
        public_key=sm2_generate().public,
    )
    out = accept(personas.nanchang_clerk, register_guest(personas.nanchang_clerk))
    remote_decision_apply(application=out, decision=issued(str(out.number)))
    remote_application_receive(province="44", data=remote_data(person, standard_photo))
    today = timezone.localdate()
    for code in ("36", "3601", "360102"):
        data = outofarea.out_of_area(selectors.scope_for(Unit.objects.get(code=code)), Period(today, today))
        assert data.table("from_other_provinces").rows == [
            ["广东省 → 南昌市", 1, 1, 0, 0, 0],
            ["合计", 1, 1, 0, 0, 0],
        ]
        assert data.table("to_other_provinces").rows == [
            ["南昌市 → 广东省", 1, 0, 0, 0, 0],
            ["合计", 1, 0, 0, 0, 0],
        ]
        assert data.table("within_province").rows == [["合计", 0, 0, 0, 0, 0]]
    elsewhere = outofarea.out_of_area(
        selectors.scope_for(Unit.objects.get(code="3607")), Period(today, today)
    )
    assert all(table.rows == [["合计", 0, 0, 0, 0, 0]] for table in elsewhere.tables)
