"""Background jobs: start, run once, report, cancel, retry, recover a job whose worker died, and
who sees which job. Jobs run inline here when their transaction commits (root conftest)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.core.logging import MaskPersonalData
from tongban.dataquality import services as dataquality
from tongban.dataquality.models import ScanRun
from tongban.dataquality.tests.planted import plant
from tongban.jobs import services
from tongban.jobs.models import JobRun
from tongban.jobs.tests.conftest import seen, start
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db

Status = JobRun.Status


def test_a_job_runs_once_on_commit_and_reports(
    personas: Personas, counting_kinds: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = start(personas)
        assert JobRun.objects.get(pk=job.pk).status == Status.QUEUED  # nothing runs before commit
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.status, job.progress_done, job.progress_total, job.percent) == (Status.SUCCEEDED, 3, 3, 100)
    assert job.summary == "数到 3" and job.result_name == "计数.txt" and job.attempts == 1
    assert "开始执行" in job.log and "完成：数到 3" in job.log
    assert AuditEvent.objects.filter(action="job.start", object_id=str(job.pk)).exists()
    # The queue delivering the same message again changes nothing.
    services.job_execute(job.pk)
    assert len(seen) == 3


def test_a_failing_job_says_so_in_chinese_without_the_details(
    personas: Personas, counting_kinds: None, django_capture_on_commit_callbacks: Any, caplog: Any
) -> None:
    caplog.handler.addFilter(MaskPersonalData())  # as the configured handlers do
    with django_capture_on_commit_callbacks(execute=True):
        job = start(personas, "test.fail")
    logged = caplog.text
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.error == f"内部错误，请联系系统管理员（任务 #{job.pk}）。"
    assert "360102199001011234" not in job.log + job.error
    # The server log has the traceback for the administrator, the ID number masked.
    assert "RuntimeError" in logged and "360102199001011234" not in logged


def test_permission_to_start_is_the_kinds(personas: Personas, counting_kinds: None) -> None:
    with pytest.raises(ServiceError) as refused:
        services.job_start(
            actor=personas.nanchang_clerk,
            kind="test.count",
            unit=Unit.objects.get(code="360102001"),
            params={"n": 1},
        )
    assert refused.value.status == 403 and not JobRun.objects.exists()


def test_cancel_a_queued_job_at_once_and_a_running_one_at_its_next_report(
    personas: Personas, counting_kinds: None
) -> None:
    queued = start(personas)
    services.job_cancel(actor=personas.donghu_supervisor, job_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED and queued.finished_at is not None
    services.job_execute(queued.pk)  # the queue's message for it changes nothing
    queued.refresh_from_db()
    assert queued.status == Status.CANCELLED and seen == []
    with pytest.raises(ServiceError) as again:
        services.job_cancel(actor=personas.donghu_supervisor, job_id=queued.pk)
    assert again.value.code == "job_finished"

    running = start(personas, n=5)
    JobRun.objects.filter(pk=running.pk).update(status=Status.RUNNING, attempts=1)
    running.refresh_from_db()
    context = services.JobContext(running)
    context.progress(1, 5)
    services.job_cancel(actor=personas.donghu_supervisor, job_id=running.pk)
    assert JobRun.objects.get(pk=running.pk).status == Status.RUNNING  # it stops itself
    with pytest.raises(services.JobCancelled):
        context.progress(2, 5)


def test_a_cancelled_scan_resumes_where_it_stopped_when_retried(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    plant()
    actor = personas.donghu_supervisor
    job = dataquality.scan_request(
        actor=actor, unit_code="360102", kinds=["duplicate_number", "wrong_number"]
    )
    JobRun.objects.filter(pk=job.pk).update(cancel_requested=True)
    services.job_execute(job.pk)  # stops at its first report
    job.refresh_from_db()
    run = ScanRun.objects.get()
    assert job.status == Status.CANCELLED and run.status == ScanRun.Status.STOPPED
    with django_capture_on_commit_callbacks(execute=True):
        again = services.job_retry(actor=actor, job_id=job.pk)
    again.refresh_from_db()
    assert again.status == Status.SUCCEEDED and again.retry_of_id == job.pk
    assert ScanRun.objects.get().pk == run.pk  # the same run, finished
    assert ScanRun.objects.get().status == ScanRun.Status.DONE
    assert AuditEvent.objects.filter(action="job.retry", object_id=str(again.pk)).exists()
    with pytest.raises(ServiceError) as refused:
        services.job_retry(actor=actor, job_id=again.pk)
    assert refused.value.code == "job_not_retryable"


def test_a_job_whose_worker_died_is_put_back_and_the_old_worker_stands_down(
    personas: Personas, counting_kinds: None, django_capture_on_commit_callbacks: Any
) -> None:
    job = start(personas, n=2)
    JobRun.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    job.refresh_from_db()
    old_worker = services.JobContext(job)
    with django_capture_on_commit_callbacks(execute=True):
        put_back = services.jobs_recover(stale=timedelta(minutes=5))
    assert put_back == 1
    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempts == 2
    assert "执行中断" in job.log and "第 2 次执行" in job.log
    with pytest.raises(services.JobSuperseded):
        old_worker.progress(2, 2)
    # A fresh job is left alone.
    assert services.jobs_recover(stale=timedelta(minutes=5)) == 0


def test_who_sees_which_job(personas: Personas, counting_kinds: None) -> None:
    job = start(personas)
    ganzhou_supervisor = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="3607"))
    sees = {
        user.username: JobRun.objects.visible_to(user).filter(pk=job.pk).exists()
        for user in (
            personas.donghu_supervisor,  # started it
            personas.nanchang_supervisor,  # oversees the subtree above
            personas.province_supervisor,
            personas.admin,
            personas.nanchang_clerk,  # neither
            ganzhou_supervisor,  # another city
        )
    }
    assert list(sees.values()) == [True, True, True, True, False, False]
    with pytest.raises(ServiceError) as foreign:
        services.job_cancel(actor=ganzhou_supervisor, job_id=job.pk)
    assert foreign.value.status == 404
    with pytest.raises(ServiceError) as not_theirs:  # a clerk has jobs (campaign summaries), not this one
        services.job_cancel(actor=personas.nanchang_clerk, job_id=job.pk)
    assert not_theirs.value.status == 404
    with pytest.raises(ServiceError) as no_jobs:  # civil affairs start no kind of job and oversee none
        services.job_cancel(actor=personas.civil_affairs, job_id=job.pk)
    assert no_jobs.value.status == 403


def test_result_files_are_removed_after_their_retention(
    personas: Personas, counting_kinds: None, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.JOBS_RESULT_DAYS = 30
    with django_capture_on_commit_callbacks(execute=True):
        old, recent = start(personas), start(personas)
    finished = timezone.now() - timedelta(days=31)
    JobRun.objects.filter(pk=old.pk).update(finished_at=finished)
    old_file = settings.JOBS_DIR / JobRun.objects.get(pk=old.pk).result_file
    assert old_file.exists()

    assert services.job_results_prune() == 1
    old.refresh_from_db()
    assert not old_file.exists() and old.result_file == "" and "已超过保留期（30 天），已删除" in old.log
    assert old.status == Status.SUCCEEDED  # the job and its summary stay
    with pytest.raises(ServiceError) as gone:
        services.job_result(actor=personas.donghu_supervisor, job_id=old.pk)
    assert gone.value.code == "no_result"
    assert services.job_result(actor=personas.donghu_supervisor, job_id=recent.pk)[1].exists()
    assert services.job_results_prune() == 0
