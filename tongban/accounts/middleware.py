"""Keeps users who must set their password on the password page (PasswordSetupMiddleware), and
users who must use a second factor inside the TOTP pages until they have confirmed one."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

_ALLOWED_PREFIXES = ("/accounts/", "/static/")


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and _needs_second_factor(request)
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and not request.path.startswith("/api/")
        ):
            return redirect(reverse("accounts:otp") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


def _needs_second_factor(request: HttpRequest) -> bool:
    from django_otp import user_has_device

    user = request.user
    if getattr(user, "is_verified", lambda: False)():
        return False
    return bool(getattr(user, "requires_second_factor", False) or user_has_device(user))


# What a user who must set their password may still reach: the password page, logging out, the
# stylesheet. The API refuses them itself (tongban.api.IsVerifiedStaff: password_change_required).
_PASSWORD_SETUP_ALLOWED = ("/accounts/password/set/", "/accounts/logout/", "/static/", "/api/")


class PasswordSetupMiddleware:
    """首次登录: an account signed in with its activation code (or after a password reset) must
    set its own password before any other page opens."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and getattr(user, "must_set_password", False)
            and not request.path.startswith(_PASSWORD_SETUP_ALLOWED)
        ):
            target = reverse("accounts:password_set")
            if request.path not in {"/", reverse("accounts:login")}:
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)
