"""Masking of personal data for lists, logs and anything not a full, audited record view."""

from __future__ import annotations

import re

# 18-digit numbers (last may be X) and old 15-digit ones, not inside longer digit runs
# (so 22-digit acceptance numbers are left alone).
_ID_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6})([0-9]{8}|[0-9]{5})([0-9]{3}[0-9Xx]|[0-9]{4})(?![0-9Xx])")


def mask_id_number(number: str) -> str:
    """`360102199001011234` → `360102********1234`: region and last four stay readable so a
    clerk can tell records apart without the birth date being shown."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_name(name: str) -> str:
    """`张三丰` → `张*丰`, `李四` → `李*`."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_numbers_in_text(text: str) -> str:
    return _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
