"""The demo's planted defects are what the scan finds, where README's clean-up path looks: at the
demo reviewer's station (东湖区城东派出所) first, inside 东湖分局 and 南昌市."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command

from tongban.dataquality.models import Case
from tongban.dataquality.scan import run_scan, run_start
from tongban.demo.defects import plant_defects
from tongban.demo.seed import seed_demo
from tongban.registry.models import Card, Person, Unit

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

    # Nearest first: the reviewer's station, then 东湖分局, then 南昌市 (this register is small).
    def eligible(code: str) -> int:
        return Person.objects.filter(
            registration_unit__path__startswith=Unit.objects.get(code=code).path,
            birth_date__lt=datetime.date(1975, 1, 1),
            status=Person.Status.NORMAL,
            cards__state=Card.State.ACTIVE,
        ).count()

    codes = list(Case.objects.values_list("unit__code", flat=True))
    at_station = min(eligible("360102002"), 7)
    in_county = min(eligible("360102"), 7)
    assert 0 < at_station < in_county  # the fallback is exercised
    assert sum(code == "360102002" for code in codes) == at_station
    assert sum(code.startswith("360102") for code in codes) == in_county
    assert all(code.startswith("3601") for code in codes)


def test_planted_names_fit_the_sex_of_the_number() -> None:
    seed_demo(people=3000, seed=7)
    plant_defects()
    copies = Person.objects.filter(household_no__endswith="C")
    assert copies.count() == 2
    for person in copies:
        assert person.name[1:] in ({"国庆", "建军"} if person.sex_id == "1" else {"秀英", "桂兰"})
