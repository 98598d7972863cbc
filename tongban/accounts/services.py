"""Account actions: second-factor enrolment and API tokens. Each writes an audit row."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tongban.accounts.models import User
from tongban.audit.services import record

# Password guessing: after LOCKOUT_FAILURES wrong passwords for one username, refuse it for
# LOCKOUT_MINUTES. Counted in the cache (per process with the default cache; shared once a Redis
# cache is configured).
LOCKOUT_FAILURES = 5
LOCKOUT_MINUTES = 15


def _failure_key(username: str) -> str:
    return "login-failures:" + username.strip().lower()[:150]


def login_locked(username: str) -> bool:
    return int(cache.get(_failure_key(username), 0)) >= LOCKOUT_FAILURES


def login_failed(username: str) -> None:
    key = _failure_key(username)
    cache.add(key, 0, timeout=LOCKOUT_MINUTES * 60)
    cache.incr(key)


def login_succeeded(username: str) -> None:
    cache.delete(_failure_key(username))


def totp_device_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device shown while a user enrols (one per user, reused on reload)."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": "动态口令"})
    return device


@transaction.atomic
def totp_confirm(*, user: User, token: str, request: HttpRequest | None = None) -> TOTPDevice | None:
    device = totp_pending_device(user)
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise Throttled
    if not device.verify_token(token):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(actor=user, action="auth.totp_enrolled", object_type="user", object_id=user.pk, request=request)
    return device


class Throttled(Exception):
    """Too many wrong codes in a row: django-otp makes the user wait (doubling each time)."""


def totp_verify(*, user: User, token: str) -> TOTPDevice | None:
    device = totp_device_for(user)
    if device is None:
        return None
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise Throttled
    return device if device.verify_token(token) else None


@transaction.atomic
def api_token_issue(*, user: User, request: HttpRequest | None = None) -> str:
    """A fresh token for the API; the previous one stops working."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    record(actor=user, action="auth.token_issued", object_type="user", object_id=user.pk, request=request)
    return token.key
