"""Applications to look up: a row in a given state with a 受理号, made by the factories."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from django.utils import timezone

from tongban.handover.models import Shipment, ShipmentItem
from tongban.intake.models import Application
from tongban.intake.rules import acceptance_number
from tongban.registry.models import Card, Unit
from tongban.testing.factories import ApplicationFactory, CardFactory, PersonFactory, UserFactory

_SEQUENCE = itertools.count(1)


def a_number(station: str = "360102001", day: datetime.date | None = None) -> str:
    return acceptance_number(station, day or timezone.localdate(), next(_SEQUENCE))


def application(status: str = Application.Status.PENDING_REVIEW, **fields: Any) -> Application:
    """An application of 刘晓燕 (36010219900517…), accepted now, in `status`."""
    person = fields.pop("person", None) or PersonFactory.create(name="刘晓燕", sex_id="2")
    values: dict[str, Any] = {"number": a_number(), "status": status, "person": person}
    values.update(fields)
    return ApplicationFactory.create(**values)


def posted(app: Application, tracking: str = "EMS1234567890CN") -> ShipmentItem:
    """The card of `app` in a postal consignment from the provincial centre."""
    centre = Unit.objects.filter(kind=Unit.Kind.CENTRE).order_by("code").first()
    assert centre is not None
    operator = UserFactory.create(role="centre_operator", unit=centre)
    shipment = Shipment.objects.create(method=Shipment.Method.POST, origin=centre, created_by=operator)
    card = CardFactory.create(
        person=app.person, application_number=app.number or "", state=Card.State.PRODUCED
    )
    return ShipmentItem.objects.create(
        shipment=shipment, application=app, card=card, tracking_number=tracking
    )
