"""后台任务 pages: the list (the user's own jobs and, for overseers, their subtree's) and one job
with its progress bar, log, cancel, retry and result."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongban import confirm
from tongban.core.errors import ServiceError
from tongban.jobs import selectors, services
from tongban.jobs.kinds import kind_label, may_use_jobs
from tongban.jobs.models import JobRun
from tongban.registry.access import as_viewer

# How often a page showing an unfinished job reloads itself (seconds).
REFRESH_SECONDS = 3


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    if not may_use_jobs(viewer.can):
        raise Http404
    after = request.GET.get("after", "")
    page = selectors.jobs_page(viewer, after=int(after) if after.isdigit() else None)
    rows = [(job, kind_label(job.kind)) for job in page.rows]
    running = any(not job.finished for job in page.rows)
    return render(
        request,
        "jobs/list.html",
        {"rows": rows, "page": page, "refresh": REFRESH_SECONDS if running else None},
    )


def _job(request: HttpRequest, pk: int) -> JobRun:
    try:
        return selectors.job_get(as_viewer(request.user), pk)
    except ServiceError as error:
        raise Http404 from error


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    return render(
        request,
        "jobs/detail.html",
        {
            "job": job,
            "kind_label": kind_label(job.kind),
            "refresh": None if job.finished else REFRESH_SECONDS,
            "has_result": job.status == job.Status.SUCCEEDED
            and bool(job.result_file)
            and services.may_download(as_viewer(request.user), job),
        },
    )


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if not confirm.confirmed(request):
        return confirm.ask(
            request,
            title="取消后台任务",
            question=f"确定取消任务 #{job.pk}（{kind_label(job.kind)}）？已完成的部分保留，可重试继续。",
            confirm_label="取消任务",
            cancel_url=reverse("jobs:detail", args=[job.pk]),
        )
    try:
        services.job_cancel(actor=as_viewer(request.user), job_id=job.pk)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已请求取消：排队中的任务已取消，进行中的任务将在下一步停止。")
    return redirect("jobs:detail", pk=job.pk)


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    try:
        again = services.job_retry(actor=as_viewer(request.user), job_id=job.pk)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("jobs:detail", pk=job.pk)
    messages.success(request, f"已重新提交（任务 #{again.pk}）。")
    return redirect("jobs:detail", pk=again.pk)


@login_required
def job_result(request: HttpRequest, pk: int) -> FileResponse:
    try:
        job, path = services.job_result(actor=as_viewer(request.user), job_id=pk)
    except ServiceError as error:
        raise Http404 from error
    response = FileResponse(path.open("rb"), as_attachment=True, filename=job.result_name)
    response["Cache-Control"] = "no-store"
    return response
