"""GB/T 2260 administrative-division codes and their history.

The data comes from python-stdnum's ``cn/loc.dat`` so that the region table
is upgraded together with the library instead of being vendored here. Every
code keeps all of its historical names because a citizen ID number carries
the code that was valid when it was first assigned, possibly decades ago.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

Level = Literal["province", "city", "county"]
T = TypeVar("T")

# County-level "市辖区" only groups a city's urban districts in the code table;
# nobody lives "in" it, so pickers and counts must skip it.
_COUNTY_PLACEHOLDER = "市辖区"
# City-level codes under which municipalities and provinces group counties that
# report directly to the province; they are not real cities either.
_CITY_PLACEHOLDERS = frozenset(
    {
        "市辖区",
        "县",
        "省直辖行政单位",
        "省直辖县级行政单位",
        "自治区直辖县级行政单位",
    }
)

_PROVINCE_LINE = re.compile(r'^(\d{2}) province="[^"]*"$')
_COUNTY_LINE = re.compile(r'^\s+(\d{4}) county="([^"]*)"$')
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\](.+)$")


@dataclass(frozen=True)
class RegionEntry:
    """One name a code carried during a (possibly open) span of years.

    Both years are inclusive; ``None`` means the span is open on that side.
    """

    code: str
    name: str
    start_year: int | None
    end_year: int | None

    @property
    def level(self) -> Level:
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "city"
        return "county"

    @property
    def is_current(self) -> bool:
        return self.end_year is None

    @property
    def province_code(self) -> str:
        return self.code[:2]

    @property
    def city_code(self) -> str:
        return self.code[:4]

    @property
    def is_placeholder(self) -> bool:
        """True for grouping codes that are not a real place (e.g. 360101 市辖区)."""
        if self.level == "county":
            return self.name == _COUNTY_PLACEHOLDER
        return self.level == "city" and self.name in _CITY_PLACEHOLDERS

    def covers(self, year: int) -> bool:
        """Whether this name was in force during ``year``."""
        return (self.start_year is None or self.start_year <= year) and (
            self.end_year is None or year <= self.end_year
        )


def _optional_year(text: str) -> int | None:
    return int(text) if text else None


def _parse_value(code: str, value: str) -> Iterator[RegionEntry]:
    """Split ``[1983-2001]郊区,[2002-]青山湖区`` into one entry per period."""
    for part in value.split(","):
        period = _PERIOD.match(part)
        if period is None:
            yield RegionEntry(code, part, None, None)
        else:
            start, end, name = period.groups()
            yield RegionEntry(code, name, _optional_year(start), _optional_year(end))


def _parse_lines(lines: Iterable[str]) -> Iterator[RegionEntry]:
    province = ""
    for line in lines:
        if province_line := _PROVINCE_LINE.match(line):
            province = province_line.group(1)
        elif county_line := _COUNTY_LINE.match(line):
            suffix, value = county_line.groups()
            yield from _parse_value(province + suffix, value)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"unexpected line in stdnum cn/loc.dat: {line!r}")


@functools.cache
def load_history() -> tuple[RegionEntry, ...]:
    """Every entry of every code, in the order of stdnum's data file."""
    data = importlib.resources.files("stdnum").joinpath("cn", "loc.dat")
    return tuple(_parse_lines(data.read_text(encoding="utf-8").splitlines()))


@functools.cache
def _by_code() -> dict[str, tuple[RegionEntry, ...]]:
    index: dict[str, list[RegionEntry]] = {}
    for entry in load_history():
        index.setdefault(entry.code, []).append(entry)
    return {code: tuple(entries) for code, entries in index.items()}


def entries_for(code: str) -> tuple[RegionEntry, ...]:
    """All entries of ``code``; an empty tuple for unknown codes."""
    return _by_code().get(code, ())


def is_valid_for_birth_year(code: str, year: int) -> bool:
    """Whether a person born in ``year`` can carry ``code``.

    Only a code abolished before the birth year is impossible: codes created
    after it are normal, because people born before 1984 received the codes of
    1984-85 and late registrations receive the code in force at registration.
    """
    return any(entry.end_year is None or entry.end_year >= year for entry in entries_for(code))


def _recency(entry: RegionEntry) -> tuple[bool, int]:
    return (entry.end_year is None, entry.end_year or 0)


def _entry_for(code: str, year: int | None) -> RegionEntry | None:
    entries = entries_for(code)
    if len(entries) <= 1:
        # Most codes never changed name; skip the search on the bulk-import path.
        return entries[0] if entries else None
    in_force = [entry for entry in entries if year is not None and entry.covers(year)]
    return max(in_force or entries, key=_recency)


def name_for(code: str, year: int | None = None) -> str | None:
    """The name of ``code`` in ``year``, else its current or latest name."""
    entry = _entry_for(code, year)
    return entry.name if entry else None


def place_name(code: str) -> str:
    """The name of the province (2 digits, 广东省 for 44) or city (4 digits, 南昌市 for 3601) with
    `code`, the code itself where unknown."""
    return name_for(code.ljust(6, "0")) or code


def full_name(code: str, year: int | None = None) -> str | None:
    """Province, city and county names joined, e.g. 江西省南昌市东湖区 for 360102."""
    if not entries_for(code):
        return None
    # dict.fromkeys drops the repeats, e.g. 360000 is its own province.
    levels = dict.fromkeys((code[:2] + "0000", code[:4] + "00", code))
    parts = (_entry_for(level_code, year) for level_code in levels)
    return "".join(part.name for part in parts if part is not None and not part.is_placeholder)


def _current(province: str, level: Level) -> list[RegionEntry]:
    return [
        entry
        for entry in load_history()
        if entry.province_code == province
        and entry.level == level
        and entry.is_current
        and not entry.is_placeholder
    ]


def current_counties(province: str) -> list[RegionEntry]:
    """County-level divisions in force today in the two-digit ``province``."""
    return _current(province, "county")


def current_cities(province: str) -> list[RegionEntry]:
    """Prefecture-level divisions in force today in the two-digit ``province``."""
    return _current(province, "city")


def longest_prefix(code: str, rules: Mapping[str, T]) -> T | None:
    """The rule of the longest prefix in `rules` that starts `code` (None where no prefix does;
    the prefix "" starts every code). The one way a table keyed by code prefix picks the most
    specific of its rules: 制证路由, 分发路由, review chains, the face galleries' engine nodes."""
    for length in range(len(code), -1, -1):
        if code[:length] in rules:
            return rules[code[:length]]
    return None
