"""The queue's tasks (found by huey's Django integration): each only hands an id to a service."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from tongban.jobs import services
from tongban.jobs.schedules import schedule


@db_task()
def run_job(job_id: int) -> None:
    services.job_execute(job_id)


@db_periodic_task(crontab(minute="*"))
def recover_jobs() -> None:
    services.jobs_recover()


@db_periodic_task(schedule("job_results_prune"))
def job_results_prune() -> None:
    services.job_results_prune()
