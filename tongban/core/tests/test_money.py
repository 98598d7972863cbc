"""大写 amounts as receipts print them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.core.money import DIGITS, amount_in_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("10", "壹拾元整"),
        ("17", "壹拾柒元整"),
        ("20", "贰拾元整"),
        ("40.00", "肆拾元整"),
        ("40.50", "肆拾元伍角"),
        ("1.05", "壹元零伍分"),
        ("0.05", "伍分"),
        ("0.5", "伍角"),
        ("1004", "壹仟零肆元整"),
        ("1040", "壹仟零肆拾元整"),
        ("10001", "壹万零壹元整"),
        ("100000", "壹拾万元整"),
        ("1000100", "壹佰万零壹佰元整"),
        ("22270000", "贰仟贰佰贰拾柒万元整"),  # 1,310,000 cards × 17 yuan
        ("100000001", "壹亿零壹元整"),
        ("100001000", "壹亿零壹仟元整"),
        ("1234567.89", "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"),
    ],
)
def test_amounts_in_words(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words


@pytest.mark.parametrize("amount", ["-1", "0.001", "NaN", "1000000000000"])
def test_what_is_not_an_amount_is_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        amount_in_words(Decimal(amount))


@given(st.integers(0, 10**12 - 1))
def test_every_amount_reads_cleanly(fen: int) -> None:
    words = amount_in_words(Decimal(fen) / 100)
    assert words == "零元整" or ("零零" not in words and not words.startswith("零"))
    assert "零元" not in words or words == "零元整"
    assert words.endswith(("整", "角", "分"))
    assert all(ch in DIGITS + "拾佰仟万亿元角分整" for ch in words)
    # Every digit of the amount that is not 0 appears, in order.
    assert [ch for ch in words if ch in DIGITS[1:]] == [DIGITS[int(d)] for d in str(fen) if d != "0"]
