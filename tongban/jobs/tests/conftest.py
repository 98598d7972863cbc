"""A kind of job for the tests (counts, reports each step, leaves a file) and one that fails."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.jobs import kinds, services
from tongban.jobs.models import JobRun
from tongban.registry.models import Unit
from tongban.testing.personas import Personas

seen: list[dict[str, Any]] = []


def counting(context: services.JobContext) -> None:
    """A job of the tests: counts to params["n"], reporting each step, and leaves a file."""
    n = context.params["n"]
    for done in range(1, n + 1):
        context.progress(done, n, stage="计数")
        seen.append({"job": context.job.pk, "done": done})
    context.result_path("计数.txt").write_text(f"{n}\n", encoding="utf-8")
    context.finish(f"数到 {n}")


def failing(context: services.JobContext) -> None:
    raise RuntimeError("secret 360102199001011234 detail")


@pytest.fixture
def counting_kinds(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any) -> None:
    settings.JOBS_DIR = tmp_path
    seen.clear()
    monkeypatch.setitem(
        kinds.KINDS,
        "test.count",
        kinds.JobKind("test.count", "计数", "dataquality.decide", f"{__name__}.counting"),
    )
    monkeypatch.setitem(
        kinds.KINDS,
        "test.fail",
        kinds.JobKind("test.fail", "出错", "dataquality.decide", f"{__name__}.failing"),
    )


def start(personas: Personas, kind: str = "test.count", n: int = 3) -> JobRun:
    return services.job_start(
        actor=personas.donghu_supervisor, kind=kind, unit=Unit.objects.get(code="360102"), params={"n": n}
    )
