"""The load test's own PostgreSQL 15 cluster: var/load/pgdata on port 5544, owned by the
`postgres` OS user (we run as root: initdb and pg_ctl go through `runuser -u postgres --`), with
pg_stat_statements preloaded and settings sized for the run. The shared server (5432) is not
touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOAD_DIR = REPO / "var" / "load"
PGDATA = LOAD_DIR / "pgdata"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORT = 5544
DATABASE = "tongban_load"
URL = f"postgresql://postgres@127.0.0.1:{PORT}/{DATABASE}"
ADMIN_URL = f"postgresql://postgres@127.0.0.1:{PORT}/postgres"
OS_USER = "postgres"
GIB = 1024**3


def _as_postgres(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", OS_USER, "--"] if os.geteuid() == 0 else []
    return subprocess.run(  # noqa: S603 - our own fixed binaries and paths
        [*prefix, *command], capture_output=True, text=True, check=check, cwd="/"
    )


def memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def settings_for(shared_buffers_gb: float | None = None) -> dict[str, str]:
    """postgresql.conf lines for the load: a quarter of the memory (at most 4 GB) as shared
    buffers unless given, WAL sized for bulk loads, no JIT (it costs the dashboard ~100 ms a
    query for nothing at this size), pg_stat_statements. fsync and synchronous_commit stay on:
    the figures are for a durable primary."""
    memory = memory_bytes()
    buffers = int((shared_buffers_gb or min(4.0, memory / GIB / 4)) * 1024)
    return {
        "listen_addresses": "'127.0.0.1'",
        "port": str(PORT),
        "unix_socket_directories": "'/tmp'",
        "max_connections": "300",
        "shared_buffers": f"'{buffers}MB'",
        "effective_cache_size": f"'{max(buffers, int(memory / 1024**2 / 2))}MB'",
        "work_mem": "'32MB'",
        "maintenance_work_mem": "'1GB'",
        "max_wal_size": "'16GB'",
        "min_wal_size": "'1GB'",
        "checkpoint_timeout": "'15min'",
        "checkpoint_completion_target": "0.9",
        "wal_compression": "on",
        "random_page_cost": "1.1",
        "jit": "off",
        "track_io_timing": "on",
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.max": "10000",
        "pg_stat_statements.track": "top",
        "pg_stat_statements.track_utility": "off",
        "pg_stat_statements.track_planning": "on",
        "log_min_duration_statement": "'1s'",
        "log_lock_waits": "on",
        "deadlock_timeout": "'200ms'",
        "logging_collector": "off",
    }


def initialised() -> bool:
    return (PGDATA / "PG_VERSION").exists()


def running() -> bool:
    if not initialised():
        return False
    return _as_postgres(str(PG_BIN / "pg_ctl"), "status", "-D", str(PGDATA), check=False).returncode == 0


def postmaster_pid() -> int | None:
    try:
        return int((PGDATA / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def init(shared_buffers_gb: float | None = None) -> tuple[bool, bool]:
    """initdb once; the settings are (re)written every time into conf.d/load.conf, included
    last. Returns (created, settings changed)."""
    created = False
    if not initialised():
        LOAD_DIR.mkdir(parents=True, exist_ok=True)
        PGDATA.mkdir(parents=True, exist_ok=True)
        shutil.chown(PGDATA, OS_USER, OS_USER)
        PGDATA.chmod(0o700)
        _as_postgres(
            str(PG_BIN / "initdb"),
            "-D",
            str(PGDATA),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        created = True
    conf = PGDATA / "postgresql.conf"
    text = conf.read_text()
    include = "include_dir = 'conf.d'"
    if include not in text.splitlines():
        conf.write_text(text.rstrip("\n") + f"\n{include}\n")
    conf_d = PGDATA / "conf.d"
    conf_d.mkdir(exist_ok=True)
    lines = "".join(f"{key} = {value}\n" for key, value in settings_for(shared_buffers_gb).items())
    target = conf_d / "load.conf"
    text = "# written by bench/load/cluster.py\n" + lines
    changed = not target.exists() or target.read_text() != text
    target.write_text(text)
    for path in (conf, conf_d, target):
        shutil.chown(path, OS_USER, OS_USER)
    return created, changed


def start() -> None:
    if running():
        return
    log = PGDATA / "server.log"
    result = _as_postgres(
        str(PG_BIN / "pg_ctl"), "start", "-w", "-t", "120", "-D", str(PGDATA), "-l", str(log), check=False
    )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise SystemExit(f"pg_ctl start failed: {result.stderr.strip()}\n{tail}")


def restart() -> None:
    # -l: the server's output goes to its log, not to our pipe (which would then never close).
    log = PGDATA / "server.log"
    _as_postgres(
        str(PG_BIN / "pg_ctl"), "restart", "-w", "-t", "120", "-D", str(PGDATA), "-m", "fast", "-l", str(log)
    )


def stop() -> None:
    if running():
        _as_postgres(str(PG_BIN / "pg_ctl"), "stop", "-w", "-t", "120", "-D", str(PGDATA), "-m", "fast")


def ensure_database() -> None:
    """The database and pg_stat_statements in it, once."""
    import psycopg

    for _ in range(50):
        try:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                    conn.execute(f"CREATE DATABASE {DATABASE}")
            break
        except psycopg.OperationalError:
            time.sleep(0.2)
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def setting(name: str) -> str:
    import psycopg

    with psycopg.connect(URL) as conn:
        row = conn.execute("SELECT current_setting(%s)", [name]).fetchone()
    return str(row[0]) if row else ""


def wipe() -> None:
    """Stop the cluster and remove it (generate --fresh)."""
    stop()
    shutil.rmtree(PGDATA, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bench.load.cluster", description="start, stop or ask about the load test's cluster"
    )
    parser.add_argument("action", choices=["start", "stop", "status", "wipe"])
    args = parser.parse_args(argv)
    if args.action == "start":
        if not initialised():
            raise SystemExit("no cluster yet: run python -m bench.load.generate")
        start()
    elif args.action == "stop":
        stop()
    elif args.action == "wipe":
        wipe()
    print(f"{PGDATA}: {'running on port ' + str(PORT) if running() else 'stopped'}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
