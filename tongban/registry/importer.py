"""`tongban registry import`: load people into the register from the documented CSV.

Columns: `csvformat.COLUMNS` (docs/data-formats.md).

Every row is checked on its own (ID number, agreement with birth date and sex, known codes and
station) and against the rest of the file (one number for different people is 重号: all such
rows are rejected). Good rows are inserted or, for a number already registered to the same
person, updated; identical rows change nothing, so re-importing a file is harmless. Rows that
would change a person's name, sex or birth date are rejected: those are corrections with
approval, not imports.

`keep_defects=True` (`--keep-defects`) loads an existing register as it is, for the clean-up
(tongban.dataquality): rows whose number is wrong (错号: invalid, or disagreeing with the birth
date or sex) or shared by different people (重号, in the file or with the register) are loaded
unchanged and listed as *flagged* in the report, never dropped and never repaired; a person is
then recognised by number, name, sex and birth date together, so re-importing stays harmless.

The whole file is read twice: the first pass keeps one integer pair per number to find in-file
duplicates (about 130 bytes each, the only memory that grows with the file), the second
validates and writes in chunks. A million rows take about a minute or two
(bench/README.md).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.core import idnumber
from tongban.registry.csvformat import COLUMNS
from tongban.registry.models import Ethnicity, HouseholdRelation, Person, Sex, Unit

REQUIRED = ("id_number", "name", "sex", "ethnicity", "birth_date", "address", "registration_unit")
# Problems of the number itself: refused by a normal import, loaded and flagged with keep_defects.
NUMBER_DEFECTS = frozenset({"invalid_id_number", "birth_date_mismatch", "sex_mismatch"})
# Fields an import may bring up to date for a person already in the register.
UPDATABLE = ("address", "household_no", "relation_id", "registration_unit_id", "region_code")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (wrong columns, unreadable encoding)."""


@dataclass(frozen=True)
class Rejection:
    line: int
    code: str
    message: str
    row: dict[str, str]


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    # keep_defects only: rows loaded as they are although their number is wrong or shared.
    keep_defects: bool = False
    flagged: int = 0
    flags: list[Rejection] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
        }
        if self.keep_defects:
            counts["flagged"] = self.flagged
        return counts


@dataclass(frozen=True)
class _Candidate:
    line: int
    raw: dict[str, str]
    values: dict[str, Any]


class _CodeBook:
    """The code tables and stations, loaded once per import."""

    def __init__(self) -> None:
        self.sexes = set(Sex.objects.filter(active=True).values_list("code", flat=True))
        self.ethnicities = set(Ethnicity.objects.filter(active=True).values_list("code", flat=True))
        self.relations = set(HouseholdRelation.objects.filter(active=True).values_list("code", flat=True))
        self.stations = {
            code: (pk, region)
            for code, pk, region in Unit.objects.stations()
            .filter(active=True)
            .values_list("code", "pk", "region_code")
        }


def _rows(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding=encoding, newline="") as handle:
            reader = csv.DictReader(handle)
            header = [(name or "").strip() for name in (reader.fieldnames or [])]
            missing = [name for name in COLUMNS if name not in header]
            if missing:
                raise ImportFileError(f"文件缺少列：{', '.join(missing)}（应为 {','.join(COLUMNS)}）")
            reader.fieldnames = header
            for row in reader:
                yield reader.line_num, {name: (row.get(name) or "").strip() for name in COLUMNS}
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"文件编码不是 {encoding}：{exc.reason}（可用 --encoding gb18030）") from exc
    except LookupError as exc:
        raise ImportFileError(f"未知的文件编码 {encoding}") from exc


_LOW_64 = (1 << 64) - 1


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest(), "big")


def _number_key(raw: str) -> int | str:
    """The normalised number as one exact integer (18 digits, X as 10): a million of them take
    ~130 MB in the first pass's map where strings and tuples took ~430 MB. Anything that is not
    a well-formed number keeps its text; such rows are rejected anyway."""
    number = idnumber.canonical(raw)
    if len(number) == 18 and number[:17].isdigit() and (number[17].isdigit() or number[17] == "X"):
        return int(number[:17]) * 11 + (10 if number[17] == "X" else int(number[17]))
    return number


