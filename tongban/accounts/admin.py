from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from tongban.accounts.models import User
from tongban.registry.admin import RoleAdmin


@admin.register(User)
class UserAdmin(RoleAdmin, BaseUserAdmin):
    manage_action = "user.manage"
    list_display = ["username", "last_name", "first_name", "role", "unit", "is_active"]
    list_filter = ["role", "is_active"]
    raw_id_fields = ["unit"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("岗位", {"fields": ("role", "unit", "phone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("岗位", {"fields": ("role", "unit")}),
    )
