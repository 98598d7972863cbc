"""Fees and refunds are read here, never changed or deleted: they change only through the
finance services, and a refund is a row of its own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tongban.finance.models import Payment, Refund, Remittance, SettlementRate
from tongban.finance.selectors import ITEM_LABELS, item_label
from tongban.registry.admin import RoleAdmin


class ReadOnlyAdmin(RoleAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PaymentItemFilter(admin.SimpleListFilter):
    title = "收费项目"
    parameter_name = "item"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(ITEM_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Payment]) -> QuerySet[Payment]:
        return queryset.filter(item=self.value()) if self.value() else queryset


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "receipt_number",
        "application_number",
        "unit",
        "item_name",
        "amount",
        "waived",
        "charged_at",
    )
    search_fields = ("receipt_number", "application_number")
    list_filter = (PaymentItemFilter, "waived")
    # The item by its name, never its code (first, renewal …).
    fields = (
        "receipt_number",
        "application_number",
        "person",
        "unit",
        "item_name",
        "amount",
        "waived",
        "waiver_evidence",
        "charged_at",
        "charged_by",
        "voided_at",
    )
    readonly_fields = fields

    @admin.display(description="收费项目", ordering="item")
    def item_name(self, payment: Payment) -> str:
        return item_label(payment.item)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("payment", "amount", "reason", "refunded_at")
    search_fields = ("payment__receipt_number", "payment__application_number")


@admin.register(Remittance)
class RemittanceAdmin(ReadOnlyAdmin):
    list_display = ("day", "unit", "amount", "payments", "refunds", "treasury_reference", "remitted_at")
    search_fields = ("treasury_reference", "unit__code")


@admin.register(SettlementRate)
class SettlementRateAdmin(RoleAdmin):
    """The settlement rate is configuration: a new rate is a new row from its effective date, so
    the settlements of earlier periods keep the rate they were made at. Rows are not deleted."""

    list_display = ("effective_from", "amount", "central", "provincial")
    ordering = ("-effective_from",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
