"""A generated history for the supervision tests: acceptances concentrated in 南昌市 (3601) so
that the city's counties and 东湖区's stations all have figures, households province-wide."""

from __future__ import annotations

import pytest

from tongban.demo.history import HistoryCounts, generate_history


@pytest.fixture
def history(db: None) -> HistoryCounts:
    return generate_history(applications=900, days=100, seed=7, acceptance_prefix="3601")
