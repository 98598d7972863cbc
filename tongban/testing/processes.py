"""Running the product's own commands in a subprocess over the test database, as an operator
would start them (the engine service, the job worker), and the real job queue a test shares with
its workers (the `job_queue` fixture; loaded by the root conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY
from huey.storage import RedisStorage, SqliteStorage

REDIS_URL = os.environ.get("TONGBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def database_url() -> str:
    """TONGBAN_DATABASE_URL of the database the tests run on."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _redis_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def job_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The test process and its workers on one real queue of each kind (the SQLite file of the
    embedded set-up, Redis): what the test queues after commit goes there, not inline. Yields the
    environment that points a worker at it."""
    yield from _queue(request.param, tmp_path)


@pytest.fixture
def deployed_queue(tmp_path: Path) -> Iterator[dict[str, str]]:
    """As `job_queue`, one kind only, as each database is deployed: the SQLite queue beside an
    SQLite database (`make run`), Redis beside PostgreSQL (a province's workers). The suite runs on
    both databases, so a long test meets both queues once rather than twice each."""
    yield from _queue("sqlite" if connection.vendor == "sqlite" else "redis", tmp_path)


def _queue(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    name = f"tongban-test-{os.getpid()}-{time.monotonic_ns()}"
    if kind == "redis":
        if not _redis_answers():
            if os.environ.get("CI"):
                pytest.fail("Redis does not answer on 127.0.0.1:6379 (CI runs the worker tests on it)")
            pytest.skip("no Redis on 127.0.0.1:6379")
        storage = RedisStorage(name, url=REDIS_URL)
        env = {"TONGBAN_REDIS_URL": REDIS_URL, "TONGBAN_JOBS_QUEUE": name}
    else:
        path = tmp_path / "queue.sqlite3"
        storage = SqliteStorage(name, filename=str(path))
        env = {"TONGBAN_REDIS_URL": "", "TONGBAN_JOBS_QUEUE": name, "TONGBAN_JOBS_QUEUE_FILE": str(path)}
    saved = HUEY.storage
    HUEY.immediate = False
    HUEY.storage = storage
    try:
        yield env
    finally:
        storage.flush_all()
        HUEY.storage = saved
        HUEY.immediate = True


class Worker:
    """`tongban run_huey` with `threads` threads over the test database and the queue of `env`,
    its schedules off (a test queues what it needs), its output appended to `log`."""

    def __init__(self, env: dict[str, str], log: Path, *, threads: int = 1) -> None:
        self.log = log
        self._start = log.stat().st_size if log.exists() else 0  # this process's part of the log
        self._started = False
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
                [sys.executable, "-m", "tongban", "run_huey", "--workers", str(threads), "--no-periodic"],
                env={**os.environ, "TONGBAN_DATABASE_URL": database_url(), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        """What this process has written so far."""
        with self.log.open("rb") as log:
            log.seek(self._start)
            return log.read().decode(errors="replace")

    def ready(self) -> bool:
        """Started and taking tasks from the queue."""
        self._started = self._started or "Huey consumer started" in self.output()
        return self._started and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no clean-up, whatever it held is left as it was."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
