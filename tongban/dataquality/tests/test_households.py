from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from tongban.dataquality import scan, services
from tongban.dataquality.models import Case
from tongban.dataquality.tests.planted import TODAY
from tongban.registry.models import Card, Person, Unit
from tongban.registry.services import external_unit_for
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def _scan() -> None:
    run = scan.run_start(unit=Unit.objects.get(code="36"), kinds=[scan.HOUSEHOLDS])
    scan.run_scan(run, today=TODAY)


def _flagged(kind: str) -> set[int]:
    return set(Case.objects.filter(kind=kind).values_list("links__person_id", flat=True))


def test_station_lists_of_people_to_check() -> None:
    old = datetime.date(1920, 1, 1)
    silent = PersonFactory.create(birth_date=old)
    carded = PersonFactory.create(birth_date=old)
    CardFactory.create(person=carded, valid_from=datetime.date(2020, 1, 1), valid_until=None)
    long_ago = PersonFactory.create(birth_date=old)
    CardFactory.create(person=long_ago, valid_from=datetime.date(2005, 1, 1), valid_until=None)
    young = PersonFactory.create(birth_date=datetime.date(1930, 1, 1))
    homeless = PersonFactory.create(household_no="")
    cancelled = PersonFactory.create(status=Person.Status.CANCELLED)
    CardFactory.create(person=cancelled, state=Card.State.ACTIVE)
    deceased_clean = PersonFactory.create(status=Person.Status.DECEASED)
    CardFactory.create(person=deceased_clean, state=Card.State.CANCELLED)
    ordinary = PersonFactory.create()

    _scan()
    assert _flagged(Case.Kind.CENTENARIAN) == {silent.pk, long_ago.pk}
    assert _flagged(Case.Kind.NO_HOUSEHOLD) == {homeless.pk}
    assert _flagged(Case.Kind.CANCELLED_WITH_CARD) == {cancelled.pk}
    clean = {carded.pk, young.pk, deceased_clean.pk, ordinary.pk}
    assert not clean & set(Case.objects.values_list("links__person_id", flat=True))
    assert Case.objects.get(kind=Case.Kind.NO_HOUSEHOLD).unit == homeless.registration_unit
    _scan()
    assert Case.objects.count() == 4  # a re-scan adds nothing


def test_each_check_is_resolved_with_a_recorded_decision(client: Client, personas: Personas) -> None:
    PersonFactory.create(household_no="")
    _scan()
    case = Case.objects.get(kind=Case.Kind.NO_HOUSEHOLD)
    login(client, personas.donghu_supervisor)
    page = client.get(reverse("dataquality:households"))
    assert page.status_code == 200
    row = page.context["rows"][0]
    assert row.unit.code == "360102001" and dict(row.cells)["no_household"] == 1
    services.case_decide(
        actor=personas.donghu_supervisor, case_id=case.pk, status="resolved", decision="已补录户号 H0001"
    )
    assert client.get(reverse("dataquality:households")).context["rows"] == []
    case.refresh_from_db()
    assert case.decision == "已补录户号 H0001"
    detail = client.get(reverse("dataquality:case_detail", args=[case.pk]))
    assert detail.status_code == 200 and "已补录户号 H0001" in detail.content.decode()
    login(client, personas.finance)
    assert client.get(reverse("dataquality:households")).status_code == 404


def test_guests_of_other_provinces_are_not_checked_as_our_population() -> None:
    """外省户籍人员 (跨省通办) have no household number of ours and no card here: not 未落户."""
    guangdong = external_unit_for(code="44", name="广东省公安厅")
    guest = PersonFactory.create(registration_unit=guangdong, household_no="", relation_id=None)
    homeless = PersonFactory.create(household_no="")
    _scan()
    assert _flagged(Case.Kind.NO_HOUSEHOLD) == {homeless.pk}
    assert guest.pk not in set(Case.objects.values_list("links__person_id", flat=True))
