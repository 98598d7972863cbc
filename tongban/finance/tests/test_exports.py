"""导出 of the finance lists as background jobs: started from the page (above
TONGBAN_EXPORT_INLINE_ROWS) and from the API (always), run with the starter's rights checked
again, the workbook read back, foreign units never in it, cancellation, retry and the audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tongban.audit.models import AuditEvent
from tongban.finance import exports, jobs
from tongban.finance.models import Payment
from tongban.finance.tests.helpers import all_cells, table_rows, xlsx_rows
from tongban.jobs import services as job_services
from tongban.jobs.models import JobRun
from tongban.registry.models import Unit
from tongban.testing.personas import api_client, login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def jobs_dir(settings: Any, tmp_path: Path) -> Path:
    settings.JOBS_DIR = tmp_path
    return tmp_path


def test_a_large_export_runs_as_a_job_from_the_page(
    client, personas, takings, days, settings, django_capture_on_commit_callbacks
):
    settings.EXPORT_INLINE_ROWS = 3  # the 东湖分局 list has 6 payments
    d1, _d2, today = days
    login(client, personas.finance)
    page = client.get(f"/finance/?start={d1:%Y-%m-%d}&end={today:%Y-%m-%d}")
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/finance/export/payments/", page.context["export"])
    job = JobRun.objects.get()
    assert started.status_code == 302 and started["Location"] == reverse("jobs:detail", args=[job.pk])
    assert (job.kind, job.unit.code, job.started_by, job.status) == (
        "finance.export.payments",
        "360102",
        personas.finance,
        JobRun.Status.SUCCEEDED,
    )
    assert (job.progress_done, job.progress_total) == (6, 6)
    assert job.result_name == f"收费明细-360102-{d1:%Y%m%d}-{today:%Y%m%d}.xlsx"
    shown = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert "导出收费明细" in shown and f"下载结果（{job.result_name}）" in shown

    download = client.get(reverse("jobs:result", args=[job.pk]))
    assert download.status_code == 200
    content = download.getvalue()
    rows = table_rows(xlsx_rows(content, "收费明细"), exports.PAYMENT_HEADERS)
    expected = Payment.objects.filter(unit__path__startswith=Unit.objects.get(code="360102").path)
    assert sorted(row[1] for row in rows) == sorted(expected.values_list("receipt_number", flat=True))
    assert all("*" in row[4] for row in rows)
    assert "360702001" not in all_cells(content)  # 赣州's payment
    days_sheet = table_rows(xlsx_rows(content, "按单位按日汇总"), exports.DAY_HEADERS)
    assert days_sheet[-1][0] == "合计" and days_sheet[-1][3] == 6

    # Audited as the direct export was (finance.export with its detail, and the job), and each download.
    export_event = AuditEvent.objects.get(action="finance.export")
    assert export_event.actor_id == personas.finance.pk and export_event.detail == {
        "list": "payments",
        "unit": "360102",
        "start": str(d1),
        "end": str(today),
        "job": job.pk,
    }
    assert AuditEvent.objects.filter(action="job.start", object_id=str(job.pk)).exists()
    assert AuditEvent.objects.filter(action="job.result_download", object_id=str(job.pk)).exists()


def test_a_small_export_comes_back_at_once(client, personas, takings, days, settings):
    settings.EXPORT_INLINE_ROWS = 6
    login(client, personas.finance)
    d1, _d2, today = days
    filters = {"start": f"{d1:%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"}
    response = client.post("/finance/export/payments/", filters)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert len(table_rows(xlsx_rows(response, "收费明细"), exports.PAYMENT_HEADERS)) == 6
    assert not JobRun.objects.exists()
    assert AuditEvent.objects.get(action="finance.export").detail["list"] == "payments"


def test_a_refused_export_says_why_on_its_page(client, personas, takings, days):
    login(client, personas.finance)
    d1, _d2, today = days
    response = client.post(
        "/finance/export/payments/", {"start": f"{today:%Y-%m-%d}", "end": f"{d1:%Y-%m-%d}"}, follow=True
    )
    assert response.request["PATH_INFO"] == "/finance/"
    assert "截止日期不能早于起始日期" in response.content.decode()
    assert not JobRun.objects.exists() and not AuditEvent.objects.filter(action="finance.export").exists()


@pytest.mark.parametrize(
    ("name", "data", "sheet", "headers", "rows"),
    [
        (
            "payments",
            {"unit": "360102", "start": "{d1}", "end": "{today}"},
            "收费明细",
            exports.PAYMENT_HEADERS,
            6,
        ),
        ("remittances", {}, "缴库记录", exports.REMITTANCE_HEADERS, 1),
        ("settlement", {"unit": "360102", "period": "2025Q1"}, "结算明细", exports.LINE_HEADERS, 5),
        (
            "settlement_lines",
            {"unit": "360102", "period": "2025Q1", "within": "360102002"},
            "结算明细",
            exports.LINE_HEADERS,
            2,
        ),
    ],
)
def test_every_export_is_a_job_from_the_api(
    personas, takings, first_cards, days, name, data, sheet, headers, rows, django_capture_on_commit_callbacks
):
    d1, _d2, today = days
    api = api_client(personas.finance)
    if name == "remittances":
        api.post(
            "/api/v1/finance/remittances",
            {"unit": "360102001", "day": str(d1), "treasury_reference": "缴2026-9"},
            format="json",
        )
    data = {key: value.format(d1=d1, today=today) for key, value in data.items()}
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/finance/{name.replace('_', '/')}/export", data, format="json")
    assert started.status_code == 202, started.json()
    assert started.json()["kind"] == f"finance.export.{name}" and started.json()["status"] == "queued"
    job = api.get(f"/api/v1/jobs/{started.json()['id']}").json()
    assert job["status"] == "succeeded" and job["has_result"] and job["percent"] == 100, job
    download = api.get(f"/api/v1/jobs/{job['id']}/result")
    assert download.status_code == 200 and job["result_name"].endswith(".xlsx")
    content = download.getvalue()
    assert len(table_rows(xlsx_rows(content, sheet), headers)) == rows
    assert "360702" not in all_cells(content)  # 赣州's rows
    assert AuditEvent.objects.get(action="finance.export").detail["job"] == job["id"]


@pytest.mark.parametrize(
    ("who", "path", "data", "status", "code"),
    [
        ("nanchang_clerk", "payments", {}, 403, "permission_denied"),
        ("donghu_supervisor", "settlement", {"period": "2025Q1"}, 403, "permission_denied"),
        ("admin", "remittances", {}, 403, "permission_denied"),
        ("finance", "payments", {"unit": "360702001"}, 404, "not_found"),
        ("finance", "remittances", {"unit": "36"}, 404, "not_found"),
        ("finance", "settlement", {"unit": "3607", "period": "2025Q1"}, 404, "not_found"),
        ("finance", "settlement/lines", {"period": "2025Q1", "within": "360702"}, 404, "not_found"),
        ("finance", "payments", {"start": "2026-02-01", "end": "2026-01-01"}, 400, "bad_period"),
        ("finance", "settlement", {"period": "2025Q7"}, 400, "invalid"),
        ("finance", "payments", {"item": "gold"}, 400, "invalid"),
    ],
)
def test_the_api_refuses_as_the_lists_do(personas, takings, who, path, data, status, code):
    response = api_client(getattr(personas, who)).post(f"/api/v1/finance/{path}/export", data, format="json")
    assert response.status_code == status and response.json()["code"] == code, response.json()
    assert not JobRun.objects.exists() and not AuditEvent.objects.filter(action="finance.export").exists()


def queued(personas, takings) -> JobRun:
    """A payments export queued by the finance officer, not run yet."""
    made = exports.export_request(actor=personas.finance, list_name="payments", params={"unit": "360102001"})
    return JobRun.objects.get(pk=made.pk)


def test_the_starters_rights_are_checked_again_when_the_job_runs(personas, takings):
    moved = queued(personas, takings)
    personas.finance.unit = Unit.objects.get(code="3607")  # moved to Ganzhou before the job ran
    personas.finance.save()
    job = job_services.job_execute(moved.pk)
    assert job is not None and job.status == JobRun.Status.FAILED and "不在本辖区" in job.error
    assert not job.result_file

    personas.finance.unit = Unit.objects.get(code="360102")
    personas.finance.save()
    demoted = queued(personas, takings)
    personas.finance.role = "clerk"
    personas.finance.save()
    job = job_services.job_execute(demoted.pk)
    assert job is not None and job.status == JobRun.Status.FAILED
    assert job.error == "发起人已无权执行“导出收费明细”。"


def test_an_overseer_follows_the_job_but_gets_no_file(
    client, personas, takings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = queued(personas, takings)
    api = api_client(personas.donghu_supervisor)  # job.oversee over 东湖分局, no finance.view
    assert api.get(f"/api/v1/jobs/{job.pk}").json()["status"] == "succeeded"
    refused = api.get(f"/api/v1/jobs/{job.pk}/result")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    login(client, personas.donghu_supervisor)
    assert "下载结果" not in client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert client.get(reverse("jobs:result", args=[job.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="job.result_download").exists()


def test_a_cancelled_export_leaves_no_file_and_a_retry_starts_over(
    personas, takings, jobs_dir, monkeypatch, django_capture_on_commit_callbacks
):
    job = queued(personas, takings)
    monkeypatch.setattr(jobs, "CHUNK", 1)
    row_of = exports.payment_row
    written = []

    def cancel_after_two(payment: Payment) -> list[Any]:
        written.append(payment.pk)
        if len(written) == 2:  # 取消 while the file is half written
            job_services.job_cancel(actor=personas.finance, job_id=job.pk)
        return row_of(payment)

    monkeypatch.setattr(exports, "payment_row", cancel_after_two)
    done = job_services.job_execute(job.pk)
    assert done is not None and done.status == JobRun.Status.CANCELLED
    assert done.progress_done < done.progress_total == 5
    assert not done.result_file and not (jobs_dir / str(job.pk) / "result").exists()
    assert api_client(personas.finance).get(f"/api/v1/jobs/{job.pk}/result").json()["code"] == "no_result"

    monkeypatch.setattr(exports, "payment_row", row_of)
    with django_capture_on_commit_callbacks(execute=True):
        again = job_services.job_retry(actor=personas.finance, job_id=job.pk)
    again.refresh_from_db()
    assert again.status == JobRun.Status.SUCCEEDED and (again.progress_done, again.progress_total) == (5, 5)
    download = api_client(personas.finance).get(f"/api/v1/jobs/{again.pk}/result")
    assert len(table_rows(xlsx_rows(download, "收费明细"), exports.PAYMENT_HEADERS)) == 5


def test_empty_filters_are_the_pages_defaults(personas, takings, days):
    _d1, _d2, today = days
    made = exports.export_of(personas.finance, "payments", {})
    assert made.params == {
        "unit": "360102",
        "start": str(today.replace(day=1)),
        "end": str(today),
        "item": "",
    }
