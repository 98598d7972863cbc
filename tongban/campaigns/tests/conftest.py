"""Fixtures for campaigns: a small register in Nanchang with people in and out of the target
population, a campaign over it, and applications written straight into the table (the figures
are about counting them, not about the counter)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tongban.campaigns import services
from tongban.campaigns.models import Campaign
from tongban.intake.models import Application
from tongban.registry.models import Card, Person, Unit
from tongban.testing.factories import ApplicationFactory, CardFactory, PersonFactory
from tongban.testing.personas import Personas
from tongban.testing.staffing import staff_city_campaign

TODAY = datetime.date(2026, 11, 18)  # a Wednesday
PHASES = {
    "prepare": (datetime.date(2026, 9, 1), datetime.date(2026, 10, 31)),
    "replace": (datetime.date(2026, 11, 2), datetime.date(2027, 6, 30)),
    "summary": (datetime.date(2027, 7, 1), datetime.date(2027, 8, 31)),
}
REFERENCE = datetime.date(2026, 11, 1)


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def register(db: None) -> dict[str, list[Person]]:
    """People in three Nanchang counties and one Ganzhou county: `eligible` are in the target
    population of the default rule, `other` are not (too young, deceased, a valid
    second-generation card, registered outside Nanchang), `expiring` hold a second-generation
    card ending before 2027-03-01."""
    stations = ["360102001", "360102002", "360103001", "360121002"]
    eligible: list[Person] = []
    other: list[Person] = []
    expiring: list[Person] = []
    n = 0

    def person(code: str, **kw: Any) -> Person:
        nonlocal n
        n += 1
        kw.setdefault("birth_date", datetime.date(1960, 1, 1) + datetime.timedelta(days=37 * n))
        return PersonFactory.create(registration_unit=Unit.objects.get(code=code), **kw)

    for i, code in enumerate(stations):
        for _ in range(i + 2):  # 2, 3, 4, 5 first-generation card holders
            p = person(code)
            CardFactory.create(
                person=p,
                generation=1,
                valid_from=datetime.date(1990, 1, 1),
                valid_until=datetime.date(2010, 1, 1),
            )
            eligible.append(p)
        for _ in range(i + 1):  # never had a card
            eligible.append(person(code))
        p = person(code)
        CardFactory.create(  # valid to 2035: not a target
            person=p,
            generation=2,
            valid_from=datetime.date(2015, 3, 1),
            valid_until=datetime.date(2035, 3, 1),
        )
        other.append(p)
        p = person(code)
        CardFactory.create(
            person=p,
            generation=2,
            valid_from=datetime.date(2007, 1, 10),
            valid_until=datetime.date(2027, 1, 10),
        )
        expiring.append(p)
        other.append(person(code, birth_date=datetime.date(2012, 5, 5)))  # under 16
        other.append(person(code, status=Person.Status.DECEASED))
        # A superseded first-generation card and a valid second-generation one: not a target.
        p = person(code)
        CardFactory.create(
            person=p,
            generation=1,
            state=Card.State.SUPERSEDED,
            valid_from=datetime.date(1990, 1, 1),
            valid_until=datetime.date(2010, 1, 1),
        )
        CardFactory.create(
            person=p,
            generation=2,
            valid_from=datetime.date(2015, 3, 1),
            valid_until=datetime.date(2035, 3, 1),
        )
        other.append(p)
    other.append(person("360702001"))  # Ganzhou: outside the city
    return {"eligible": eligible, "other": other, "expiring": expiring}


@pytest.fixture
def staffed(db: None) -> list[Any]:
    """Nanchang staffed for the default configuration (a city reviewer, county distributors), so
    that starting a campaign passes the staffing check; the check itself is tested without."""
    return staff_city_campaign()


@pytest.fixture
def make_campaign(
    personas: Personas, register: dict[str, list[Person]], staffed: list[Any]
) -> Callable[..., Campaign]:
    def make(**values: Any) -> Campaign:
        fields: dict[str, Any] = {
            "name": "南昌市集中换发第二代居民身份证",
            "reference_date": REFERENCE,
            "phases": PHASES,
            **values,
        }
        return services.campaign_create(
            actor=personas.campaign_manager, area=Unit.objects.get(code="3601"), **fields
        )

    return make


@pytest.fixture
def campaign(make_campaign: Callable[..., Campaign]) -> Campaign:
    return make_campaign()


@pytest.fixture
def application(personas: Personas) -> Callable[..., Application]:
    """An application row in a given state, for counting."""

    def make(
        person: Person,
        *,
        accepted: datetime.datetime,
        status: str = Application.Status.PENDING_REVIEW,
        issued: datetime.datetime | None = None,
        closed: datetime.datetime | None = None,
        type: str = "renewal",
    ) -> Application:
        return ApplicationFactory.create(
            type=type,
            status=status,
            person=person,
            created_by=personas.nanchang_clerk,
            accepted_at=accepted,
            issued_at=issued,
            closed_at=closed,
        )

    return make
