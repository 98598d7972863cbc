"""Units holding pending work that no active account can do (待办无人办理): the selector, the
dashboard's table with its Excel and API, the page and API for supervisors and administrators,
and the home card."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from tongban.handover.models import Shipment, ShipmentItem
from tongban.intake.models import Application
from tongban.registry.models import Card, Unit
from tongban.registry.services import external_unit_for
from tongban.supervision import selectors
from tongban.testing.factories import ApplicationFactory, CardFactory, PersonFactory
from tongban.testing.personas import Personas, api_client, login
from tongban.testing.staffing import staff

pytestmark = pytest.mark.django_db
Status = Application.Status
NOW = timezone.now()


def unit(code: str) -> Unit:
    return Unit.objects.get(code=code)


def application(
    personas: Personas, status: str, acceptance: str, household: str, review: str | None = None, **kw: Any
) -> Application:
    return ApplicationFactory.create(
        status=status,
        person=PersonFactory.create(registration_unit=unit(household)),
        acceptance_unit=unit(acceptance),
        review_unit=unit(review) if review else None,
        created_by=personas.nanchang_clerk,
        accepted_at=NOW - datetime.timedelta(days=3),
        review_arrived_at=NOW - datetime.timedelta(days=2) if review else None,
        last_event_at=NOW - datetime.timedelta(days=1),
        **kw,
    )


@pytest.fixture
def work(personas: Personas) -> None:
    """Personas: a reviewer at 城东派出所 (360102002), a clerk and a distributor at 城关派出所
    (360102001), the provincial centre's operator; nobody else works."""
    application(personas, Status.PENDING_REVIEW, "360102001", "360103001", review="360103001")  # nobody
    application(personas, Status.PENDING_REVIEW, "360102001", "360102002", review="360102002")  # reviewer
    application(personas, Status.UNDER_VERIFICATION, "360102001", "360102", review="360102")  # nobody
    application(personas, Status.AT_SITE, "360102001", "360102001")  # the distributor
    application(personas, Status.AT_SITE, "360103001", "360103001")  # nobody
    application(personas, Status.RECOLLECT, "360102002", "360102002")  # no clerk at 城东
    application(personas, Status.REJECTED, "360102002", "360102002")  # not told, no clerk at 城东
    application(personas, Status.REJECTED, "360102002", "360102002", refusal_notified_at=NOW)  # done
    application(personas, Status.PENDING_VERIFICATION, "360103001", "360102001")  # household can
    application(personas, Status.PENDING_VERIFICATION, "360103001", "360103002")  # neither
    application(personas, Status.ISSUED, "360102001", "360102001")  # provincial centre staffed
    application(personas, Status.ISSUED, "360702001", "360702001")  # 赣州制证所: nobody
    application(personas, Status.PRODUCED, "360702001", "360702001")  # nobody ships there either
    shipped = application(personas, Status.SHIPPED, "360102001", "360102001")
    shipment = Shipment.objects.create(
        method=Shipment.Method.COUNTY,
        origin=unit("360000901"),
        destination=unit("360102"),
        created_by=personas.centre_operator,
    )
    card = CardFactory.create(person=shipped.person, state=Card.State.PRODUCED, application_number="1")
    ShipmentItem.objects.create(shipment=shipment, application=shipped, card=card)


def rows_of(unit_code: str) -> dict[str, dict[str, int]]:
    return {row.unit.code: row.counts for row in selectors.unstaffed(selectors.scope_for(unit(unit_code)))}


def test_units_with_work_nobody_can_do(work: None) -> None:
    found = rows_of("36")
    assert found == {
        "360102": {"review": 1, "receive": 1},
        "360102002": {"recollect": 1, "refusal": 1},
        "360103001": {"review": 1, "handover": 1, "verify": 1},
        "360700901": {"produce": 1, "ship": 1},
    }
    # Each supervisor sees the own subtree; the Ganzhou centre is outside 南昌市.
    assert set(rows_of("3601")) == {"360102", "360102002", "360103001"}
    assert set(rows_of("360102")) == {"360102", "360102002"}


def test_accounts_that_can_work_clear_the_units(work: None) -> None:
    staff("reviewer", "3601")  # reaches every review queue of the city
    staff("distributor", "360102")  # signs for the county's shipment
    staff("clerk", "360102002")
    staff("distributor", "360103")  # hands over and verifies in its stations
    staff("centre_operator", "360700901")
    assert rows_of("36") == {}


