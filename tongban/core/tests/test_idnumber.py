from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from tongban.core import idnumber, regions
from tongban.core.idnumber import IdError, IdNumberInfo, InvalidIdNumber

TODAY = datetime.date(2025, 6, 1)
# The GB 11643-1999 weights, spelled out to check the base-13 shortcut.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_BY_REMAINDER = "10X98765432"

JIANGXI_COUNTIES = [county.code for county in regions.current_counties("36")]


def parse(raw: str) -> IdNumberInfo:
    return idnumber.parse(raw, today=TODAY)


def error_codes(raw: str) -> list[str]:
    return [error.code for error in parse(raw).errors]


def test_stdnum_docstring_number() -> None:
    info = parse("360426199101010071")
    assert info == IdNumberInfo(
        input="360426199101010071",
        valid=True,
        normalized="360426199101010071",
        region_code="360426",
        region_name="江西省九江市德安县",
        birth_date=datetime.date(1991, 1, 1),
        sex="1",
        errors=(),
    )


def test_x_check_digit() -> None:
    info = parse("11010519491231002X")
    assert info.valid
    assert info.region_name == "北京市朝阳区"
    assert info.birth_date == datetime.date(1949, 12, 31)
    assert info.sex == "2"


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",
        " 110105 19491231 002X ",
        "110105-19491231-002X",
        "１１０１０５１９４９１２３１００２ｘ",
        "110105\u300019491231\t002X\n",
    ],
)
def test_normalized_spellings(raw: str) -> None:
    info = parse(raw)
    assert info.valid
    assert info.input == raw
    assert info.normalized == "11010519491231002X"


def test_normalize_does_not_validate() -> None:
    assert idnumber.normalize(" ａｂ-c ") == "ABC"


def test_fifteen_digit_number_is_converted() -> None:
    info = parse("360102880101123")
    assert info.valid
    assert info.normalized == "360102198801011233"
    assert info.birth_date == datetime.date(1988, 1, 1)
    assert info.sex == "1"
    assert idnumber.to_18("360102880101123") == "360102198801011233"


@pytest.mark.parametrize("bad", ["36010288010112", "36010288010112X", "3601028801011233"])
def test_to_18_rejects_non_15_digit_input(bad: str) -> None:
    with pytest.raises(ValueError):
        idnumber.to_18(bad)


@pytest.mark.parametrize("raw", ["", "   ", "- -"])
def test_empty(raw: str) -> None:
    assert error_codes(raw) == ["empty"]


def test_invalid_length() -> None:
    info = parse("36042619910101007")
    assert [error.code for error in info.errors] == ["invalid_length"]
    assert "17" in info.errors[0].message
    assert info.normalized is None


def test_invalid_format_keeps_readable_parts() -> None:
    info = parse("36042619910101007A")
    assert error_codes("36042619910101007A") == ["invalid_format"]
    assert info.normalized is None
    assert info.region_code == "360426"
    assert info.birth_date == datetime.date(1991, 1, 1)
    assert info.sex == "1"


def test_x_only_allowed_last() -> None:
    assert error_codes("3604261991010100X1") == ["invalid_format"]
    assert parse("3604261991010100X1").sex is None


def test_fifteen_digits_must_all_be_digits() -> None:
    assert error_codes("36010288010112X") == ["invalid_format"]


def test_non_ascii_digits_are_invalid_format() -> None:
    assert "invalid_format" in error_codes("٣٦٠٤٢٦١٩٩١٠١٠١٠٠٧١")


def test_checksum_error_names_expected_digit() -> None:
    info = parse("360426199101010070")
    assert info.errors == (IdError("invalid_checksum", "校验码错误，应为 1"),)
    assert info.normalized == "360426199101010070"
    assert info.birth_date == datetime.date(1991, 1, 1)


def test_feb_29_in_non_leap_year() -> None:
    raw = idnumber.build("360426", datetime.date(1991, 3, 1), 7).replace("19910301", "19910229")
    info = parse(raw)
    assert "invalid_birth_date" in [error.code for error in info.errors]
    assert info.birth_date is None
    assert info.region_code == "360426"


def test_feb_29_in_leap_year() -> None:
    assert parse(idnumber.build("360426", datetime.date(1992, 2, 29), 7)).valid


def test_invalid_birth_date_in_fifteen_digit_number() -> None:
    assert error_codes("360102881301123") == ["invalid_birth_date"]


def test_future_birth_date() -> None:
    raw = idnumber.build("360102", datetime.date(2025, 6, 2), 1)
    info = parse(raw)
    assert [error.code for error in info.errors] == ["future_birth_date"]
    assert info.birth_date == datetime.date(2025, 6, 2)
    assert parse(idnumber.build("360102", TODAY, 1)).valid


def test_default_today_accepts_recent_birth() -> None:
    recent = idnumber.build("360102", datetime.date(2020, 1, 1), 1)
    assert idnumber.is_valid(recent)
    assert not idnumber.is_valid(idnumber.build("360102", datetime.date(9999, 1, 1), 1))


def test_unknown_region() -> None:
    info = parse(idnumber.build("369999", datetime.date(1990, 1, 1), 1))
    assert info.errors == (IdError("unknown_region", "地址码 369999 不存在"),)
    assert info.region_code == "369999"
    assert info.region_name is None


