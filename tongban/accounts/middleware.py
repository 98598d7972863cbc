"""Keeps users who must use a second factor inside the TOTP pages until they have confirmed one."""

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
