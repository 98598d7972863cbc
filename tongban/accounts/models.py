"""Staff accounts: every user belongs to one unit and holds one role."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as AuthUserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models

from tongban.accounts.roles import ROLE_CHOICES, Role, role_can, second_factor_required
from tongban.core.masking import mask_phone
from tongban.registry.access import ScopedQuerySet
from tongban.registry.models import Unit


class UserQuerySet(ScopedQuerySet["User"]):
    default_action = "user.manage"

    def within(self, unit: Unit) -> UserQuerySet:
        """Accounts of the unit's subtree."""
        return self.filter(unit__path__startswith=unit.path)


class UserManager(AuthUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    """Django's (create_user, …) with the scope of `UserQuerySet`."""


class User(AbstractUser):
    """A member of staff (工作人员) of one unit, with one role (DOMAIN.md §7)."""

    role = models.CharField("角色", max_length=20, choices=ROLE_CHOICES)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="staff", verbose_name="所属机构"
    )
    phone = models.CharField("联系电话", max_length=30, blank=True)
    # A new account, or one whose password an administrator reset, has no usable password: it signs
    # in once with a one-time activation code and must set its own password before anything else
    # (docs/operations.md, 首次登录). Only a keyed hash of the code is kept.
    must_set_password = models.BooleanField("须设置密码", default=False)
    activation_code_hash = models.CharField(max_length=64, blank=True, editable=False)
    activation_expires = models.DateTimeField("激活码有效期至", null=True, blank=True, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    class Meta:
        verbose_name = verbose_name_plural = "用户"

    class Status(models.TextChoices):
        ACTIVE = "active", "在用"
        PENDING = "pending", "待激活"
        INACTIVE = "inactive", "已停用"

    def __str__(self) -> str:
        # Wherever a user is shown (the admin's columns and read-only fields): the name.
        return self.display_name

    def can(self, action: str) -> bool:
        return self.is_active and self.unit_id is not None and role_can(self.role, action)

    @property
    def unit_code(self) -> str:
        return self.unit.code if self.unit is not None else ""

    @property
    def role_label(self) -> str:
        return self.get_role_display()

    @property
    def requires_second_factor(self) -> bool:
        unit_kind = self.unit.kind if self.unit is not None else None
        return self.is_superuser or second_factor_required(self.role, unit_kind, settings.SECOND_FACTOR_ROLES)

    def get_full_name(self) -> str:
        # Chinese order: family name first, no space (王晓燕).
        return f"{self.last_name}{self.first_name}".strip()

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def status(self) -> str:
        if not self.is_active:
            return self.Status.INACTIVE
        return self.Status.PENDING if self.must_set_password else self.Status.ACTIVE

    @property
    def status_label(self) -> str:
        return self.Status(self.status).label

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone) if self.phone else ""


class StaffSession(AbstractBaseSession):
    """A browser session, stored with the user it belongs to so that deactivating an account ends
    all of its sessions at once (`accounts.sessions` is the session engine)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name="用户"
    )

    class Meta:
        verbose_name = verbose_name_plural = "登录会话"

    @classmethod
    def get_session_store_class(cls) -> type:
        from tongban.accounts.sessions import SessionStore

        return SessionStore


class LoginFailure(models.Model):
    """A failed sign-in (wrong password or activation code) on the login page or the token
    endpoint. Kept in the database, not a per-process cache, so that every web process and every
    machine counts the same failures per account and per address (services.login_locked_until)."""

    username = models.CharField("用户名", max_length=150)
    address = models.CharField("来源地址", max_length=45, blank=True)
    at = models.DateTimeField("时间")

    class Meta:
        verbose_name = verbose_name_plural = "登录失败记录"
        indexes = [
            models.Index(fields=["username", "at"], name="login_failure_username"),
            models.Index(fields=["address", "at"], name="login_failure_address"),
            models.Index(fields=["at"], name="login_failure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.username} {self.address} {self.at:%Y-%m-%d %H:%M:%S}"


__all__ = ["LoginFailure", "Role", "StaffSession", "User"]


class RateCount(models.Model):
    """Knocks on one public door by one key within one bucket of time (accounts.limits). The key
    is a keyed hash: neither a 受理号 nor an address is kept here in the clear."""

    scope = models.CharField("入口", max_length=40)
    key = models.CharField("键摘要", max_length=64)
    window_start = models.DateTimeField("时段起点")
    count = models.PositiveIntegerField("次数", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "访问频次计数"
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "window_start"], name="rate_count_bucket")
        ]
        indexes = [models.Index(fields=["scope", "window_start"], name="rate_count_scope_start")]

    def __str__(self) -> str:
        return f"{self.scope} {self.window_start:%Y-%m-%d %H:%M} {self.count}"
