"""Admin for reference data and units. People are not here: their records are opened through
the audited register pages only."""

from __future__ import annotations

from django.contrib import admin

from tongban.registry.models import (
    ApplicationReason,
    Ethnicity,
    FingerPosition,
    HouseholdRelation,
    ProductionRoute,
    Region,
    Sex,
    Unit,
)


@admin.register(Sex, Ethnicity, HouseholdRelation, FingerPosition)
class CodeTableAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active"]
    list_editable = ["active"]
    search_fields = ["code", "name"]


@admin.register(ApplicationReason)
class ApplicationReasonAdmin(CodeTableAdmin):
    list_display = ["code", "name", "kind", "active"]
    list_filter = ["kind"]


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "start_year", "end_year"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    readonly_fields = ["path"]
    raw_id_fields = ["parent"]


@admin.register(ProductionRoute)
class ProductionRouteAdmin(admin.ModelAdmin):
    list_display = ["region_prefix", "centre", "note"]
