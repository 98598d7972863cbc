"""Fixtures of the review tests: a reviewer at 东湖分局 (360102), the county bureau above the
household station."""

from __future__ import annotations

import pytest

from tongban.accounts.models import User
from tongban.testing.factories import UserFactory, station


@pytest.fixture
def county_reviewer(db: None) -> User:
    return UserFactory.create(username="donghu_county_reviewer", role="reviewer", unit=station("360102"))
