"""The campaign operations the pages offer, through the API: create and edit, start and close,
targets, configuration in force, duties with their notes, reports generated; with the roles
that may not (403), the campaign outside the caller's reach (404) and the state that forbids
the action (409)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from tongban.campaigns.models import Campaign, CampaignConfiguration, DutyNote, DutyTask, StationReport
from tongban.intake.models import ReviewChain
from tongban.testing.personas import api_client

BODY: dict[str, Any] = {
    "name": "接口新建",
    "reference_date": "2026-11-01",
    "target_entered": 1000,
    "phases": {
        "prepare": {"start": "2026-09-01", "end": "2026-10-31"},
        "replace": {"start": "2026-11-02", "end": "2027-06-30"},
        "summary": {"start": "2027-07-01", "end": "2027-08-31"},
    },
}


def test_manager_creates_a_campaign(personas, register, staffed):
    api = api_client(personas.campaign_manager)
    created = api.post("/api/v1/campaigns", {**BODY, "area": "3601"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "preparing" and body["application_types"] == ["first", "renewal"]
    assert sum(t["target"] for t in body["targets"]) == 1000
    campaign = Campaign.objects.get(pk=body["id"])
    assert DutyTask.objects.filter(campaign=campaign).exists()
    again = api.post("/api/v1/campaigns", {**BODY, "area": "3601"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_open"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"area": "3607"}, 400, "unknown_unit"),  # Ganzhou: outside the manager's city
        ({"area": "360102"}, 400, "not_a_city"),
        (
            {"phases": {**BODY["phases"], "replace": {"start": "2026-10-01", "end": "2027-06-30"}}},
            400,
            "bad_phases",
        ),
        ({"reference_date": "0001-01-01"}, 400, "invalid"),
        ({"name": "   "}, 400, "invalid"),
        ({"application_types": []}, 400, "invalid"),
    ],
)
def test_create_refusals(personas, register, change, status, code):
    response = api_client(personas.campaign_manager).post(
        "/api/v1/campaigns", {**BODY, "area": "3601", **change}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.parametrize("name", ["nanchang_supervisor", "nanchang_clerk", "finance"])
def test_only_the_manager_writes(campaign, personas, name):
    api = api_client(getattr(personas, name))
    for path, body in [
        ("", {**BODY, "area": "3601"}),
        (f"/{campaign.pk}/start", None),
        (f"/{campaign.pk}/close", None),
        (f"/{campaign.pk}/targets", None),
        (f"/{campaign.pk}/configuration/apply", None),
    ]:
        response = api.post(f"/api/v1/campaigns{path}", body, format="json")
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", path
    assert api.put(f"/api/v1/campaigns/{campaign.pk}", BODY, format="json").status_code == 403


def test_edit_start_targets_close(campaign, personas):
    api = api_client(personas.campaign_manager)
    url = f"/api/v1/campaigns/{campaign.pk}"
    edited = api.put(url, {**BODY, "name": "改名", "target_entered": 500}, format="json")
    assert edited.status_code == 200 and edited.json()["name"] == "改名"
    assert sum(t["target"] for t in edited.json()["targets"]) == 500

    applied = api.post(f"{url}/configuration/apply")
    assert applied.status_code == 200 and applied.json()["in_force"] is True
    assert ReviewChain.objects.filter(region_prefix="3601").exists()
    twice = api.post(f"{url}/configuration/apply")
    assert twice.status_code == 409 and twice.json()["code"] == "already_applied"

    started = api.post(f"{url}/start")
    assert started.status_code == 200 and started.json()["status"] == "active"
    again = api.post(f"{url}/start")
    assert again.status_code == 409 and again.json()["code"] == "not_preparing"

    derived = api.post(f"{url}/targets")
    assert derived.status_code == 200 and derived.json()["target"] == 500

    closed = api.post(f"{url}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert CampaignConfiguration.objects.get(campaign=campaign).restored_at is not None
    for path in ["/close", "/targets"]:
        late = api.post(f"{url}{path}")
        assert late.status_code == 409 and late.json()["code"] == "closed", path
    assert api.put(url, BODY, format="json").json()["code"] == "closed"


def test_start_refused_where_nobody_can_do_the_work(personas, register):
    """Without the fixture's staff, the default configuration lands on unstaffed units."""
    api = api_client(personas.campaign_manager)
    created = api.post("/api/v1/campaigns", {**BODY, "area": "3601"}, format="json").json()
    refused = api.post(f"/api/v1/campaigns/{created['id']}/start")
    assert refused.status_code == 409 and refused.json()["code"] == "unstaffed_units"


