"""Shared fixtures: the Jiangxi unit tree, built once per session by the real loader, the
personas of tongban.testing.personas, and the application fixtures of tongban.testing.applications."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tongban.registry.services import units_load_province
from tongban.testing.personas import Personas, make_personas

# Fixtures for applications at the counter and in review (standard_photo, person, accept, …), the
# notifications a test sends (outbox), and the real job queue that tests with worker processes
# share with them (job_queue, deployed_queue).
pytest_plugins = [
    "tongban.testing.applications",
    "tongban.testing.notifications",
    "tongban.testing.processes",
]


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # PBKDF2 at production strength costs ~0.3 s a hash; personas are made for every test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        units_load_province(province_code="36", stations_per_county=2, actor=None)
    yield


@pytest.fixture(autouse=True, scope="session")
def _jobs_run_inline() -> None:
    """A job queued in a test runs in the test once its transaction commits (huey's immediate
    mode); tongban/jobs/tests/test_worker.py runs a real worker on a real queue instead."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Login lockouts and API throttles live in the cache; no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def reference_data(transactional_db: None) -> None:
    """Transactional tests start from flushed tables: reload what migrations put there (code
    tables, regions, the holiday calendar) and the Jiangxi tree, as the session set-up did."""
    from django.apps import apps

    from tongban.core import workdays
    from tongban.registry.calendar import calendar_year_replace
    from tongban.registry.codes import load_code_tables, load_refusal_reasons

    load_code_tables(lambda name: apps.get_model("registry", name))
    load_refusal_reasons(lambda name: apps.get_model("registry", name))
    first, last = workdays.published_year_range()
    for year in range(first, last + 1):
        calendar_year_replace(
            lambda name: apps.get_model("registry", name),
            year=year,
            days=workdays.published_days(year),
            source=workdays.published_source_version(),
        )
    units_load_province(province_code="36", stations_per_county=2, actor=None)


@pytest.fixture
def personas(db: None) -> Personas:
    return make_personas()