def _conflicting_numbers(path: Path, encoding: str) -> dict[int | str, str]:
    """Numbers used by more than one differing row: → "duplicate" when the rows name different
    people (重号), "conflict" when the same person appears with differing details."""
    # Per number, one integer: the digest of the whole row (high 64 bits) and of who it names.
    first: dict[int | str, int] = {}
    conflicts: dict[int | str, str] = {}
    for _, row in _rows(path, encoding):
        key = _number_key(row["id_number"])
        if key == "":
            continue
        who = _digest(row["name"], row["birth_date"], row["sex"])
        signature = _digest(*(row[name] for name in COLUMNS)) << 64 | who
        seen = first.setdefault(key, signature)
        if seen != signature:
            kind = "duplicate" if seen & _LOW_64 != who else "conflict"
            if conflicts.get(key) != "duplicate":
                conflicts[key] = kind
    return conflicts


def _check_row(
    row: dict[str, str], book: _CodeBook, today: datetime.date, *, keep_defects: bool = False
) -> tuple[dict[str, Any], list[tuple[str, str]], list[tuple[str, str]]]:
    """(values to write, errors refusing the row, number defects loaded as they are)."""
    values, errors = _check_fields(row, book, today)
    if not keep_defects or not errors:
        return values, errors, []
    defects = [e for e in errors if e[0] in NUMBER_DEFECTS]
    errors = [e for e in errors if e[0] not in NUMBER_DEFECTS]
    number = idnumber.canonical(row["id_number"])
    if errors or not defects or not 0 < len(number) <= 18:
        return {}, errors or defects, []
    values, rest = _check_fields({**row, "id_number": ""}, book, today)
    if [e for e in rest if e[0] != "missing_field"]:
        return {}, rest, []
    station = book.stations[row["registration_unit"]]
    return (
        {
            "id_number": number,
            "name": row["name"],
            "sex_id": row["sex"],
            "ethnicity_id": _code(row["ethnicity"]),
            "birth_date": datetime.date.fromisoformat(row["birth_date"]),
            "address": row["address"],
            "household_no": row["household_no"],
            "relation_id": (row["relation"].zfill(2) if row["relation"].isdigit() else row["relation"])
            or None,
            "registration_unit_id": station[0],
            "region_code": station[1],
        },
        [],
        defects,
    )


def _code(text: str) -> str:
    return text.zfill(2) if text.isdigit() else text


