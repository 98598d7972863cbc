"""The demo campaign (called by `tongban demo seed`): 南昌市 replacing cards with the seed's
entered target of 1,310,000 people, apportioned to the counties by the demo register's
eligible counts, phases around today, the duty matrix, and its configuration in force."""

from __future__ import annotations

import datetime

from tongban.campaigns import services
from tongban.campaigns.models import Campaign, CampaignPhase, DutyTask
from tongban.registry.models import Unit

DEMO_CITY = "3601"  # 南昌市公安局
DEMO_TARGET = 1_310_000  # seeds/003: 力争完成131万（16周岁以上）居民换发二代证的任务
DEMO_NAME = "南昌市集中换发第二代居民身份证"


def seed_campaign(*, today: datetime.date) -> Campaign | None:
    """Create the demo campaign once (None when the city already has one): 准备 ended two months
    ago with a few duties done, 集中换发 runs from then for eight months (so the demo's
    application history of the last 90 days shows progress), 总结 three months."""
    area = Unit.objects.filter(code=DEMO_CITY).first()
    if area is None or Campaign.objects.filter(area=area).exists():
        return None
    from tongban.accounts.models import User

    manager = User.objects.filter(role="campaign_manager", unit=area).first()
    if manager is None:
        return None
    replace_start = today - datetime.timedelta(days=60)
    replace_end = replace_start + datetime.timedelta(days=240)
    phases = {
        CampaignPhase.Kind.PREPARE.value: (
            replace_start - datetime.timedelta(days=90),
            replace_start - datetime.timedelta(days=1),
        ),
        CampaignPhase.Kind.REPLACE.value: (replace_start, replace_end),
        CampaignPhase.Kind.SUMMARY.value: (
            replace_end + datetime.timedelta(days=1),
            replace_end + datetime.timedelta(days=91),
        ),
    }
    campaign = services.campaign_create(
        actor=manager,
        area=area,
        name=DEMO_NAME,
        reference_date=replace_start,
        target_entered=DEMO_TARGET,
        note="依据《换发二代居民身份证方案》（演示数据）",
        phases=phases,
    )
    services.campaign_start(actor=manager, campaign=campaign)
    # The city bureau's own preparation duties are done; the counties' are partly late.
    for task in DutyTask.objects.filter(campaign=campaign, department="city", phase="prepare"):
        services.duty_update(
            actor=manager, task=task, status=DutyTask.Status.DONE, note="已按方案完成（演示）"
        )
    return campaign
