"""Fixtures of the production tests: key and package directories per test (`production_dirs`
and `centre_keys` come from tongban/testing/applications.py), a Ganzhou centre operator, and
`issue`, which takes a person from the counter to 已签发."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tongban.accounts.models import User
from tongban.intake.models import Application
from tongban.notifications.services import Notification
from tongban.registry.models import Unit
from tongban.review.services import review_approve
from tongban.testing.factories import PersonFactory, UserFactory


@pytest.fixture(autouse=True)
def _production(production_dirs: None, outbox: list[Notification]) -> None:
    """Every test has its own key and package directories, and keeps what it sends in memory."""


@pytest.fixture
def ganzhou_operator(db: None) -> User:
    """An operator of 赣州市公安局居民身份证制证所 (360700901)."""
    return UserFactory.create(
        username="ganzhou_operator", role="centre_operator", unit=Unit.objects.get(code="360700901")
    )


@pytest.fixture
def issue(accept: Callable[..., Application], household_reviewer: User) -> Callable[..., Application]:
    """Accept a person's application at `clerk`'s counter and issue it at the household station
    (360102001, where PersonFactory registers people)."""

    def issue(clerk: User, person: Any = None, **changes: Any) -> Application:
        application = accept(clerk, person or PersonFactory.create(), **changes)
        return review_approve(actor=household_reviewer, application=application, step=1)

    return issue
