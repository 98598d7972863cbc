"""The demo's planted defects are what the scan finds."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tongban.dataquality.models import Case
from tongban.dataquality.scan import run_scan, run_start
from tongban.demo.seed import seed_demo
from tongban.registry.models import Unit

pytestmark = pytest.mark.django_db


def test_planted_demo_defects_are_found_by_the_scan() -> None:
    seed_demo(people=3000, seed=7)
    out = io.StringIO()
    call_command("demo", "defects", stdout=out)
    assert json.loads(out.getvalue()) == {"duplicate": 2, "wrong": 3, "double": 2}
    kinds = [Case.Kind.DUPLICATE_NUMBER, Case.Kind.WRONG_NUMBER, Case.Kind.DOUBLE_BY_NAME]
    run_scan(run_start(unit=Unit.objects.get(code="36"), kinds=[kind.value for kind in kinds]))
    found = list(Case.objects.values_list("kind", flat=True))
    assert [found.count(kind) for kind in kinds] == [2, 3, 2]
