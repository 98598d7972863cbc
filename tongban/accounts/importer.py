"""`tongban users import FILE.csv`: create or update staff accounts from a roster.

Columns `username,name,role,unit,phone` (or 用户名,姓名,角色,单位,电话), in any order; the role by
its code or Chinese name, the unit by its code (docs/data-formats.md). Every row is checked on
its own and against the rest of the file (a username on two rows rejects both). A new account
gets no usable password but a one-time activation code, handed to the caller to print for the
administrator (docs/operations.md, 首次登录); an existing account (same username, any case) is
brought up to date; a row that matches its account changes nothing, so importing the same file
again leaves every row `unchanged`. One audit row per created or updated account, none for the rest.

The file is read whole (a province's roster is a few MB at most); accounts are written in chunks,
each one transaction that locks the chunk's existing accounts, with bulk inserts and updates.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from tongban.accounts import rules
from tongban.accounts.models import User
from tongban.accounts.roles import Role
from tongban.accounts.services import (
    account_summary,
    activation_issue,
    audit_changes,
    audit_summary,
    role_unit_problem,
)
from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, Entry, record_many
from tongban.registry.models import Unit

COLUMNS = ("username", "name", "role", "unit", "phone")
# Header names accepted for each column (the Chinese ones as a roster exported from a
# spreadsheet usually has them).
HEADER_ALIASES: dict[str, str] = {
    **{column: column for column in COLUMNS},
    "用户名": "username",
    "账号": "username",
    "姓名": "name",
    "角色": "role",
    "单位": "unit",
    "单位代码": "unit",
    "机构代码": "unit",
    "电话": "phone",
    "联系电话": "phone",
}
ENCODINGS = ("auto", "utf-8", "gb18030")
CHUNK = 1000


class UserImportError(ValueError):
    """The file as a whole cannot be imported (encoding, header); nothing was changed."""


@dataclass(frozen=True)
class Rejection:
    line: int
    code: str
    message: str
    row: dict[str, str]


@dataclass(frozen=True)
class IssuedCode:
    """A new account's activation code, for the administrator's hand-out file."""

    username: str
    name: str
    role_label: str
    unit_code: str
    unit_name: str
    code: str
    expires: datetime.datetime


@dataclass
class UserImportResult:
    encoding: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }


def decode(data: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(text, encoding used). `auto`: a UTF-8 byte-order mark or valid UTF-8 is UTF-8, anything
    else is read as GB18030 (the superset of GBK and GB2312 that spreadsheets save as "ANSI" on
    Chinese Windows). Chinese text in GB18030 is practically never valid UTF-8."""
    if encoding not in ENCODINGS:
        raise UserImportError(f"不支持的编码 {encoding}，应为 {'、'.join(ENCODINGS)}")
    if encoding in {"auto", "utf-8"}:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if encoding == "utf-8":
                line = data[: exc.start].count(b"\n") + 1
                raise UserImportError(
                    f"文件不是 UTF-8 编码（第 {line} 行），可用 --encoding gb18030"
                ) from exc
        else:
            return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode("gb18030").removeprefix("\ufeff"), "gb18030"
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UserImportError(f"文件既不是 UTF-8 也不是 GB18030 编码（第 {line} 行无法识别）") from exc


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip().removeprefix("\ufeff").strip() for cell in cells]
    columns: list[str] = []
    unknown = [name for name in names if name and name not in HEADER_ALIASES]
    if unknown:
        raise UserImportError(
            f"文件含有无法识别的列：{'、'.join(unknown)}"
            f"（应为 {','.join(COLUMNS)} 或 用户名,姓名,角色,单位,电话）"
        )
    columns = [HEADER_ALIASES.get(name, "") for name in names]
    repeated = sorted({c for c, n in Counter(c for c in columns if c).items() if n > 1})
    if repeated:
        raise UserImportError(f"列重复：{'、'.join(repeated)}")
    missing = [column for column in COLUMNS if column not in columns]
    if missing:
        raise UserImportError(
            f"文件缺少列：{'、'.join(missing)}（表头应为 {','.join(COLUMNS)} 或 用户名,姓名,角色,单位,电话）"
        )
    return columns


