"""Names and ID-number endings as the public types them (core.typed), one way for every door."""

from __future__ import annotations

import pytest

from tongban.core import typed


@pytest.mark.parametrize(
    "given",
    [
        "买买提·艾力",
        " 买买提·艾力 ",
        "买买提•艾力",
        "买买提・艾力",
        "买买提.艾力",
        "买买提．艾力",
        "买买提 · 艾力",
    ],
)
def test_a_middle_dot_may_be_typed_any_way(given: str) -> None:
    assert typed.names_match("买买提·艾力", given)


def test_names_are_compared_whole() -> None:
    assert typed.names_match("张三", " 张三\u3000")
    assert typed.names_match("ZHANG San", "zhang san")
    assert not typed.names_match("张三", "张三丰")
    assert not typed.names_match("张三", "张")
    assert not typed.names_match("买买提·艾力", "买买提艾力")  # the dot is part of the name
    assert not typed.names_match("张三", "")
    assert not typed.names_match("", " ")


def test_the_suffix_format() -> None:
    assert typed.is_id_suffix("17002X") and typed.is_id_suffix("170021") and typed.is_id_suffix("17002x")
    assert typed.is_id_suffix("１７００２Ｘ") and typed.is_id_suffix(" 170021 ")  # full-width, spaces
    for bad in ("1700", "17002XX", "X70021", "17 021", "17002Y", "٠١٢٣٤٥"):
        assert not typed.is_id_suffix(bad), bad


def test_the_ending_of_a_number() -> None:
    assert typed.id_suffix_matches("36010219900517002X", " 17002x")
    assert typed.id_suffix_matches("36010219900517002X", "１７００２Ｘ")
    assert not typed.id_suffix_matches("36010219900517002X", "170021")
    assert not typed.id_suffix_matches("", "")
    assert not typed.id_suffix_matches("36010219900517002X", "")
