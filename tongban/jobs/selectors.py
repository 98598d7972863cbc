"""Reading background jobs: the viewer's own and, for overseers, their subtree's."""

from __future__ import annotations

from dataclasses import dataclass

from tongban.core.errors import ServiceError
from tongban.jobs.kinds import may_use_jobs
from tongban.jobs.models import JobRun
from tongban.registry.access import Viewer

PAGE = 50


@dataclass(frozen=True)
class JobPage:
    rows: list[JobRun]
    next_after: int | None


def require_jobs(viewer: Viewer) -> None:
    if not may_use_jobs(viewer.can):
        raise ServiceError("permission_denied", "无权查看后台任务。", status=403)


def jobs_page(viewer: Viewer, *, after: int | None = None, limit: int = PAGE) -> JobPage:
    """Newest first, keyset by id."""
    require_jobs(viewer)
    jobs = JobRun.objects.visible_to(viewer).select_related("unit", "started_by").defer("log")
    if after is not None:
        jobs = jobs.filter(pk__lt=after)
    rows = list(jobs.order_by("-pk")[: limit + 1])
    return JobPage(rows=rows[:limit], next_after=rows[limit - 1].pk if len(rows) > limit else None)


def job_get(viewer: Viewer, pk: int) -> JobRun:
    require_jobs(viewer)
    job = JobRun.objects.visible_to(viewer).select_related("unit", "started_by").filter(pk=pk).first()
    if job is None:
        raise ServiceError("not_found", "未找到该任务。", status=404)
    return job
