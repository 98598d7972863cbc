"""居民身份证核查's pure rules (no Django): what a relying party is told about a card, what an
institution's key looks like, and the 统一社会信用代码 check (names are compared by core.typed).

A relying party learns one of five answers and nothing else. Whenever the name, the number or the
serial does not fit the register, the answer is 不一致 before anything about the card: an
institution that holds a number and a serial but not the name learns nothing about the card."""

from __future__ import annotations

import re
import secrets
from enum import StrEnum

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError


class Outcome(StrEnum):
    """The five answers of a check (核查结果)."""

    VALID = "valid"
    LOST = "lost"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    MISMATCH = "mismatch"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.VALID: "一致且有效",
    Outcome.LOST: "已挂失",
    Outcome.SUPERSEDED: "已换领作废",
    Outcome.EXPIRED: "已过期",
    Outcome.MISMATCH: "不一致",
}
OUTCOME_CHOICES = [(outcome.value, label) for outcome, label in OUTCOME_LABELS.items()]

# A card's current state (registry Card.State values and `expired`) → the answer, once the name,
# the number and the serial have matched. 注销 (cancelled) counts as 作废 with a newer card's
# 换领: either way the card in the customer's hand no longer stands. A card made but not yet
# handed over (produced) is in nobody's hand: whoever shows it gets 不一致, like an unknown one.
_BY_STATE: dict[str, Outcome] = {
    "active": Outcome.VALID,
    "lost": Outcome.LOST,
    "superseded": Outcome.SUPERSEDED,
    "cancelled": Outcome.SUPERSEDED,
    "expired": Outcome.EXPIRED,
}


def outcome_for(card_state: str, *, name_matches: bool) -> Outcome:
    """The answer for a card in `card_state` (`unknown` when the number and serial name no card)."""
    if not name_matches:
        return Outcome.MISMATCH
    return _BY_STATE.get(card_state, Outcome.MISMATCH)


_SPACES = re.compile(r"\s+")


# ---------------------------------------------------------------------------------------------
# Keys: `tbk_<prefix>_<secret>`. The prefix (8 hex digits) finds the institution and is shown in
# lists; the secret (192 random bits) is what proves it. Only a keyed hash of the whole key is kept.

KEY_START = "tbk_"
_KEY = re.compile(r"^tbk_([0-9a-f]{8})_([A-Za-z0-9_-]{32})$")


def new_key() -> tuple[str, str]:
    """A fresh key and its prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_START}{prefix}_{secrets.token_urlsafe(24)}", prefix


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, None for anything else."""
    match = _KEY.match(key)
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character over the first 17.


def credit_code_problem(raw: str) -> tuple[str, str | None]:
    """The code as kept (upper case, no spaces) and what is wrong with it, in Chinese, or None."""
    code = _SPACES.sub("", raw).upper()
    if not code:
        return code, "请填写统一社会信用代码。"
    try:
        uscc.validate(code)
    except ValidationError as error:
        if len(code) != 18:
            return code, "统一社会信用代码应为 18 位。"
        if isinstance(error, InvalidChecksum):
            return code, "统一社会信用代码校验位不正确，请核对。"
        return code, "统一社会信用代码格式不正确（不使用 I、O、Z、S、V）。"
    return code, None
