"""Admin for the distribution routing (分发路由规则). Shipments and handovers are not here: they
change only through the handover services."""

from __future__ import annotations

from django.contrib import admin

from tongban.handover.models import DistributionRule
from tongban.registry.admin import RoleAdmin


@admin.register(DistributionRule)
class DistributionRuleAdmin(RoleAdmin):
    """Which acceptance stations receive their cards through the county bureau (质检后分发),
    by station-code prefix; the longest prefix wins. Shipments already sent keep their route."""

    list_display = ["region_prefix", "route", "note"]
    search_fields = ["region_prefix", "note"]
