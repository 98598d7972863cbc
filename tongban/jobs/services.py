"""Background jobs: start one (from a page, the API or the command line), run it in a worker,
report its progress, cancel it, retry it, and put back on the queue what a dead worker left.

A job is a `JobRun` row written in the caller's transaction; the queue (huey) only carries its id,
sent once the transaction commits. Whatever the queue loses or repeats, the row decides: a worker
runs a job only after claiming it under a row lock (queued → running), and `jobs_recover` puts
back the jobs whose worker stopped reporting (kill -9, a lost queue message) — their kinds resume
from their own checkpoints (kinds.py)."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.jobs.kinds import KINDS, JobKind
from tongban.jobs.models import JobRun
from tongban.jobs.selectors import require_jobs
from tongban.registry.access import Viewer
from tongban.registry.models import Unit

logger = logging.getLogger("tongban.jobs")

Status = JobRun.Status
LOG_MAX = 20_000  # characters of a job's log kept (the latest)


class JobCancelled(Exception):
    """Raised inside a running job at its next progress report once cancellation was asked."""


class JobSuperseded(Exception):
    """Raised inside a job that was put back on the queue (no progress for too long) and taken by
    another worker since: this one stops and leaves the job to the other."""


class JobContext:
    """What a running job's service is given: its parameters, and the means to say how far it has
    come (which is also where a cancellation stops it), what it did, and what it leaves."""

    def __init__(self, job: JobRun) -> None:
        self.job = job

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.job.params)

    def progress(
        self, done: int | None = None, total: int | None = None, *, stage: str | None = None
    ) -> None:
        """Record progress (and that the worker is alive); raise JobCancelled if cancellation was
        asked since the last report."""
        job = self.job
        if done is not None:
            job.progress_done = done
        if total is not None:
            job.progress_total = total
        if stage is not None:
            job.stage = stage[:40]
        job.heartbeat_at = timezone.now()
        mine = JobRun.objects.filter(pk=job.pk, status=Status.RUNNING, attempts=job.attempts)
        if not mine.filter(cancel_requested=False).update(  # one statement when all is well
            progress_done=job.progress_done,
            progress_total=job.progress_total,
            stage=job.stage,
            heartbeat_at=job.heartbeat_at,
        ):
            raise JobCancelled if mine.filter(cancel_requested=True).exists() else JobSuperseded

    def log(self, message: str) -> None:
        """Append a line (Chinese, no personal data) to the job's log."""
        self.job.log = (self.job.log + _stamped(message))[-LOG_MAX:]
        JobRun.objects.filter(pk=self.job.pk).update(log=self.job.log, heartbeat_at=timezone.now())

    def made(self, *, object_type: str, object_id: object) -> None:
        """Name the record the job works on (e.g. its scan run), kept across a restart."""
        self.job.object_type, self.job.object_id = object_type, str(object_id)
        JobRun.objects.filter(pk=self.job.pk).update(
            object_type=self.job.object_type, object_id=self.job.object_id
        )

    def result_path(self, name: str) -> Path:
        """Where the job writes its result file `name` (downloadable once the job succeeds)."""
        folder = Path(settings.JOBS_DIR) / str(self.job.pk)
        folder.mkdir(parents=True, exist_ok=True)
        self.job.result_file = str(Path(str(self.job.pk)) / "result")
        self.job.result_name = name
        return folder / "result"

    def finish(self, summary: str) -> None:
        """What the job achieved, in one line shown with it."""
        self.job.summary = summary[:500]


def _stamped(message: str) -> str:
    return f"{timezone.localtime():%Y-%m-%d %H:%M:%S} {message}\n"


def _kind(code: str) -> JobKind:
    kind = KINDS.get(code)
    if kind is None:
        raise ServiceError("invalid", "未知的任务类型。")
    return kind


