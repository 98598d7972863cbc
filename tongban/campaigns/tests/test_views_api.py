"""Campaign pages, downloads, API and the scheduled command, with allowed and denied roles."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from tongban.audit.models import AuditEvent
from tongban.campaigns import rules, services
from tongban.campaigns.models import Campaign, DutyTask, StationReport
from tongban.campaigns.tests.conftest import at
from tongban.jobs.models import JobRun
from tongban.jobs.services import job_execute
from tongban.testing.personas import api_client, login

VIEWERS = [
    "campaign_manager",
    "nanchang_supervisor",
    "donghu_supervisor",
    "nanchang_clerk",
    "province_supervisor",
]
OUTSIDERS = ["ganzhou_clerk", "finance", "auditor", "centre_operator", "nanchang_reviewer", "civil_affairs"]


def test_pages_for_viewers_and_404_for_others(client, campaign, personas):
    pages = ["", "duties/", "reports/", "configuration/", "progress.xlsx"]
    for name in VIEWERS:
        login(client, getattr(personas, name))
        assert client.get("/campaigns/").status_code == 200
        for page in pages:
            assert client.get(f"/campaigns/{campaign.pk}/{page}").status_code == 200, (name, page)
        client.logout()
    for name in OUTSIDERS:
        login(client, getattr(personas, name))
        assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404, name
        client.logout()


def test_campaign_page_shows_progress_and_late_duties(
    client, campaign, personas, register, application, django_assert_max_num_queries
):
    application(register["eligible"][0], accepted=at(datetime.date(2026, 11, 3)))
    login(client, personas.campaign_manager)
    with django_assert_max_num_queries(30):
        page = client.get(
            f"/campaigns/{campaign.pk}/?county={campaign.county_targets.get(county__code='360102').county_id}"
        )
    text = page.content.decode()
    assert "南昌市公安局东湖分局" in text and "逾期未完成的职责" in text
    assert 'id="progress-data"' in text and "echarts.min.js" in text
    assert "东湖区城关派出所" in text or "360102001" in text or "城关" in text


def test_manager_creates_and_configures_through_pages(client, personas, register, staffed):
    login(client, personas.campaign_manager)
    data = {
        "area": "3601",
        "name": "页面新建",
        "reference_date": "2026-11-01",
        "min_age": "16",
        "include_first_generation": "on",
        "include_without_card": "on",
        "target_entered": "1000",
        "application_types": ["renewal", "first"],
        "prepare_start": "2026-09-01",
        "prepare_end": "2026-10-31",
        "replace_start": "2026-11-02",
        "replace_end": "2027-06-30",
        "summary_start": "2027-07-01",
        "summary_end": "2027-08-31",
    }
    response = client.post("/campaigns/new/", data)
    assert response.status_code == 302
    campaign = Campaign.objects.get(name="页面新建")
    assert sum(campaign.county_targets.values_list("target", flat=True)) == 1000
    bad = client.post("/campaigns/new/", {**data, "name": "再建"})
    assert bad.status_code == 200 and "已有未结束的集中换发" in bad.content.decode()
    config = {
        "level_1": "county",
        "title_1": "审核签发",
        "level_2": "city",
        "title_2": "复核",
        "county_quality_check": "on",
    }
    assert client.post(f"/campaigns/{campaign.pk}/configuration/", config).status_code == 302
    assert campaign.configuration.__class__.objects.get(campaign=campaign).review_steps[1]["title"] == "复核"
    assert client.post(f"/campaigns/{campaign.pk}/do/start/").status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == "active"
    client.logout()
    login(client, personas.nanchang_supervisor)
    assert client.get("/campaigns/new/").status_code == 404
    assert client.post(f"/campaigns/{campaign.pk}/do/close/").status_code == 404
    assert client.post(f"/campaigns/{campaign.pk}/configuration/", config).status_code == 404
    client.logout()
    login(client, personas.campaign_manager)
    asked = client.post(f"/campaigns/{campaign.pk}/do/close/")  # without JavaScript: the question first
    assert asked.status_code == 200 and "确定结束" in asked.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "active"
    assert client.post(f"/campaigns/{campaign.pk}/do/close/", {"confirmed": "1"}).status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == "closed"


def test_duty_page_update(client, campaign, personas):
    task = DutyTask.objects.get(campaign=campaign, code="county.6", owner_unit__code="360102")
    login(client, personas.donghu_supervisor)
    response = client.post(
        f"/campaigns/{campaign.pk}/duties/{task.pk}/", {"status": "doing", "note": "已配备质检人员 2 名"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "doing" and task.notes.count() == 1
    other = DutyTask.objects.get(campaign=campaign, code="county.6", owner_unit__code="360103")
    assert client.get(f"/campaigns/{campaign.pk}/duties/{other.pk}/").status_code == 404  # outside the county


def test_reports_page_generate_and_sign(client, campaign, personas):
    period = rules.parse_period("2026-W46")
    login(client, personas.nanchang_clerk)
    assert client.post(f"/campaigns/{campaign.pk}/reports/", {"period": period.label}).status_code == 302
    report = StationReport.objects.get(campaign=campaign, period=period.label)
    assert report.station.code == "360102001"  # a station generates only its own
    page = client.get(f"/campaigns/{campaign.pk}/reports/?period={period.label}").content.decode()
    assert "核对无误，签报" in page
    assert client.post(f"/campaigns/{campaign.pk}/reports/{report.pk}/sign/").status_code == 302
    report.refresh_from_db()
    assert report.signed_by == personas.nanchang_clerk


def summary_of(client, campaign, fmt, capture) -> tuple[JobRun, bytes]:
    """工作总结 started from the campaign's page, run, and downloaded from the job's page."""
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'action="/campaigns/{campaign.pk}/summary/"' in page
    with capture(execute=True):
        started = client.post(f"/campaigns/{campaign.pk}/summary/", {"format": fmt})
    job = JobRun.objects.latest("pk")
    assert started.status_code == 302 and started["Location"] == f"/jobs/{job.pk}/"
    assert job.kind == "campaigns.summary" and job.status == JobRun.Status.SUCCEEDED, job.error
    assert f"下载结果（{job.result_name}）" in client.get(f"/jobs/{job.pk}/").content.decode()
    download = client.get(f"/jobs/{job.pk}/result/")
    assert download.status_code == 200
    return job, download.getvalue()


def test_summary_pdf_and_excel_read_back(
    client, campaign, personas, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.JOBS_DIR = tmp_path
    login(client, personas.campaign_manager)
    job, pdf = summary_of(client, campaign, "pdf", django_capture_on_commit_callbacks)
    assert job.result_name.endswith("-工作总结-" + f"{timezone.localdate():%Y%m%d}.pdf")
    assert job.unit == campaign.area and (job.progress_done, job.progress_total) == (1, 1)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert (
        "工作总结" in text and "南昌市公安局东湖分局" in text and "对接收的身份证成品进行质检和分发" in text
    )
    resources = [page["/Resources"] for page in reader.pages]
    fonts = {str(font) for res in resources for font in res["/Font"].values()}  # type: ignore[index]
    assert fonts
    _job, xlsx = summary_of(client, campaign, "xlsx", django_capture_on_commit_callbacks)
    book = load_workbook(io.BytesIO(xlsx))
    assert book.sheetnames == [
        "总体情况",
        "分县进度",
        "派出所进度",
        "时间安排",
        "职责落实汇总",
        "职责落实明细",
    ]
    totals = {row[0]: row[1] for row in book["总体情况"].iter_rows(min_row=3, values_only=True)}
    assert totals["任务数"] == sum(campaign.county_targets.values_list("target", flat=True))
    counties = [r for r in book["分县进度"].iter_rows(min_row=3, values_only=True) if r[0]]
    assert {r[0]: r[2] for r in counties} == dict(
        campaign.county_targets.values_list("county__code", "target")
    )
    assert book["职责落实明细"].max_row - 1 == DutyTask.objects.filter(campaign=campaign).count()
    assert AuditEvent.objects.filter(action="job.start", actor_id=personas.campaign_manager.pk).count() == 2
    assert AuditEvent.objects.filter(action="job.result_download").count() == 2


def test_a_county_summary_holds_only_its_county(
    client, campaign, personas, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.JOBS_DIR = tmp_path
    login(client, personas.donghu_supervisor)  # 东湖分局: its own part of the campaign
    job, xlsx = summary_of(client, campaign, "xlsx", django_capture_on_commit_callbacks)
    assert job.unit.code == "360102"
    sheet = load_workbook(io.BytesIO(xlsx))["派出所进度"]
    stations = list(sheet.iter_rows(min_row=3, values_only=True))
    assert stations and all(str(row[1]).startswith("360102") for row in stations)


def test_summary_refusals(client, campaign, personas, settings, tmp_path):
    settings.JOBS_DIR = tmp_path
    login(client, personas.campaign_manager)
    wrong = client.post(f"/campaigns/{campaign.pk}/summary/", {"format": "docx"}, follow=True)
    assert "总结格式应为 pdf 或 xlsx" in wrong.content.decode() and not JobRun.objects.exists()
    assert client.get(f"/campaigns/{campaign.pk}/summary/").status_code == 405
    client.logout()
    login(client, personas.ganzhou_clerk)  # not covered by the Nanchang campaign
    assert client.post(f"/campaigns/{campaign.pk}/summary/", {"format": "pdf"}).status_code == 404
    api = api_client(personas.ganzhou_clerk)
    outside = api.post(f"/api/v1/campaigns/{campaign.pk}/summary", {"format": "pdf"}, format="json")
    assert outside.status_code == 404 and outside.json()["code"] == "not_found"
    denied = api_client(personas.finance).post(
        f"/api/v1/campaigns/{campaign.pk}/summary", {"format": "pdf"}, format="json"
    )
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    bad = api_client(personas.campaign_manager).post(
        f"/api/v1/campaigns/{campaign.pk}/summary", {"format": "docx"}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "format" in bad.json()["fields"]
    assert not JobRun.objects.exists()


def test_the_api_starts_a_summary_job(
    campaign, personas, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.JOBS_DIR = tmp_path
    api = api_client(personas.nanchang_clerk)  # a station's part
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/campaigns/{campaign.pk}/summary", {"format": "xlsx"}, format="json")
    assert started.status_code == 202 and started.json()["kind"] == "campaigns.summary"
    assert started.json()["params"] == {"campaign": campaign.pk, "format": "xlsx"}
    job = api.get(f"/api/v1/jobs/{started.json()['id']}").json()
    assert job["status"] == "succeeded" and job["unit"]["code"] == "360102001"
    result = api.get(f"/api/v1/jobs/{job['id']}/result")
    assert "总体情况" in load_workbook(io.BytesIO(result.getvalue())).sheetnames


def test_a_cancelled_summary_stops_at_its_report(campaign, personas, settings, tmp_path):
    settings.JOBS_DIR = tmp_path
    job = services.summary_request(actor=personas.campaign_manager, campaign_id=campaign.pk, fmt="pdf")
    JobRun.objects.filter(pk=job.pk).update(cancel_requested=True)  # asked while it was queued
    done = job_execute(job.pk)
    assert done is not None and done.status == JobRun.Status.CANCELLED and not done.result_file
    assert not list(tmp_path.rglob("result"))


def test_the_summary_command_writes_the_same_file(campaign, tmp_path):
    out = io.StringIO()
    target = tmp_path / "总结.xlsx"
    call_command(
        "campaigns", "summary", str(campaign.pk), "--format", "xlsx", "--output", str(target), stdout=out
    )
    assert out.getvalue().strip() == str(target)
    assert load_workbook(target).sheetnames[0] == "总体情况"
    pdf = tmp_path / "总结.pdf"
    call_command("campaigns", "summary", str(campaign.pk), "--output", str(pdf), stdout=io.StringIO())
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(CommandError):
        call_command("campaigns", "summary", "999999", "--output", str(pdf))


def test_api_list_detail_progress_and_sign(campaign, personas):
    api = api_client(personas.campaign_manager)
    assert [c["id"] for c in api.get("/api/v1/campaigns").json()["results"]] == [campaign.pk]
    detail = api.get(f"/api/v1/campaigns/{campaign.pk}").json()
    assert {t["county"]["code"]: t["target"] for t in detail["targets"]} == dict(
        campaign.county_targets.values_list("county__code", "target")
    )
    assert detail["configuration"]["in_force"] is False and detail["late_duties"] > 0
    progress = api.get(f"/api/v1/campaigns/{campaign.pk}/progress").json()
    assert progress["total"]["target"] == sum(r["target"] for r in progress["rows"])
    stations = api.get(f"/api/v1/campaigns/{campaign.pk}/progress?county=360102").json()
    assert [r["code"] for r in stations["rows"]] == ["360102001", "360102002"]
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/progress?county=360702").status_code == 404
    (report,) = services.reports_generate(
        actor=None,
        campaign=campaign,
        period=rules.parse_period("2026-W46"),
        stations=[campaign.area.children.get(code="360102").children.get(code="360102001")],
    )
    listed = api.get(f"/api/v1/campaigns/{campaign.pk}/reports?period=2026-W46").json()["results"]
    assert [r["id"] for r in listed] == [report.pk]
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/reports?period=bad").status_code == 400
    url = f"/api/v1/campaigns/{campaign.pk}/reports/{report.pk}/sign"
    denied = api.post(url)  # the manager does not sign reports off
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    other = api_client(personas.nanchang_reviewer).post(url)  # no campaign.report either
    assert other.status_code == 403
    clerk = api_client(personas.nanchang_clerk)
    signed = clerk.post(url)
    assert signed.status_code == 200 and signed.json()["signed_by"]
    again = clerk.post(url)
    assert again.status_code == 409 and again.json()["code"] == "already_signed"


@pytest.mark.parametrize(
    "name", ["finance", "auditor", "centre_operator", "nanchang_reviewer", "civil_affairs"]
)
def test_api_roles_without_campaigns_are_refused(campaign, personas, name):
    api = api_client(getattr(personas, name))
    for path in ["", f"/{campaign.pk}", f"/{campaign.pk}/progress", f"/{campaign.pk}/duties"]:
        response = api.get(f"/api/v1/campaigns{path}")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", path


def test_api_campaign_of_another_city_is_not_found(campaign, personas):
    api = api_client(personas.ganzhou_clerk)
    assert api.get("/api/v1/campaigns").json()["results"] == []
    assert api.get(f"/api/v1/campaigns/{campaign.pk}").status_code == 404
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/progress").status_code == 404


def test_reports_command(campaign, personas, capsys):
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    call_command("campaigns", "reports", "--period", "2026-W46")
    assert (
        StationReport.objects.filter(campaign=campaign, period="2026-W46").count()
        == campaign.station_targets.count()
    )
    assert "2026-W46" in capsys.readouterr().out


def test_home_card_lists_running_campaigns_with_late_duties(client, campaign, personas):
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    late = (
        DutyTask.objects.filter(campaign=campaign, due__lt=timezone.localdate())
        .exclude(status=DutyTask.Status.DONE)
        .count()
    )
    assert late > 0  # the fixture's preparation phase is over and nothing is done
    login(client, personas.campaign_manager)
    text = client.get("/").content.decode()
    assert f"/campaigns/{campaign.pk}/" in text and campaign.name in text
    assert f"逾期未完成职责 <strong>{late}</strong> 项" in text
    client.logout()
    login(client, personas.ganzhou_clerk)  # a station of another city: not in this campaign
    assert f"/campaigns/{campaign.pk}/" not in client.get("/").content.decode()
