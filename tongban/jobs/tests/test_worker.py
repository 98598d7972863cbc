"""A real worker (`tongban run_huey`, as `make run` and deploy/tongban-worker.service start it) on
a real queue — the SQLite file of the embedded set-up and Redis — takes a job from a page's
transaction, and picks up again a job a dead worker left behind."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tongban.dataquality import services as dataquality
from tongban.dataquality.models import ScanRun
from tongban.jobs import services
from tongban.jobs.models import JobRun
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory
from tongban.testing.processes import Worker

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


def _until_finished(job: JobRun, worker: Worker, seconds: float = 90) -> JobRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            return job
        assert worker.process.poll() is None, worker.log.read_text()
        time.sleep(0.2)
    raise AssertionError(f"job {job.pk} is {job.status} after {seconds} s:\n{worker.log.read_text()}")


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_a_worker_runs_queued_jobs_and_resumes_one_left_by_a_dead_worker(
    reference_data: None, job_queue: dict[str, str], tmp_path: Path
) -> None:
    supervisor = UserFactory.create(role="supervisor", unit=Unit.objects.get(code="360102"))
    kinds = ["duplicate_number", "wrong_number"]
    first = dataquality.scan_request(actor=supervisor, unit_code="360102", kinds=kinds)  # committed
    worker = Worker(job_queue, tmp_path / "worker.log")
    try:
        first = _until_finished(first, worker)
        assert first.status == JobRun.Status.SUCCEEDED, first.log
        assert ScanRun.objects.get(pk=int(first.object_id)).status == ScanRun.Status.DONE

        # A worker killed in the middle of a job leaves it 进行中 with no progress since; the
        # next sweep puts it back and a live worker resumes the same scan run.
        second = dataquality.scan_request(actor=supervisor, unit_code="360102001", kinds=kinds)
        second = _until_finished(second, worker)
        run = ScanRun.objects.get(pk=int(second.object_id))
        JobRun.objects.filter(pk=second.pk).update(
            status=JobRun.Status.RUNNING, finished_at=None, heartbeat_at=timezone.now() - timedelta(hours=1)
        )
        ScanRun.objects.filter(pk=run.pk).update(
            status=ScanRun.Status.RUNNING, stage="numbers", finished_at=None
        )
        worker.kill()
        worker = Worker(job_queue, tmp_path / "worker.log")
        assert services.jobs_recover(stale=timedelta(minutes=5)) == 1
        second = _until_finished(second, worker)
        assert second.status == JobRun.Status.SUCCEEDED and second.attempts == 2, second.log
        assert "执行中断" in second.log and "第 2 次执行" in second.log
        assert ScanRun.objects.filter(unit__code="360102001").count() == 1  # resumed, not started anew
        assert ScanRun.objects.get(pk=run.pk).status == ScanRun.Status.DONE
    finally:
        worker.kill()
