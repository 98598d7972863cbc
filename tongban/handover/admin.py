"""Admin for the distribution routing (分发路由规则). Shipments and handovers are not here: they
change only through the handover services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from tongban.accounts import staffing
from tongban.accounts.staffing_forms import StaffingOverrideForm, unit_list
from tongban.core.errors import ServiceError
from tongban.handover.models import DistributionRule
from tongban.registry.admin import RoleAdmin


class DistributionRuleForm(StaffingOverrideForm):
    """A rule routed through the county bureau (质检后分发) is refused where a county bureau it
    sends cards to has nobody to sign for and forward them, unless the override is ticked with
    a reason."""

    gaps: list[staffing.Gap]
    override_text = ""

    class Meta:
        model = DistributionRule
        fields = ["region_prefix", "route", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.gaps = []
        prefix, route = data.get("region_prefix"), data.get("route")
        if not prefix or not route or self.errors:
            return data
        others = DistributionRule.objects.exclude(pk=self.instance.pk).values_list("region_prefix", flat=True)
        gaps = staffing.distribution_rule_gaps(prefix=prefix, route=route, other_prefixes=list(others))
        try:
            self.override_text = staffing.check(
                gaps, override=bool(data.get("override_unstaffed")), reason=data.get("override_reason") or ""
            )
        except ServiceError as error:
            if error.code == "unstaffed_units":
                self.add_error(None, error.message)
                self.add_error("route", unit_list(error))
            else:
                self.add_error("override_reason", error.fields["override_reason"])
        self.gaps = gaps
        return data


@admin.register(DistributionRule)
class DistributionRuleAdmin(RoleAdmin):
    """Which acceptance stations receive their cards through the county bureau (质检后分发),
    by station-code prefix; the longest prefix wins. Shipments already sent keep their route."""

    form = DistributionRuleForm
    list_display = ["region_prefix", "route", "note"]
    search_fields = ["region_prefix", "note"]

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.override_text:
            staffing.record_override(
                actor=request.user,  # type: ignore[arg-type]
                gaps=form.gaps,
                reason=form.override_text,
                object_type="handover.distributionrule",
                object_id=obj.pk,
            )
