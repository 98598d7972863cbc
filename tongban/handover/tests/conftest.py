"""Fixtures for distribution and handover: produced applications (已制证) with their card, made
by production's own services (a batch at the provincial centre, then a 制证回馈 line)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tongban.accounts.models import User
from tongban.intake.models import Application
from tongban.production.feedback import FeedbackLine
from tongban.production.services import batch_create, batch_package, feedback_apply
from tongban.registry.models import Card, Person, Unit
from tongban.review.services import review_approve
from tongban.testing.personas import Personas

Status = Application.Status


@pytest.fixture
def produce_issued(personas: Personas, centre_keys: dict[str, Path]) -> Callable[[Application], Application]:
    """An issued application (已签发) batched and packaged at the provincial centre and reported
    produced: 已制证, with a Card in state 已制证未领取 under a serial of its own (a reprint gets a
    new one, as a new card does)."""

    def produce_issued(application: Application) -> Application:
        operator = personas.centre_operator
        centre = Unit.objects.get(code="360000901")
        batch = batch_create(
            actor=operator, centre=centre, acceptance_unit=application.acceptance_unit, size=1
        )
        batch_package(actor=operator, batch=batch)
        made = Card.objects.filter(application_number=application.number or "").count()
        line = FeedbackLine(
            line=1,
            batch=batch.number,
            number=application.number or "",
            result="produced",
            card_serial=f"CS{application.pk:08d}{made:02d}",
        )
        report = feedback_apply(actor=operator, centre=centre, lines=[line], source="api")
        assert len(report.applied) == 1, report.as_dict()
        return Application.objects.get(pk=application.pk)

    return produce_issued


@pytest.fixture
def produce(
    household_reviewer: User, produce_issued: Callable[[Application], Application]
) -> Callable[[Application], Application]:
    """Issue an accepted application at the household station (360102001), then produce it."""

    def produce(application: Application) -> Application:
        application = review_approve(
            actor=household_reviewer, application=application, step=application.review_step
        )
        return produce_issued(application)

    return produce


@pytest.fixture
def produced(
    personas: Personas,
    person: Person,
    accept: Callable[..., Application],
    produce: Callable[[Application], Application],
) -> Application:
    """Accepted at 东湖区城关派出所 (360102001, the provincial centre's), fingers 未注册, 已制证."""
    return produce(accept(personas.nanchang_clerk, person))
