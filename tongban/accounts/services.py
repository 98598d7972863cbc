"""Account actions: second-factor enrolment, API tokens, and the administration of staff
accounts (账号管理: create, change, deactivate, reactivate, reset the second factor or the
password; the first-login password). Each writes an audit row."""

from __future__ import annotations

import datetime
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from tongban.accounts import rules
from tongban.accounts.models import LoginFailure, StaffSession, User
from tongban.accounts.roles import Role
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_name, mask_phone
from tongban.registry.access import Viewer
from tongban.registry.models import Unit

# Password guessing: failed sign-ins are rows of LoginFailure, so every process and machine sees
# the same count (settings.LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_ADDRESS within
# LOGIN_LOCKOUT_MINUTES). A locked account or address is refused before its password is checked.


def _normal_username(username: str) -> str:
    return username.strip().lower()[:150]


def login_locked_until(
    *, username: str, address: str | None, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When the account or the address may try again, or None if it may now."""
    now = now or timezone.now()
    window = datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    recent = LoginFailure.objects.filter(at__gt=now - window)
    limits = [(recent.filter(username=_normal_username(username)), settings.LOGIN_FAILURES_PER_ACCOUNT)]
    if address:
        limits.append((recent.filter(address=address), settings.LOGIN_FAILURES_PER_ADDRESS))
    ends = []
    for failures, limit in limits:
        # The newest `limit` failures: the lock lasts until the oldest of them leaves the window.
        times = list(failures.order_by("-at").values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            ends.append(times[-1] + window)
    return max(ends, default=None)


def login_lock_message(until: datetime.datetime) -> str:
    return f"连续登录失败次数过多，请于 {timezone.localtime(until):%H:%M} 后再试。"


def login_failed(*, username: str, address: str | None, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    # Rows older than the window count for nothing; each failure clears them as it goes.
    LoginFailure.objects.filter(
        at__lte=now - datetime.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    ).delete()
    LoginFailure.objects.create(username=_normal_username(username), address=address or "", at=now)


def login_succeeded(username: str) -> None:
    """The account's own failures are forgiven; its address's stay counted."""
    LoginFailure.objects.filter(username=_normal_username(username)).delete()


def totp_device_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device shown while a user enrols (one per user, reused on reload)."""
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": "动态口令"})
    return device


@transaction.atomic
def totp_confirm(*, user: User, token: str) -> TOTPDevice | None:
    device = totp_pending_device(user)
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise Throttled
    if not device.verify_token(token):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record(actor=user, action=AuditAction.AUTH_TOTP_ENROLLED, object_type="user", object_id=user.pk)
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
def api_token_issue(*, user: User) -> str:
    """A fresh token for the API; the previous one stops working."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    record(actor=user, action=AuditAction.AUTH_TOKEN_ISSUED, object_type="user", object_id=user.pk)
    return token.key


# ---------------------------------------------------------------------------------------------
# First login: one-time activation codes (docs/operations.md, 首次登录)

_ACTIVATION_SALT = "tongban.accounts.activation"


def activation_hash(code: str) -> str:
    """A keyed hash (HMAC-SHA256 under the secret key) of a normalised code. Codes carry ~59 bits
    and expire in days, so a fast keyed hash is enough, and 5,000 imported accounts take
    milliseconds where PBKDF2 would take half an hour."""
    return salted_hmac(
        _ACTIVATION_SALT, rules.normalize_activation_code(code), algorithm="sha256"
    ).hexdigest()


def activation_issue(user: User, *, now: datetime.datetime | None = None) -> str:
    """Give `user` a fresh activation code (returned, never stored) in place of a password; the
    caller saves the user."""
    code = rules.new_activation_code()
    user.set_unusable_password()
    user.must_set_password = True
    user.activation_code_hash = activation_hash(code)
    user.activation_expires = (now or timezone.now()) + datetime.timedelta(days=settings.ACTIVATION_DAYS)
    return code


def activation_code_matches(user: User, text: str, *, now: datetime.datetime | None = None) -> bool:
    if not (user.must_set_password and user.activation_code_hash and user.activation_expires):
        return False
    if not rules.looks_like_activation_code(text) or user.activation_expires <= (now or timezone.now()):
        return False
    return hmac.compare_digest(user.activation_code_hash, activation_hash(text))


def activation_code_expired(username: str, text: str) -> bool:
    """The login page's hint: the code was right but its time is over."""
    user = User.objects.filter(username=username.strip().lower(), must_set_password=True).first()
    return bool(
        user is not None
        and user.activation_code_hash
        and user.activation_expires is not None
        and user.activation_expires <= timezone.now()
        and rules.looks_like_activation_code(text)
        and hmac.compare_digest(user.activation_code_hash, activation_hash(text))
    )


# Django's validators in Chinese: its zh_Hans catalogue lacks some of 5.2's messages.
_PASSWORD_PROBLEMS = {
    "password_too_short": "密码太短，至少 {min_length} 位。",
    "password_too_common": "这个密码太常见，容易被猜中。",
    "password_entirely_numeric": "密码不能全是数字。",
    "password_too_similar": "密码与用户名或姓名太相近。",
}


def _password_problem(error: ValidationError) -> str:
    template = _PASSWORD_PROBLEMS.get(error.code or "")
    if template is None:
        return " ".join(error.messages)
    return template.format(**(error.params or {}))


@transaction.atomic
def password_set(*, user: User, password: str) -> User:
    """设置密码: the user's own password, at first login or after a reset; the activation code
    stops working."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    try:
        validate_password(password, locked)
    except ValidationError as exc:
        message = "".join(_password_problem(error) for error in exc.error_list)
        raise ServiceError("weak_password", message, fields={"password": message}) from exc
    if locked.activation_code_hash and hmac.compare_digest(
        locked.activation_code_hash, activation_hash(password)
    ):
        raise ServiceError(
            "weak_password", "新密码不能与激活码相同。", fields={"password": "新密码不能与激活码相同。"}
        )
    first = locked.must_set_password
    locked.set_password(password)
    locked.must_set_password = False
    locked.activation_code_hash = ""
    locked.activation_expires = None
    locked.save(update_fields=["password", "must_set_password", "activation_code_hash", "activation_expires"])
    record(
        actor=locked,
        action=AuditAction.USER_PASSWORD_SET,
        object_type="user",
        object_id=locked.pk,
        detail={"first_login": first},
    )
    return locked


# ---------------------------------------------------------------------------------------------
# Administration of staff accounts (账号管理): `user.manage`, within the actor's subtree.
# `actor=None` is the command line (`tongban users import`), which may manage every account.


def sessions_revoke(user: User) -> dict[str, int]:
    """End every browser session and delete the API token of `user`, at once."""
    tokens, _ = Token.objects.filter(user=user).delete()
    sessions, _ = StaffSession.objects.filter(user=user).delete()
    return {"tokens": tokens, "sessions": sessions}


def can_manage(actor: Viewer | None, user: User) -> bool:
    if actor is None:
        return True
    if not actor.can("user.manage") or actor.unit is None or user.unit is None:
        return False
    return user.unit.path.startswith(actor.unit.path)


def _require_manager(actor: Viewer | None) -> None:
    if actor is not None and not actor.can("user.manage"):
        raise ServiceError("permission_denied", "无权管理账号。", status=403)


def _lock(actor: Viewer | None, user: User) -> User:
    """Lock the account's row and check it is still the actor's to manage (its unit may have
    changed meanwhile); a lost race reads as not found, like any account outside the subtree."""
    _require_manager(actor)
    locked = User.objects.select_for_update(of=("self",)).select_related("unit").filter(pk=user.pk).first()
    if locked is None or not can_manage(actor, locked):
        raise ServiceError("not_found", "未找到该账号。", status=404)
    return locked


def _not_self(actor: Viewer | None, user: User, what: str) -> None:
    if actor is not None and actor.pk == user.pk:
        raise ServiceError("own_account", f"不能{what}自己的账号，请由其他系统管理员办理。", status=403)


def units_assignable(actor: Viewer | None) -> Any:
    """Units an account may be placed in by `actor`: active units of their subtree (never another
    province's stand-in unit, 外省公安机关)."""
    units = Unit.objects.own().filter(active=True)
    if actor is None:
        return units
    if actor.unit is None or not actor.can("user.manage"):
        return units.none()
    return units.filter(path__startswith=actor.unit.path)


def role_unit_problem(role: Role, unit_kind: str, unit_name: str) -> rules.Problem | None:
    if rules.role_allowed_at(role, unit_kind):
        return None
    kinds = "、".join(
        str(Unit.Kind(kind).label) for kind in sorted(rules.ROLE_UNIT_KINDS[role], key=_KIND_ORDER.index)
    )
    return rules.Problem(
        "role_unit_mismatch",
        f"{role.label}不能设在{Unit.Kind(unit_kind).label}（{unit_name}），只能设在：{kinds}。",
    )


_KIND_ORDER = ["province", "city", "county", "station", "centre"]


@dataclass(frozen=True)
class AccountInput:
    """What an administrator types for an account; strings as typed (the API, the page and the
    import all pass through `_check_account`)."""

    name: str
    role: str
    unit: str  # unit code
    phone: str = ""


def _check_account(
    actor: Viewer | None, data: AccountInput
) -> tuple[dict[str, Any], dict[str, rules.Problem]]:
    """Normalised values and the problems per field of a new account."""
    problems: dict[str, rules.Problem] = {}
    name, problem = rules.check_name(data.name)
    if problem:
        problems["name"] = problem
    role, problem = rules.parse_role(data.role)
    if problem:
        problems["role"] = problem
    phone, problem = rules.check_phone(data.phone)
    if problem:
        problems["phone"] = problem
    code = data.unit.strip()
    unit = units_assignable(actor).filter(code=code).first() if code else None
    if unit is None:
        shown = f"“{code[:20]}”" if code else "（空）"
        scope = "或不在您的管辖范围内" if actor is not None else "或已停用"
        problems["unit"] = rules.Problem("unknown_unit", f"机构代码{shown}不存在{scope}。")
    elif role is not None:
        problem = role_unit_problem(role, unit.kind, unit.name)
        if problem:
            problems["role"] = problem
    return {"name": name, "role": role, "unit": unit, "phone": phone}, problems


class AccountRefused(ServiceError):
    """A refused account input; `field_codes` keeps each field's own reason code (the API
    answers them per field)."""

    def __init__(self, code: str, message: str, *, problems: dict[str, rules.Problem]) -> None:
        super().__init__(code, message, fields={name: p.message for name, p in problems.items()})
        self.field_codes = {name: problem.code for name, problem in problems.items()}


def _refuse(problems: dict[str, rules.Problem]) -> AccountRefused:
    """One problem: its own code; several: `invalid`, each field named with its message."""
    if len(problems) == 1:
        problem = next(iter(problems.values()))
        return AccountRefused(problem.code, problem.message, problems=problems)
    return AccountRefused("invalid", "账号信息有误，请检查标出的字段。", problems=problems)


def account_summary(user: User, *, unit_code: str | None = None) -> dict[str, str]:
    """The fields an administrator sets, to compare before and after. `unit_code` spares reading
    `user.unit` where the caller knows it."""
    if unit_code is None:
        unit_code = user.unit.code if user.unit is not None else ""
    return {"name": user.get_full_name(), "role": user.role, "unit": unit_code, "phone": user.phone}


def audit_summary(summary: dict[str, str]) -> dict[str, str]:
    """What the audit trail keeps of it: no personal data in clear (name and phone masked as in
    lists); the account is named by its username and primary key."""
    return {
        **summary,
        "name": mask_name(summary["name"]),
        "phone": mask_phone(summary["phone"]) if summary["phone"] else "",
    }


def audit_changes(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """The changed fields, `[before, after]` each, masked for the audit trail."""
    old, new = audit_summary(before), audit_summary(after)
    return {key: [old[key], new[key]] for key in after if before[key] != after[key]}


@transaction.atomic
def user_create(*, actor: Viewer | None, username: str, data: AccountInput) -> tuple[User, str]:
    """新建账号: the account and its one-time activation code (shown once; only its hash is kept)."""
    _require_manager(actor)
    username, username_problem = rules.check_username(username)
    values, problems = _check_account(actor, data)
    if username_problem:
        problems = {"username": username_problem, **problems}
    elif User.objects.filter(username__iexact=username).exists():
        problems = {"username": rules.Problem("username_taken", f"用户名 {username} 已被使用。"), **problems}
    if problems:
        raise _refuse(problems)
    surname, given = rules.split_name(values["name"])
    role: Role = values["role"]
    user = User(
        username=username,
        last_name=surname,
        first_name=given,
        role=role.value,
        unit=values["unit"],
        phone=values["phone"],
        is_staff=role == Role.ADMIN,
    )
    code = activation_issue(user)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # created by someone else since the check above
        raise ServiceError(
            "username_taken",
            f"用户名 {username} 已被使用。",
            fields={"username": f"用户名 {username} 已被使用。"},
        ) from exc
    record(
        actor=actor,
        action=AuditAction.USER_CREATED,
        object_type="user",
        object_id=user.pk,
        detail={"username": username, **audit_summary(account_summary(user))},
    )
    return user, code


@transaction.atomic
def user_update(
    *,
    actor: Viewer | None,
    user: User,
    name: str | None = None,
    role: str | None = None,
    unit: str | None = None,
    phone: str | None = None,
) -> User:
    """修改账号: name, phone, role, unit (left out: kept). No change, no audit row."""
    locked = _lock(actor, user)
    before = account_summary(locked)
    if (role is not None and role != locked.role) or (unit is not None and unit.strip() != before["unit"]):
        _not_self(actor, locked, "更改角色或所属机构：")
    # Only what is given is checked: an old phone in another format does not stop a change of role.
    problems: dict[str, rules.Problem] = {}
    new_name, new_phone = locked.get_full_name(), locked.phone
    if name is not None:
        new_name, problem = rules.check_name(name)
        if problem:
            problems["name"] = problem
    if phone is not None:
        new_phone, problem = rules.check_phone(phone)
        if problem:
            problems["phone"] = problem
    new_role = Role(locked.role) if locked.role in {r.value for r in Role} else None
    if role is not None:
        new_role, problem = rules.parse_role(role)
        if problem:
            problems["role"] = problem
    new_unit = locked.unit
    if unit is not None:
        code = unit.strip()
        new_unit = units_assignable(actor).filter(code=code).first() if code else None
        if new_unit is None:
            shown = f"“{code[:20]}”" if code else "（空）"
            problems["unit"] = rules.Problem("unknown_unit", f"机构代码{shown}不存在或不在您的管辖范围内。")
    if role is not None or unit is not None:
        if new_unit is None and "unit" not in problems:
            problems["unit"] = rules.Problem("unknown_unit", "请选择所属机构。")
        elif new_role is not None and new_unit is not None and "role" not in problems:
            mismatch = role_unit_problem(new_role, new_unit.kind, new_unit.name)
            if mismatch:
                problems["role"] = mismatch
    if problems:
        raise _refuse(problems)
    values: dict[str, Any] = {"name": new_name, "phone": new_phone}
    fields: list[str] = []
    if values["name"] != locked.get_full_name():
        locked.last_name, locked.first_name = rules.split_name(values["name"])
        fields += ["last_name", "first_name"]
    if values["phone"] != locked.phone:
        locked.phone = values["phone"]
        fields.append("phone")
    if new_role is not None and new_role.value != locked.role:
        locked.role = new_role.value
        fields.append("role")
        if not locked.is_superuser:
            locked.is_staff = new_role == Role.ADMIN
            fields.append("is_staff")
    if new_unit is not None and new_unit.pk != locked.unit_id:
        locked.unit = new_unit
        fields.append("unit")
    if not fields:
        return locked
    locked.save(update_fields=fields)
    after = account_summary(locked)
    record(
        actor=actor,
        action=AuditAction.USER_UPDATED,
        object_type="user",
        object_id=locked.pk,
        detail={
            "username": locked.username,
            "changes": audit_changes(before, after),
        },
    )
    return locked


@transaction.atomic
def user_deactivate(*, actor: Viewer | None, user: User, reason: str = "") -> User:
    """停用: the account can no longer sign in, and its API token and every browser session of it
    end now (the next request with either is refused)."""
    locked = _lock(actor, user)
    _not_self(actor, locked, "停用")
    if not locked.is_active:
        raise ServiceError("already_inactive", "该账号已停用。", status=409)
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    revoked = sessions_revoke(locked)
    record(
        actor=actor,
        action=AuditAction.USER_DEACTIVATED,
        object_type="user",
        object_id=locked.pk,
        detail={"username": locked.username, "reason": reason.strip()[:200], **revoked},
    )
    return locked


@transaction.atomic
def user_reactivate(*, actor: Viewer | None, user: User) -> User:
    """启用: the account signs in again (with its password; sessions ended at deactivation stay
    ended)."""
    locked = _lock(actor, user)
    if locked.is_active:
        raise ServiceError("already_active", "该账号未停用。", status=409)
    locked.is_active = True
    locked.save(update_fields=["is_active"])
    record(
        actor=actor,
        action=AuditAction.USER_REACTIVATED,
        object_type="user",
        object_id=locked.pk,
        detail={"username": locked.username},
    )
    return locked


@transaction.atomic
def user_reset_second_factor(*, actor: Viewer | None, user: User) -> User:
    """重置第二因子: the account's authenticators are removed; it enrols a new one at its next
    login. Its sessions and token end, since they were verified with the old one."""
    locked = _lock(actor, user)
    _not_self(actor, locked, "重置")
    devices = TOTPDevice.objects.filter(user=locked)
    if not devices.filter(confirmed=True).exists():
        raise ServiceError("no_second_factor", "该账号尚未绑定动态口令，无需重置。", status=409)
    removed, _ = devices.delete()
    revoked = sessions_revoke(locked)
    record(
        actor=actor,
        action=AuditAction.USER_SECOND_FACTOR_RESET,
        object_type="user",
        object_id=locked.pk,
        detail={"username": locked.username, "devices": removed, **revoked},
    )
    return locked


@transaction.atomic
def user_reset_password(*, actor: Viewer | None, user: User) -> tuple[User, str]:
    """重置密码: the password stops working and a new activation code (returned, shown once)
    lets the user in to set a new one; sessions and token end."""
    locked = _lock(actor, user)
    _not_self(actor, locked, "重置")
    code = activation_issue(locked)
    locked.save(update_fields=["password", "must_set_password", "activation_code_hash", "activation_expires"])
    revoked = sessions_revoke(locked)
    record(
        actor=actor,
        action=AuditAction.USER_PASSWORD_RESET,
        object_type="user",
        object_id=locked.pk,
        detail={"username": locked.username, **revoked},
    )
    return locked, code
