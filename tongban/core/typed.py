"""What a member of the public types to prove they know a record — the applicant's name, the last
six characters of the 公民身份号码 — compared with the register's, one way for every public door
(办理进度查询, 网上预约, 电子证照, 居民身份证核查). Pure Python.

Names: full-width forms folded (NFKC), every way a phone's keyboard types the middle dot of
minority and transliterated names (买买提·艾力: interpunct, bullet, katakana middle dot, full stop,
hyphenation point, dot operator …) read as U+00B7, spaces dropped (typed around the dot, or an
ideographic space), Latin letters in one case. The dot itself stays part of the name.

Comparisons run in constant time, as a password's does: the answer's time says nothing about how
much of what was typed was right."""

from __future__ import annotations

import hmac
import re
import unicodedata

_DOTS = re.compile("[\u00b7\u2022\u2027\u2219\u22c5\u30fb\uff65\u318d\u0387\u16eb\u2e31\uff0e.]")
_SPACES = re.compile(r"\s+")
ID_SUFFIX_LENGTH = 6
_ID_SUFFIX = re.compile(r"^[0-9]{5}[0-9X]$")


def normalized_name(name: str) -> str:
    text = _DOTS.sub("\u00b7", unicodedata.normalize("NFKC", name))
    return _SPACES.sub("", text).casefold()


def names_match(registered: str, typed: str) -> bool:
    """Whether `typed` is the register's name (an empty one never is)."""
    wanted = normalized_name(typed)
    return bool(wanted) and hmac.compare_digest(normalized_name(registered).encode(), wanted.encode())


def normalized_id_suffix(text: str) -> str:
    """Trimmed, upper case, full-width digits (a Chinese keyboard's) as ASCII."""
    return unicodedata.normalize("NFKC", text).strip().upper()


def is_id_suffix(text: str) -> bool:
    """Six characters: five digits and a digit or X (either case, either width)."""
    return bool(_ID_SUFFIX.match(normalized_id_suffix(text)))


def id_suffix_matches(id_number: str, typed: str) -> bool:
    """Whether `typed` is the last six characters of `id_number`."""
    expected = id_number[-ID_SUFFIX_LENGTH:].upper() if len(id_number) >= ID_SUFFIX_LENGTH else ""
    wanted = normalized_id_suffix(typed)
    return bool(expected) and hmac.compare_digest(expected.encode(), wanted.encode())
