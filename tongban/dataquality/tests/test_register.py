"""The register holds 重号 and 错号 as they are: lookups refuse a shared number, and the importer
loads such rows (flagged) when asked to load an existing register."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tongban.core import idnumber
from tongban.dataquality import scan
from tongban.dataquality.models import Case
from tongban.registry.csvformat import COLUMNS
from tongban.registry.importer import import_people
from tongban.registry.models import Person, Unit
from tongban.registry.selectors import person_lookup
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

SHARED = idnumber.build("360102", datetime.date(1980, 8, 8), 101)


def _pair() -> list[Person]:
    return [
        PersonFactory.create(id_number=SHARED, name=name, birth_date=datetime.date(1980, 8, 8))
        for name in ("重号甲", "重号乙")
    ]


def test_lookup_of_a_shared_number_is_refused_clearly(client: Client, personas: Personas) -> None:
    _pair()
    from tongban.core.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        person_lookup(personas.nanchang_clerk, SHARED)
    assert refused.value.code == "duplicate_number" and refused.value.status == 409
    # The counter: the message beside the field, no crash.
    login(client, personas.nanchang_clerk)
    response = client.post(reverse("intake:start"), {"id_number": SHARED, "type": "first", "reason": "12"})
    assert response.status_code == 200
    assert "重号" in response.content.decode()
    # The register lookup page and the API alike.
    response = client.post(reverse("registry:person_lookup"), {"id_number": SHARED})
    assert response.status_code == 200 and "重号" in response.content.decode()
    api = api_client(personas.nanchang_clerk).post(
        "/api/v1/people/lookup", {"id_number": SHARED}, format="json"
    )
    assert api.status_code == 409
    assert api.json()["code"] == "duplicate_number"


def test_lookup_of_an_unshared_number_still_works(personas: Personas) -> None:
    person = PersonFactory.create()
    assert person_lookup(personas.nanchang_clerk, person.id_number) == person


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(number: str, name: str, birth: str, sex: str = "1", unit: str = "360102001") -> dict[str, str]:
    return {
        "id_number": number,
        "name": name,
        "sex": sex,
        "ethnicity": "01",
        "birth_date": birth,
        "address": "江西省南昌市东湖区八一大道1号",
        "household_no": "",
        "relation": "",
        "registration_unit": unit,
    }


def test_keep_defects_loads_a_register_with_duplicates_and_wrong_numbers(tmp_path: Path) -> None:
    good = idnumber.build("360102", datetime.date(1990, 5, 17), 11)
    shared = idnumber.build("360102", datetime.date(1980, 8, 8), 21)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        _row(good, "正常", "1990-05-17"),
        _row(shared, "重号甲", "1980-08-08"),
        _row(shared, "重号乙", "1980-08-08"),
        _row(wrong_check, "校验错", "1990-05-17"),
        _row(idnumber.build("360102", datetime.date(1991, 1, 1), 31), "生日错", "1991-01-02"),
        _row(idnumber.build("360102", datetime.date(1991, 1, 1), 33), "性别错", "1991-01-01", sex="2"),
        _row(
            idnumber.build("360102", datetime.date(1990, 5, 17), 13), "未知站", "1990-05-17", unit="360102099"
        ),  # still refused: not a number defect
    ]
    path = _write(tmp_path / "old.csv", rows)
    strict = import_people(path, actor=None, today=datetime.date(2025, 6, 1))
    assert strict.counts() == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 6}
    Person.objects.all().delete()

    loaded = import_people(path, actor=None, today=datetime.date(2025, 6, 1), keep_defects=True)
    assert loaded.counts() == {"imported": 6, "updated": 0, "unchanged": 0, "rejected": 1, "flagged": 5}
    assert [f.line for f in loaded.flags] == [3, 4, 5, 6, 7]
    assert {f.code for f in loaded.flags} == {
        "duplicate_in_file",
        "invalid_id_number",
        "birth_date_mismatch",
        "sex_mismatch",
    }
    assert Person.objects.filter(id_number=shared).count() == 2
    assert Person.objects.get(name="校验错").id_number == wrong_check  # as it is, never repaired
    again = import_people(path, actor=None, today=datetime.date(2025, 6, 1), keep_defects=True)
    assert again.counts()["imported"] == 0 and again.counts()["unchanged"] == 6

    # A third person with the shared number, in a later file: loaded, flagged against the register.
    later = _write(tmp_path / "later.csv", [_row(shared, "重号丙", "1980-08-08")])
    third = import_people(later, actor=None, keep_defects=True)
    assert third.counts()["imported"] == 1
    assert third.flags[0].code == "duplicate_in_register"

    # And the scan finds every one of them.
    run = scan.run_start(unit=Unit.objects.get(code="36"), kinds=list(scan.NUMBER_KINDS))
    scan.run_scan(run, today=datetime.date(2025, 6, 1))
    assert Case.objects.get(kind="duplicate_number").links.count() == 3
    wrong = Case.objects.filter(kind="wrong_number")
    assert {c.links.get().person.name for c in wrong} == {"校验错", "生日错", "性别错"}
