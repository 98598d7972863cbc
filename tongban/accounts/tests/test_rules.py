"""The pure rules of staff accounts (no database)."""

from __future__ import annotations

import pytest

from tongban.accounts import rules
from tongban.accounts.roles import Role


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ZhangSan", "zhangsan"), (" 036512 ", "036512"), ("wang.xy-2", "wang.xy-2"), ("li_ming", "li_ming")],
)
def test_usernames_are_kept_in_lower_case(raw: str, expected: str) -> None:
    assert rules.check_username(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["", "ab", "_zhang", "张三", "zhang san", "a" * 31, "zhang@gov"])
def test_bad_usernames_are_refused(raw: str) -> None:
    _, problem = rules.check_username(raw)
    assert problem is not None and problem.code == "bad_username"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13907910000", "13907910000"),
        ("+86 139 0791 0000", "13907910000"),
        ("0791-86201234", "0791-86201234"),
        ("079186201234", "0791-86201234"),
        ("0797-8123456转123", "0797-8123456转123"),
        ("010-12345678-88", "010-12345678转88"),
        ("", ""),
    ],
)
def test_phones_are_normalised(raw: str, expected: str) -> None:
    assert rules.check_phone(raw) == (expected, None)


@pytest.mark.parametrize("raw", ["12345", "2390791000", "1390791000", "139079100001", "0791-123", "电话"])
def test_bad_phones_are_refused(raw: str) -> None:
    _, problem = rules.check_phone(raw)
    assert problem is not None and problem.code == "bad_phone" and "格式不正确" in problem.message


def test_names() -> None:
    assert rules.check_name("  王  晓燕 ") == ("王 晓燕", None)
    assert rules.check_name("买买提·艾力")[1] is None
    assert rules.check_name("")[1] == rules.Problem("empty_name", "姓名不能为空。")
    problem = rules.check_name("王晓燕2")[1]
    assert problem is not None and problem.code == "bad_name"
    assert rules.check_name("王" * 31)[1] is not None


def test_roles_by_code_or_chinese_name() -> None:
    assert rules.parse_role("clerk") == (Role.CLERK, None)
    assert rules.parse_role("Clerk") == (Role.CLERK, None)
    assert rules.parse_role(" 制证中心操作员 ") == (Role.CENTRE_OPERATOR, None)
    role, problem = rules.parse_role("警长")
    assert (
        role is None
        and problem is not None
        and problem.code == "unknown_role"
        and "受理员" in problem.message
    )


def test_role_table_covers_every_role() -> None:
    assert set(rules.ROLE_UNIT_KINDS) == set(Role)
    assert rules.role_allowed_at(Role.CLERK, "station")
    assert not rules.role_allowed_at(Role.CLERK, "county")
    assert rules.role_allowed_at(Role.CENTRE_OPERATOR, "centre")
    assert not rules.role_allowed_at(Role.CENTRE_OPERATOR, "station")
    assert not rules.role_allowed_at(Role.ADMIN, "station")


@pytest.mark.parametrize(
    ("name", "split"),
    [
        ("王晓燕", ("王", "晓燕")),
        ("欧阳修", ("欧阳", "修")),
        ("欧阳", ("欧", "阳")),
        ("买买提·艾力", ("买买提·艾力", "")),
    ],
)
def test_split_name(name: str, split: tuple[str, str]) -> None:
    assert rules.split_name(name) == split


def test_activation_codes() -> None:
    codes = {rules.new_activation_code() for _ in range(200)}
    assert len(codes) == 200
    code = codes.pop()
    assert len(code) == 14 and code.count("-") == 2
    assert rules.looks_like_activation_code(code.lower().replace("-", " "))
    assert not set(rules.normalize_activation_code(code)) & set("01ILO")
    assert not rules.looks_like_activation_code("Tongban@2026")
