"""Admin for the review routing configuration (审核签发流程). Applications themselves are not
here: they change only through the counter and review services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tongban.intake.models import ReviewChain, ReviewChainStep
from tongban.registry.admin import RoleAdmin


class ReviewChainStepInline(admin.TabularInline):
    model = ReviewChainStep
    extra = 1
    min_num = 1

    def _allowed(self, request: HttpRequest) -> bool:
        return bool(getattr(request.user, "can", lambda action: False)("reference.manage"))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)


@admin.register(ReviewChain)
class ReviewChainAdmin(RoleAdmin):
    """Which units review applications of a household region, in which order (e.g. station
    审核 → county 签发). Applications already routed keep the chain they were given."""

    list_display = ["region_prefix", "name", "note"]
    search_fields = ["region_prefix", "name"]
    inlines = [ReviewChainStepInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            self._audit(request, form.instance, "change", ["steps"])
