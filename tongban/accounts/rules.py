"""Rules for staff accounts (账号), shared by the CSV import, the API and the pages. Pure Python:
no Django import.

Each check returns the normalised value and, when the value is refused, a `Problem` with a machine
code and a Chinese message; callers collect them per field.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from tongban.accounts.roles import ROLE_LABELS, Role

# Which kind of unit each role works at (the `Unit.Kind` values). A 受理员 accepts at a station's
# counter; a 制证中心操作员 works only at a production centre; a 审核签发员 sits wherever a review
# chain has a step (station, county bureau, city 复核); a 分发发放员 hands cards over at a station
# and, in a campaign, checks and forwards them at the county bureau; supervision, finance, civil
# affairs and administration are county level and above; a campaign is run by a city (or the
# province); auditors sit at the province or a city.
ROLE_UNIT_KINDS: dict[Role, frozenset[str]] = {
    Role.CLERK: frozenset({"station"}),
    Role.REVIEWER: frozenset({"station", "county", "city"}),
    Role.CENTRE_OPERATOR: frozenset({"centre"}),
    Role.DISTRIBUTOR: frozenset({"station", "county"}),
    Role.SUPERVISOR: frozenset({"province", "city", "county"}),
    Role.FINANCE: frozenset({"province", "city", "county"}),
    Role.CIVIL_AFFAIRS: frozenset({"province", "city", "county"}),
    Role.CAMPAIGN_MANAGER: frozenset({"province", "city"}),
    Role.AUDITOR: frozenset({"province", "city"}),
    Role.ADMIN: frozenset({"province", "city", "county"}),
}

# Lower-case ASCII letters, digits, "_", "." and "-", starting with a letter or digit: what staff
# type on any keyboard and what a 警号 (all digits) or a pinyin name looks like.
USERNAME_MIN, USERNAME_MAX = 3, 30
_USERNAME = re.compile(rf"^[a-z0-9][a-z0-9_.\-]{{{USERNAME_MIN - 1},{USERNAME_MAX - 1}}}$")
NAME_MAX = 30
# Han characters (with the extension blocks), Latin letters, the middle dot of minority and
# transliterated names (买买提·艾力), spaces.
_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z·•・. ]+$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
# Area code (3-4 digits starting with 0), number (7-8 digits), optional extension (-123 or 转123).
_LANDLINE = re.compile(r"^(0[0-9]{2,3})-?([0-9]{7,8})(?:(?:-|转)([0-9]{1,6}))?$")

# Compound surnames (复姓) kept whole when a full name is split into 姓 and 名.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "太史",
        "端木",
        "上官",
        "司马",
        "东方",
        "独孤",
        "南宫",
        "万俟",
        "闻人",
        "夏侯",
        "诸葛",
        "尉迟",
        "公羊",
        "赫连",
        "澹台",
        "皇甫",
        "宗政",
        "濮阳",
        "公冶",
        "太叔",
        "申屠",
        "公孙",
        "慕容",
        "仲孙",
        "钟离",
        "长孙",
        "宇文",
        "司徒",
        "鲜于",
        "司空",
        "闾丘",
        "子车",
        "亓官",
        "司寇",
        "巫马",
        "公西",
        "颛孙",
        "壤驷",
        "公良",
        "漆雕",
        "乐正",
        "宰父",
        "谷梁",
        "拓跋",
        "夹谷",
        "轩辕",
        "令狐",
        "段干",
        "百里",
        "呼延",
        "东郭",
        "南门",
        "羊舌",
        "微生",
        "公户",
        "公玉",
        "公仪",
        "梁丘",
        "公仲",
        "公上",
        "公门",
        "公山",
        "公坚",
        "左丘",
        "公伯",
        "西门",
        "公祖",
        "第五",
        "公乘",
        "贯丘",
        "公皙",
        "南荣",
        "东里",
        "东宫",
        "仲长",
        "子书",
        "子桑",
        "即墨",
        "达奚",
        "褚师",
    }
)

# Activation codes: 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown in
# groups of four. 31**12 ≈ 2**59: with the login lockout and a validity of days, guessing is hopeless.
ACTIVATION_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACTIVATION_LENGTH = 12


@dataclass(frozen=True)
class Problem:
    code: str
    message: str


def check_username(raw: str) -> tuple[str, Problem | None]:
    """Usernames are stored in lower case; `ZhangSan` and `zhangsan` are one account."""
    username = raw.strip().lower()
    if not username:
        return username, Problem("bad_username", "用户名不能为空。")
    if not _USERNAME.match(username):
        return username, Problem(
            "bad_username",
            f"用户名“{raw.strip()[:40]}”不符合要求：{USERNAME_MIN}–{USERNAME_MAX} 位小写字母、数字或 _ . -，"
            "以字母或数字开头。",
        )
    return username, None


def check_name(raw: str) -> tuple[str, Problem | None]:
    name = " ".join(raw.split())
    if not name:
        return name, Problem("empty_name", "姓名不能为空。")
    if len(name) > NAME_MAX or not _NAME.match(name):
        return name, Problem(
            "bad_name", f"姓名“{name[:40]}”不符合要求：最多 {NAME_MAX} 个汉字或字母，不含数字和符号。"
        )
    return name, None


def check_phone(raw: str) -> tuple[str, Problem | None]:
    """Empty, a mobile number (`13907910000`, `+86 139 0791 0000`) or a landline with area code
    (`0791-86201234`, `079186201234转123`); stored without spaces, `+86` dropped."""
    phone = re.sub(r"[\s\u3000]", "", raw).replace("－", "-").replace("—", "-")
    if not phone:
        return "", None
    if phone.startswith("+86"):
        phone = phone[3:].lstrip("-")
    if _MOBILE.match(phone):
        return phone, None
    landline = _LANDLINE.match(phone)
    if landline:
        area, number, extension = landline.groups()
        return f"{area}-{number}" + (f"转{extension}" if extension else ""), None
    return phone, Problem(
        "bad_phone",
        f"电话“{raw.strip()[:40]}”格式不正确：应为 11 位手机号或带区号的固定电话（如 0791-86201234）。",
    )


_ROLES_BY_TEXT: dict[str, Role] = {
    **{role.value: role for role in Role},
    **{label: role for role, label in ROLE_LABELS.items()},
}


def parse_role(raw: str) -> tuple[Role | None, Problem | None]:
    """A role by its code (`clerk`) or its Chinese name (受理员)."""
    text = raw.strip()
    role = _ROLES_BY_TEXT.get(text) or _ROLES_BY_TEXT.get(text.lower())
    if role is None:
        names = "、".join(ROLE_LABELS.values())
        shown = f"“{text[:40]}”" if text else "（空）"
        return None, Problem("unknown_role", f"角色{shown}不存在，应为：{names}（或其英文代码）。")
    return role, None


def role_allowed_at(role: Role, unit_kind: str) -> bool:
    return unit_kind in ROLE_UNIT_KINDS[role]


def split_name(name: str) -> tuple[str, str]:
    """(姓, 名) of a Chinese full name; names with a middle dot or Latin letters stay whole in 姓."""
    if len(name) < 2 or not all("\u3400" <= char <= "\u9fff" for char in name):
        return name, ""
    surname_length = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
    return name[:surname_length], name[surname_length:]


def new_activation_code() -> str:
    raw = "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(ACTIVATION_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, ACTIVATION_LENGTH, 4))


def normalize_activation_code(text: str) -> str:
    """What the user typed, as stored: upper case, spaces and hyphens dropped."""
    return re.sub(r"[\s\-]", "", text).upper()


def looks_like_activation_code(text: str) -> bool:
    code = normalize_activation_code(text)
    return len(code) == ACTIVATION_LENGTH and all(char in ACTIVATION_ALPHABET for char in code)