def job_start(
    *, actor: Viewer, kind: str, unit: Unit, params: dict[str, Any], retry_of: JobRun | None = None
) -> JobRun:
    """Queue a job of `kind` over `unit` (whose subtree's overseers see it). The caller has
    checked `params` (the domain service that offers the job); the queue gets it on commit."""
    spec = _kind(kind)
    if not actor.can(spec.permission):
        raise ServiceError("permission_denied", f"无权执行“{spec.label}”。", status=403)
    job = JobRun.objects.create(
        kind=kind, params=params, unit=unit, started_by_id=actor.pk, retry_of=retry_of
    )
    record(
        actor=actor,
        action=AuditAction.JOB_RETRY if retry_of is not None else AuditAction.JOB_START,
        object_type="jobs.jobrun",
        object_id=job.pk,
        detail={
            "kind": kind,
            "unit": unit.code,
            "params": params,
            **({"retry_of": retry_of.pk} if retry_of else {}),
        },
    )
    _enqueue_on_commit(job.pk)
    return job


def _enqueue_on_commit(job_id: int) -> None:
    from tongban.jobs import tasks  # the queue, only once there is something to send

    transaction.on_commit(lambda: tasks.run_job(job_id))


def _manageable(actor: Viewer, job_id: int) -> JobRun:
    require_jobs(actor)
    job = JobRun.objects.visible_to(actor).select_for_update(of=("self",)).filter(pk=job_id).first()
    if job is None:
        raise ServiceError("not_found", "未找到该任务。", status=404)
    return job


@transaction.atomic
def job_cancel(*, actor: Viewer, job_id: int) -> JobRun:
    """取消: a queued job ends at once; a running one at its next progress report."""
    job = _manageable(actor, job_id)
    if job.finished:
        raise ServiceError(
            "job_finished", f"该任务已结束（{job.get_status_display()}），不能取消。", status=409
        )
    if job.status == Status.QUEUED:
        job.status, job.finished_at = Status.CANCELLED, timezone.now()
        job.log += _stamped("已取消（尚未开始）")
    job.cancel_requested = True
    job.save(update_fields=["status", "finished_at", "cancel_requested", "log"])
    record(
        actor=actor,
        action=AuditAction.JOB_CANCEL,
        object_type="jobs.jobrun",
        object_id=job.pk,
        detail={"kind": job.kind},
    )
    return job


@transaction.atomic
def job_retry(*, actor: Viewer, job_id: int) -> JobRun:
    """重试: a failed or cancelled job again, as a new job with the same parameters that goes on
    with the record the first one worked on (a scan resumes at its checkpoint)."""
    job = _manageable(actor, job_id)
    if job.status not in (Status.FAILED, Status.CANCELLED):
        raise ServiceError("job_not_retryable", "只有失败或已取消的任务可以重试。", status=409)
    again = job_start(actor=actor, kind=job.kind, unit=job.unit, params=job.params, retry_of=job)
    again.object_type, again.object_id = job.object_type, job.object_id
    again.save(update_fields=["object_type", "object_id"])
    return again


def job_execute(job_id: int) -> JobRun | None:
    """Run job `job_id` in this worker if it is still queued (claimed under a row lock, so a
    message delivered twice runs it once). Its kind's service does the work."""
    with transaction.atomic():
        job = JobRun.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return job
        now = timezone.now()
        job.status, job.heartbeat_at, job.attempts = Status.RUNNING, now, job.attempts + 1
        job.started_at = job.started_at or now
        job.save(update_fields=["status", "heartbeat_at", "attempts", "started_at"])
    context = JobContext(job)
    context.log("开始执行" if job.attempts == 1 else f"第 {job.attempts} 次执行（从中断处继续）")
    try:
        kind = _kind(job.kind)
        # Checked again now, not only when it was queued: the starter may have lost the role.
        if job.started_by is not None and not job.started_by.can(kind.permission):
            raise ServiceError("permission_denied", f"发起人已无权执行“{kind.label}”。", status=403)
        kind.run(context)
    except JobSuperseded:
        logger.warning("job %s was taken by another worker; this one stops", job.pk)
        return job
    except JobCancelled:
        job.status = Status.CANCELLED
        context.log("已取消")
    except ServiceError as error:
        job.status, job.error = Status.FAILED, error.message[:500]
        context.log(f"失败：{error.message}")
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        job.status, job.error = Status.FAILED, f"内部错误，请联系系统管理员（任务 #{job.pk}）。"
        context.log("失败：内部错误")
    else:
        job.status = Status.SUCCEEDED
        context.log("完成" + (f"：{job.summary}" if job.summary else ""))
    if job.status != Status.SUCCEEDED and job.result_file:
        # Half a file is no result: nothing to download, and no disk kept for it.
        (Path(settings.JOBS_DIR) / job.result_file).unlink(missing_ok=True)
        job.result_file = job.result_name = ""
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "summary", "result_file", "result_name", "finished_at", "log"])
    return job


