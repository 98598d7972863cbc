"""Fixtures of 临时居民身份证: a county reviewer of 东湖分局 (360102), the bureau above
东湖区城关派出所 (360102001) where the personas' clerk accepts, and a person with a formal
application accepted there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tongban.accounts.models import User
from tongban.intake.models import Application
from tongban.registry.models import Person, Unit
from tongban.testing.factories import UserFactory
from tongban.testing.personas import Personas


@pytest.fixture
def county_reviewer(db: None) -> User:
    return UserFactory.create(
        username="donghu_county_reviewer", role="reviewer", unit=Unit.objects.get(code="360102")
    )


@pytest.fixture
def applied(personas: Personas, person: Person, accept: Callable[..., Application]) -> Application:
    """刘晓燕's first application, accepted at 360102001 and waiting for review."""
    return accept(personas.nanchang_clerk, person)
