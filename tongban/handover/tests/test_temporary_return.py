"""The formal card's handover takes back the 临时居民身份证 the applicant holds: the page and the
API ask for it, record 已收回, or 未收回 with the reason (then it is on the unit's 未收回 list)."""

from __future__ import annotations

import base64
import io

import pytest
from django.test import Client
from PIL import Image

from tongban.accounts.models import User
from tongban.handover.models import Handover
from tongban.handover.services import shipment_receive, shipments_create
from tongban.intake.models import Application
from tongban.registry.models import Unit
from tongban.temporary import selectors as temporary_selectors
from tongban.temporary import services as temporary
from tongban.temporary.models import TemporaryCard
from tongban.testing.factories import UserFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


def _signature() -> str:
    out = io.BytesIO()
    Image.new("L", (480, 160), 255).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def holding(personas: Personas, produced: Application) -> TemporaryCard:
    """The applicant of `produced` holds a temporary card handed out at 360102001, and the formal
    card waits at the station (待领取)."""
    clerk = personas.nanchang_clerk
    issuer = UserFactory.create(role="reviewer", unit=Unit.objects.get(code="360102"))
    card = temporary.temporary_accept(actor=clerk, person=produced.person)
    card = temporary.temporary_issue(actor=issuer, card=card)
    temporary.temporary_print(actor=clerk, card=card)
    card = temporary.temporary_hand_out(actor=clerk, card=card)
    (shipment,) = shipments_create(actor=personas.centre_operator, numbers=[produced.number or ""])
    shipment_receive(actor=personas.nanchang_distributor, shipment=shipment)
    return card


def test_the_page_asks_for_the_temporary_card_and_records_it_unreturned(
    personas: Personas, produced: Application, holding: TemporaryCard
) -> None:
    station = login(Client(), personas.nanchang_distributor)
    form = station.get(f"/handover/{produced.pk}/").content.decode()
    assert "收回临时居民身份证" in form and holding.number in form
    signed = {"way": "in_person", "signature_data": "data:image/png;base64," + _signature()}
    unanswered = station.post(f"/handover/{produced.pk}/", signed)
    assert unanswered.status_code == 400 and "请选择临时居民身份证是否已收回" in unanswered.content.decode()
    no_reason = station.post(f"/handover/{produced.pk}/", {**signed, "temporary_returned": "no"})
    assert no_reason.status_code == 400 and "请填写未收回原因" in no_reason.content.decode()
    assert not Handover.objects.exists()
    done = station.post(
        f"/handover/{produced.pk}/",
        {**signed, "temporary_returned": "no", "temporary_reason": "申请人称遗失在家"},
    )
    assert done.status_code == 302
    card = TemporaryCard.objects.get(pk=holding.pk)
    assert card.state == TemporaryCard.State.HANDED_OUT and card.formal_collected_at is not None
    assert card.unreturned_reason == "申请人称遗失在家"
    assert list(card.events.values_list("action", flat=True))[-1] == "not_returned"
    (owed,) = temporary_selectors.unreturned(personas.nanchang_clerk)
    assert owed.card.pk == card.pk and "正式证件已领取" in owed.reason
    clerk = login(Client(), personas.nanchang_clerk)
    listed = clerk.get("/temporary/unreturned/").content.decode()
    assert card.number in listed and "申请人称遗失在家" in listed
    # Handed back later at the station.
    assert clerk.post(f"/temporary/{card.pk}/", {"do": "return"}).status_code == 302
    assert TemporaryCard.objects.get(pk=card.pk).state == TemporaryCard.State.RETURNED
    assert temporary_selectors.unreturned(personas.nanchang_clerk) == []


def test_the_api_takes_the_temporary_card_back(
    personas: Personas, produced: Application, holding: TemporaryCard
) -> None:
    client = api_client(personas.nanchang_distributor)
    url = f"/api/v1/applications/{produced.number}/handover"
    body = {"way": "in_person", "signature": _signature()}
    asked = client.post(url, body, format="json")
    assert asked.status_code == 400 and asked.json()["code"] == "temporary_return_required"
    done = client.post(url, {**body, "temporary_returned": True}, format="json")
    assert done.status_code == 201, done.json()
    card = TemporaryCard.objects.get(pk=holding.pk)
    assert card.state == TemporaryCard.State.RETURNED and card.returned_by == personas.nanchang_distributor


def test_a_temporary_card_never_handed_out_is_voided_at_the_formal_handover(
    personas: Personas, produced: Application
) -> None:
    card = temporary.temporary_accept(actor=personas.nanchang_clerk, person=produced.person)
    (shipment,) = shipments_create(actor=personas.centre_operator, numbers=[produced.number or ""])
    shipment_receive(actor=personas.nanchang_distributor, shipment=shipment)
    distributor: User = personas.nanchang_distributor
    body = {"way": "in_person", "signature": _signature()}
    done = api_client(distributor).post(
        f"/api/v1/applications/{produced.number}/handover", body, format="json"
    )
    assert done.status_code == 201, done.json()
    assert TemporaryCard.objects.get(pk=card.pk).state == TemporaryCard.State.VOIDED
