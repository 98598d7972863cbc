"""Defects planted in the demo register (called by `tongban demo seed` once, with the people), so
that `tongban dataquality scan` has something to find: the register as it comes from the old
systems holds 重号, 错号 and people registered twice (seeds/003 §四(二))."""

from __future__ import annotations

import datetime

from tongban.core import idnumber
from tongban.registry.models import Person, Unit

# Planted among the people of 南昌市 (the demo supervisors' city).
CITY = "3601"
PLANTED = {"duplicate": 2, "wrong": 3, "double": 2}


def _copy(person: Person, **changes: object) -> Person:
    """Another register row of `person` with `changes`: a new household unless given."""
    fields = {
        "id_number": person.id_number,
        "name": person.name,
        "sex_id": person.sex_id,
        "ethnicity_id": person.ethnicity_id,
        "birth_date": person.birth_date,
        "address": person.address,
        "household_no": f"{person.household_no}D",
        "relation_id": "01",
        "registration_unit": person.registration_unit,
        "region_code": person.region_code,
        **changes,
    }
    return Person.objects.create(**fields)


def _unused_number(region_code: str, birth: datetime.date, sex: str) -> str:
    taken = set(
        Person.objects.filter(id_number__startswith=f"{region_code}{birth:%Y%m%d}").values_list(
            "id_number", flat=True
        )
    )
    parity = 1 if sex == "1" else 0
    for sequence in range(1 + (1 - parity), 1000, 2):
        number = idnumber.build(region_code, birth, sequence)
        if number not in taken:
            return number
    raise ValueError("no free sequence")  # pragma: no cover - 500 per day and sex


def plant_defects() -> dict[str, int]:
    """Plant 2 重号, 3 错号 and 2 double registrations among 南昌市's adults; returns the counts.
    Deterministic: the people chosen are the city's first adults by pk."""
    city = Unit.objects.filter(code=CITY).first()
    adults = (
        list(
            Person.objects.filter(
                registration_unit__in=Unit.objects.subtree_ids(city),
                status=Person.Status.NORMAL,
                birth_date__lt=datetime.date(1990, 1, 1),
            ).order_by("pk")[:7]
        )
        if city is not None
        else []
    )
    if len(adults) < 7:
        return dict.fromkeys(PLANTED, 0)
    # 重号: another person (another name and household) registered under an existing number.
    for person, given in zip(adults[:2], ("国庆", "秀英"), strict=True):
        _copy(person, name=f"{person.name[0]}{given}", household_no=f"{person.household_no}C")
    # 错号: a wrong check character; a registered birth date the number disagrees with; a
    # registered sex the number's sequence disagrees with.
    wrong = adults[2]
    first17 = wrong.id_number[:17]
    wrong.id_number = first17 + ("0" if idnumber.check_digit(first17) != "0" else "1")
    wrong.save(update_fields=["id_number"])
    adults[3].birth_date += datetime.timedelta(days=3)
    adults[3].save(update_fields=["birth_date"])
    adults[4].sex_id = "2" if adults[4].sex_id == "1" else "1"
    adults[4].save(update_fields=["sex_id"])
    # 一人多户: the same name, birth date and sex in a second household under another number.
    for person in adults[5:7]:
        _copy(
            person,
            id_number=_unused_number(person.region_code, person.birth_date, person.sex_id),
            household_no=f"{person.household_no}X",
        )
    return dict(PLANTED)
