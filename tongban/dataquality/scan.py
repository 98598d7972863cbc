"""The set-based scan for 重号 and 错号 (and the stages that follow it).

The database does the per-row work: one GROUP BY finds numbers held by several people (重号),
and one statement per primary-key range picks every row whose number could be wrong (错号): bad
format, a check character that disagrees with ISO 7064 MOD 11-2 (computed in SQL), a date part
that differs from the registered birth date, a sequence parity that differs from the registered
sex, a region code unknown to GB/T 2260 or abolished before the birth year (a join on
`RegionValidity`), a birth date in the future or before 1880. Only those few candidate rows
come back to Python, where `core.idnumber.parse` gives the exact verdict and the messages, so
SQL may be generous but never lets a wrong number through, and Python keeps clean people out.
PostgreSQL runs an integer form of the 错号 statement (`suspect_sql_postgresql`: about half the CPU
a row, and it counts the rows for progress in the same pass); SQLite runs the portable form
(`suspect_sql`); both pick the same rows.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from tongban.core import idnumber, regions
from tongban.core.masking import mask_id_number
from tongban.dataquality.models import Case, CasePerson, RegionValidity, ScanRun
from tongban.registry.models import Person, Unit

Progress = Callable[[int], None]

# The stages of a run, in order; a run does those of its kinds.
# The household checks (户口核对) of one stage: centenarians without activity, people without a
# household, cancelled or deceased people still holding a valid card.
HOUSEHOLDS = "households"
STAGES: tuple[tuple[str, str], ...] = (
    ("duplicates", Case.Kind.DUPLICATE_NUMBER),
    ("numbers", Case.Kind.WRONG_NUMBER),
    ("names", Case.Kind.DOUBLE_BY_NAME),
    ("faces", Case.Kind.DOUBLE_BY_FACE),
    ("households", HOUSEHOLDS),
)
NUMBER_KINDS = (Case.Kind.DUPLICATE_NUMBER.value, Case.Kind.WRONG_NUMBER.value)
# What `tongban dataquality scan` looks for unless told: the register's identity problems. The
# household checks are lists of people to look at, asked for by name (`--kinds households`).
DEFAULT_KINDS = (*NUMBER_KINDS, Case.Kind.DOUBLE_BY_NAME.value, Case.Kind.DOUBLE_BY_FACE.value)
ALL_KINDS = (*DEFAULT_KINDS, HOUSEHOLDS)
FACE_RANGE = 5000  # keys per checkpoint of the face stage

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# remainder of the weighted sum mod 11 → check character (GB 11643)
_CHECK_CHARACTERS = "10X98765432"


def ensure_region_table() -> None:
    """Fill `RegionValidity` from GB/T 2260's history when it is missing or out of date."""
    last: dict[str, int | None] = {}
    for entry in regions.load_history():
        if entry.code in last and last[entry.code] is None:
            continue
        if entry.end_year is None:
            last[entry.code] = None
        else:
            last[entry.code] = max(entry.end_year, last.get(entry.code) or 0)
    if RegionValidity.objects.count() == len(last):
        return
    with transaction.atomic():
        RegionValidity.objects.all().delete()
        RegionValidity.objects.bulk_create(
            [RegionValidity(code=code, last_year=year) for code, year in last.items()], batch_size=2000
        )


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def suspect_sql(scoped: bool) -> str:
    """Rows of (lo, hi] whose number may be 错号 (the portable form, SQLite's); parameters: lo, hi,
    today, earliest."""
    pattern = "[0-9]" * 17 + "[0-9X]"
    # digit i (1-based) of the 17-digit integer n; the check is sum(w_i * d_i) mod 11
    digits = [f"(p.n / {10 ** (17 - i)} %% 10)" if i > 1 else f"(p.n / {10**16})" for i in range(1, 18)]
    weighted = " + ".join(f"{w} * {d}" for w, d in zip(_WEIGHTS, digits, strict=True))
    person = _q(Person._meta.db_table)
    validity = _q(RegionValidity._meta.db_table)
    scope = "AND registration_unit_id IN (SELECT id FROM scope_units)" if scoped else ""
    # The outer CASE tests in order, so nothing reads n of a malformed number.
    return f"""
        SELECT p.id, p.id_number
        FROM (
            SELECT id, id_number, birth_date, sex_id,
                   CASE WHEN id_number GLOB '{pattern}' THEN CAST(substr(id_number, 1, 17) AS BIGINT) END AS n
            FROM {person}
            WHERE id > %s AND id <= %s {scope}
        ) p
        LEFT JOIN {validity} r ON r.code = substr(p.id_number, 1, 6)
        WHERE CASE WHEN p.n IS NULL THEN 1
                   WHEN substr(p.id_number, 7, 8) <> replace(p.birth_date, '-', '') THEN 1
                   WHEN (CASE WHEN p.n %% 2 = 1 THEN '1' ELSE '2' END) <> p.sex_id THEN 1
                   WHEN substr('{_CHECK_CHARACTERS}', CAST(({weighted}) %% 11 AS INTEGER) + 1, 1)
                        <> substr(p.id_number, 18, 1) THEN 1
                   WHEN r.code IS NULL THEN 1
                   WHEN r.last_year IS NOT NULL AND r.last_year < p.n / 10000000 %% 10000 THEN 1
                   WHEN p.birth_date > %s OR p.birth_date < %s THEN 1
                   ELSE 0 END = 1
    """  # noqa: S608 - identifiers from model metadata; values are parameters


