"""A register with planted 重号 and 错号 beside clean people, the clean ones including the edge
cases a careless scan flags (a region code created after the birth year, one abolished after it,
an X check character, women, people born before 1900)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from tongban.core import idnumber
from tongban.registry.models import Person, Unit

TODAY = datetime.date(2025, 6, 1)


@dataclass
class Planted:
    clean: list[Person] = field(default_factory=list)
    # number → the people sharing it
    duplicates: dict[str, list[Person]] = field(default_factory=dict)
    # person → the error codes the scan must report
    wrong: dict[int, set[str]] = field(default_factory=dict)

    def wrong_people(self) -> set[int]:
        return set(self.wrong)


def _with_check(first17: str, *, wrong: bool = False) -> str:
    right = idnumber.check_digit(first17)
    if not wrong:
        return first17 + right
    return first17 + ("0" if right != "0" else "1")


def _person(unit: Unit, number: str, name: str, birth: datetime.date, sex: str) -> Person:
    return Person.objects.create(
        id_number=number,
        name=name,
        sex_id=sex,
        ethnicity_id="01",
        birth_date=birth,
        address=f"{unit.name}辖区中山路1号",
        household_no=f"H{abs(hash((number, name))) % 10**8:08d}",
        relation_id="02",
        registration_unit=unit,
        region_code=unit.region_code,
    )


def plant() -> Planted:
    donghu_1 = Unit.objects.get(code="360102001")
    donghu_2 = Unit.objects.get(code="360102002")
    ganzhou = Unit.objects.get(code="360702001")
    planted = Planted()
    seq = iter(range(1, 999, 2))

    # Clean people: 40 ordinary ones over three stations, men and women, various years.
    for i in range(40):
        unit = (donghu_1, donghu_2, ganzhou)[i % 3]
        birth = datetime.date(1950 + i, 1 + i % 12, 1 + i % 28)
        sex = "1" if i % 2 else "2"
        n = next(seq) + (0 if sex == "1" else 1)
        number = idnumber.build(unit.region_code, birth, n)
        planted.clean.append(_person(unit, number, f"清白{i}", birth, sex))
    # Edge cases that are right: an X check character, a code created after the birth year
    # (新建区 360112, from 2015), a code abolished after it (湾里区 360105, until 2019), born 1899.
    for k in range(1, 999):
        number = idnumber.build("360102", datetime.date(1985, 3, 3), k)
        if number.endswith("X"):
            break
    sex = idnumber.sex_of(number)
    planted.clean.append(_person(donghu_1, number, "校验X", datetime.date(1985, 3, 3), sex))
    planted.clean.append(
        _person(
            donghu_1,
            idnumber.build("360112", datetime.date(1960, 6, 1), 11),
            "新区老人",
            datetime.date(1960, 6, 1),
            "1",
        )
    )
    planted.clean.append(
        _person(
            donghu_2,
            idnumber.build("360105", datetime.date(1990, 2, 2), 12),
            "湾里",
            datetime.date(1990, 2, 2),
            "2",
        )
    )
    planted.clean.append(
        _person(
            ganzhou,
            idnumber.build("360702", datetime.date(1899, 12, 31), 21),
            "百岁",
            datetime.date(1899, 12, 31),
            "1",
        )
    )

    # 重号: two people of one station; three people across two cities.
    shared = idnumber.build("360102", datetime.date(1980, 8, 8), 101)
    planted.duplicates[shared] = [
        _person(donghu_1, shared, "重号甲", datetime.date(1980, 8, 8), "1"),
        _person(donghu_1, shared, "重号乙", datetime.date(1980, 8, 8), "1"),
    ]
    shared3 = idnumber.build("360702", datetime.date(1975, 4, 4), 203)
    planted.duplicates[shared3] = [
        _person(ganzhou, shared3, "重号丙", datetime.date(1975, 4, 4), "1"),
        _person(donghu_2, shared3, "重号丁", datetime.date(1975, 4, 4), "1"),
        _person(donghu_1, shared3, "重号戊", datetime.date(1975, 4, 4), "1"),
    ]

    # 错号, one defect each.
    def wrong(unit: Unit, number: str, name: str, birth: datetime.date, sex: str, *codes: str) -> None:
        planted.wrong[_person(unit, number, name, birth, sex).pk] = set(codes)

    b = datetime.date(1992, 7, 15)
    wrong(donghu_1, _with_check("36010219920715303", wrong=True), "校验错", b, "1", "invalid_checksum")
    wrong(
        donghu_2,
        idnumber.build("360102", datetime.date(1992, 7, 16), 303),
        "生日错",
        b,
        "1",
        "birth_date_mismatch",
    )
    wrong(ganzhou, idnumber.build("360702", b, 304), "性别错", b, "1", "sex_mismatch")
    wrong(donghu_1, _with_check("99990119920715305"), "无此地", b, "1", "unknown_region")
    born = datetime.date(2020, 1, 1)
    wrong(donghu_1, idnumber.build("360105", born, 307), "撤销区", born, "1", "region_abolished")
    wrong(
        ganzhou,
        _with_check("36070219920230309"),
        "无此日",
        datetime.date(1992, 2, 28),
        "1",
        "invalid_birth_date",
    )
    wrong(donghu_2, "360102920715311", "旧号", b, "1", "not_normalized")
    wrong(donghu_2, "36010219920715313"[:17] + "Y", "格式错", b, "1", "invalid_format")
    future = datetime.date(2026, 1, 1)
    wrong(ganzhou, idnumber.build("360702", future, 315), "未来", future, "1", "future_birth_date")
    wrong(donghu_1, "3601021992", "短号", b, "1", "invalid_length")
    return planted
