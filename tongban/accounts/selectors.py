"""Reads of staff accounts (账号管理): one scoped queryset for the page, the API and the
administrator's actions. An administrator (`user.manage`) sees the accounts of their unit's
subtree; an account elsewhere answers 404, so nobody learns that it exists."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Concat
from django.http import Http404
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.accounts.models import User
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.models import Unit

PAGE = 50


def user_get(viewer: Viewer, username: str) -> User:
    if "\x00" in username:  # PostgreSQL refuses NUL in text: such a name is no account
        raise Http404("未找到该账号")
    user = (
        User.objects.visible_to(viewer)
        .select_related("unit")
        .annotate(has_second_factor=_has_second_factor())
        .filter(username=username)
        .first()
    )
    if user is None:
        raise Http404("未找到该账号")
    return user


def unit_choices(viewer: Viewer) -> list[Unit]:
    """The units of the administrator's subtree, in tree order, for the pickers."""
    if not viewer.can("user.manage") or viewer.unit is None:
        return []
    return list(Unit.objects.subtree(viewer.unit).filter(active=True).order_by("path"))


def scope_unit(viewer: Viewer, code: str) -> Unit:
    """A unit of the administrator's subtree by code (a filter); any other answers 404."""
    unit = Unit.objects.visible_to(viewer, "user.manage").filter(code=code).first()
    if unit is None:
        raise Http404("未找到该机构")
    return unit


@dataclass(frozen=True)
class UserFilters:
    unit: Unit | None = None  # that unit's subtree
    role: str = ""
    status: str = ""  # User.Status value
    q: str = ""  # part of the username, the name or the unit's name; or a unit's exact code


def _has_second_factor() -> Exists:
    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))


def users_filtered(viewer: Viewer, filters: UserFilters) -> QuerySet[User]:
    users = User.objects.visible_to(viewer)
    if filters.unit is not None:
        users = users.filter(unit__path__startswith=filters.unit.path)
    if filters.role:
        users = users.filter(role=filters.role)
    if filters.status == User.Status.INACTIVE:
        users = users.filter(is_active=False)
    elif filters.status == User.Status.PENDING:
        users = users.filter(is_active=True, must_set_password=True)
    elif filters.status == User.Status.ACTIVE:
        users = users.filter(is_active=True, must_set_password=False)
    q = filters.q.strip()
    if q:
        users = users.annotate(full_name=Concat("last_name", "first_name")).filter(
            Q(username__icontains=q)
            | Q(full_name__contains=q)
            | Q(last_name__contains=q)
            | Q(unit__name__contains=q)
            | Q(unit__code=q)
        )
    return users.select_related("unit").annotate(has_second_factor=_has_second_factor()).order_by("username")


def users_page(
    viewer: Viewer, filters: UserFilters, *, after: str = "", limit: int = PAGE
) -> Page[User, str]:
    """Keyset pages by username (the API), with the count: pass the last username of a page as
    `after`."""
    users = users_filtered(viewer, filters)
    return page_after(
        users,
        ["username"],
        after or None,
        limit=limit,
        cursor=lambda user: user.username,
        total=users.count(),
    )
