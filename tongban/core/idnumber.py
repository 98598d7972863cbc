"""Citizen identity numbers (公民身份号码, GB 11643-1999).

An 18-character number is a 6-digit GB/T 2260 region code, the birth date as
YYYYMMDD, a 3-digit sequence (odd for men, even for women) and an ISO 7064
MOD 11-2 check character. Numbers issued before 1999 have 15 digits: a YYMMDD
birth date in the 1900s and no check character.

python-stdnum's ``cn.ric`` is not used for validation because it rejects
codes created after the birth year (common for people born before 1984 and
for late registrations) and raises KeyError for some unknown codes.
"""

from __future__ import annotations

import datetime
import functools
import unicodedata
from dataclasses import dataclass
from typing import Any

from tongban.core import regions

SEX_MALE = "1"
SEX_FEMALE = "2"

_LENGTH = 18
_OLD_LENGTH = 15
_CHECK_CHARACTERS = frozenset("0123456789X")
# China has observed no daylight saving time since 1991, so a fixed UTC+8
# offset gives the local date without depending on the tz database.
_CHINA_TIME = datetime.timezone(datetime.timedelta(hours=8), "Asia/Shanghai")

# Nobody alive was born earlier; a year like 1800 or 0999 is a typo, not a person.
EARLIEST_BIRTH_YEAR = 1880


