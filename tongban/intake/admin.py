"""Admin for the review routing configuration (审核签发流程). Applications themselves are not
here: they change only through the counter and review services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from tongban.accounts import staffing
from tongban.accounts.staffing_forms import StaffingOverrideForm, override_requested, unit_list
from tongban.audit.actions import AuditAction
from tongban.core.errors import ServiceError
from tongban.intake.models import ReviewChain, ReviewChainStep
from tongban.registry.admin import RoleAdmin


class ReviewChainForm(StaffingOverrideForm):
    class Meta:
        model = ReviewChain
        fields = ["name", "region_prefix", "note"]


class ReviewChainStepFormSet(BaseInlineFormSet):
    """The steps, checked together with the chain's prefix: a step landing on units where no
    active account can 审核签发 is refused unless the override is ticked with a reason."""

    gaps: list[staffing.Gap]
    override_reason = ""

    def clean(self) -> None:
        super().clean()
        self.gaps = []
        if any(self.errors):
            return
        prefix = getattr(self.instance, "region_prefix", "")
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not prefix or not rows:
            return
        steps = [(row["level"], row["title"]) for row in sorted(rows, key=lambda row: row["order"])]
        others = ReviewChain.objects.exclude(pk=self.instance.pk).values_list("region_prefix", flat=True)
        gaps = staffing.review_chain_gaps(prefix=prefix, steps=steps, other_prefixes=list(others))
        override, reason = override_requested(self.data)
        try:
            self.override_reason = staffing.check(gaps, override=override, reason=reason)
        except ServiceError as error:
            raise ValidationError(
                [m for m in (error.message, unit_list(error)) if m], code=error.code
            ) from error
        self.gaps = gaps


class ReviewChainStepInline(admin.TabularInline):
    model = ReviewChainStep
    formset = ReviewChainStepFormSet
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

    form = ReviewChainForm
    list_display = ["region_prefix", "name", "note"]
    search_fields = ["region_prefix", "name"]
    inlines = [ReviewChainStepInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.has_changed():
            self._audit(request, form.instance, AuditAction.ADMIN_CHANGE, ["steps"])
        if getattr(formset, "override_reason", ""):
            staffing.record_override(
                actor=request.user,  # type: ignore[arg-type]
                gaps=formset.gaps,
                reason=formset.override_reason,
                object_type="intake.reviewchain",
                object_id=form.instance.pk,
            )