# The check of GB 11643 in four-digit groups: digits 2-5, 6-9, 10-13 and 14-17 of the number,
# each group's share of sum(w_i * d_i) looked up in a table of 4 x 10,000 (built per statement).
_GROUPS = tuple(_WEIGHTS[1 + 4 * k : 5 + 4 * k] for k in range(4))


def _group_table_sql() -> str:
    shares = " ".join(
        f"WHEN {k} THEN " + " + ".join(f"{w} * (g / {10 ** (3 - j)} %% 10)" for j, w in enumerate(weights))
        for k, weights in enumerate(_GROUPS)
    )
    return (
        f"(SELECT array_agg(CASE k {shares} END ORDER BY k, g) "  # noqa: S608 - constants
        "FROM generate_series(0, 3) k, generate_series(0, 9999) g)"
    )


def suspect_sql_postgresql(scoped: bool) -> str:
    """The rows of `suspect_sql`, with PostgreSQL's cheaper per-row arithmetic, as one row: how
    many rows of the range `_count` would count, and the suspects' ids in order (NULL for none);
    parameters: earliest, today, earliest, lo, hi, earliest, today. Counting in the same pass
    saves reading the range a second time for the run's progress.

    A row costs about half the CPU of the portable form (10M rows: ~8 s of CPU instead of ~15 s):
    - the number is read once as one bigint m: all 18 digits, or for an X check character
      -1 - (the 17 digits), so the check character is a value v (X = 10) and the whole check is
      integer arithmetic: (sum(w_i * d_i) + v) mod 11 = 1 (ISO 7064 MOD 11-2), with the sum
      taken from four lookups in a table of four-digit groups instead of 17 divisions;
    - the format test trims the digits off the number's bytes (`ltrim` of bytea: no per-character
      multibyte work, about half the cost of `ltrim` of text, a third of a regular expression);
    - the registered birth date is turned into YYYYMMDD by a lookup in a calendar of every day
      from `earliest` to `today` (built per statement) instead of `to_char`; a date outside it
      reads NULL and is caught by the last test (before `earliest` or after `today`)."""
    person = _q(Person._meta.db_table)
    validity = _q(RegionValidity._meta.db_table)
    scope = "AND registration_unit_id IN (SELECT id FROM scope_units)" if scoped else ""
    digits = r"'\x30313233343536373839'::bytea"
    calendar = (
        "(SELECT array_agg(CAST(to_char(d, 'YYYYMMDD') AS INTEGER) ORDER BY d) "
        "FROM generate_series(CAST(%s AS DATE), CAST(%s AS DATE), INTERVAL '1 day') d)"
    )
    # Rows counted for the run's progress: those of the scope, or for the province our population
    # (without the 外省户籍人员 registered at a counter), as `_count` counts them.
    units = _q(Unit._meta.db_table)
    external = f"SELECT id FROM {units} WHERE kind = '{Unit.Kind.EXTERNAL.value}'"  # noqa: S608
    counted = "TRUE" if scoped else f"p.registration_unit_id NOT IN ({external})"
    flagged = """CASE WHEN p.n IS NULL THEN 1
        WHEN x.days[p.birth_date - CAST(%s AS DATE) + 1] <> p.n / 1000 %% 100000000 THEN 1
        WHEN (CASE WHEN p.n %% 2 = 1 THEN '1' ELSE '2' END) <> p.sex_id THEN 1
        WHEN (7 * (p.n / 10000000000000000)
              + x.t[p.n / 1000000000000 %% 10000 + 1]
              + x.t[p.n / 100000000 %% 10000 + 10001]
              + x.t[p.n / 10000 %% 10000 + 20001]
              + x.t[p.n %% 10000 + 30001] + p.v) %% 11 <> 1 THEN 1
        WHEN r.code IS NULL THEN 1
        WHEN r.last_year IS NOT NULL AND r.last_year < p.n / 10000000 %% 10000 THEN 1
        WHEN p.birth_date > %s OR p.birth_date < %s THEN 1
        ELSE 0 END = 1"""
    # OFFSET 0 keeps each level from being merged into the next, so m, n and v are computed
    # once per row instead of at every use; the outer CASE tests in order, so nothing reads n of
    # a malformed number (m, n and v are NULL then).
    return f"""
        SELECT count(*) FILTER (WHERE {counted}), array_agg(p.id ORDER BY p.id) FILTER (WHERE {flagged})
        FROM (
            SELECT id, id_number, birth_date, sex_id, registration_unit_id,
                   CASE WHEN m >= 0 THEN m / 10 ELSE -1 - m END AS n,
                   CASE WHEN m >= 0 THEN m %% 10 ELSE 10 END AS v
            FROM (
                SELECT id, id_number, birth_date, sex_id, registration_unit_id,
                       CASE WHEN octet_length(id_number) = 18 THEN
                           CASE ltrim(convert_to(id_number, 'UTF8'), {digits})
                               WHEN '\\x'::bytea THEN CAST(id_number AS BIGINT)
                               WHEN '\\x58'::bytea THEN -1 - CAST(substr(id_number, 1, 17) AS BIGINT)
                           END
                       END AS m
                FROM {person}
                WHERE id > %s AND id <= %s {scope}
                OFFSET 0
            ) q
            OFFSET 0
        ) p
        CROSS JOIN (SELECT {calendar} AS days, {_group_table_sql()} AS t OFFSET 0) x
        LEFT JOIN {validity} r ON r.code = substr(p.id_number, 1, 6)
    """  # noqa: S608 - identifiers from model metadata; values are parameters