def test_region_that_makes_stdnum_raise_key_error() -> None:
    raw = idnumber.build("369999", datetime.date(1990, 1, 1), 1)
    with pytest.raises(KeyError):
        ric.validate(raw)
    assert error_codes(raw) == ["unknown_region"]


def test_region_created_after_birth_year_is_accepted() -> None:
    info = parse("360783198506150127")
    assert info.valid
    assert info.region_name == "江西省赣州市龙南市"


def test_region_abolished_before_birth_year() -> None:
    info = parse("360727202103010216")
    assert info.errors == (
        IdError("region_abolished", "地址码 360727（龙南县）已于 2020 年撤销，不可能属于 2021 年出生的人"),
    )
    assert info.region_name == "江西省赣州市龙南县"


def test_region_valid_until_abolition() -> None:
    assert parse("36072720190301021X").valid


def test_all_errors_are_collected() -> None:
    # 369999 is unknown, 19910230 is not a date and the check digit is wrong.
    assert error_codes("369999199102300010") == ["invalid_birth_date", "unknown_region", "invalid_checksum"]


def test_abolished_region_and_bad_day_use_the_birth_year() -> None:
    assert error_codes("360727202102300011") == ["invalid_birth_date", "region_abolished", "invalid_checksum"]


def test_to_dict() -> None:
    data = parse("36072720210301021X").to_dict()
    assert list(data) == [
        "input",
        "valid",
        "normalized",
        "region_code",
        "region_name",
        "birth_date",
        "sex",
        "errors",
    ]
    assert data["birth_date"] == "2021-03-01"
    assert data["errors"][0]["code"] == "region_abolished"
    assert list(data["errors"][0]) == ["code", "message"]


def test_to_dict_without_birth_date() -> None:
    assert parse("").to_dict()["birth_date"] is None


def test_validate_returns_normalized_number() -> None:
    assert idnumber.validate("360102880101123", today=TODAY) == "360102198801011233"


def test_validate_raises_with_info() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        idnumber.validate("360426199101010070", today=TODAY)
    assert caught.value.info.errors[0].code == "invalid_checksum"
    assert str(caught.value) == "校验码错误，应为 1"


def test_is_valid() -> None:
    assert idnumber.is_valid("360426199101010071", today=TODAY)
    assert not idnumber.is_valid("360426199101010070", today=TODAY)


def test_helpers() -> None:
    assert idnumber.sex_of("11010519491231002X") == "2"
    assert idnumber.birth_date_of("11010519491231002X") == datetime.date(1949, 12, 31)


@pytest.mark.parametrize("sequence", [0, 1000])
def test_build_rejects_out_of_range_sequence(sequence: int) -> None:
    with pytest.raises(ValueError):
        idnumber.build("360102", datetime.date(1990, 1, 1), sequence)


@pytest.mark.parametrize("code", ["36010", "36010X"])
def test_build_rejects_malformed_region(code: str) -> None:
    with pytest.raises(ValueError):
        idnumber.build(code, datetime.date(1990, 1, 1), 1)


@pytest.mark.parametrize("bad", ["3604261991010100", "3604261991010100A"])
def test_check_digit_rejects_malformed_input(bad: str) -> None:
    with pytest.raises(ValueError):
        idnumber.check_digit(bad)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_digit_matches_standard_weights_and_stdnum(first17: str) -> None:
    remainder = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True)) % 11
    expected = CHECK_BY_REMAINDER[remainder]
    assert idnumber.check_digit(first17) == expected
    assert ric.calc_check_digit(first17 + expected) == expected


@given(
    code=st.sampled_from(JIANGXI_COUNTIES),
    birth_date=st.dates(datetime.date(1900, 1, 1), datetime.date(2025, 12, 31)),
    sequence=st.integers(1, 999),
)
def test_build_round_trip(code: str, birth_date: datetime.date, sequence: int) -> None:
    number = idnumber.build(code, birth_date, sequence)
    info = idnumber.parse(number, today=datetime.date(2025, 12, 31))
    assert info.valid, info.errors
    assert info.normalized == number
    assert info.region_code == code
    assert info.region_name == regions.full_name(code, birth_date.year)
    assert info.birth_date == birth_date
    assert info.sex == ("1" if sequence % 2 else "2")
    assert idnumber.sex_of(number) == info.sex
    assert idnumber.birth_date_of(number) == birth_date


@given(st.text(max_size=25))
def test_parse_never_raises(raw: str) -> None:
    info = parse(raw)
    assert info.valid == (not info.errors)
    assert info.input == raw


def test_birth_years_before_1880_are_typos() -> None:
    number = idnumber.build("110105", datetime.date(1880, 1, 1), 21)
    assert idnumber.parse(number).valid
    too_old = number[:6] + "1879" + number[10:17]
    info = idnumber.parse(too_old + idnumber.check_digit(too_old))
    assert [e.code for e in info.errors] == ["invalid_birth_date"]


def test_canonical_widens_old_numbers_only() -> None:
    assert idnumber.canonical(" 360102880101123 ") == "360102198801011233"
    assert idnumber.canonical("11010519491231002x") == "11010519491231002X"
    assert idnumber.canonical("36010288010112X") == "36010288010112X"  # not all digits: left alone
