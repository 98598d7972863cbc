"""The pure rules of 居民身份证核查: the answer for each card state, keys, credit codes."""

from __future__ import annotations

import pytest

from tongban.cardcheck import rules
from tongban.cardcheck.rules import Outcome


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("active", Outcome.VALID),
        ("lost", Outcome.LOST),
        ("superseded", Outcome.SUPERSEDED),
        ("cancelled", Outcome.SUPERSEDED),
        ("expired", Outcome.EXPIRED),
        ("produced", Outcome.MISMATCH),  # made, never handed over: in nobody's hand
        ("unknown", Outcome.MISMATCH),
    ],
)
def test_each_card_state_gives_one_answer(state: str, expected: Outcome) -> None:
    assert rules.outcome_for(state, name_matches=True) == expected


@pytest.mark.parametrize("state", ["active", "lost", "superseded", "expired"])
def test_a_wrong_name_says_nothing_about_the_card(state: str) -> None:
    assert rules.outcome_for(state, name_matches=False) == Outcome.MISMATCH


def test_the_five_labels() -> None:
    assert [o.label for o in Outcome] == ["一致且有效", "已挂失", "已换领作废", "已过期", "不一致"]


def test_a_key_names_its_prefix() -> None:
    key, prefix = rules.new_key()
    assert key.startswith(f"tbk_{prefix}_") and len(key) == 45
    assert rules.key_prefix(key) == prefix
    assert rules.new_key()[0] != key
    for bad in ("", "tbk_", key[:-1], key + "x", "Token " + key, key.replace("tbk_", "tbx_")):
        assert rules.key_prefix(bad) is None


def test_credit_codes_are_checked_per_gb_32100() -> None:
    assert rules.credit_code_problem(" 91360100705520351r ") == ("91360100705520351R", None)
    assert rules.credit_code_problem("91360100705520351A")[1] == "统一社会信用代码校验位不正确，请核对。"
    assert rules.credit_code_problem("9136010070552035")[1] == "统一社会信用代码应为 18 位。"
    assert rules.credit_code_problem("")[1] == "请填写统一社会信用代码。"
    assert "格式不正确" in str(rules.credit_code_problem("9136010070552035IR")[1])