def _scope_cte(unit: Unit) -> tuple[str, list[Any]]:
    """A CTE naming the scope's units, or nothing for the province (the whole register)."""
    if unit.parent_id is None:
        return "", []
    table = _q(Unit._meta.db_table)
    return f"WITH scope_units AS (SELECT id FROM {table} WHERE path LIKE %s) ", [unit.path + "%"]  # noqa: S608


# ---------------------------------------------------------------------------------------------
# Verdicts (pure: given rows, say what is wrong)


@dataclass(frozen=True)
class Row:
    pk: int
    id_number: str
    name: str
    sex: str
    birth_date: datetime.date
    unit_id: int
    status: str


# GB/T 2261.1, as the evidence names them (the register keeps the codes).
SEX_NAMES = {"0": "未知的性别", "1": "男", "2": "女", "9": "未说明的性别"}


def number_errors(row: Row, today: datetime.date) -> list[dict[str, str]]:
    """Everything wrong with `row`'s number, as {code, message}; empty when the number is right."""
    info = idnumber.parse(row.id_number, today=today)
    errors = [e.to_dict() for e in info.errors]
    if not errors and info.normalized != row.id_number:
        errors.append(
            {"code": "not_normalized", "message": f"号码未按 18 位标准形式登记（应为 {info.normalized}）"}
        )
    if info.birth_date is not None and info.birth_date != row.birth_date:
        errors.append(
            {
                "code": "birth_date_mismatch",
                "message": f"号码中的出生日期 {info.birth_date} 与登记的 {row.birth_date} 不一致",
            }
        )
    if info.sex is not None and info.sex != row.sex:
        errors.append(
            {
                "code": "sex_mismatch",
                "message": f"号码第17位（顺序码）为{SEX_NAMES[info.sex]}性，"
                f"与登记的性别“{SEX_NAMES.get(row.sex, row.sex)}”不一致",
            }
        )
    return errors


# ---------------------------------------------------------------------------------------------
# Writing cases


@dataclass
class Finding:
    kind: str
    key: str
    person_ids: list[int]
    unit_ids: list[int]
    id_number: str
    evidence: dict[str, Any]


@dataclass
class _Units:
    """The unit tree in memory (a few thousand rows): the responsible unit of a finding."""

    by_pk: dict[int, Unit] = field(default_factory=dict)
    by_path: dict[str, Unit] = field(default_factory=dict)

    @classmethod
    def load(cls) -> _Units:
        units = list(Unit.objects.only("pk", "path", "code", "name", "parent_id"))
        return cls({u.pk: u for u in units}, {u.path: u for u in units})

    def responsible(self, unit_ids: Iterable[int]) -> Unit:
        paths = [self.by_pk[pk].path for pk in set(unit_ids)]
        common = paths[0]
        for path in paths[1:]:
            while not path.startswith(common):
                common = common[: common.rstrip("/").rfind("/") + 1]
        return self.by_path[common]

    def name(self, pk: int) -> str:
        return self.by_pk[pk].name


def save_findings(run: ScanRun | None, findings: Sequence[Finding], units: _Units) -> int:
    """Open new cases and refresh existing ones (one per kind and key). A case decided 误报
    stays closed; one marked 已处理 whose problem is still there opens again. Returns how many
    cases were opened or reopened."""
    if not findings:
        return 0
    opened = 0
    with transaction.atomic():
        kind = findings[0].kind
        existing = {
            c.key: c
            for c in Case.objects.select_for_update().filter(kind=kind, key__in=[f.key for f in findings])
        }
        new: list[Case] = []
        changed: list[Case] = []
        new_links: dict[int, list[int]] = {}  # id(case) → its people, for the new cases
        links: list[tuple[Case, list[int]]] = []
        for finding in findings:
            unit = units.responsible(finding.unit_ids)
            case = existing.get(finding.key)
            if case is None:
                case = Case(
                    kind=finding.kind,
                    key=finding.key,
                    unit=unit,
                    id_number=finding.id_number,
                    evidence=finding.evidence,
                    first_run=run,
                    last_run=run,
                )
                new.append(case)
                new_links[id(case)] = finding.person_ids
                opened += 1
                continue
            case.evidence, case.unit, case.last_run = finding.evidence, unit, run
            if case.status == Case.Status.RESOLVED:
                case.status = Case.Status.OPEN
                case.evidence = {**finding.evidence, "reopened": "已处理后复查仍存在，重新打开"}
                opened += 1
            changed.append(case)
            links.append((case, finding.person_ids))
        if connection.vendor == "postgresql":
            _insert_cases(new, new_links)  # links included
        else:
            Case.objects.bulk_create(new, batch_size=1000)
            links += [(case, new_links[id(case)]) for case in new]
        Case.objects.bulk_update(
            changed, ["evidence", "unit", "last_run", "status", "updated_at"], batch_size=1000
        )
        if changed:
            CasePerson.objects.filter(case__in=changed).delete()
        CasePerson.objects.bulk_create(
            [CasePerson(case=case, person_id=pk) for case, pks in links for pk in pks], batch_size=5000
        )
    return opened