def test_configuration_body_is_checked_by_the_schema_rules(campaign, personas):
    api = api_client(personas.campaign_manager)
    url = f"/api/v1/campaigns/{campaign.pk}/configuration"
    for steps in [[], [{"level": "city", "title": "  "}], [{"level": "city", "title": "复核"}] * 6]:
        response = api.put(url, {"review_steps": steps, "county_quality_check": False}, format="json")
        assert response.status_code == 400 and response.json()["code"] == "invalid", steps
    assert (
        api_client(personas.nanchang_supervisor)
        .put(
            url,
            {"review_steps": [{"level": "city", "title": "复核"}], "county_quality_check": False},
            format="json",
        )
        .status_code
        == 403
    )


def test_duties_listed_read_and_noted(campaign, personas):
    today = timezone.localdate()
    manager = api_client(personas.campaign_manager)
    url = f"/api/v1/campaigns/{campaign.pk}/duties"
    first = manager.get(url).json()
    assert len(first["results"]) == 100 and first["next_after"] == first["results"][-1]["id"]
    rest = manager.get(f"{url}?after={first['next_after']}").json()
    assert len(first["results"]) + len(rest["results"]) <= DutyTask.objects.filter(campaign=campaign).count()
    late = manager.get(f"{url}?status=late").json()["results"]
    assert late and all(row["late"] for row in late)

    # The Donghu supervisor sees the tasks of their county bureau and its stations only.
    donghu = api_client(personas.donghu_supervisor)
    rows = donghu.get(url).json()["results"]
    assert rows and all(row["owner_unit"]["code"].startswith("360102") for row in rows)
    task = DutyTask.objects.get(pk=rows[0]["id"])
    noted = donghu.post(f"{url}/{task.pk}/notes", {"note": "已部署", "status": "doing"}, format="json")
    assert noted.status_code == 201 and noted.json()["status"] == "doing"
    assert [n["text"] for n in noted.json()["notes"]] == ["已部署"]
    moved = donghu.post(f"{url}/{task.pk}/notes", {"note": "延期", "due": f"{today}"}, format="json")
    assert moved.status_code == 403 and moved.json()["code"] == "permission_denied"
    blank = donghu.post(f"{url}/{task.pk}/notes", {"note": "  "}, format="json")
    assert blank.status_code == 400 and blank.json()["code"] == "invalid"

    other = DutyTask.objects.filter(campaign=campaign, owner_unit__code="360103")[0]
    assert donghu.get(f"{url}/{other.pk}").status_code == 404
    assert donghu.post(f"{url}/{other.pk}/notes", {"note": "x"}, format="json").status_code == 404
    clerk = api_client(personas.nanchang_clerk)  # sees the duties, records none
    assert clerk.post(f"{url}/{task.pk}/notes", {"note": "x"}, format="json").status_code == 403
    assert DutyNote.objects.filter(task=task).count() == 1


def test_reports_generated_by_the_manager_and_by_a_station(campaign, personas):
    url = f"/api/v1/campaigns/{campaign.pk}/reports"
    manager = api_client(personas.campaign_manager)
    made = manager.post(url, {"period": "2026-W46"}, format="json")
    assert made.status_code == 201, made.json()
    assert len(made.json()["results"]) == campaign.station_targets.count()

    clerk = api_client(personas.nanchang_clerk)
    own = clerk.post(url, {"period": "2026-11"}, format="json")
    assert own.status_code == 201 and [r["station"]["code"] for r in own.json()["results"]] == ["360102001"]

    for period, code in [
        ("2026-08", "before_campaign"),
        (f"{timezone.localdate().year + 1}-01", "future_period"),
    ]:
        refused = manager.post(url, {"period": period}, format="json")
        assert (refused.status_code, refused.json()["code"]) == (400, code), period
    for period in ["", " 2026-W46", "2026-W99", "2026-13"]:
        assert manager.get(f"{url}?period={period}").status_code == 400, period
    assert api_client(personas.finance).post(url, {"period": "2026-W46"}, format="json").status_code == 403
    assert StationReport.objects.filter(campaign=campaign, period="2026-W46").count() == len(
        made.json()["results"]
    )


def test_bounded_dates_refused_not_crashing(campaign, personas):
    api = api_client(personas.campaign_manager)
    far = {**BODY, "phases": {**BODY["phases"], "summary": {"start": "2027-07-01", "end": "9999-12-31"}}}
    response = api.put(f"/api/v1/campaigns/{campaign.pk}", far, format="json")
    assert response.status_code == 400 and "phases.summary.end" in response.json()["fields"]
    assert datetime.date(2027, 8, 31) == campaign.phases.get(kind="summary").end
