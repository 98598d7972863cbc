"""What the load test's parts share: paths, the environment of the product's processes, the demo
accounts each role works as, and the state file that `generate` leaves for `run`.

No Django and no Locust here: the locustfile imports this module too (and Locust patches the
standard library with gevent on import, so the orchestrating commands never import Locust)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.load import cluster

REPO = cluster.REPO
LOAD_DIR = cluster.LOAD_DIR
STATE_FILE = LOAD_DIR / "state.json"
ABIS_DIR = LOAD_DIR / "abis"
KEYS_DIR = LOAD_DIR / "keys"
PACKAGE_DIR = LOAD_DIR / "packages"
PHOTO_DIR = LOAD_DIR / "photos"
TONGBAN = REPO / ".venv" / "bin" / "tongban"
PASSWORD = "Tongban@2026"  # noqa: S105 - the demo accounts' documented password (demo/seed.py)

# Where the load test works: the demo clerk's station accepts for people registered at the demo
# reviewer's station, so every review step has a demo account to act (南昌市's campaign chain:
# 360102002 初审 → 东湖分局 → 南昌市局), the provincial centre makes the cards, 东湖分局 checks and
# forwards them (county route), the station hands them over.
ACCEPTANCE_STATION = "360102001"  # 东湖区城关派出所 (demo `clerk`, `distributor`)
HOUSEHOLD_STATION = "360102002"  # the demo `reviewer`'s station: the applicants' households
CENTRE = "360000901"

# Demo accounts by role (tongban/demo/seed.py DEMO_USERS), in the order their unit comes in a
# lifecycle; `run` takes one token per account through POST /api/v1/auth/token.
ACCOUNTS: dict[str, tuple[str, ...]] = {
    "clerk": ("clerk",),
    "reviewer": ("reviewer", "reviewer_donghu", "reviewer_nanchang"),
    "centre": ("centre_operator",),
    "distributor": ("distributor", "distributor_donghu"),
    "supervisor": ("supervisor", "supervisor_province", "supervisor_donghu"),
}
# The unit each account works at (a review or receipt step names its unit; this picks the account).
ACCOUNT_UNITS = {
    "clerk": "360102001",
    "reviewer": "360102002",
    "reviewer_donghu": "360102",
    "reviewer_nanchang": "3601",
    "centre_operator": "360000901",
    "distributor": "360102001",
    "distributor_donghu": "360102",
    "supervisor": "3601",
    "supervisor_province": "36",
    "supervisor_donghu": "360102",
}


def product_env(**extra: str) -> dict[str, str]:
    """The environment of every product process (migrate, seed, gunicorn, the engine, the sealer,
    `audit verify`): the load cluster, DEBUG off as in production, the face indexes, keys and
    packages under var/load/."""
    env = os.environ.copy()
    env.update(
        {
            "TONGBAN_DATABASE_URL": cluster.URL,
            "TONGBAN_DEBUG": "false",
            "TONGBAN_ABIS_DIR": str(ABIS_DIR),
            "TONGBAN_KEYS_DIR": str(KEYS_DIR),
            "TONGBAN_PACKAGE_DIR": str(PACKAGE_DIR),
            "TONGBAN_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "tongban.settings",
        }
    )
    env.update(extra)
    return env


def setup_django() -> None:
    """Django in this process, on the load cluster (the generate and run commands)."""
    os.environ.update({k: v for k, v in product_env().items() if k.startswith(("TONGBAN_", "DJANGO_"))})
    import django

    django.setup()


def close_django() -> None:
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.close()
        close_pool = getattr(conn, "close_pool", None)
        if close_pool is not None:
            close_pool()


# ---------------------------------------------------------------------------------------------
# The state file: what generate built, and with which parameters


def read_state() -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {"params": {}, "stages": {}}
    return state


def write_state(state: dict[str, Any]) -> None:
    LOAD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, ensure_ascii=False))
    os.replace(tmp, STATE_FILE)


# ---------------------------------------------------------------------------------------------
# Printing


STARTED = time.monotonic()


def say(message: str) -> None:
    """A line of progress, with the seconds since this command started."""
    print(f"[{time.monotonic() - STARTED:7.1f} s] {message}", flush=True)


def progress(message: str) -> None:
    """A line that the next one replaces, on a terminal; a plain line otherwise."""
    if sys.stdout.isatty():
        print(f"\r  {message}\033[K", end="", flush=True)
    else:
        print(f"  {message}", flush=True)


def end_progress() -> None:
    if sys.stdout.isatty():
        print(flush=True)


@contextmanager
def stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    say(f"[{name}] …")
    began = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - began, 1)
    end_progress()
    say(f"[{name}] done in {timings[name]:.1f} s")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]
