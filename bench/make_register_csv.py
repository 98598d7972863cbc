"""Synthetic population-register CSV for benchmarks: `python -m bench.make_register_csv OUT.csv`.

Rows follow `tongban.registry.csvformat.COLUMNS` and are deterministic for a given seed. People
are registered at the stations `units_load_province("36", 2)` creates (`{county}001` and
`{county}002` for every current Jiangxi county) and carry valid 18-digit numbers whose birth
date (1930-2025) and sex agree with the other columns. Numbers are unique without a set in
memory: row i takes slot (a*i + b) mod M of the M = days x 999 (birth date, sequence) pairs,
a bijection since gcd(a, M) = 1, so a million rows cost no more memory than ten.

With `--bad-rate R` about a fraction R of the rows are planted bad, one kind each, in equal
shares: a wrong check digit, a birth date that disagrees with the number, an unknown station,
or a number already used by an earlier good row for a different person (重号: the importer
rejects both rows of such a pair). `Planted` says exactly how many rows the importer should
reject and import.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tongban.core import idnumber, regions
from tongban.registry.csvformat import COLUMNS

PROVINCE = "36"
STATIONS_PER_COUNTY = 2
FIRST_BIRTH = datetime.date(1930, 1, 1)
LAST_BIRTH = datetime.date(2025, 12, 31)
SEQUENCES = 999
UNKNOWN_STATION_SUFFIX = "099"  # stations are numbered 001 and 002 only

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅文斌春晓燕鹏辉飞"
STREETS: tuple[str, ...] = (
    *("人民路", "解放路", "中山路", "八一大道", "建设路"),
    *("胜利路", "新华街", "文化路", "和平路", "滨江路"),
)
CHILD_RELATIONS = ("10", "20", "30")
OTHER_ETHNICITIES = ("02", "03", "06", "09", "12", "22")
CHECK_CHARACTERS = "0123456789X"
BAD_KINDS = ("wrong_check_digit", "birth_date_mismatch", "unknown_unit", "duplicate_number")


@dataclass
class Planted:
    """What was written, and what an import of the file must report."""

    rows: int = 0
    wrong_check_digit: int = 0
    birth_date_mismatch: int = 0
    unknown_unit: int = 0
    duplicate_pairs: int = 0  # each pair is two rejected rows: the earlier good one and its 重号

    @property
    def expected_rejected(self) -> int:
        single = self.wrong_check_digit + self.birth_date_mismatch + self.unknown_unit
        return single + 2 * self.duplicate_pairs

    @property
    def expected_imported(self) -> int:
        return self.rows - self.expected_rejected

    def to_dict(self) -> dict[str, int]:
        return {
            **asdict(self),
            "expected_rejected": self.expected_rejected,
            "expected_imported": self.expected_imported,
        }


def _slot_permutation(rng: random.Random, modulus: int) -> tuple[int, int]:
    """(a, b) with gcd(a, modulus) = 1: i -> (a*i + b) % modulus is then a bijection."""
    while True:
        a = rng.randrange(modulus // 3, modulus)
        if math.gcd(a, modulus) == 1:
            return a, rng.randrange(modulus)


def write_register_csv(path: Path, rows: int, *, seed: int = 1, bad_rate: float = 0.0) -> Planted:
    """Write `rows` data rows (plus the header) to `path`; return what was planted."""
    if not 0 <= bad_rate <= 1:
        raise ValueError("bad_rate must be between 0 and 1")
    days = (LAST_BIRTH - FIRST_BIRTH).days + 1
    modulus = days * SEQUENCES
    if rows > modulus:
        raise ValueError(f"at most {modulus} unique numbers fit the birth-date range")
    rng = random.Random(seed)
    a, b = _slot_permutation(rng, modulus)
    dates = [FIRST_BIRTH + datetime.timedelta(days=d) for d in range(days)]
    iso_dates = [d.isoformat() for d in dates]
    compact_dates = [text.replace("-", "") for text in iso_dates]
    counties = [entry.code for entry in regions.current_counties(PROVINCE)]
    county_names = {code: regions.full_name(code) or code for code in counties}
    planted = Planted(rows=rows)

    # The household being written: station, address, number, members still to come.
    household_station = household_county = household_address = ""
    household_serial = 0
    members_left = 0
    # The last good row's number and person, the source for the next planted 重号.
    duplicate_source: tuple[str, str, str, str] | None = None

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for i in range(rows):
            relation = CHILD_RELATIONS[rng.randrange(3)]
            if members_left == 0:
                household_county = counties[rng.randrange(len(counties))]
                household_station = f"{household_county}{rng.randrange(1, STATIONS_PER_COUNTY + 1):03d}"
                household_address = (
                    f"{county_names[household_county]}{STREETS[rng.randrange(len(STREETS))]}"
                    f"{rng.randrange(1, 999)}号"
                )
                household_serial += 1
                members_left = rng.randrange(1, 6)
                relation = "02"
            members_left -= 1
            # Most people carry the number of the county they are registered in.
            region = household_county if rng.random() < 0.9 else counties[rng.randrange(len(counties))]
            day, sequence = divmod((a * i + b) % modulus, SEQUENCES)
            sequence += 1
            first17 = f"{region}{compact_dates[day]}{sequence:03d}"
            number = first17 + idnumber.check_digit(first17)
            name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
            if rng.random() < 0.6:
                name += GIVEN[rng.randrange(len(GIVEN))]
            sex = "1" if sequence % 2 else "2"
            birth = iso_dates[day]
            station = household_station
            ethnicity = "01"
            if rng.random() >= 0.92:
                ethnicity = OTHER_ETHNICITIES[rng.randrange(len(OTHER_ETHNICITIES))]

            kind = BAD_KINDS[rng.randrange(4)] if bad_rate and rng.random() < bad_rate else None
            if kind == "duplicate_number" and duplicate_source is None:
                kind = None  # nothing to duplicate yet: keep the row good
            if kind == "wrong_check_digit":
                right = CHECK_CHARACTERS.index(number[-1])
                number = first17 + CHECK_CHARACTERS[(right + rng.randrange(1, 11)) % 11]
                planted.wrong_check_digit += 1
            elif kind == "birth_date_mismatch":
                birth = (dates[day] + datetime.timedelta(days=rng.randrange(1, 60))).isoformat()
                planted.birth_date_mismatch += 1
            elif kind == "unknown_unit":
                station = household_county + UNKNOWN_STATION_SUFFIX
                planted.unknown_unit += 1
            elif kind == "duplicate_number" and duplicate_source is not None:
                number, source_name, sex, birth = duplicate_source
                name = source_name + "某" if len(source_name) < 3 else source_name[:2]
                duplicate_source = None  # one 重号 per source row: pairs stay pairs
                planted.duplicate_pairs += 1
            else:
                duplicate_source = (number, name, sex, birth)

            writer.writerow(
                (
                    number,
                    name,
                    sex,
                    ethnicity,
                    birth,
                    household_address,
                    f"{household_station}{household_serial:08d}",
                    relation,
                    station,
                )
            )
    return planted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.make_register_csv", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("out", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-rate", type=float, default=0.0, help="fraction of planted bad rows (0-1)")
    args = parser.parse_args(argv)
    planted = write_register_csv(args.out, args.rows, seed=args.seed, bad_rate=args.bad_rate)
    json.dump(planted.to_dict(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
