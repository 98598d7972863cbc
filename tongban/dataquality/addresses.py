"""Address normalisation for matching the register to the civil-affairs house-number register
(民政地名门牌). Pure Python: no Django import.

Two spellings of one address must give one key: full-width characters folded (NFKC), spaces
and punctuation dropped, numbers written in Chinese turned into digits where they count
something (一百零三号 → 103号, 三栋 → 3栋, 五〇一室 → 501室), and the words for the parts unified
(幢 / 号楼 / 座 → 栋, 单元 kept, 房 / 户 → 室). Leading province, city and county names are
dropped, since one register writes them and the other does not; matching is within a county.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_DIGITS = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_NUMERAL = "零〇○一二两三四五六七八九十百千"
# A Chinese number directly before a counting word.
_COUNTED = re.compile(f"([{_NUMERAL}]+)(?=号|栋|幢|座|单元|层|楼|室|房|户|组|巷|弄|排)")
_PUNCTUATION = re.compile(r"[\s\-—_·•,，.。、;；:：()（）\[\]【】#＃/\\]")
_PARTS = (
    ("号楼", "栋"),
    ("幢", "栋"),
    ("座", "栋"),
    ("号房", "室"),
    ("房", "室"),
    ("户", "室"),
)


def chinese_number(text: str) -> int:
    """一百零三 → 103, 十二 → 12, 五〇一 → 501 (digit by digit when there is no 十/百/千)."""
    if not any(ch in _UNITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _DIGITS:
            current = _DIGITS[ch]
        else:
            total += (current or 1) * _UNITS[ch]
            current = 0
    return total + current


def _digits(match: re.Match[str]) -> str:
    return str(chinese_number(match.group(1)))


def normalise(address: str, *, drop_prefixes: Iterable[str] = ()) -> str:
    """The matching key of `address`."""
    text = unicodedata.normalize("NFKC", address)
    text = _PUNCTUATION.sub("", text)
    for prefix in drop_prefixes:
        if prefix and text.startswith(prefix):
            text = text[len(prefix) :]
    text = _COUNTED.sub(_digits, text)
    for old, new in _PARTS:
        text = text.replace(old, new)
    # "3号栋" and "3栋", "5号单元" and "5单元" are one thing.
    text = re.sub(r"(\d+)号(?=栋|单元)", r"\1", text)
    return text.upper()
