"""The distribution and handover pages: the centre ships, the station signs for the shipment,
hands the card over with a signature drawn on the page, and the lists show who is due."""

from __future__ import annotations

import base64
import datetime
import io

import pytest
from django.test import Client
from PIL import Image

from tongban.handover.models import Handover, Shipment
from tongban.intake.models import Application
from tongban.registry.models import Card
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def test_ship_receive_and_hand_over_through_the_pages(personas: Personas, produced: Application) -> None:
    number = produced.number or ""
    centre = login(Client(), personas.centre_operator)
    page = centre.get("/handover/shipments/new/")
    assert page.status_code == 200 and number in page.content.decode()
    assert "分发" in centre.get("/").content.decode()
    asked = centre.post("/handover/shipments/new/", {"applications": [number]})
    assert asked.status_code == 200 and "确认发出以下 1 张证件？" in asked.content.decode()
    assert not Shipment.objects.exists()
    sent = centre.post("/handover/shipments/new/", {"applications": [number], "confirm": "1"})
    assert sent.status_code == 302
    shipment = Shipment.objects.get()

    station = login(Client(), personas.nanchang_distributor)
    detail = station.get(f"/handover/shipments/{shipment.pk}/").content.decode()
    assert "确认签收" in detail and number in detail
    assert station.post(f"/handover/shipments/{shipment.pk}/receive/", {"note": "完好"}).status_code == 302
    ready = station.get("/handover/").content.decode()
    assert number in ready and "核验发放" in ready

    form = station.get(f"/handover/{produced.pk}/").content.decode()
    assert "signature-pad" in form and produced.id_number in form
    # 签发机关 as the card record carries it, and the card's state by the calendar.
    assert "南昌市公安局东湖分局" in form and "证件状态" in form and "已制证未领取" in form
    # Finger positions by name, never by code (registered fingers and the position picker).
    assert "<td>右手拇指</td>" in form and '<option value="11">右手拇指</option>' in form
    assert "<td>11 " not in form and ">11 右手拇指<" not in form
    unsigned = station.post(f"/handover/{produced.pk}/", {"way": "in_person"})
    assert unsigned.status_code == 400 and "请签名或勾选已在登记表上签字" in unsigned.content.decode()
    out = io.BytesIO()
    Image.new("L", (480, 160), 255).save(out, "PNG")
    drawn = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    done = station.post(f"/handover/{produced.pk}/", {"way": "in_person", "signature_data": drawn})
    assert done.status_code == 302
    handover = Handover.objects.get(application=produced)
    assert handover.finger_check == "not_possible" and handover.signature is not None


def test_proxy_handover_and_the_verification_pages(personas: Personas, produced: Application) -> None:
    centre = login(Client(), personas.centre_operator)
    centre.post("/handover/shipments/new/", {"applications": [produced.number], "confirm": "1"})
    station = login(Client(), personas.nanchang_distributor)
    station.post(f"/handover/shipments/{Shipment.objects.get().pk}/receive/", {})
    relative = PersonFactory.build(birth_date=datetime.date(1960, 2, 2)).id_number
    bad = station.post(
        f"/handover/{produced.pk}/",
        {"way": "proxy", "relative_name": "刘建国", "relative_id_number": "1234", "paper_signed": "on"},
    )
    assert bad.status_code == 400
    ok = station.post(
        f"/handover/{produced.pk}/",
        {"way": "proxy", "relative_name": "刘建国", "relative_id_number": relative, "paper_signed": "on"},
    )
    assert ok.status_code == 302
    listed = station.get("/handover/verifications/").content.decode()
    assert (produced.number or "") in listed
    finger = io.BytesIO(b"fake finger image")
    finger.name = "finger.png"
    unchecked = station.post(
        f"/handover/verifications/{produced.pk}/",
        {"finger_image": finger, "finger_position": "16", "override_reason": "手指磨损"},
    )
    page = unchecked.content.decode()
    assert unchecked.status_code == 400 and "请核对证件信息" in page
    assert f'value="{base64.b64encode(b"fake finger image").decode()}"' in page  # not chosen again
    assert '<option value="16" selected>' in page and 'value="手指磨损"' in page
    assert station.post(f"/handover/verifications/{produced.pk}/", {"card_checked": "on"}).status_code == 302
    assert Application.objects.get(pk=produced.pk).status == "verified"


@pytest.mark.parametrize(
    "who", ["ganzhou_clerk", "nanchang_reviewer", "finance", "auditor", "centre_operator"]
)
def test_pages_are_not_found_for_others(personas: Personas, produced: Application, who: str) -> None:
    client = login(Client(), personas.all()[who])
    assert client.get(f"/handover/{produced.pk}/").status_code == 404
    assert client.get(f"/handover/verifications/{produced.pk}/").status_code == 404
    if who != "centre_operator":
        assert client.get("/handover/shipments/new/").status_code == 404


def test_a_card_whose_validity_ended_shows_expired_at_handover(
    personas: Personas, produced: Application
) -> None:
    """A card made but left uncollected past its end date is 已过期 on the handover page."""
    Card.objects.filter(application_number=produced.number).update(
        valid_from=datetime.date(2015, 1, 1), valid_until=datetime.date(2020, 1, 1)
    )
    Application.objects.filter(pk=produced.pk).update(status=Application.Status.AT_SITE)
    page = login(Client(), personas.nanchang_distributor).get(f"/handover/{produced.pk}/").content.decode()
    assert "已过期" in page
