"""Fixtures of 临时居民身份证: a person with a formal application accepted at 东湖区城关派出所
(360102001), whose county bureau (`county_reviewer`, tongban/testing/applications.py) issues."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tongban.intake.models import Application
from tongban.registry.models import Person
from tongban.testing.personas import Personas


@pytest.fixture
def applied(personas: Personas, person: Person, accept: Callable[..., Application]) -> Application:
    """刘晓燕's first application, accepted at 360102001 and waiting for review."""
    return accept(personas.nanchang_clerk, person)