def test_deactivated_accounts_leave_their_work_unstaffed(work: None, personas: Personas) -> None:
    personas.centre_operator.is_active = False
    personas.centre_operator.save()
    assert rows_of("36")["360000901"] == {"produce": 1}


def test_dashboard_table_kpi_excel_and_api(client, work: None, personas: Personas) -> None:
    login(client, personas.nanchang_supervisor)
    board = client.get(reverse("supervision:dashboard")).context["board"]
    table = board.table("unstaffed")
    assert [row[1] for row in table.rows] == ["360102", "360102002", "360103001", None]
    assert table.rows[-1][0] == "合计" and table.rows[-1][11] == 7
    assert "本单位或上级单位的审核签发员" in str(table.rows[0][-1])
    assert board.kpis["unstaffed_units"] == 3
    response = client.get(reverse("supervision:export", args=["unstaffed"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    data = api_client(personas.nanchang_supervisor).get("/api/v1/supervision/dashboard").json()
    (api_table,) = [t for t in data["tables"] if t["key"] == "unstaffed"]
    assert api_table["rows"][0][:4] == ["南昌市公安局东湖分局", "360102", 1, 1]


def test_page_and_api_for_supervisors_and_administrators(client, work: None, personas: Personas) -> None:
    login(client, personas.admin)
    page = client.get(reverse("supervision:unstaffed"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "赣州市公安局制证所" in text or "360700901" in text
    assert "南昌市公安局东湖分局" in text and "用户管理" in text
    export = client.get(reverse("supervision:unstaffed_export") + "?unit=3601")
    assert export.status_code == 200
    data = api_client(personas.admin).get("/api/v1/supervision/unstaffed").json()
    assert [row[1] for row in data["table"]["rows"]] == [
        "360102",
        "360102002",
        "360103001",
        "360700901",
        None,
    ]
    scoped = api_client(personas.donghu_supervisor).get("/api/v1/supervision/unstaffed?unit=360102").json()
    assert [row[1] for row in scoped["table"]["rows"]] == ["360102", "360102002", None]
    # Outside the subtree, and roles without staffing.view: 404.
    assert (
        api_client(personas.donghu_supervisor).get("/api/v1/supervision/unstaffed?unit=3601").status_code
        == 404
    )
    for user in (
        personas.nanchang_clerk,
        personas.nanchang_reviewer,
        personas.campaign_manager,
        personas.auditor,
    ):
        assert api_client(user).get("/api/v1/supervision/unstaffed").status_code == 403
    client.logout()
    login(client, personas.nanchang_reviewer)
    assert client.get(reverse("supervision:unstaffed")).status_code == 404


def test_home_card(client, work: None, personas: Personas) -> None:
    login(client, personas.admin)
    text = client.get("/").content.decode()
    assert 'id="home-unstaffed"' in text and "<strong>4</strong> 个单位" in text
    client.logout()
    login(client, personas.donghu_supervisor)
    text = client.get("/").content.decode()
    assert "<strong>2</strong> 个单位" in text and "南昌市公安局东湖分局：2 件" in text
    client.logout()
    login(client, personas.nanchang_clerk)
    assert 'id="home-unstaffed"' not in client.get("/").content.decode()


def test_another_provinces_unit_holds_no_work_of_ours(personas: Personas) -> None:
    """跨省通办: an application waiting for the household province, and one accepted there that
    waits to be handed over, are that province's work: no unit of ours lacks staff for them."""
    guangdong = external_unit_for(code="44", name="广东省公安厅")
    ApplicationFactory.create(
        status=Status.PENDING_REVIEW,
        person=PersonFactory.create(registration_unit=guangdong, region_code="440106"),
        acceptance_unit=unit("360102001"),
        review_unit=guangdong,
        review_arrived_at=NOW,
        created_by=personas.nanchang_clerk,
        exchange="out",
        remote_province="44",
    )
    ApplicationFactory.create(
        status=Status.AT_SITE,
        acceptance_unit=guangdong,
        created_by=None,
        exchange="in",
        remote_province="44",
    )
    found = rows_of("36")
    assert "44" not in found and selectors.scope_for(unit("36")).everything
