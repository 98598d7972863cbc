"""后台任务 through the API (docs/api.md) and the pages: lists, progress, cancel with a
confirmation, retry, the result file, and foreign units answered 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.audit.models import AuditEvent
from tongban.jobs import services
from tongban.jobs.models import JobRun
from tongban.jobs.tests.conftest import seen, start
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


def test_the_api_lists_shows_cancels_retries_and_downloads(
    personas: Personas, counting_kinds: None, django_capture_on_commit_callbacks: Any
) -> None:
    api = api_client(personas.donghu_supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        done = start(personas)
    queued = start(personas)
    listed = api.get("/api/v1/jobs").json()
    assert [row["id"] for row in listed["results"]] == [queued.pk, done.pk] and listed["next_after"] is None
    detail = api.get(f"/api/v1/jobs/{done.pk}").json()
    assert (detail["status"], detail["status_label"], detail["percent"]) == ("succeeded", "已完成", 100)
    assert detail["has_result"] and detail["result_name"] == "计数.txt" and "完成：数到 3" in detail["log"]
    result = api.get(f"/api/v1/jobs/{done.pk}/result")
    assert result.status_code == 200 and result.getvalue() == b"3\n"
    assert "attachment" in result["Content-Disposition"]
    assert AuditEvent.objects.filter(action="job.result_download", object_id=str(done.pk)).exists()

    no_result = api.get(f"/api/v1/jobs/{queued.pk}/result")
    assert no_result.status_code == 404 and no_result.json()["code"] == "no_result"
    cancelled = api.post(f"/api/v1/jobs/{queued.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    finished = api.post(f"/api/v1/jobs/{done.pk}/cancel")
    assert finished.status_code == 409 and finished.json()["code"] == "job_finished"
    not_retryable = api.post(f"/api/v1/jobs/{done.pk}/retry")
    assert not_retryable.status_code == 409 and not_retryable.json()["code"] == "job_not_retryable"
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/v1/jobs/{queued.pk}/retry")
    assert retried.status_code == 201 and retried.json()["retry_of"] == queued.pk
    assert JobRun.objects.get(pk=retried.json()["id"]).status == JobRun.Status.SUCCEEDED

    # Another city's supervisor: nothing listed, every operation 404; civil affairs (no kind of
    # job to start): 403.
    assert api_client(personas.civil_affairs).get("/api/v1/jobs").status_code == 403
    outsider = api_client(UserFactory.create(role="supervisor", unit=Unit.objects.get(code="3607")))
    assert outsider.get("/api/v1/jobs").json()["results"] == []
    for method, path in (
        ("get", f"/api/v1/jobs/{done.pk}"),
        ("get", f"/api/v1/jobs/{done.pk}/result"),
        ("post", f"/api/v1/jobs/{queued.pk}/retry"),
        ("post", f"/api/v1/jobs/{done.pk}/cancel"),
    ):
        response = getattr(outsider, method)(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", path


def test_the_pages_show_progress_and_ask_before_cancelling(
    client: Client, personas: Personas, counting_kinds: None, django_capture_on_commit_callbacks: Any
) -> None:
    queued = start(personas)
    JobRun.objects.filter(pk=queued.pk).update(
        status=JobRun.Status.RUNNING, progress_done=1, progress_total=4
    )
    login(client, personas.nanchang_supervisor)  # oversees 东湖分局's jobs
    listing = client.get(reverse("jobs:list")).content.decode()
    assert f"#{queued.pk}" in listing and "计数" in listing and "进行中" in listing and "25%" in listing
    assert 'http-equiv="refresh"' in listing  # something is still running
    page = client.get(reverse("jobs:detail", args=[queued.pk])).content.decode()
    assert "取消任务" in page and 'data-confirm="确定取消任务' in page and "本页每 3 秒自动刷新" in page
    asked = client.post(reverse("jobs:cancel", args=[queued.pk]))
    assert asked.status_code == 200 and "取消后台任务" in asked.content.decode()
    assert not JobRun.objects.get(pk=queued.pk).cancel_requested  # only a confirmed POST acts
    client.post(reverse("jobs:cancel", args=[queued.pk]), {"confirmed": "1"})
    assert JobRun.objects.get(pk=queued.pk).cancel_requested

    JobRun.objects.filter(pk=queued.pk).update(status=JobRun.Status.FAILED, error="测试失败")
    page = client.get(reverse("jobs:detail", args=[queued.pk])).content.decode()
    assert "测试失败" in page and "重试" in page and 'http-equiv="refresh"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        retried = client.post(reverse("jobs:retry", args=[queued.pk]), follow=True)
    again = JobRun.objects.exclude(pk=queued.pk).get()
    assert f"已重新提交（任务 #{again.pk}）" in retried.content.decode()
    page = client.get(reverse("jobs:detail", args=[again.pk])).content.decode()
    assert "已完成" in page and "下载结果（计数.txt）" in page
    download = client.get(reverse("jobs:result", args=[again.pk]))
    assert download.status_code == 200 and download.getvalue() == b"3\n"

    client.logout()
    login(client, personas.civil_affairs)
    assert client.get(reverse("jobs:list")).status_code == 404  # no jobs of any kind for civil affairs
    client.logout()
    login(client, UserFactory.create(role="supervisor", unit=Unit.objects.get(code="3607")))
    assert client.get(reverse("jobs:detail", args=[again.pk])).status_code == 404
    assert f"#{again.pk}" not in client.get(reverse("jobs:list")).content.decode()
    assert client.post(reverse("jobs:cancel", args=[again.pk]), {"confirmed": "1"}).status_code == 404
    assert services.job_execute(again.pk) is not None and len(seen) == 3