def _check_fields(
    row: dict[str, str], book: _CodeBook, today: datetime.date
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    for name in REQUIRED:
        if not row[name]:
            errors.append(("missing_field", f"{name} 不能为空"))
    info = idnumber.parse(row["id_number"], today=today) if row["id_number"] else None
    if info is not None and not info.valid:
        errors.append(("invalid_id_number", "公民身份号码无效：" + "；".join(e.message for e in info.errors)))
    birth_date = None
    if row["birth_date"]:
        try:
            birth_date = datetime.date.fromisoformat(row["birth_date"])
        except ValueError:
            errors.append(("invalid_birth_date", f"出生日期 {row['birth_date']} 不是有效的 YYYY-MM-DD 日期"))
    if info is not None and info.valid and birth_date is not None and info.birth_date != birth_date:
        errors.append(
            ("birth_date_mismatch", f"出生日期 {birth_date} 与公民身份号码中的 {info.birth_date} 不一致")
        )
    sex = row["sex"]
    if sex and sex not in book.sexes:
        errors.append(("unknown_sex", f"性别代码 {sex} 不存在"))
    elif sex and info is not None and info.valid and info.sex != sex:
        errors.append(
            (
                "sex_mismatch",
                f"性别代码 {sex} 与公民身份号码的顺序码（{'男' if info.sex == '1' else '女'}）不一致",
            )
        )
    ethnicity = row["ethnicity"].zfill(2) if row["ethnicity"].isdigit() else row["ethnicity"]
    if row["ethnicity"] and ethnicity not in book.ethnicities:
        errors.append(("unknown_ethnicity", f"民族代码 {row['ethnicity']} 不存在"))
    relation = row["relation"].zfill(2) if row["relation"].isdigit() else row["relation"]
    if relation and relation not in book.relations:
        errors.append(("unknown_relation", f"家庭关系代码 {row['relation']} 不存在"))
    station = book.stations.get(row["registration_unit"])
    if row["registration_unit"] and station is None:
        errors.append(("unknown_unit", f"户籍派出所代码 {row['registration_unit']} 不存在或不是派出所"))
    if errors or info is None or info.normalized is None or station is None:
        return {}, errors
    return {
        "id_number": info.normalized,
        "name": row["name"],
        "sex_id": sex,
        "ethnicity_id": ethnicity,
        "birth_date": birth_date,
        "address": row["address"],
        "household_no": row["household_no"],
        "relation_id": relation or None,
        "registration_unit_id": station[0],
        "region_code": station[1],
    }, []


_LOADED = "已按原样载入，待清理："


class _Importer:
    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.keep_defects = result.keep_defects

    def flag(self, line: int, raw: dict[str, str], defects: list[tuple[str, str]]) -> None:
        flags = self.result.flags
        if flags and flags[-1].line == line:  # a second finding on the same row
            last = flags.pop()
            defects = [
                *zip(last.code.split(","), last.message.removeprefix(_LOADED).split("；"), strict=True),
                *defects,
            ]
        else:
            self.result.flagged += 1
        flags.append(
            Rejection(
                line,
                ",".join(code for code, _ in defects),
                _LOADED + "；".join(msg for _, msg in defects),
                raw,
            )
        )

    def reject(self, line: int, raw: dict[str, str], errors: list[tuple[str, str]]) -> None:
        self.result.rejected += 1
        self.result.rejections.append(
            Rejection(line, ",".join(code for code, _ in errors), "；".join(msg for _, msg in errors), raw)
        )

    @transaction.atomic
    def write(self, chunk: list[_Candidate]) -> None:
        # A number may already be shared (重号) in the register: every holder is a candidate.
        existing: dict[str, list[dict[str, Any]]] = {}
        for row in Person.objects.filter(id_number__in=[c.values["id_number"] for c in chunk]).values(
            "pk", "id_number", "name", "sex_id", "birth_date", "ethnicity_id", *UPDATABLE
        ):
            existing.setdefault(row["id_number"], []).append(row)
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for candidate in chunk:
            values = candidate.values
            who = (values["id_number"], values["name"], values["sex_id"], values["birth_date"])
            key = who if self.keep_defects else (values["id_number"],)
            if key in seen:  # an identical repeat of a row earlier in this file
                self.result.unchanged += 1
                continue
            seen.add(key)
            holders = existing.get(values["id_number"], [])
            same = [h for h in holders if (h["id_number"], h["name"], h["sex_id"], h["birth_date"]) == who]
            current = same[0] if same else (holders[0] if holders else None)
            if current is None or (self.keep_defects and not same):
                if current is not None:  # loaded as it is: a 重号 with the register, for the clean-up
                    self.flag(
                        candidate.line,
                        candidate.raw,
                        [("duplicate_in_register", "重号：该号码已登记给姓名、性别或出生日期不同的人员")],
                    )
                new.append(values)
                continue
            if not same:
                self.reject(
                    candidate.line,
                    candidate.raw,
                    [
                        (
                            "duplicate_in_register",
                            "重号：该号码已登记给姓名、性别或出生日期不同的人员，须走重号更正程序",
                        )
                    ],
                )
                continue
            if current["ethnicity_id"] != values["ethnicity_id"]:
                self.reject(
                    candidate.line,
                    candidate.raw,
                    [("registered_item_change", "民族与户籍登记不一致：变更登记项目须走更正审批程序")],
                )
                continue
            if all(current[f] == values[f] for f in UPDATABLE):
                self.result.unchanged += 1
                continue
            changed.append({**values, "pk": current["pk"]})
        _insert(new)
        _update(changed)
        self.result.imported += len(new)
        self.result.updated += len(changed)


# Rows are written with one prepared statement per chunk (executemany). The ORM's bulk_create
# compiles every batch anew and, on SQLite, its 999-parameter limit makes a batch ~70 rows:
# measured, that compilation was 60% of the import's time.
_INSERTED = (
    "id_number",
    "name",
    "sex",
    "ethnicity",
    "birth_date",
    "address",
    "household_no",
    "relation",
    "registration_unit",
    "region_code",
    "status",
    "created_at",
    "updated_at",
)


def _columns(names: tuple[str, ...]) -> list[str]:
    fields = {field.name: field for field in Person._meta.concrete_fields}
    return [connection.ops.quote_name(fields[name].column) for name in names]


def _insert(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Person._meta.db_table)
    columns = _columns(_INSERTED)
    placeholders = ", ".join(["%s"] * len(columns))
    # Identifiers come from the model's metadata, quoted; every value is a parameter.
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    normal = Person.Status.NORMAL.value
    params = [
        (
            v["id_number"],
            v["name"],
            v["sex_id"],
            v["ethnicity_id"],
            connection.ops.adapt_datefield_value(v["birth_date"]),
            v["address"],
            v["household_no"],
            v["relation_id"],
            v["registration_unit_id"],
            v["region_code"],
            normal,
            now,
            now,
        )
        for v in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _update(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = connection.ops.quote_name(Person._meta.db_table)
    names = ("address", "household_no", "relation", "registration_unit", "region_code", "updated_at")
    assignments = ", ".join(f"{column} = %s" for column in _columns(names))
    sql = f"UPDATE {table} SET {assignments} WHERE {connection.ops.quote_name('id')} = %s"  # noqa: S608
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params = [
        (
            v["address"],
            v["household_no"],
            v["relation_id"],
            v["registration_unit_id"],
            v["region_code"],
            now,
            v["pk"],
        )
        for v in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def import_people(
    path: Path,
    *,
    actor: AuditActor | None,
    encoding: str = "utf-8-sig",
    chunk_size: int = 5000,
    today: datetime.date | None = None,
    progress: Callable[[int], None] | None = None,
    keep_defects: bool = False,
) -> ImportResult:
    today = today or datetime.datetime.now(tz=datetime.UTC).astimezone().date()
    conflicts = _conflicting_numbers(path, encoding)
    book = _CodeBook()
    result = ImportResult(keep_defects=keep_defects)
    importer = _Importer(result)
    chunk: list[_Candidate] = []
    for line, raw in _rows(path, encoding):
        if progress is not None:
            progress(1)
        conflict = conflicts.get(_number_key(raw["id_number"]))
        shared: list[tuple[str, str]] = []
        if conflict == "duplicate":
            message = "重号：同一公民身份号码在文件中对应不同人员"
            if not keep_defects:
                importer.reject(line, raw, [("duplicate_in_file", message)])
                continue
            shared = [("duplicate_in_file", message)]
        if conflict == "conflict":
            importer.reject(line, raw, [("conflicting_rows", "同一公民身份号码在文件中出现多次且内容不一致")])
            continue
        values, errors, defects = _check_row(raw, book, today, keep_defects=keep_defects)
        if errors:
            importer.reject(line, raw, errors)
            continue
        if shared or defects:
            importer.flag(line, raw, shared + defects)
        chunk.append(_Candidate(line, raw, values))
        if len(chunk) >= chunk_size:
            importer.write(chunk)
            chunk = []
    if chunk:
        importer.write(chunk)
    result.rejections.sort(key=lambda r: r.line)
    result.flags.sort(key=lambda r: r.line)
    record(
        actor=actor,
        action=AuditAction.REGISTRY_IMPORT,
        object_type="file",
        object_id=path.name[:64],
        detail={"sha256": _file_digest(path), **result.counts()},
    )
    return result


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_report(rejections: list[Rejection], destination: io.TextIOBase | Any) -> None:
    writer = csv.writer(destination)
    writer.writerow(["line", "reason_code", "reason", *COLUMNS])
    for rejection in rejections:
        writer.writerow(
            [rejection.line, rejection.code, rejection.message, *(rejection.row[c] for c in COLUMNS)]
        )
