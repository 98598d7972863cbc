from django.contrib import admin

from tongban.campaigns.models import Campaign, CampaignPhase, CountyTarget


class PhaseInline(admin.TabularInline):
    model = CampaignPhase
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "start", "end"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Read-only here: campaigns change through the campaign pages (audited services)."""

    list_display = ["name", "area", "status", "target_entered"]
    inlines = [PhaseInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(CountyTarget)
class CountyTargetAdmin(admin.ModelAdmin):
    list_display = ["campaign", "county", "eligible", "target"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
