"""A region's review chain set, replaced and removed through the services a campaign calls, each
time audited."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.intake import services
from tongban.intake.models import ReviewChain, ReviewChainStep

pytestmark = pytest.mark.django_db
Level = ReviewChainStep.Level


def test_a_chain_is_set_replaced_and_removed(personas):
    manager = personas.campaign_manager
    services.review_chain_set(
        actor=manager,
        region_prefix="3601",
        name="两级",
        note="",
        steps=[(Level.STATION, "审核"), (Level.COUNTY, "签发")],
    )
    chain = services.review_chain_set(
        actor=manager, region_prefix="3601", name="三级", note="集中换发", steps=[(Level.COUNTY, "审核签发")]
    )
    assert ReviewChain.objects.get(region_prefix="3601") == chain and chain.name == "三级"
    assert [(s.order, s.level, s.title) for s in chain.steps.all()] == [(1, "county", "审核签发")]
    set_events = AuditEvent.objects.filter(action="review_chain.set", object_id=str(chain.pk)).order_by("pk")
    assert [e.detail["steps"] for e in set_events] == [
        [["station", "审核"], ["county", "签发"]],
        [["county", "审核签发"]],
    ]
    assert set_events[0].actor_id == manager.pk

    services.review_chain_remove(actor=manager, region_prefix="3601")
    assert not ReviewChain.objects.filter(region_prefix="3601").exists()
    assert not ReviewChainStep.objects.filter(chain_id=chain.pk).exists()
    removed = AuditEvent.objects.get(action="review_chain.remove")
    assert (removed.object_id, removed.detail) == (str(chain.pk), {"prefix": "3601"})

    services.review_chain_remove(actor=None, region_prefix="3601")  # none there: nothing happens
    assert AuditEvent.objects.filter(action="review_chain.remove").count() == 1
