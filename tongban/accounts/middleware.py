"""Ends idle sessions (IdleSessionMiddleware), keeps users who must set their password on the
password page (PasswordSetupMiddleware), and users who must use a second factor inside the TOTP
pages until they have confirmed one."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record

_ALLOWED_PREFIXES = ("/accounts/", "/static/")
_LAST_SEEN = "tongban_last_seen"
IDLE_NOTICE = "会话已超时，请重新登录。"


class IdleSessionMiddleware:
    """A staff session unused for `settings.SESSION_IDLE_SECONDS` ends: the next request goes to
    the login page with 会话已超时 (an API call answers 401 as for no session at all). API tokens
    are not sessions and keep their own rules. The time of the last request is written to the
    session at most every tenth of the idle time (a minute at most), not on every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.get_response(request)
        now, idle = int(time.time()), settings.SESSION_IDLE_SECONDS
        last_seen = cast(int | None, request.session.get(_LAST_SEEN))
        if last_seen is not None and now - last_seen > idle:
            user = cast(User, request.user)
            record(actor=user, action=AuditAction.AUTH_SESSION_IDLE, object_type="user", object_id=user.pk)
            logout(request)
            if not request.path.startswith("/api/"):
                messages.warning(request, IDLE_NOTICE)
                target = reverse("accounts:login") + "?" + urlencode({"next": request.get_full_path()})
                if request.headers.get("HX-Request"):
                    return HttpResponse(status=204, headers={"HX-Redirect": target})
                return redirect(target)
        elif last_seen is None or now - last_seen >= min(60, idle // 10):
            mark_active(request, now)
        return self.get_response(request)


def mark_active(request: HttpRequest, now: int | None = None) -> None:
    """The session was used now (also at sign-in: accounts.apps)."""
    request.session[_LAST_SEEN] = now or int(time.time())


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