def _insert_cases(cases: Sequence[Case], person_ids: Mapping[int, list[int]]) -> None:
    """Insert new cases and their links to people on PostgreSQL: one statement per 5,000 cases,
    the rows sent as one JSON document (`jsonb_to_recordset`) and the links inserted from the
    new ids in the same statement. `bulk_create` would build a model instance per link and send
    each column as an array, escaping every quote of every evidence document in Python: 2-3
    times the time of this for a scan's findings."""
    case_table, link_table = _q(Case._meta.db_table), _q(CasePerson._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(cases), 5000):
            batch = cases[start : start + 5000]
            rows = [
                {
                    "kind": case.kind,
                    "key": case.key,
                    "unit_id": case.unit_id,
                    "id_number": case.id_number,
                    "evidence": case.evidence,
                    "first_run_id": case.first_run_id,
                    "last_run_id": case.last_run_id,
                    "person_ids": person_ids[id(case)],
                }
                for case in batch
            ]
            cursor.execute(
                f"""
                WITH source AS MATERIALIZED (
                    SELECT * FROM jsonb_to_recordset(CAST(%s AS jsonb)) AS r(
                        kind text, key text, unit_id bigint, id_number text, evidence jsonb,
                        first_run_id bigint, last_run_id bigint, person_ids jsonb)
                ), inserted AS (
                    INSERT INTO {case_table} (kind, key, unit_id, id_number, evidence, status, decision,
                                              first_run_id, last_run_id, created_at, updated_at)
                    SELECT kind, key, unit_id, id_number, evidence, %s, '', first_run_id, last_run_id,
                           %s, %s
                    FROM source
                    RETURNING id, key
                ), linked AS (
                    INSERT INTO {link_table} (case_id, person_id)
                    SELECT inserted.id, CAST(person.value AS BIGINT)
                    FROM inserted
                    JOIN source ON source.key = inserted.key
                    CROSS JOIN LATERAL jsonb_array_elements_text(source.person_ids) AS person(value)
                )
                SELECT id, key FROM inserted
                """,  # noqa: S608 - identifiers from model metadata; values are parameters
                [
                    json.dumps(rows, ensure_ascii=False),
                    Case.Status.OPEN.value,
                    *[timezone.now()] * 2,
                ],
            )
            ids = dict((key, pk) for pk, key in cursor.fetchall())
            for case in batch:
                case.pk = ids[case.key]


def _rows(pks: Sequence[int]) -> list[Row]:
    out: list[Row] = []
    for start in range(0, len(pks), 900):
        out.extend(
            Row(*values)
            for values in Person.objects.filter(pk__in=pks[start : start + 900]).values_list(
                "pk", "id_number", "name", "sex_id", "birth_date", "registration_unit_id", "status"
            )
        )
    return out


def _person_evidence(row: Row, units: _Units, active: set[int]) -> dict[str, Any]:
    return {
        "person_id": row.pk,
        "name": row.name,
        "sex": row.sex,
        "birth_date": row.birth_date.isoformat(),
        "unit": units.name(row.unit_id),
        "status": row.status,
        "has_active_card": row.pk in active,
    }