def jobs_recover(*, stale: timedelta | None = None) -> int:
    """Put back on the queue the jobs a worker took and stopped reporting on (killed, its machine
    gone) and the queued ones the queue lost: each is claimed again by the next worker and
    resumes (kinds.py). Returns how many were put back."""
    stale = stale or timedelta(seconds=settings.JOBS_STALE_SECONDS)
    cutoff = timezone.now() - stale
    put_back = []
    stuck = Q(status__in=[Status.RUNNING, Status.QUEUED], heartbeat_at__lt=cutoff) | Q(
        status=Status.QUEUED, heartbeat_at=None, created_at__lt=cutoff
    )
    with transaction.atomic():
        for job in JobRun.objects.select_for_update(skip_locked=True).filter(stuck):
            if job.status == Status.RUNNING:
                job.log += _stamped(f"执行中断（超过 {stale.seconds} 秒无进展），重新排队")
            job.status, job.heartbeat_at = Status.QUEUED, timezone.now()
            job.save(update_fields=["status", "heartbeat_at", "log"])
            put_back.append(job.pk)
            _enqueue_on_commit(job.pk)
    return len(put_back)


def job_results_prune(*, today: date | None = None) -> int:
    """Remove the result files of jobs finished more than JOBS_RESULT_DAYS days ago: an export of
    payments is personal and financial data, kept on disk only as long as someone may still want
    to download it. The job stays, its log saying so. Returns how many files were removed."""
    today = today or timezone.localdate()
    cutoff = timezone.make_aware(datetime.combine(today - timedelta(days=settings.JOBS_RESULT_DAYS), time()))
    old = JobRun.objects.exclude(result_file="").filter(finished_at__lt=cutoff)
    removed = 0
    for job in old.only("pk", "result_file", "log"):
        (Path(settings.JOBS_DIR) / job.result_file).unlink(missing_ok=True)
        job.log += _stamped(f"结果文件已超过保留期（{settings.JOBS_RESULT_DAYS} 天），已删除")
        job.result_file = ""
        job.save(update_fields=["result_file", "log"])
        removed += 1
    return removed


def may_download(actor: Viewer, job: JobRun) -> bool:
    """A result holds what its kind's permission guards (an export of payments, a campaign's
    summary): an overseer without it follows the job but does not get the file."""
    kind = KINDS.get(job.kind)
    return kind is not None and actor.can(kind.permission)


def job_result(*, actor: Viewer, job_id: int) -> tuple[JobRun, Path]:
    """The result file of a finished job, for download (audited)."""
    require_jobs(actor)
    job = JobRun.objects.visible_to(actor).filter(pk=job_id).first()
    if job is None:
        raise ServiceError("not_found", "未找到该任务。", status=404)
    if not may_download(actor, job):
        raise ServiceError("permission_denied", "无权下载该任务的结果。", status=403)
    path = Path(settings.JOBS_DIR) / job.result_file if job.result_file else None
    if job.status != Status.SUCCEEDED or path is None or not path.exists():
        raise ServiceError("no_result", "该任务没有可下载的结果。", status=404)
    record(
        actor=actor,
        action=AuditAction.JOB_RESULT_DOWNLOAD,
        object_type="jobs.jobrun",
        object_id=job.pk,
        detail={"kind": job.kind, "name": job.result_name},
    )
    return job, path
