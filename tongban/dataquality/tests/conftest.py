"""Fixtures of the data-quality tests: `scanned`, the planted register (planted.py) after a number
scan of the whole province."""

from __future__ import annotations

import pytest

from tongban.dataquality import scan
from tongban.dataquality.tests.planted import TODAY, plant
from tongban.registry.models import Unit


@pytest.fixture
def scanned() -> None:
    plant()
    run = scan.run_start(unit=Unit.objects.get(code="36"), kinds=list(scan.NUMBER_KINDS))
    scan.run_scan(run, today=TODAY)
