"""A campaign's configuration (its review chain and county quality check) is checked against who
can work where: refused with the units nobody can work, unless the manager confirms with a
reason, which is kept and audited; putting it in force accepts only the confirmed units."""

from __future__ import annotations

from typing import Any

import pytest

from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.campaigns import services
from tongban.campaigns.models import Campaign, CampaignConfiguration
from tongban.core.errors import ServiceError
from tongban.intake.models import ReviewChain
from tongban.testing.personas import api_client, login
from tongban.testing.staffing import staff

pytestmark = pytest.mark.django_db

STEPS = [{"level": "station", "title": "初审"}, {"level": "county", "title": "审核签发"}]


def _unstaff(staffed: list[Any]) -> None:
    """Disable the fixture's accounts: only the personas remain (one reviewer at 城东派出所)."""
    User.objects.filter(pk__in=[user.pk for user in staffed]).update(is_active=False)


def test_configuration_refused_with_the_units_and_each_step(campaign: Campaign, personas, staffed):
    _unstaff(staffed)
    with pytest.raises(ServiceError) as refused:
        services.configuration_update(
            actor=personas.campaign_manager, campaign=campaign, review_steps=STEPS, county_quality_check=True
        )
    error = refused.value
    assert (error.code, error.status) == ("unstaffed_units", 409)
    assert "review_steps.1" in error.fields and "review_steps.2" in error.fields
    assert "county_quality_check" in error.fields
    assert "units.360102002" not in error.fields  # the persona reviewer works there
    assert "本单位或上级单位的审核签发员" in error.fields["units.360102001"]
    assert "本单位的受理员或分发发放员" in error.fields["units.360124"]
    assert "南昌市公安局东湖分局" in error.message and "进贤县公安局" in error.message
    assert CampaignConfiguration.objects.get(campaign=campaign).review_steps != STEPS


def test_override_is_kept_audited_and_accepted_when_starting(campaign: Campaign, personas, staffed):
    _unstaff(staffed)
    staff("reviewer", "3601")  # the review steps are covered; the county bureaus still lack staff
    with pytest.raises(ServiceError) as no_reason:
        services.configuration_update(
            actor=personas.campaign_manager,
            campaign=campaign,
            review_steps=STEPS,
            county_quality_check=True,
            override_unstaffed=True,
            override_reason="  ",
        )
    assert no_reason.value.code == "override_reason_required"
    config = services.configuration_update(
        actor=personas.campaign_manager,
        campaign=campaign,
        review_steps=STEPS,
        county_quality_check=True,
        override_unstaffed=True,
        override_reason="各分局分发员账号正在开通",
    )
    counties = ["360102", "360103", "360104", "360111", "360112", "360113", "360121", "360123", "360124"]
    assert config.unstaffed_override is not None
    assert config.unstaffed_override["units"] == counties
    assert config.unstaffed_override["reason"] == "各分局分发员账号正在开通"
    event = AuditEvent.objects.get(action="staffing.override", object_type="campaigns.campaign")
    assert event.detail["units"] == counties and event.object_id == str(campaign.pk)
    assert AuditEvent.objects.get(action="campaign.configure").detail["unstaffed_override"] == (
        "各分局分发员账号正在开通"
    )
    services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    assert ReviewChain.objects.get(region_prefix="3601").steps.count() == 2
    applied = AuditEvent.objects.get(action="campaign.configuration_apply")
    assert applied.detail["unstaffed_accepted"] == counties


def test_starting_refuses_units_not_confirmed(campaign: Campaign, personas, staffed):
    # Saved while staffed (no override); the city's reviewer leaves before the start.
    services.configuration_update(
        actor=personas.campaign_manager, campaign=campaign, review_steps=STEPS, county_quality_check=False
    )
    assert CampaignConfiguration.objects.get(campaign=campaign).unstaffed_override is None
    _unstaff(staffed)
    with pytest.raises(ServiceError) as refused:
        services.campaign_start(actor=personas.campaign_manager, campaign=campaign)
    assert refused.value.code == "unstaffed_units" and "流程配置" in refused.value.message
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PREPARING
    assert not ReviewChain.objects.filter(region_prefix="3601").exists()


def test_a_longer_chain_keeps_its_stations_out(campaign: Campaign, personas, staffed):
    _unstaff(staffed)
    other = ReviewChain.objects.create(name="东湖区", region_prefix="360102")
    other.steps.create(order=1, level="station", title="审核签发")
    with pytest.raises(ServiceError) as refused:
        services.configuration_update(
            actor=personas.campaign_manager,
            campaign=campaign,
            review_steps=[{"level": "station", "title": "审核签发"}],
            county_quality_check=False,
        )
    assert "units.360103001" in refused.value.fields
    assert not any(key.startswith("units.360102") for key in refused.value.fields)


def test_page_shows_the_refusal_at_the_step_and_saves_with_the_override(
    client, campaign: Campaign, personas, staffed
):
    _unstaff(staffed)
    login(client, personas.campaign_manager)
    url = f"/campaigns/{campaign.pk}/configuration/"
    form = {"level_1": "station", "title_1": "初审", "level_2": "county", "title_2": "审核签发"}
    response = client.post(url, form)
    assert response.status_code == 200
    text = response.content.decode()
    assert "下列单位的待办将无人办理" in text and "全部单位——" in text
    assert "第2环节“审核签发”落在无人办理的单位。" in text  # beside the step's level
    assert "南昌市公安局青山湖分局（360111）" in text
    response = client.post(url, {**form, "override_unstaffed": "on"})
    assert response.status_code == 200 and "请填写原因" in response.content.decode()
    response = client.post(url, {**form, "override_unstaffed": "on", "override_reason": "先行配置"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "已确认无人办理仍保存" in page and "先行配置" in page and "南昌市公安局东湖分局（360102）" in page


def test_api_refuses_with_units_and_takes_an_explicit_override(campaign: Campaign, personas, staffed):
    _unstaff(staffed)
    api = api_client(personas.campaign_manager)
    url = f"/api/v1/campaigns/{campaign.pk}/configuration"
    body = {"review_steps": STEPS, "county_quality_check": False}
    response = api.put(url, body, format="json")
    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "unstaffed_units"
    assert data["fields"]["units.360102"][0]["code"] == "unstaffed_units"
    assert "review_steps.2" in data["fields"]
    # A reason alone is no override: the flag says so explicitly.
    assert api.put(url, {**body, "override_reason": "x"}, format="json").status_code == 409
    response = api.put(url, {**body, "override_unstaffed": True}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "override_reason_required"
    response = api.put(
        url, {**body, "override_unstaffed": True, "override_reason": "试点期间"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["unstaffed_override"]["reason"] == "试点期间"
    assert response.json()["review_steps"] == STEPS
    assert AuditEvent.objects.filter(action="staffing.override").count() == 1


def test_api_configuration_only_for_the_manager(campaign: Campaign, personas):
    body = {"review_steps": STEPS, "county_quality_check": True}
    url = f"/api/v1/campaigns/{campaign.pk}/configuration"
    for user in (personas.nanchang_supervisor, personas.nanchang_clerk, personas.admin):
        denied = api_client(user).put(url, body, format="json")
        assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    bad = api_client(personas.campaign_manager).put(
        url,
        {"review_steps": [{"level": "planet", "title": "x"}], "county_quality_check": True},
        format="json",
    )
    assert bad.status_code == 400 and "review_steps.0.level" in bad.json()["fields"]
    ok = api_client(personas.campaign_manager).put(url, body, format="json")
    assert ok.status_code == 200 and ok.json()["unstaffed_override"] is None
