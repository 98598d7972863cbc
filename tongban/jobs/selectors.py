"""Reading background jobs: the viewer's own and, for overseers, their subtree's."""

from __future__ import annotations

from tongban.core.errors import ServiceError
from tongban.jobs.kinds import may_use_jobs
from tongban.jobs.models import JobRun
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer

PAGE = 50


def require_jobs(viewer: Viewer) -> None:
    if not may_use_jobs(viewer.can):
        raise ServiceError("permission_denied", "无权查看后台任务。", status=403)


def jobs_page(viewer: Viewer, *, after: int | None = None, limit: int = PAGE) -> Page[JobRun, int]:
    """Newest first, keyset by id."""
    require_jobs(viewer)
    jobs = JobRun.objects.visible_to(viewer).select_related("unit", "started_by").defer("log")
    return page_after(jobs, ["-pk"], after, limit=limit)


def job_get(viewer: Viewer, pk: int) -> JobRun:
    require_jobs(viewer)
    job = JobRun.objects.visible_to(viewer).select_related("unit", "started_by").filter(pk=pk).first()
    if job is None:
        raise ServiceError("not_found", "未找到该任务。", status=404)
    return job