def _active_cards(pks: Sequence[int]) -> set[int]:
    from tongban.registry.models import Card

    found: set[int] = set()
    for start in range(0, len(pks), 900):
        found.update(
            Card.objects.filter(person_id__in=pks[start : start + 900], state=Card.State.ACTIVE).values_list(
                "person_id", flat=True
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# Stages


def duplicate_numbers(unit: Unit, max_pk: int) -> list[str]:
    """Numbers held by more than one person (重号) of which at least one is in `unit`'s subtree.
    The register is grouped as a whole: the other holder may be registered anywhere.

    The numbers held twice are first found over the whole table, without the key bound, so the
    database can group the `id_number` index alone (on PostgreSQL an index-only scan, already in
    order: no hash table to spill to disk, no table row read; 4-5 times faster than grouping
    the rows up to `max_pk`); only those few are then counted again, through the same index,
    among the rows up to `max_pk` and with the scope (a row added since the run began holds no
    重号 of this run)."""
    person = _q(Person._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id_number FROM {person} GROUP BY id_number HAVING COUNT(*) > 1")  # noqa: S608
        candidates = sorted(number for (number,) in cursor.fetchall())
    cte, params = _scope_cte(unit)
    within = (
        f"AND id_number IN (SELECT p.id_number FROM {person} p "  # noqa: S608
        "WHERE p.registration_unit_id IN (SELECT id FROM scope_units))"
        if cte
        else ""
    )
    found: list[str] = []
    with connection.cursor() as cursor:
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"{cte}SELECT id_number FROM {person} WHERE id_number IN ({marks}) "  # noqa: S608
                f"AND id <= %s {within} GROUP BY id_number HAVING COUNT(*) > 1",
                [*params, *chunk, max_pk],
            )
            found.extend(sorted(number for (number,) in cursor.fetchall()))
    return found


def _duplicate_findings(numbers: Sequence[str], max_pk: int, units: _Units) -> list[Finding]:
    findings: list[Finding] = []
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        pks = list(
            Person.objects.filter(id_number__in=chunk, pk__lte=max_pk)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        rows = _rows(pks)
        active = _active_cards(pks)
        groups: dict[str, list[Row]] = {}
        for row in sorted(rows, key=lambda r: r.pk):
            groups.setdefault(row.id_number, []).append(row)
        for number, members in groups.items():
            if len(members) < 2:
                continue
            findings.append(
                Finding(
                    kind=Case.Kind.DUPLICATE_NUMBER,
                    key=f"number:{number}",
                    person_ids=[m.pk for m in members],
                    unit_ids=[m.unit_id for m in members],
                    id_number=number,
                    evidence={
                        "summary": f"号码 {mask_id_number(number)} 登记给 {len(members)} 人",
                        "people": [_person_evidence(m, units, active) for m in members],
                    },
                )
            )
    return findings


def suspect_rows(unit: Unit, lo: int, hi: int, today: datetime.date) -> tuple[list[int], int | None]:
    """The ids of the rows of (lo, hi] whose number may be wrong, and how many rows of the range
    count for the run's progress (None where the database did not count them: SQLite)."""
    cte, params = _scope_cte(unit)
    earliest = datetime.date(idnumber.EARLIEST_BIRTH_YEAR, 1, 1)
    adapt = connection.ops.adapt_datefield_value
    first, last = adapt(earliest), adapt(today)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                cte + suspect_sql_postgresql(bool(cte)), [*params, first, last, first, lo, hi, first, last]
            )
            counted, pks = cursor.fetchone()
            return list(pks or []), counted
        cursor.execute(cte + suspect_sql(bool(cte)), [*params, lo, hi, last, first])
        return [pk for pk, _ in cursor.fetchall()], None


def _suspects(
    unit: Unit, ranges: Sequence[tuple[int, int]], today: datetime.date, workers: int
) -> tuple[list[int], int]:
    """The suspects of every range, and how many rows the ranges hold for the run's progress."""
    if workers <= 1 or len(ranges) == 1 or connection.vendor != "postgresql":
        parts = [suspect_rows(unit, lo, hi, today) for lo, hi in ranges]
    else:

        def one(bounds: tuple[int, int]) -> tuple[list[int], int | None]:
            try:
                return suspect_rows(unit, bounds[0], bounds[1], today)
            finally:
                connection.close()  # this thread's own connection

        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, ranges))
    counted = sum(
        _count(unit, lo, hi) if done is None else done
        for (lo, hi), (_, done) in zip(ranges, parts, strict=True)
    )
    return [pk for pks, _ in parts for pk in pks], counted


def _wrong_findings(pks: Sequence[int], units: _Units, today: datetime.date) -> list[Finding]:
    rows = _rows(pks)
    active = _active_cards(pks)
    findings: list[Finding] = []
    for row in rows:
        errors = number_errors(row, today)
        if not errors:
            continue
        findings.append(
            Finding(
                kind=Case.Kind.WRONG_NUMBER,
                key=f"person:{row.pk}",
                person_ids=[row.pk],
                unit_ids=[row.unit_id],
                id_number=row.id_number[:18],
                evidence={
                    "summary": "；".join(e["message"] for e in errors),
                    "errors": errors,
                    "people": [_person_evidence(row, units, active)],
                },
            )
        )
    return findings


def recheck_numbers(person_ids: Sequence[int]) -> list[int]:
    """The 错号 check of a scan for a few people, now: after an approved correction of an item the
    number encodes (birth date, sex). Opens or refreshes their cases as a scan would; returns the
    ids of those now open."""
    units = _Units.load()
    findings = _wrong_findings(person_ids, units, timezone.localdate())
    save_findings(None, findings, units)
    return list(
        Case.objects.filter(
            kind=Case.Kind.WRONG_NUMBER, key__in=[f.key for f in findings], status=Case.Status.OPEN
        ).values_list("pk", flat=True)
    )


def _count(unit: Unit, lo: int, hi: int) -> int:
    people = Person.objects.filter(pk__gt=lo, pk__lte=hi)
    if unit.parent_id is not None:
        people = people.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))
    else:  # the whole register: our population, without 外省户籍人员
        people = people.residents()
    return people.count()


# ---------------------------------------------------------------------------------------------
# Running


def run_start(*, unit: Unit, kinds: Sequence[str], started_by: Any = None) -> ScanRun:
    """A new run over `unit`'s subtree up to the register's current last row."""
    last = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    run = ScanRun.objects.create(
        unit=unit, kinds=list(kinds), max_pk=last, started_by=started_by, stage=_first_stage(kinds)
    )
    run.total_rows = _count(unit, 0, last)
    run.save(update_fields=["total_rows"])
    return run


def _first_stage(kinds: Sequence[str]) -> str:
    return next((stage for stage, kind in STAGES if kind in kinds), "done")


def _next_stage(current: str, kinds: Sequence[str]) -> str:
    names = [stage for stage, _ in STAGES]
    for stage, kind in STAGES[names.index(current) + 1 :]:
        if kind in kinds:
            return stage
    return "done"


