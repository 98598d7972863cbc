"""Defects planted in the demo register (`tongban demo defects`), so that `tongban dataquality
scan` has something to find: the register as it comes from the old systems holds 重号, 错号 and
people registered twice (seeds/003 §四(二)).

They are planted where README's clean-up path finds them: among the people of 东湖区城东派出所
(360102002), the station of the demo `reviewer` who requests the corrections, inside 东湖分局
(`supervisor_donghu` approves them) and 南昌市 (`supervisor` lists the cases). A smaller register
with too few people there falls back to the rest of 东湖分局, then of 南昌市."""

from __future__ import annotations

import datetime

from tongban.core import idnumber
from tongban.registry.models import Card, Person, Unit

# Where to plant, nearest first: the demo reviewer's station, its county bureau, the city.
AREAS = ("360102002", "360102", "3601")
PLANTED = {"duplicate": 2, "wrong": 3, "double": 2}
# Given names of the invented 重号 holders, fitting the sex the shared number records.
OTHER_GIVEN = {"1": ("国庆", "建军"), "2": ("秀英", "桂兰")}
BORN_BEFORE = datetime.date(1975, 1, 1)


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


def _chosen(count: int) -> list[Person]:
    """`count` card holders born before 1975, from the nearest area that has them (first by pk).
    People without a valid card, README's first applicants, and the younger ones it names for 换领
    are left alone."""
    chosen: list[Person] = []
    for code in AREAS:
        area = Unit.objects.filter(code=code).first()
        if area is None:
            continue
        people = (
            Person.objects.filter(
                registration_unit__in=Unit.objects.subtree_ids(area),
                status=Person.Status.NORMAL,
                birth_date__lt=BORN_BEFORE,
                cards__state=Card.State.ACTIVE,
            )
            .exclude(pk__in=[person.pk for person in chosen])
            .order_by("pk")
        )
        chosen += list(people[: count - len(chosen)])
        if len(chosen) == count:
            break
    return chosen


def plant_defects() -> dict[str, int]:
    """Plant 2 重号, 3 错号 and 2 double registrations among the card holders of 东湖区城东派出所
    (or, where there are too few, of 东湖分局 and 南昌市); returns the counts. Deterministic."""
    adults = _chosen(7)
    if len(adults) < 7:
        return dict.fromkeys(PLANTED, 0)
    # 重号: another person (another name and household) registered under an existing number.
    for i, person in enumerate(adults[:2]):
        given = OTHER_GIVEN[person.sex_id][i % 2]
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
