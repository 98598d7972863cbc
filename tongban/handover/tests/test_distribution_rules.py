"""A region's distribution rule set, replaced and removed through the services a campaign calls,
each time audited."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.handover import services
from tongban.handover.models import DistributionRule

pytestmark = pytest.mark.django_db
Route = DistributionRule.Route


def test_a_rule_is_set_replaced_and_removed(personas):
    manager = personas.campaign_manager
    services.distribution_rule_set(actor=manager, region_prefix="3601", route=Route.COUNTY, note="集中换发")
    rule = services.distribution_rule_set(actor=manager, region_prefix="3601", route=Route.DIRECT, note="")
    assert DistributionRule.objects.get(region_prefix="3601") == rule and rule.route == Route.DIRECT
    set_events = AuditEvent.objects.filter(action="distribution_rule.set", object_id=str(rule.pk))
    assert [e.detail["route"] for e in set_events.order_by("pk")] == ["county", "direct"]
    assert {e.actor_id for e in set_events} == {manager.pk}

    services.distribution_rule_remove(actor=manager, region_prefix="3601")
    assert not DistributionRule.objects.filter(region_prefix="3601").exists()
    removed = AuditEvent.objects.get(action="distribution_rule.remove")
    assert (removed.object_id, removed.detail) == (str(rule.pk), {"prefix": "3601"})

    services.distribution_rule_remove(actor=None, region_prefix="3601")  # none there: nothing happens
    assert AuditEvent.objects.filter(action="distribution_rule.remove").count() == 1
