"""Fixtures for 电子证照: the handover's produced applications (its own fixtures), and one taken
to the station (待领取) and handed over by production's and handover's own services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tongban.handover import services as handover
from tongban.handover.models import Shipment
from tongban.handover.tests.conftest import produce, produce_issued, produced  # noqa: F401 - fixtures
from tongban.intake.models import Application
from tongban.testing.personas import Personas


@pytest.fixture(autouse=True)
def _keys_of_the_test(production_dirs: None) -> None:
    """Every test signs with a key of its own, in its own folder."""


@pytest.fixture
def to_site(personas: Personas) -> Callable[[Application], Application]:
    """Ship a produced application to its station and sign for it there (待领取)."""

    def to_site(application: Application) -> Application:
        (shipment,) = handover.shipments_create(
            actor=personas.centre_operator, numbers=[application.number or ""]
        )
        handover.shipment_receive(
            actor=personas.nanchang_distributor, shipment=Shipment.objects.get(pk=shipment.pk)
        )
        return Application.objects.get(pk=application.pk)

    return to_site


@pytest.fixture
def hand_over(
    personas: Personas, to_site: Callable[[Application], Application]
) -> Callable[..., Application]:
    """Hand a produced application's card over at the station: in person (no fingers registered,
    the comparison not possible) or to a relative."""

    def hand_over(application: Application, way: str = "in_person", **extra: Any) -> Application:
        application = to_site(application)
        relative = handover.Relative("刘建国", "360102196002020011") if way == "proxy" else None
        handover.handover_perform(
            actor=personas.nanchang_distributor,
            application=application,
            way=way,
            paper_signed=True,
            relative=relative,
            **extra,
        )
        return Application.objects.get(pk=application.pk)

    return hand_over


@pytest.fixture
def handed_over(request: pytest.FixtureRequest, hand_over: Callable[..., Application]) -> Application:
    """刘晓燕's first card, handed over to her in person at 东湖区城关派出所."""
    produced_application: Application = request.getfixturevalue("produced")
    return hand_over(produced_application)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"