def run_scan(
    run: ScanRun,
    *,
    chunk_rows: int = 1_000_000,
    today: datetime.date | None = None,
    progress: Progress | None = None,
    stop_after_chunks: int | None = None,
    face_threshold: float | None = None,
    workers: int = 1,
) -> ScanRun:
    """Run (or resume) `run` to the end. `progress(n)` is told of n more rows scanned, and of 0
    as each stage or chunk begins.
    `workers` > 1 (PostgreSQL) scans that many key ranges at once, each on its own connection:
    only committed rows are seen, as in production.
    `stop_after_chunks` stops the run after that many primary-key ranges, as an interruption
    would (for tests and operators who split a big scan over several evenings)."""
    today = today or timezone.localdate()
    ensure_region_table()
    units = _Units.load()
    unit = Unit.objects.get(pk=run.unit_id)
    started = time.perf_counter()
    run.status = ScanRun.Status.RUNNING
    run.save(update_fields=["status", "updated_at"])
    chunks = 0
    try:
        while run.stage != "done":
            if progress is not None:
                progress(0)  # a stage or a chunk begins: the caller may report (or stop the run)
            if run.stage == "duplicates":
                numbers = duplicate_numbers(unit, run.max_pk)
                save_findings(run, _duplicate_findings(numbers, run.max_pk, units), units)
                run.found = {**run.found, Case.Kind.DUPLICATE_NUMBER.value: len(numbers)}
                run.stage, run.checkpoint = _next_stage(run.stage, run.kinds), 0
                if run.stage == "numbers":
                    run.processed_rows = 0
                run.save(update_fields=["stage", "checkpoint", "found", "processed_rows", "updated_at"])
                continue
            if run.stage == "numbers":
                if run.checkpoint >= run.max_pk:
                    run.stage, run.checkpoint = _next_stage(run.stage, run.kinds), 0
                    run.save(update_fields=["stage", "checkpoint", "updated_at"])
                    continue
                if run.checkpoint == 0:  # start at the first row: keys need not start at 1
                    first = Person.objects.order_by("pk").values_list("pk", flat=True).first() or 1
                    run.checkpoint = first - 1
                if stop_after_chunks is not None and chunks >= stop_after_chunks:
                    run.status = ScanRun.Status.STOPPED
                    break
                lo = run.checkpoint
                ranges = [
                    (start, min(start + chunk_rows, run.max_pk))
                    for start in range(lo, run.max_pk, chunk_rows)[: max(1, workers)]
                ]
                hi = ranges[-1][1]
                suspects, done = _suspects(unit, ranges, today, workers)
                findings = _wrong_findings(suspects, units, today)
                save_findings(run, findings, units)
                key = Case.Kind.WRONG_NUMBER.value
                run.found = {**run.found, key: run.found.get(key, 0) + len(findings)}
                run.checkpoint, run.processed_rows = hi, run.processed_rows + done
                run.save(update_fields=["checkpoint", "processed_rows", "found", "updated_at"])
                if progress is not None:
                    progress(done)
                chunks += 1
                continue
            if run.stage == "names":
                groups = double_names(unit, run.max_pk)
                save_findings(run, _name_findings(groups, run.max_pk, unit, units), units)
                run.found = {**run.found, Case.Kind.DOUBLE_BY_NAME.value: len(groups)}
                run.stage, run.checkpoint = _next_stage(run.stage, run.kinds), 0
                run.save(update_fields=["stage", "checkpoint", "found", "updated_at"])
                continue
            if run.stage == "faces":
                if stop_after_chunks is not None and chunks >= stop_after_chunks:
                    run.status = ScanRun.Status.STOPPED
                    break
                if not _face_chunk(run, unit, units, face_threshold):
                    # A pair is met from both sides (in two chunks): count the cases, not the hits.
                    kind = Case.Kind.DOUBLE_BY_FACE
                    run.found = {
                        **run.found,
                        kind.value: Case.objects.filter(kind=kind, last_run=run).count(),
                    }
                    run.stage, run.checkpoint = _next_stage(run.stage, run.kinds), 0
                run.save(update_fields=["stage", "checkpoint", "found", "stats", "updated_at"])
                chunks += 1
                continue
            if run.stage == "households":
                counts = household_checks(run, unit, units, today)
                run.found = {**run.found, **counts}
                run.stage, run.checkpoint = _next_stage(run.stage, run.kinds), 0
                run.save(update_fields=["stage", "checkpoint", "found", "updated_at"])
                continue
            raise ValueError(f"unknown stage {run.stage}")
        else:
            run.status = ScanRun.Status.DONE
            run.finished_at = timezone.now()
    except BaseException as exc:
        run.status = ScanRun.Status.STOPPED if isinstance(exc, KeyboardInterrupt) else ScanRun.Status.FAILED
        run.error = repr(exc)[:2000]
        raise
    finally:
        run.seconds += time.perf_counter() - started
        run.save(update_fields=["status", "finished_at", "seconds", "error", "updated_at"])
    return run


# ---------------------------------------------------------------------------------------------
# Suspected double registrations (一人多户)


def _household_expr() -> str:
    # People without a household number each count as a household of their own.
    return (
        "CASE WHEN household_no = '' THEN 'p' || CAST(id AS TEXT) "
        "ELSE CAST(registration_unit_id AS TEXT) || '/' || household_no END"
    )


