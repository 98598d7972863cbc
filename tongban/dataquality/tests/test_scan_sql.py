"""The scan's statements against the exact verdict: every number `number_errors` finds wrong is
picked by the database's 错号 statement (PostgreSQL's integer form, SQLite's portable one) and no
right one is, over every check character, malformed numbers, dates at the edges and sex codes;
the rows counted for progress; 重号 up to the run's last key."""

from __future__ import annotations

import datetime

import pytest

from tongban.core import idnumber
from tongban.dataquality import scan
from tongban.dataquality.tests.planted import TODAY
from tongban.registry.models import Person, Sex, Unit

pytestmark = pytest.mark.django_db


def _add(unit: Unit, number: str, birth: datetime.date, sex: str) -> Person:
    return Person.objects.create(
        id_number=number,
        name="核对",
        sex_id=sex,
        ethnicity_id="01",
        birth_date=birth,
        address="中山路1号",
        household_no="H1",
        relation_id="02",
        registration_unit=unit,
        region_code=unit.region_code,
    )


def _register(unit: Unit) -> list[Person]:
    for code, label in (("0", "未知的性别"), ("9", "未说明的性别")):
        Sex.objects.get_or_create(code=code, defaults={"name": label})
    people: list[Person] = []
    # Every check character after a few first-17s (one right, ten wrong), men and women, an X.
    bases = [
        ("360102", datetime.date(1985, 3, 3), 1),
        ("360702", datetime.date(1950, 12, 31), 22),
        ("360112", datetime.date(2016, 2, 29), 7),  # created 2015: valid for a 2016 birth
        ("360105", datetime.date(2018, 1, 1), 8),  # abolished after 2019
        ("110101", datetime.date(1900, 1, 1), 999),
    ]
    for region, birth, seq in bases:
        first17 = idnumber.build(region, birth, seq)[:17]
        sex = idnumber.SEX_MALE if seq % 2 else idnumber.SEX_FEMALE
        for check in "0123456789X":
            people.append(_add(unit, first17 + check, birth, sex))
    right = idnumber.build("360102", datetime.date(1985, 3, 3), 1)
    birth = datetime.date(1985, 3, 3)
    # Malformed: lower-case x, too short, an X inside, a leading space or sign, a letter, a
    # full-width digit, a trailing space, the old 15-digit form.
    x_number = next(n for k in range(1, 999) if (n := idnumber.build("360102", birth, k)).endswith("X"))
    for number in (
        x_number[:17] + "x",
        right[:17],
        right[:16] + "X" + right[17],  # X not last
        " " + right[1:],  # what a cast to bigint would accept
        "-" + right[1:],
        right[:5] + "A" + right[6:],
        right[:5] + "１" + right[6:],
        right[:17] + " ",
        "360102850303011",  # 15 digits: the old form
    ):
        people.append(_add(unit, number, birth, "1"))
    # The registered birth date a day off; a date that does not exist; before 1880; future.
    people.append(_add(unit, right, birth + datetime.timedelta(days=1), "1"))
    people.append(_add(unit, idnumber.build("360102", birth, 3)[:6] + "19850230003X", birth, "1"))
    for day in (datetime.date(1879, 12, 31), datetime.date(1880, 1, 1), TODAY, TODAY + datetime.timedelta(1)):
        people.append(_add(unit, idnumber.build("360102", day, 5), day, "1"))
    # Sex codes against the sequence's parity: unknown and unspecified are always wrong.
    for sex in ("0", "1", "2", "9"):
        for seq in (11, 12):
            people.append(_add(unit, idnumber.build("360102", birth, seq), birth, sex))
    # Regions: unknown, abolished before the birth, abolished after it.
    people.append(_add(unit, idnumber.build("999901", birth, 13), birth, "1"))
    born = datetime.date(2020, 5, 5)
    people.append(_add(unit, idnumber.build("360105", born, 15), born, "1"))
    people.append(
        _add(unit, idnumber.build("360105", datetime.date(2019, 5, 5), 17), datetime.date(2019, 5, 5), "1")
    )
    return people


def _row(person: Person) -> scan.Row:
    person.refresh_from_db()
    return scan.Row(
        person.pk,
        person.id_number,
        person.name,
        person.sex_id,
        person.birth_date,
        person.registration_unit_id,
        person.status,
    )


def test_the_statement_picks_exactly_the_numbers_the_exact_check_finds_wrong() -> None:
    scan.ensure_region_table()
    unit = Unit.objects.get(code="360102001")
    people = _register(unit)
    wrong = {p.pk for p in people if scan.number_errors(_row(p), TODAY)}
    right = {p.pk for p in people} - wrong
    assert len(wrong) > 60 and len(right) >= 10  # both sides are exercised
    lo, hi = people[0].pk - 1, people[-1].pk
    for where in (Unit.objects.get(code="36"), Unit.objects.get(code="360102")):  # whole, scoped
        picked, counted = scan.suspect_rows(where, lo, hi, TODAY)
        assert set(picked) == wrong, (sorted(set(picked) - wrong), sorted(wrong - set(picked)))
        assert counted in (None, len(people))
    # Split into ranges: the same (one connection: other connections would not see this test's
    # uncommitted rows).
    middle = people[len(people) // 2].pk
    picked, counted = scan._suspects(Unit.objects.get(code="36"), [(lo, middle), (middle, hi)], TODAY, 1)
    assert sorted(picked) == sorted(wrong)
    assert counted == len(people)


def test_progress_counts_our_population_without_guests_of_other_provinces() -> None:
    scan.ensure_region_table()
    station = Unit.objects.get(code="360102001")
    guests = Unit.objects.create(
        code="44", name="广东省公安厅", kind=Unit.Kind.EXTERNAL, path="44/", region_code="440000"
    )
    birth = datetime.date(1985, 3, 3)
    ours = [_add(station, idnumber.build("360102", birth, k), birth, "1") for k in (1, 3, 5)]
    guest = _add(guests, idnumber.build("440103", birth, 7)[:17] + "0", birth, "1")  # wrong check
    lo, hi = ours[0].pk - 1, guest.pk
    picked, counted = scan._suspects(Unit.objects.get(code="36"), [(lo, hi)], TODAY, 1)
    assert picked == [guest.pk]  # a guest's number is checked like anyone's
    assert counted == 3 == scan._count(Unit.objects.get(code="36"), lo, hi)


def test_a_number_shared_only_with_a_row_added_after_the_run_began_is_no_duplicate() -> None:
    station = Unit.objects.get(code="360102001")
    birth = datetime.date(1985, 3, 3)
    held_twice = idnumber.build("360102", birth, 1)
    later = idnumber.build("360102", birth, 3)
    first = _add(station, held_twice, birth, "1")
    _add(station, held_twice, birth, "1")
    _add(station, later, birth, "1")
    max_pk = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    _add(station, later, birth, "1")  # after the run's last key
    province = Unit.objects.get(code="36")
    assert scan.duplicate_numbers(province, max_pk) == [held_twice]
    assert scan.duplicate_numbers(province, max_pk + 1) == sorted([held_twice, later])
    assert scan.duplicate_numbers(province, first.pk) == []
    assert scan.duplicate_numbers(Unit.objects.get(code="360702"), max_pk + 1) == []
