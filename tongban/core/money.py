"""Amounts of money as receipts print them. Pure Python.

`amount_in_words` writes an amount in 大写 (the capital numerals of receipts and vouchers), after
the People's Bank rules for filling in bills (正确填写票据和结算凭证的基本规定): 壹拾 for ten, one 零
for any run of zeros inside the number, 整 after 元 when there are no 角 or 分, 零 between 元 and 分
when there are no 角.
"""

from __future__ import annotations

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("仟", "佰", "拾", "")
_GROUPS = ("", "万", "亿")


def _group(value: int) -> str:
    """1…9999 without leading zeros; inner zeros as one 零."""
    words, zero, started = "", False, False
    for digit, place in zip(f"{value:04d}", _PLACES, strict=True):
        if digit == "0":
            zero = zero or started
            continue
        if zero:
            words += "零"
            zero = False
        words += DIGITS[int(digit)] + place
        started = True
    return words


def _integer(value: int) -> str:
    groups = []
    while value:
        value, group = divmod(value, 10_000)
        groups.append(group)
    words, gap = "", False
    for index in reversed(range(len(groups))):
        group = groups[index]
        if group == 0:
            gap = gap or bool(words)
            continue
        if words and (gap or group < 1000):
            words += "零"
        words += _group(group) + _GROUPS[index]
        gap = False
    return words


def amount_in_words(amount: Decimal) -> str:
    """20 → 贰拾元整, 0 → 零元整, 40.50 → 肆拾元伍角, 1.05 → 壹元零伍分, 100100 → 壹拾万零壹佰元整.
    Raises ValueError for a negative amount, a fraction of a 分, or a trillion yuan and more."""
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount of money: {amount}")
    fen_total = amount * 100
    if fen_total != fen_total.to_integral_value():
        raise ValueError(f"an amount is counted in whole 分: {amount}")
    yuan, rest = divmod(int(fen_total), 100)
    jiao, fen = divmod(rest, 10)
    if yuan >= 10**12:
        raise ValueError(f"amount too large: {amount}")
    words = _integer(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return (words or "零元") + "整"
    if jiao:
        words += DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += DIGITS[fen] + "分"
    return words