def read_rows(text: str) -> list[tuple[int, dict[str, str], bool]]:
    """(line, row by column, too many cells) for every non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UserImportError("文件为空：第一行应为表头 " + ",".join(COLUMNS)) from None
    except csv.Error as exc:
        raise UserImportError(f"表头无法读取：{exc}") from exc
    columns = _header(header)
    rows: list[tuple[int, dict[str, str], bool]] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            row = {column: "" for column in COLUMNS}
            for column, cell in zip(columns, cells, strict=False):
                if column:
                    row[column] = cell.strip()
            extra = any(cell.strip() for cell in cells[len(columns) :])
            rows.append((reader.line_num, row, extra))
    except csv.Error as exc:
        raise UserImportError(f"第 {reader.line_num} 行无法读取：{exc}") from exc
    return rows


@dataclass(frozen=True)
class _UnitInfo:
    pk: int
    code: str
    kind: str
    name: str


@dataclass
class _Candidate:
    line: int
    raw: dict[str, str]
    username: str
    name: str
    role: Role
    unit: _UnitInfo
    phone: str


def _check(
    line: int,
    raw: dict[str, str],
    extra: bool,
    units: dict[str, _UnitInfo],
    repeats: dict[str, list[int]],
) -> _Candidate | list[rules.Problem]:
    problems: list[rules.Problem] = []
    if extra:
        problems.append(rules.Problem("bad_row", "本行的列数多于表头。"))
    username, problem = rules.check_username(raw["username"])
    if problem:
        problems.append(problem)
    elif len(repeats.get(username, [])) > 1:
        lines = "、".join(str(n) for n in repeats[username])
        problems.append(
            rules.Problem(
                "duplicate_username", f"用户名 {username} 在文件中出现多次（第 {lines} 行），均未导入。"
            )
        )
    name, problem = rules.check_name(raw["name"])
    if problem:
        problems.append(problem)
    role, problem = rules.parse_role(raw["role"])
    if problem:
        problems.append(problem)
    phone, problem = rules.check_phone(raw["phone"])
    if problem:
        problems.append(problem)
    unit = units.get(raw["unit"])
    if unit is None:
        shown = f"“{raw['unit'][:20]}”" if raw["unit"] else "（空）"
        problems.append(rules.Problem("unknown_unit", f"机构代码{shown}不存在或已停用。"))
    elif role is not None:
        problem = role_unit_problem(role, unit.kind, unit.name)
        if problem:
            problems.append(problem)
    if problems or role is None or unit is None:
        return problems
    return _Candidate(line, raw, username, name, role, unit, phone)


@dataclass
class _ChunkOutcome:
    created: list[tuple[_Candidate, User, str]] = field(default_factory=list)
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)


class _Writer:
    def __init__(self, actor: AuditActor | None, source: dict[str, str]) -> None:
        self.actor = actor
        self.source = source

    def write(self, chunk: list[_Candidate]) -> _ChunkOutcome:
        # Two imports (or an import and an administrator) creating one username at once: the
        # loser's chunk is rolled back and classified again, now seeing the account.
        for attempt in range(3):
            try:
                with transaction.atomic():
                    return self._write(chunk)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _write(self, chunk: list[_Candidate]) -> _ChunkOutcome:
        names = [candidate.username for candidate in chunk]
        existing: dict[str, User] = {
            account.username.lower(): account
            for account in User.objects.select_for_update(of=("self",))
            .annotate(lowered=Lower("username"))
            .filter(lowered__in=names)
            .select_related("unit")
        }
        outcome = _ChunkOutcome()
        new: list[tuple[_Candidate, User, str]] = []
        changed: list[tuple[User, dict[str, list[str]]]] = []
        now = timezone.now()
        for candidate in chunk:
            found = existing.get(candidate.username)
            if found is None:
                surname, given = rules.split_name(candidate.name)
                account = User(
                    username=candidate.username,
                    last_name=surname,
                    first_name=given,
                    role=candidate.role.value,
                    unit_id=candidate.unit.pk,
                    phone=candidate.phone,
                    is_staff=candidate.role == Role.ADMIN,
                    date_joined=now,
                )
                code = activation_issue(account, now=now)
                new.append((candidate, account, code))
                continue
            if not found.is_active:
                outcome.rejections.append(
                    Rejection(
                        candidate.line,
                        "account_inactive",
                        f"账号 {found.username} 已停用：如需启用，请在账号管理中办理。",
                        candidate.raw,
                    )
                )
                continue
            before = account_summary(found)
            if found.get_full_name() != candidate.name:
                found.last_name, found.first_name = rules.split_name(candidate.name)
            found.role = candidate.role.value
            found.unit_id = candidate.unit.pk
            found.phone = candidate.phone
            if not found.is_superuser:
                found.is_staff = candidate.role == Role.ADMIN
            after = account_summary(found, unit_code=candidate.unit.code)
            if after != before:
                changes = audit_changes(before, after)
                changed.append((found, changes))
            else:
                outcome.unchanged += 1
        User.objects.bulk_create([account for _, account, _ in new], batch_size=500)
        User.objects.bulk_update(
            [account for account, _ in changed],
            ["last_name", "first_name", "role", "unit", "phone", "is_staff"],
            batch_size=500,
        )
        record_many(
            actor=self.actor,
            entries=[
                *(
                    Entry(
                        action=AuditAction.USER_CREATED,
                        object_type="user",
                        object_id=account.pk,
                        detail={
                            "username": account.username,
                            **audit_summary(account_summary(account, unit_code=candidate.unit.code)),
                            **self.source,
                        },
                    )
                    for candidate, account, _code in new
                ),
                *(
                    Entry(
                        action=AuditAction.USER_UPDATED,
                        object_type="user",
                        object_id=account.pk,
                        detail={"username": account.username, "changes": changes, **self.source},
                    )
                    for account, changes in changed
                ),
            ],
        )
        outcome.created = new
        outcome.updated = len(changed)
        return outcome


def import_users(
    path: Path,
    *,
    actor: AuditActor | None = None,
    encoding: str = "auto",
    chunk_size: int = CHUNK,
    on_codes: Callable[[list[IssuedCode]], None] | None = None,
) -> UserImportResult:
    """Import the roster at `path`. `on_codes` receives the activation codes of each committed
    chunk's new accounts (the command writes them to the hand-out file as they commit)."""
    data = path.read_bytes()
    text, used = decode(data, encoding)
    rows = read_rows(text)
    result = UserImportResult(encoding=used)
    units = {
        code: _UnitInfo(pk, code, kind, name)
        for pk, code, kind, name in Unit.objects.own()
        .filter(active=True)
        .values_list("pk", "code", "kind", "name")
    }
    repeats: dict[str, list[int]] = {}
    for line, raw, _extra in rows:
        username, problem = rules.check_username(raw["username"])
        if problem is None:
            repeats.setdefault(username, []).append(line)
    candidates: list[_Candidate] = []
    for line, raw, extra in rows:
        checked = _check(line, raw, extra, units, repeats)
        if isinstance(checked, _Candidate):
            candidates.append(checked)
        else:
            result.rejections.append(
                Rejection(line, ",".join(p.code for p in checked), "；".join(p.message for p in checked), raw)
            )
    source = {"source": "import", "file": path.name[:100], "sha256": hashlib.sha256(data).hexdigest()}
    writer = _Writer(actor, source)
    for start in range(0, len(candidates), chunk_size):
        outcome = writer.write(candidates[start : start + chunk_size])
        result.created += len(outcome.created)
        result.updated += outcome.updated
        result.unchanged += outcome.unchanged
        result.rejections.extend(outcome.rejections)
        if on_codes is not None and outcome.created:
            on_codes(
                [
                    IssuedCode(
                        username=user.username,
                        name=candidate.name,
                        role_label=candidate.role.label,
                        unit_code=candidate.unit.code,
                        unit_name=candidate.unit.name,
                        code=code,
                        expires=user.activation_expires or timezone.now(),
                    )
                    for candidate, user, code in outcome.created
                ]
            )
    result.rejections.sort(key=lambda rejection: rejection.line)
    result.rejected = len(result.rejections)
    return result


REPORT_HEADER = ["line", "reason_code", "reason", *COLUMNS]
CODES_HEADER = ["用户名", "姓名", "角色", "单位代码", "单位名称", "激活码", "有效期至"]


def write_report(rejections: list[Rejection], destination: Any) -> None:
    writer = csv.writer(destination)
    writer.writerow(REPORT_HEADER)
    for rejection in rejections:
        writer.writerow(
            [rejection.line, rejection.code, rejection.message, *(rejection.row[c] for c in COLUMNS)]
        )


def write_codes(codes: list[IssuedCode], destination: Any) -> None:
    writer = csv.writer(destination)
    for issued in codes:
        writer.writerow(
            [
                issued.username,
                issued.name,
                issued.role_label,
                issued.unit_code,
                issued.unit_name,
                issued.code,
                timezone.localtime(issued.expires).strftime("%Y-%m-%d %H:%M"),
            ]
        )
