"""重号/错号 scan benchmark: `python -m bench.dataquality_scan [--rows N] [--database-url URL]`.

In one run, on a PostgreSQL database of its own (created, and dropped unless `--keep`):

1. build a register of N people (default 10,000,000) server-side: one INSERT … SELECT over
   `generate_series` (the fastest way to feed PostgreSQL; nothing crosses the wire), valid
   numbers from a bijection of (birth date, sequence) slots so they are unique, then planted
   defects: per 1,000 rows one wrong check character, one registered birth date that disagrees
   with the number, and one 重号 (a row given the number, birth date and sex of the row before);
2. the scan (`tongban.dataquality.scan`, the code `tongban dataquality scan` runs) over the whole
   register, timed per stage, with a check that it found exactly what was planted;
3. baseline in the same run: a per-row Python loop with python-stdnum (`stdnum.cn.ric`: validate,
   birth date, sex parity, and a dict for 重号) over the first `--baseline-sample` rows (already
   fetched into memory: only the loop is timed), extrapolated linearly to N rows.

It prints a table, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.import_register import (
    PROVINCE,
    STATIONS_PER_COUNTY,
    close_database,
    database_version,
    prepare_database,
    setup_django,
)

TODAY = datetime.date(2026, 11, 22)
FIRST_BIRTH = datetime.date(1930, 1, 1)
DAYS = (datetime.date(2025, 12, 31) - FIRST_BIRTH).days + 1
SLOTS = DAYS * 999
STEP = 7_368_787  # coprime with SLOTS (checked at start): i → (STEP*i + 11) mod SLOTS is a bijection
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"


def build_register(rows: int) -> dict[str, int]:
    """Fill registry_person with `rows` people and the planted defects; returns what was planted."""
    from django.db import connection

    from tongban.registry.models import Unit

    stations = list(Unit.objects.stations().order_by("code").values_list("pk", "region_code"))
    check = " + ".join(f"{w} * substr(f.first17, {i + 1}, 1)::int" for i, w in enumerate(WEIGHTS))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_station (k int PRIMARY KEY, unit_id bigint, region text)")
        cursor.executemany(
            "INSERT INTO bench_station VALUES (%s, %s, %s)",
            [(k, pk, region) for k, (pk, region) in enumerate(stations)],
        )
        # Loading is faster without index maintenance and foreign-key triggers per row: drop the
        # secondary indexes and rebuild them after (the rows are valid references by construction).
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registry_person' "
            "AND indexname NOT LIKE '%%pkey'"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("ALTER TABLE registry_person DISABLE TRIGGER ALL")
        cursor.execute(
            f"""
            INSERT INTO registry_person (id_number, name, sex_id, ethnicity_id, birth_date, address,
                household_no, relation_id, registration_unit_id, region_code, status, created_at, updated_at)
            SELECT f.first17 || substr('10X98765432', (({check}) %% 11) + 1, 1),
                   substr(%s, (f.i %% 50)::int + 1, 1) || '某' || f.i,
                   CASE WHEN f.seq %% 2 = 1 THEN '1' ELSE '2' END, '01', f.birth,
                   '江西省某地中山路' || (f.i %% 999) || '号', 'H' || lpad((f.i / 4)::text, 10, '0'),
                   '02', f.unit_id, f.region, 'normal', now(), now()
            FROM (
                SELECT g.i, s.unit_id, s.region, b.birth, b.seq,
                       s.region || to_char(b.birth, 'YYYYMMDD') || lpad(b.seq::text, 3, '0') AS first17
                FROM generate_series(1, %s) AS g(i)
                JOIN bench_station s ON s.k = g.i %% %s
                CROSS JOIN LATERAL (
                    SELECT %s::date + ((({STEP}::bigint * g.i + 11) %% {SLOTS}) / 999)::int AS birth,
                           ((({STEP}::bigint * g.i + 11) %% {SLOTS}) %% 999)::int + 1 AS seq
                ) b
            ) f
            ORDER BY f.i
            """,  # noqa: S608 - constants of this module; values are parameters
            [SURNAMES, rows, len(stations), FIRST_BIRTH],
        )
        cursor.execute("ALTER TABLE registry_person ENABLE TRIGGER ALL")
        for _, definition in indexes:
            cursor.execute(definition)
        low = _first_pk(cursor)
        # Planted, by position i = pk - low + 1: i ≡ 7 (mod 1000) a wrong check character,
        # i ≡ 507 a registered birth date one day off the number's, i ≡ 257 the number, birth
        # date and sex of the row before it (重号: two people, one number).
        cursor.execute(
            """UPDATE registry_person SET id_number = substr(id_number, 1, 17) ||
                   CASE WHEN substr(id_number, 18, 1) = '0' THEN '1' ELSE '0' END
               WHERE (id - %s + 1) %% 1000 = 7""",
            [low],
        )
        wrong_check = cursor.rowcount
        cursor.execute(
            "UPDATE registry_person SET birth_date = birth_date + 1 WHERE (id - %s + 1) %% 1000 = 507", [low]
        )
        wrong_birth = cursor.rowcount
        cursor.execute(
            """UPDATE registry_person p
               SET id_number = q.id_number, birth_date = q.birth_date, sex_id = q.sex_id
               FROM registry_person q WHERE q.id = p.id - 1 AND (p.id - %s + 1) %% 1000 = 257""",
            [low],
        )
        duplicates = cursor.rowcount
    return {"wrong_number": wrong_check + wrong_birth, "duplicate_number": duplicates}


def _first_pk(cursor: Any) -> int:
    cursor.execute("SELECT min(id) FROM registry_person")
    return int(cursor.fetchone()[0])


def vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE registry_person")


def baseline(sample: int) -> dict[str, Any]:
    """The per-row way: python-stdnum on each row, a dict for 重号."""
    from django.db import connection
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, id_number, birth_date, sex_id FROM registry_person ORDER BY id LIMIT %s", [sample]
        )
        rows = cursor.fetchall()
    started = time.perf_counter()
    seen: dict[str, int] = {}
    wrong = duplicates = 0
    for _pk, number, birth, sex in rows:
        bad = False
        try:
            ric.validate(number)
            bad = ric.get_birth_date(number) != birth or ("1" if int(number[16]) % 2 else "2") != sex
        except (ValidationError, KeyError, ValueError):  # stdnum raises KeyError for unknown codes
            bad = True
        wrong += bad
        if number in seen:
            duplicates += 1
        else:
            seen[number] = _pk
    seconds = time.perf_counter() - started
    return {"rows": len(rows), "seconds": seconds, "wrong": wrong, "duplicates": duplicates}


def run_scan(chunk: int, workers: int) -> dict[str, Any]:
    from django.db import connection

    from tongban.dataquality import scan
    from tongban.dataquality.models import Case
    from tongban.registry.models import Unit

    province = Unit.objects.get(code=PROVINCE)
    scan.ensure_region_table()
    started = time.perf_counter()
    run = scan.run_start(unit=province, kinds=list(scan.NUMBER_KINDS))
    prepared = time.perf_counter()
    # The two detection statements alone (what "scanning" costs before cases are written).
    t0 = time.perf_counter()
    numbers = scan.duplicate_numbers(province, run.max_pk)
    dup_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) - 1, max(id) FROM registry_person")
        lo, hi = cursor.fetchone()
    ranges = [(start, min(start + chunk, hi)) for start in range(lo, hi, chunk)]
    suspects = 0
    for first in range(0, len(ranges), workers):
        suspects += len(scan._suspects(province, ranges[first : first + workers], TODAY, workers)[0])
    wrong_seconds = time.perf_counter() - t0
    # The whole scan as the command runs it: detection, exact verdicts, cases written.
    t0 = time.perf_counter()
    scan.run_scan(run, chunk_rows=chunk, today=TODAY, workers=workers)
    full_seconds = time.perf_counter() - t0
    return {
        "rows": run.total_rows,
        "count_seconds": prepared - started,
        "duplicates_sql_seconds": dup_seconds,
        "duplicate_numbers": len(numbers),
        "wrong_sql_seconds": wrong_seconds,
        "suspect_rows": suspects,
        "detect_seconds": dup_seconds + wrong_seconds,
        "full_scan_seconds": full_seconds,
        "found": run.found,
        "cases": Case.objects.count(),
    }


def face_bench(people: int, pairs: int) -> dict[str, Any]:
    """The face stage: `people` register people with a face in the permanent gallery (random
    identities as the engine's own templates, inserted through the ABIS), `pairs` of them planted
    as one face in two households; then the scan's face stage searches every one 1:N. Also the
    cost of enrolling from a real photo (dlib on scikit-image's astronaut, GA 461-conformed)."""
    import io
    import tempfile as _tempfile

    import numpy as np
    from django.conf import settings
    from PIL import Image
    from skimage import data as skimage_data

    from tongban.biometrics.abis import FACE_FORMAT
    from tongban.biometrics.engine import get_abis, get_sdk
    from tongban.biometrics.interfaces import Gallery, Modality, Sample, Template
    from tongban.biometrics.photo import conform_photo
    from tongban.biometrics.vector_index import normalise
    from tongban.dataquality import scan
    from tongban.dataquality.models import Case
    from tongban.registry.models import Person, Unit

    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": Path(_tempfile.mkdtemp()) / "abis"}
    pks = list(Person.objects.order_by("pk").values_list("pk", flat=True)[:people])
    rng = np.random.default_rng(3)
    vectors = normalise(rng.standard_normal((len(pks), 128), dtype=np.float32))
    half = len(pks) // 2
    for k in range(pairs):  # person k and person half + k: far apart, in other households
        vectors[half + k] = normalise((vectors[k] + 0.01 * rng.standard_normal(128, dtype=np.float32))[None])[
            0
        ]
    abis = get_abis()
    t0 = time.perf_counter()
    for pk, vector in zip(pks, vectors, strict=True):
        template = Template(Modality.FACE, FACE_FORMAT, np.asarray(vector, dtype="<f4").tobytes())
        abis.insert(f"person:{pk}", template, Gallery.PERMANENT)
    insert_seconds = time.perf_counter() - t0
    province = Unit.objects.get(code=PROVINCE)
    run = scan.run_start(unit=province, kinds=[Case.Kind.DOUBLE_BY_FACE.value])
    t0 = time.perf_counter()
    scan.run_scan(run, today=TODAY)
    stage_seconds = time.perf_counter() - t0
    out = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(out, "JPEG", quality=95)
    photo = conform_photo(out.getvalue())
    sdk = get_sdk(Modality.FACE)
    sdk.extract_template(Sample(Modality.FACE, photo))  # load the models
    t0 = time.perf_counter()
    for _ in range(20):
        sdk.extract_template(Sample(Modality.FACE, photo))
    extract_seconds = (time.perf_counter() - t0) / 20
    stats = run.stats
    return {
        "face_people": len(pks),
        "face_planted_pairs": pairs,
        "face_found_pairs": run.found.get(Case.Kind.DOUBLE_BY_FACE.value, 0),
        "face_insert_seconds": round(insert_seconds, 2),
        "face_searches": stats.get("face_searches", 0),
        "face_search_seconds": stats.get("face_search_seconds", 0.0),
        "face_searches_per_second": round(
            stats["face_searches"] / max(stats["face_search_seconds"], 1e-9), 1
        ),
        "face_stage_seconds": round(stage_seconds, 2),
        "face_enrol_seconds_per_photo": round(extract_seconds, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5432/tongban_bench_dq",
        help="its own database",
    )
    parser.add_argument("--baseline-sample", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows per checkpoint of the scan")
    parser.add_argument("--workers", type=int, default=2, help="key ranges scanned at once (connections)")
    parser.add_argument("--face-people", type=int, default=10_000, help="people with a face (0: skip)")
    parser.add_argument("--face-pairs", type=int, default=100, help="planted one-face-two-households pairs")
    parser.add_argument("--skip-numbers", action="store_true", help="only the face part")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    import math

    assert math.gcd(STEP, SLOTS) == 1 and args.rows <= SLOTS

    db = prepare_database(args.database_url, Path(tempfile.gettempdir()))
    if db.vendor != "postgresql":
        raise SystemExit("this benchmark runs on PostgreSQL (give --database-url postgresql://…)")
    setup_django(db.url)
    from django.core.management import call_command

    from tongban.registry.services import units_load_province

    try:
        call_command("migrate", verbosity=0)
        units_load_province(province_code=PROVINCE, stations_per_county=STATIONS_PER_COUNTY, actor=None)
        t0 = time.perf_counter()
        planted = build_register(args.rows)
        build_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        vacuum()
        vacuum_seconds = time.perf_counter() - t0
        result = {} if args.skip_numbers else run_scan(args.chunk, args.workers)
        base = {} if args.skip_numbers else baseline(args.baseline_sample)
        faces = face_bench(args.face_people, args.face_pairs) if args.face_people else {}
        version = database_version()
    finally:
        close_database()
        if not args.keep:
            db.drop()

    figures: dict[str, Any] = {
        "rows": args.rows,
        "workers": args.workers,
        "database": version,
        "python": platform.python_version(),
        "build_seconds": round(build_seconds, 1),
        "vacuum_seconds": round(vacuum_seconds, 1),
        "planted": planted,
    }
    print(
        f"register: {args.rows:,} rows, {version}; "
        f"built in {build_seconds:.0f} s (+ VACUUM {vacuum_seconds:.0f} s)"
    )
    ok = True
    if result:
        ok = result["found"] == planted and result["rows"] == args.rows
        base_total = args.rows / (base["rows"] / base["seconds"])
        figures |= {
            **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in result.items()},
            "detect_rows_per_second": round(args.rows / result["detect_seconds"]),
            "full_scan_rows_per_second": round(args.rows / result["full_scan_seconds"]),
            "baseline_sample_rows": base["rows"],
            "baseline_sample_seconds": round(base["seconds"], 2),
            "baseline_rows_per_second": round(base["rows"] / base["seconds"]),
            "baseline_extrapolated_seconds": round(base_total, 1),
            "ratio_detect": round(base_total / result["detect_seconds"], 1),
            "ratio_full_scan": round(base_total / result["full_scan_seconds"], 1),
            "found_exactly_the_planted": ok,
        }
        print(f"planted: {planted}; found: {result['found']} -> {'OK' if ok else 'MISMATCH'}")
        print(f"{'step':52} {'seconds':>9} {'rows/s':>12}")
        for label, seconds in (
            ("重号: GROUP BY over the register (SQL)", result["duplicates_sql_seconds"]),
            (f"错号: candidate rows by key range (SQL, {args.workers} at once)", result["wrong_sql_seconds"]),
            ("detection total", result["detect_seconds"]),
            ("full scan (detection + verdicts + cases)", result["full_scan_seconds"]),
            (f"baseline stdnum loop, {base['rows']:,} rows, extrapolated", base_total),
        ):
            print(f"{label:52} {seconds:9.2f} {args.rows / seconds:12,.0f}")
        print(
            f"ratio baseline/detection: {figures['ratio_detect']}x; "
            f"baseline/full scan: {figures['ratio_full_scan']}x"
        )
    if faces:
        figures |= faces
        face_ok = faces["face_found_pairs"] == faces["face_planted_pairs"]
        ok = ok and face_ok
        print(
            f"faces: {faces['face_people']:,} people in the gallery, "
            f"{faces['face_searches']:,} 1:N searches in "
            f"{faces['face_search_seconds']:.1f} s = {faces['face_searches_per_second']:,.0f} searches/s; "
            f"planted {faces['face_planted_pairs']} pairs, found {faces['face_found_pairs']} "
            f"({'OK' if face_ok else 'MISMATCH'}); enrolling a real photo: "
            f"{faces['face_enrol_seconds_per_photo'] * 1000:.0f} ms"
        )
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