def double_names(unit: Unit, max_pk: int) -> list[tuple[str, datetime.date, str]]:
    """(name, birth date, sex) shared by people of more than one household, with at least one
    of them in `unit`'s subtree. People cancelled or deceased are left out: their record is
    closed already."""
    person = _q(Person._meta.db_table)
    cte, params = _scope_cte(unit)
    within = (
        f"AND name IN (SELECT p.name FROM {person} p "  # noqa: S608
        "WHERE p.registration_unit_id IN (SELECT id FROM scope_units))"
        if cte
        else ""
    )
    sql = (
        f"{cte}SELECT name, birth_date, sex_id FROM {person} "  # noqa: S608
        f"WHERE id <= %s AND status = %s {within} "
        f"GROUP BY name, birth_date, sex_id HAVING COUNT(DISTINCT {_household_expr()}) > 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, max_pk, Person.Status.NORMAL.value])
        rows = cursor.fetchall()
    return [(name, _as_date(birth), sex) for name, birth, sex in rows]


def _as_date(value: Any) -> datetime.date:
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(str(value))


def _household(row: Mapping[str, Any]) -> str:
    return f"{row['registration_unit_id']}/{row['household_no']}" if row["household_no"] else f"p{row['pk']}"


def _name_findings(
    groups: Sequence[tuple[str, datetime.date, str]], max_pk: int, unit: Unit, units: _Units
) -> list[Finding]:
    import hashlib

    wanted = set(groups)
    scope = {u.pk for u in Unit.objects.subtree(unit).only("pk")}
    findings: list[Finding] = []
    names = sorted({name for name, _, _ in groups})
    for start in range(0, len(names), 500):
        members: dict[tuple[str, datetime.date, str], list[Mapping[str, Any]]] = {}
        for row in (
            Person.objects.residents()
            .filter(name__in=names[start : start + 500], pk__lte=max_pk, status=Person.Status.NORMAL)
            .order_by("pk")
            .values("pk", "name", "birth_date", "sex_id", "registration_unit_id", "household_no", "address")
        ):
            key = (row["name"], row["birth_date"], row["sex_id"])
            if key in wanted:
                members.setdefault(key, []).append(row)
        for (name, birth, sex), rows in members.items():
            if (
                len({_household(r) for r in rows}) < 2
                or not {r["registration_unit_id"] for r in rows} & scope
            ):
                continue
            digest = hashlib.sha256(f"{name}|{birth.isoformat()}|{sex}".encode()).hexdigest()[:32]
            findings.append(
                Finding(
                    kind=Case.Kind.DOUBLE_BY_NAME,
                    key=f"name:{digest}",
                    person_ids=[r["pk"] for r in rows],
                    unit_ids=[r["registration_unit_id"] for r in rows],
                    id_number="",
                    evidence={
                        "summary": f"姓名、出生日期、性别相同的 {len(rows)} 人登记在 "
                        f"{len({_household(r) for r in rows})} 个户内",
                        "people": [_household_evidence(r, units) for r in rows],
                    },
                )
            )
    return findings


def _household_evidence(row: Mapping[str, Any], units: _Units) -> dict[str, Any]:
    return {
        "person_id": row["pk"],
        "name": row["name"],
        "sex": row["sex_id"],
        "birth_date": row["birth_date"].isoformat(),
        "unit": units.name(row["registration_unit_id"]),
        "household_no": row["household_no"],
        "address": row["address"],
    }


def _face_chunk(run: ScanRun, unit: Unit, units: _Units, threshold: float | None) -> bool:
    """Search the people of the next FACE_RANGE keys of the scope that have a face in the
    permanent gallery (常住人口相片库) against it (1:N through the biometric engine); people with a
    register photo not enrolled yet are enrolled first. Returns False when the keys are done."""
    from tongban.biometrics.engine import get_abis, get_sdk
    from tongban.biometrics.interfaces import BiometricError, Gallery, Modality, Sample, Template
    from tongban.biometrics.models import BiometricTemplate
    from tongban.biometrics.services import person_ref

    if run.checkpoint == 0:
        first = Person.objects.order_by("pk").values_list("pk", flat=True).first() or 1
        run.checkpoint = first - 1
    if run.checkpoint >= run.max_pk:
        return False
    hi = min(run.checkpoint + FACE_RANGE, run.max_pk)
    people = Person.objects.filter(pk__gt=run.checkpoint, pk__lte=hi)
    if unit.parent_id is not None:
        people = people.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))
    else:  # the whole register: our population, without 外省户籍人员
        people = people.residents()
    pks = list(people.order_by("pk").values_list("pk", flat=True))
    with_photo = set(people.exclude(photo=None).values_list("pk", flat=True))
    started = time.perf_counter()
    sdk, abis = get_sdk(Modality.FACE), get_abis()
    probes: dict[int, Template] = {}
    for start in range(0, len(pks), 900):
        refs = {person_ref(pk): pk for pk in pks[start : start + 900]}
        for row in BiometricTemplate.objects.filter(
            gallery=Gallery.PERMANENT, modality=Modality.FACE, ref_id__in=list(refs)
        ):
            probes[refs[row.ref_id]] = Template(Modality.FACE, row.format, bytes(row.template))
    unusable = 0
    for pk in sorted(with_photo - set(probes)):
        image = Person.objects.filter(pk=pk).values_list("photo", flat=True).first()
        try:
            template = sdk.extract_template(Sample(Modality.FACE, bytes(image or b"")))
        except BiometricError:
            unusable += 1
            continue
        abis.insert(person_ref(pk), template, Gallery.PERMANENT)
        probes[pk] = template
    searched = time.perf_counter()
    pairs: dict[tuple[int, int], float] = {}
    for pk, template in sorted(probes.items()):
        for hit in abis.identify(template, Gallery.PERMANENT, max_results=10, threshold=threshold):
            if not hit.ref_id.startswith("person:"):
                continue
            other = int(hit.ref_id.removeprefix("person:"))
            if other != pk:
                key = (min(pk, other), max(pk, other))
                pairs[key] = max(pairs.get(key, 0.0), round(float(hit.score), 4))
    search_seconds = time.perf_counter() - searched
    findings = _face_findings(pairs, units)
    save_findings(run, findings, units)
    stats = dict(run.stats)
    stats["face_searches"] = stats.get("face_searches", 0) + len(probes)
    stats["face_search_seconds"] = round(stats.get("face_search_seconds", 0.0) + search_seconds, 3)
    stats["face_enrol_seconds"] = round(stats.get("face_enrol_seconds", 0.0) + searched - started, 3)
    stats["face_unusable"] = stats.get("face_unusable", 0) + unusable
    stats["face_candidate_pairs"] = stats.get("face_candidate_pairs", 0) + len(pairs)
    run.stats = stats
    kind = Case.Kind.DOUBLE_BY_FACE.value
    run.found = {**run.found, kind: run.found.get(kind, 0) + len(findings)}
    run.checkpoint = hi
    return True


