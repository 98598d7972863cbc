from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import TokenProxy

from tongban.accounts.models import User
from tongban.registry.access import as_viewer
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

    # 账号管理 (/accounts/users/) creates accounts with an activation code and deactivates them
    # ending every session; here an administrator sees only their subtree's accounts and may not
    # bypass those steps.
    readonly_fields = ("is_active", "role", "unit", "last_login", "date_joined")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return User.objects.visible_to(as_viewer(request.user)).select_related("unit")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Roles (accounts/roles.py) take the place of Django's groups, API tokens are issued only after the
# second factor (POST /api/v1/auth/token), and second factors belong to the accounts' own pages:
# none is edited in the admin, where their third-party pages would show English.
for _model in (Group, TokenProxy, TOTPDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
