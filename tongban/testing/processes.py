"""Running the product's own commands in a subprocess over the test database, as an operator
would start them (the web server, the engine service, the job worker), and the real job queue a
test shares with its workers (the `job_queue` fixture; loaded by the root conftest.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
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


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Command:
    """`tongban ARGS` over the test database with `env` on top, in a process group of its own
    (so that `kill` reaches a command's children too, gunicorn's worker), its output appended
    to `log`."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._start = log.stat().st_size if log.exists() else 0  # this process's part of the log
        with log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
                [sys.executable, "-m", "tongban", *args],
                env={**os.environ, "TONGBAN_DATABASE_URL": database_url(), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        """What this process has written so far."""
        with self.log.open("rb") as log:
            log.seek(self._start)
            return log.read().decode(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no clean-up, whatever it held is left as it was."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> str:
        """SIGTERM, as systemd stops it (kill -9 after 30 s); returns its output."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.output()


class Worker(Command):
    """`tongban run_huey` with `threads` threads over the queue of `env`, its schedules off (a
    test queues what it needs)."""

    def __init__(self, env: dict[str, str], log: Path, *, threads: int = 1) -> None:
        super().__init__(["run_huey", "--workers", str(threads), "--no-periodic"], env, log)
        self._started = False

    def ready(self) -> bool:
        """Started and taking tasks from the queue."""
        self._started = self._started or "Huey consumer started" in self.output()
        return self._started and self.alive()


class WebServer(Command):
    """`tongban runserver` on `port`, as `make run` starts it (the Procfile's `web`)."""

    def __init__(self, env: dict[str, str], log: Path, *, port: int) -> None:
        super().__init__(["runserver", f"127.0.0.1:{port}", "--noreload"], env, log)
        self.url = f"http://127.0.0.1:{port}"
        self.port = port

    def ready(self) -> bool:
        """Accepting connections."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return self.alive()


class Engine(Command):
    """`tongban abis serve` (gunicorn) on `port` with its indexes in `index_dir`, as an operator
    starts it for the `service` engine mode."""

    def __init__(self, env: dict[str, str], log: Path, *, port: int, index_dir: Path, token: str) -> None:
        env = {
            **env,
            "TONGBAN_ABIS_DIR": str(index_dir),
            "TONGBAN_ABIS_TOKEN": token,
            "TONGBAN_ABIS_REFRESH_SECONDS": "0.2",
            "TONGBAN_LOG_LEVEL": "INFO",
        }
        super().__init__(["abis", "serve", "--bind", f"127.0.0.1:{port}", "--threads", "2"], env, log)
        self.url = f"http://127.0.0.1:{port}"
        self.token = token

    def ready(self) -> bool:
        """Up, with every gallery loaded."""
        from tongban.biometrics.interfaces import Gallery

        headers = {"Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(self.url + "/health", headers=headers)  # noqa: S310 (our engine)
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 (our own engine)
                answer = json.loads(response.read())
        except OSError:  # not listening yet (a refusal of the health check is a failure below)
            return False
        return len(answer["galleries"]) == len(Gallery) and self.alive()
