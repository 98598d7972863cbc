"""Two (or more) clerks, workers or schedulers doing the same thing at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def at_once(function: Callable[[], T], times: int = 2) -> tuple[list[T], list[BaseException]]:
    """Run `function` in `times` threads released together, each on its own database connection.
    Returns what they returned and what they raised (a thread's exception would vanish)."""
    barrier = threading.Barrier(times)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(function())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
