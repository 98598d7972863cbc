from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import TokenProxy

from tongban.accounts.models import User
from tongban.registry.admin import RoleAdmin


@admin.register(User)
class UserAdmin(RoleAdmin, BaseUserAdmin):
    manage_action = "user.manage"
    list_display = ["username", "last_name", "first_name", "role", "unit", "is_active"]
    list_filter = ["role", "is_active"]
    raw_id_fields = ["unit"]
    # What a role does is the role table's (accounts/roles.py): Django's groups, per-model permissions
    # and superuser flag are not used, so they are not offered.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("个人信息", {"fields": ("last_name", "first_name", "email")}),
        ("岗位", {"fields": ("role", "unit", "phone")}),
        ("状态", {"fields": ("is_active", "is_staff")}),
        ("重要日期", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("岗位", {"fields": ("role", "unit")}),
    )


# Roles (accounts/roles.py) take the place of Django's groups, API tokens are issued only after the
# second factor (POST /api/v1/auth/token), and second factors belong to the accounts' own pages:
# none is edited in the admin, where their third-party pages would show English.
for _model in (Group, TokenProxy, TOTPDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
