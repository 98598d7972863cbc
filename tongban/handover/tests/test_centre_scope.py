"""A production centre's applications are the acceptances its routing rule gives it (制证路由,
longest prefix of the station's code): the same stations for its production queue and for the
cards it ships, however the prefixes nest."""

from __future__ import annotations

import pytest

from tongban.handover import selectors
from tongban.intake.models import Application
from tongban.registry.models import ProductionRoute, Unit, centre_station_ids
from tongban.testing.factories import ApplicationFactory, PersonFactory, UserFactory, station
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db


def test_a_centre_ships_what_the_longest_route_gives_it(personas: Personas) -> None:
    """36 → the provincial centre, 3607 → 赣州's 制证所, 360702 → the provincial centre again: a card
    accepted at 360702001 is the provincial centre's to make and to ship, not 赣州's."""
    province_centre, ganzhou_centre = Unit.objects.get(code="360000901"), Unit.objects.get(code="360700901")
    ProductionRoute.objects.update_or_create(region_prefix="360702", defaults={"centre": province_centre})
    zhanggong = ApplicationFactory.create(
        person=PersonFactory.create(registration_unit=station("360702001")),
        status=Application.Status.PRODUCED,
    )
    other = ApplicationFactory.create(
        person=PersonFactory.create(registration_unit=station("360703001")),
        status=Application.Status.PRODUCED,
    )
    ganzhou_operator = UserFactory.create(role="centre_operator", unit=ganzhou_centre)

    assert station("360702001").pk in centre_station_ids(province_centre)
    assert selectors.produced_page(personas.centre_operator).rows == [zhanggong]
    assert selectors.produced_page(ganzhou_operator).rows == [other]
    assert (
        Application.objects.visible_to(ganzhou_operator, "shipment.create").filter(pk=zhanggong.pk).count()
        == 0
    )
