"""Admin for reference data and units. People are not here: their records are opened through
the audited register pages only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.registry.models import (
    ApplicationReason,
    CalendarDay,
    CalendarYear,
    Ethnicity,
    FingerPosition,
    HouseholdRelation,
    ProductionRoute,
    RefusalReason,
    Region,
    Sex,
    Unit,
)


class RoleAdmin(admin.ModelAdmin):
    """Admin pages open to users whose role holds `manage_action` (not Django's per-model
    permissions), and every change written to the audit trail like any other state change."""

    manage_action = "reference.manage"

    def _allowed(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "can", lambda action: False)(self.manage_action))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._audit(
            request,
            obj,
            AuditAction.ADMIN_CHANGE if change else AuditAction.ADMIN_CREATE,
            sorted(form.changed_data),
        )

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self._audit(request, obj, AuditAction.ADMIN_DELETE, [])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The changelist's "delete selected" action bypasses delete_model.
        for obj in queryset:
            self._audit(request, obj, AuditAction.ADMIN_DELETE, [])
        super().delete_queryset(request, queryset)

    def _audit(self, request: HttpRequest, obj: Model, action: AuditAction, fields: list[str]) -> None:
        record(
            actor=request.user,  # type: ignore[arg-type]
            action=action,
            object_type=obj._meta.label_lower,
            object_id=obj.pk,
            detail={"fields": fields},
        )


@admin.register(Sex, Ethnicity, HouseholdRelation, FingerPosition)
class CodeTableAdmin(RoleAdmin):
    list_display = ["code", "name", "active"]
    list_editable = ["active"]
    search_fields = ["code", "name"]


@admin.register(ApplicationReason)
class ApplicationReasonAdmin(CodeTableAdmin):
    list_display = ["code", "name", "kind", "active"]
    list_filter = ["kind"]


@admin.register(RefusalReason)
class RefusalReasonAdmin(CodeTableAdmin):
    """不予签发原因: the reviewer's choice when refusing; deactivate rather than delete."""

    list_display = ["code", "name", "remark_required", "active"]
    list_editable = ["remark_required", "active"]


@admin.register(Region)
class RegionAdmin(RoleAdmin):
    list_display = ["code", "name", "level", "start_year", "end_year"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


@admin.register(Unit)
class UnitAdmin(RoleAdmin):
    manage_action = "unit.manage"
    list_display = ["code", "name", "kind", "parent", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    readonly_fields = ["path"]
    raw_id_fields = ["parent"]


@admin.register(ProductionRoute)
class ProductionRouteAdmin(RoleAdmin):
    manage_action = "unit.manage"
    list_display = ["region_prefix", "centre", "note"]


@admin.register(CalendarYear)
class CalendarYearAdmin(RoleAdmin):
    """A row says the year's 节假日安排 is complete; until then deadlines in it are provisional."""

    list_display = ["year", "source", "updated_at"]


class CalendarYearFilter(admin.SimpleListFilter):
    title = "年度"
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(day.year), f"{day.year} 年") for day in years]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(date__year=int(value)) if value and value.isdigit() else queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(RoleAdmin):
    list_display = ["date", "weekday", "is_workday", "name", "note"]
    list_filter = [CalendarYearFilter, "is_workday"]
    date_hierarchy = "date"
    search_fields = ["name", "note"]

    @admin.display(description="星期")
    def weekday(self, obj: CalendarDay) -> str:
        return "周" + "一二三四五六日"[obj.date.weekday()]
