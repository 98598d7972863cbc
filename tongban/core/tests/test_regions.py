from __future__ import annotations

import pytest

from tongban.core import regions
from tongban.core.regions import RegionEntry


def test_history_is_parsed_once_and_in_file_order() -> None:
    history = regions.load_history()
    assert regions.load_history() is history
    assert history[0] == RegionEntry("110000", "北京市", None, None)
    codes = [entry.code for entry in history]
    assert codes.index("360000") < codes.index("360100") < codes.index("360102")


def test_multi_period_value_gives_one_entry_per_period() -> None:
    assert regions.entries_for("360111") == (
        RegionEntry("360111", "郊区", 1983, 2001),
        RegionEntry("360111", "青山湖区", 2002, None),
    )


def test_period_without_start_year() -> None:
    assert regions.entries_for("360120") == (RegionEntry("360120", "市区", None, 1983),)


def test_unknown_code_has_no_entries() -> None:
    assert regions.entries_for("369999") == ()
    assert regions.entries_for("") == ()
    assert regions.entries_for("abc") == ()


@pytest.mark.parametrize(
    ("code", "level"),
    [("360000", "province"), ("360100", "city"), ("360102", "county"), ("360101", "county")],
)
def test_level(code: str, level: str) -> None:
    assert regions.entries_for(code)[0].level == level


def test_entry_properties() -> None:
    entry = regions.entries_for("360102")[0]
    assert entry.province_code == "36"
    assert entry.city_code == "3601"
    assert entry.is_current
    assert not entry.is_placeholder
    assert not regions.entries_for("360727")[0].is_current


def test_placeholders() -> None:
    assert regions.entries_for("360101")[0].is_placeholder
    assert not regions.entries_for("360111")[0].is_placeholder  # 郊区 is a real district
    assert regions.entries_for("110100")[0].is_placeholder  # Beijing's city-level grouping


def test_code_created_after_birth_year_is_valid() -> None:
    assert regions.is_valid_for_birth_year("360783", 1985)


def test_code_abolished_before_birth_year_is_invalid() -> None:
    assert regions.is_valid_for_birth_year("360727", 2020)  # end year is inclusive
    assert not regions.is_valid_for_birth_year("360727", 2021)


def test_unknown_code_is_never_valid() -> None:
    assert not regions.is_valid_for_birth_year("369999", 1990)


def test_renamed_code_stays_valid() -> None:
    assert regions.is_valid_for_birth_year("360111", 2024)


def test_name_for_year() -> None:
    assert regions.name_for("360111", 1990) == "郊区"
    assert regions.name_for("360111", 2010) == "青山湖区"


def test_name_for_falls_back_to_latest_name() -> None:
    assert regions.name_for("360111") == "青山湖区"
    assert regions.name_for("360111", 1970) == "青山湖区"
    assert regions.name_for("360783", 1985) == "龙南市"
    assert regions.name_for("360727", 2024) == "龙南县"


def test_name_for_unknown_code() -> None:
    assert regions.name_for("369999") is None


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("360102", "江西省南昌市东湖区"),
        ("360100", "江西省南昌市"),
        ("360000", "江西省"),
        ("360783", "江西省赣州市龙南市"),
        ("110105", "北京市朝阳区"),
        ("429004", "湖北省仙桃市"),
    ],
)
def test_full_name(code: str, name: str) -> None:
    assert regions.full_name(code) == name


def test_full_name_in_year() -> None:
    assert regions.full_name("360111", 1990) == "江西省南昌市郊区"


def test_full_name_unknown_code() -> None:
    assert regions.full_name("369999") is None


def test_jiangxi_current_cities() -> None:
    cities = regions.current_cities("36")
    assert len(cities) == 11
    assert {city.name for city in cities} >= {"南昌市", "赣州市", "上饶市"}
    assert all(city.level == "city" and city.is_current for city in cities)


def test_jiangxi_current_counties() -> None:
    counties = {county.code: county for county in regions.current_counties("36")}
    assert len(counties) == 100
    assert counties["360102"].name == "东湖区"
    assert counties["360783"].name == "龙南市"
    assert "360727" not in counties
    assert "360101" not in counties
    assert all(code.startswith("36") for code in counties)


def test_current_lists_are_fresh_copies() -> None:
    regions.current_counties("36").clear()
    assert regions.current_counties("36")


def test_the_longest_matching_prefix_wins() -> None:
    rules = {"36": "province", "3607": "ganzhou", "360702": "zhanggong"}
    assert regions.longest_prefix("360702001", rules) == "zhanggong"
    assert regions.longest_prefix("360703001", rules) == "ganzhou"
    assert regions.longest_prefix("360102001", rules) == "province"
    assert regions.longest_prefix("440101001", rules) is None
    assert regions.longest_prefix("440101001", {**rules, "": "rest"}) == "rest"
    assert regions.longest_prefix("36", rules) == "province"
