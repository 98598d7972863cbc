"""`tongban progress examples`: a 受理号 per stage to try the lookup with, never in production."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tongban.intake.models import Application
from tongban.portal.progress.services import Outcome, progress_lookup
from tongban.portal.tests.progress_fixtures import application

pytestmark = pytest.mark.django_db


def test_one_example_per_stage_that_the_lookup_finds() -> None:
    waiting = application(Application.Status.AT_SITE)
    application(Application.Status.DRAFT)
    out = io.StringIO()
    call_command("progress", "examples", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("环节\t受理号")
    row = next(line for line in lines if line.startswith("待领取"))
    _, number, suffix, name, _ = row.split("\t")
    assert (number, suffix, name) == (waiting.number, waiting.id_number[-6:], waiting.name)
    assert progress_lookup(number=number, id_suffix=suffix, address="192.0.2.1").outcome is Outcome.FOUND
    assert not any(line.startswith("草稿") for line in lines)


def test_refused_in_production(settings: Any) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="生产环境"):
        call_command("progress", "examples")