@dataclass(frozen=True)
class IdError:
    """A machine-readable ``code`` and a message for the clerk at the counter."""

    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class IdNumberInfo:
    """Everything ``parse`` could read from an input, valid or not."""

    input: str
    valid: bool
    normalized: str | None
    region_code: str | None
    region_name: str | None
    birth_date: datetime.date | None
    sex: str | None
    errors: tuple[IdError, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view with a stable key order."""
        return {
            "input": self.input,
            "valid": self.valid,
            "normalized": self.normalized,
            "region_code": self.region_code,
            "region_name": self.region_name,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "errors": [error.to_dict() for error in self.errors],
        }


class InvalidIdNumber(ValueError):
    """Raised by ``validate``; ``info`` holds every error that was found."""

    def __init__(self, info: IdNumberInfo) -> None:
        super().__init__("；".join(error.message for error in info.errors))
        self.info = info


def _is_digits(text: str) -> bool:
    # str.isdigit alone would accept non-ASCII digits such as "٣" or "²".
    return text.isascii() and text.isdigit()


def normalize(raw: str) -> str:
    """Fold full-width characters, drop whitespace and '-', uppercase x.

    The result is not validated.
    """
    folded = unicodedata.normalize("NFKC", raw)
    return "".join(folded.split()).replace("-", "").upper()


def canonical(raw: str) -> str:
    """`normalize`, then an old all-digit 15-character number in its 18-character form: the form
    the register stores and searches. Not validated."""
    number = normalize(raw)
    return to_18(number) if len(number) == 15 and number.isdigit() else number


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != _LENGTH - 1 or not _is_digits(first17):
        raise ValueError(f"expected 17 digits, got {first17!r}")
    # The standard weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 are 2**(17-i)
    # mod 11; since 13 = 2 (mod 11), reading the digits in base 13 yields the
    # weighted sum in one C-level int() call, which matters on bulk imports.
    remainder = (1 - 2 * int(first17, 13)) % 11
    return "X" if remainder == 10 else str(remainder)


def to_18(number15: str) -> str:
    """Convert an old 15-digit number to 18 characters (births in the 1900s)."""
    if len(number15) != _OLD_LENGTH or not _is_digits(number15):
        raise ValueError(f"expected 15 digits, got {number15!r}")
    first17 = _widen(number15)
    return first17 + check_digit(first17)


def build(region_code: str, birth_date: datetime.date, sequence: int) -> str:
    """Compose a valid 18-character number; an odd ``sequence`` means male."""
    if len(region_code) != 6 or not _is_digits(region_code):
        raise ValueError(f"region code must be 6 digits, got {region_code!r}")
    if not 1 <= sequence <= 999:
        raise ValueError(f"sequence must be between 1 and 999, got {sequence}")
    # isoformat() zero-pads the year on every platform, unlike strftime("%Y").
    first17 = f"{region_code}{birth_date.isoformat().replace('-', '')}{sequence:03d}"
    return first17 + check_digit(first17)


def sex_of(number18: str) -> str:
    """``"1"`` (male) or ``"2"`` (female) from the sequence parity."""
    return SEX_MALE if int(number18[16]) % 2 else SEX_FEMALE


def birth_date_of(number18: str) -> datetime.date:
    return datetime.date(int(number18[6:10]), int(number18[10:12]), int(number18[12:14]))


def _widen(number15: str) -> str:
    """The first 17 characters of the 18-character form of a 15-character input."""
    return number15[:6] + "19" + number15[6:]


def _today() -> datetime.date:
    return datetime.datetime.now(tz=_CHINA_TIME).date()


def _shape_error(number: str) -> IdError | None:
    if not number:
        return IdError("empty", "身份号码为空")
    if len(number) not in (_LENGTH, _OLD_LENGTH):
        return IdError("invalid_length", f"身份号码应为 18 位（或旧版 15 位），实际为 {len(number)} 位")
    return None


def _split(number: str) -> tuple[str, str | None]:
    """The first 17 characters of the 18-character form, and the check character if given."""
    if len(number) == _OLD_LENGTH:
        return _widen(number), None
    return number[:-1], number[-1]


def _format_error(first17: str, check: str | None) -> IdError | None:
    if _is_digits(first17) and (check is None or check in _CHECK_CHARACTERS):
        return None
    if check is None:
        return IdError("invalid_format", "15 位旧号码应全部为数字")
    return IdError("invalid_format", "前 17 位应为数字，最后一位应为数字或 X")


def _birth_date(digits: str, today: datetime.date) -> tuple[datetime.date | None, IdError | None]:
    if not _is_digits(digits):
        return None, None
    try:
        birth_date = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None, IdError("invalid_birth_date", f"出生日期 {digits} 不是有效日期")
    if birth_date > today:
        return birth_date, IdError("future_birth_date", f"出生日期 {birth_date.isoformat()} 晚于今天")
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        return birth_date, IdError(
            "invalid_birth_date",
            f"出生日期 {birth_date.isoformat()} 早于 {EARLIEST_BIRTH_YEAR} 年，不可能是在世公民",
        )
    return birth_date, None


def _birth_year(first17: str) -> int | None:
    """The year alone still dates the region code when month or day are wrong."""
    digits = first17[6:10]
    return int(digits) if _is_digits(digits) else None


def _abolished_error(code: str, birth_year: int) -> IdError:
    entries = regions.entries_for(code)
    # Every entry has an end year here, otherwise the code would be valid.
    abolished = max(entry.end_year or 0 for entry in entries)
    return IdError(
        "region_abolished",
        f"地址码 {code}（{regions.name_for(code)}）已于 {abolished} 年撤销，"
        f"不可能属于 {birth_year} 年出生的人",
    )


# Bulk imports repeat a few hundred codes and birth years a million times;
# caching the verdict keeps region lookups off the per-row cost.
@functools.lru_cache(maxsize=1 << 16)
def _region(code: str, birth_year: int | None) -> tuple[str | None, IdError | None]:
    """The full region name and the region error, if any."""
    if not regions.entries_for(code):
        return None, IdError("unknown_region", f"地址码 {code} 不存在")
    name = regions.full_name(code, birth_year)
    if birth_year is not None and not regions.is_valid_for_birth_year(code, birth_year):
        return name, _abolished_error(code, birth_year)
    return name, None


def _checksum_error(first17: str, check: str | None) -> IdError | None:
    if check is None:
        return None
    expected = check_digit(first17)
    return None if check == expected else IdError("invalid_checksum", f"校验码错误，应为 {expected}")


def _sex(sequence: str) -> str | None:
    if not _is_digits(sequence):
        return None
    return SEX_MALE if int(sequence) % 2 else SEX_FEMALE


def _invalid(raw: str, error: IdError) -> IdNumberInfo:
    return IdNumberInfo(raw, False, None, None, None, None, None, (error,))


def parse(raw: str, *, today: datetime.date | None = None) -> IdNumberInfo:
    """Read every part of ``raw`` and collect every error that can be found.

    Parts that can be read are returned even when the number is invalid, so
    the clerk sees e.g. the birth date of a number with a typo in it.
    """
    number = normalize(raw)
    shape_error = _shape_error(number)
    if shape_error is not None:
        return _invalid(raw, shape_error)
    first17, check = _split(number)
    format_error = _format_error(first17, check)
    birth_date, date_error = _birth_date(first17[6:14], today if today is not None else _today())
    region_code = first17[:6] if _is_digits(first17[:6]) else None
    region_name, region_error = _region(region_code, _birth_year(first17)) if region_code else (None, None)
    checksum_error = None if format_error else _checksum_error(first17, check)
    errors = tuple(
        error for error in (format_error, date_error, region_error, checksum_error) if error is not None
    )
    return IdNumberInfo(
        input=raw,
        valid=not errors,
        normalized=None if format_error else first17 + (check or check_digit(first17)),
        region_code=region_code,
        region_name=region_name,
        birth_date=birth_date,
        sex=_sex(first17[14:]),
        errors=errors,
    )


def is_valid(raw: str, *, today: datetime.date | None = None) -> bool:
    return parse(raw, today=today).valid


def validate(raw: str, *, today: datetime.date | None = None) -> str:
    """The 18-character normalized number, or ``InvalidIdNumber``."""
    info = parse(raw, today=today)
    if not info.valid or info.normalized is None:
        raise InvalidIdNumber(info)
    return info.normalized