def _face_findings(pairs: dict[tuple[int, int], float], units: _Units) -> list[Finding]:
    if not pairs:
        return []
    rows = {
        r["pk"]: r
        for r in Person.objects.filter(pk__in={pk for pair in pairs for pk in pair}).values(
            "pk", "name", "birth_date", "sex_id", "registration_unit_id", "household_no", "address", "status"
        )
    }
    findings: list[Finding] = []
    for (a, b), score in sorted(pairs.items()):
        first, second = rows[a], rows[b]
        if _household(first) == _household(second):  # one household: twins, not a double registration
            continue
        findings.append(
            Finding(
                kind=Case.Kind.DOUBLE_BY_FACE,
                key=f"face:{a}-{b}",
                person_ids=[a, b],
                unit_ids=[first["registration_unit_id"], second["registration_unit_id"]],
                id_number="",
                evidence={
                    "summary": f"两人的户籍相片人像相似度 {score:.4f}，疑为同一人在两户登记",
                    "score": score,
                    "people": [_household_evidence(first, units), _household_evidence(second, units)],
                },
            )
        )
    return findings


# ---------------------------------------------------------------------------------------------
# Household checks (户口核对)


def household_checks(run: ScanRun | None, unit: Unit, units: _Units, today: datetime.date) -> dict[str, int]:
    """Cases for the station lists of people to check: aged 100 or more with no card issued and
    no application for `DATAQUALITY_INACTIVE_YEARS` years (应销未销), registered without a
    household number (未落户), cancelled or deceased while a card is still valid (证件未注销)."""
    from django.conf import settings
    from django.db.models import Exists, OuterRef

    from tongban.intake.models import Application
    from tongban.registry.models import Card

    people = Person.objects.filter(pk__lte=run.max_pk) if run is not None else Person.objects.all()
    if unit.parent_id is not None:
        people = people.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))
    else:  # the whole register: our population, without 外省户籍人员
        people = people.residents()
    years = settings.DATAQUALITY_INACTIVE_YEARS
    cutoff = _years_before(today, years)
    recent_card = Card.objects.filter(person=OuterRef("pk"), valid_from__gte=cutoff)
    recent_application = Application.objects.filter(person=OuterRef("pk"), created_at__date__gte=cutoff)
    active_card = Card.objects.filter(person=OuterRef("pk"), state=Card.State.ACTIVE)
    normal = people.filter(status=Person.Status.NORMAL)
    checks = (
        (
            Case.Kind.CENTENARIAN,
            normal.filter(birth_date__lte=_years_before(today, 100))
            .exclude(Exists(recent_card))
            .exclude(Exists(recent_application)),
            f"年满 100 周岁，{years} 年内无发证、无申领记录，请核实是否健在（应销未销）",
        ),
        (Case.Kind.NO_HOUSEHOLD, normal.filter(household_no=""), "无户号，请核实落户情况"),
        (
            Case.Kind.CANCELLED_WITH_CARD,
            people.exclude(status=Person.Status.NORMAL).filter(Exists(active_card)),
            "户口已注销或人员死亡，名下仍有有效居民身份证，请注销证件",
        ),
    )
    counts: dict[str, int] = {}
    for kind, query, summary in checks:
        rows = list(
            query.order_by("pk").values(
                "pk",
                "name",
                "birth_date",
                "sex_id",
                "registration_unit_id",
                "household_no",
                "address",
                "status",
            )
        )
        findings = [
            Finding(
                kind=kind,
                key=f"person:{row['pk']}",
                person_ids=[row["pk"]],
                unit_ids=[row["registration_unit_id"]],
                id_number="",
                evidence={"summary": summary, "people": [_household_evidence(row, units)]},
            )
            for row in rows
        ]
        for start in range(0, len(findings), 2000):
            save_findings(run, findings[start : start + 2000], units)
        counts[kind.value] = len(findings)
    return counts


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)
