"""居民身份证核查 writes: one service per action (STYLE.md habit 1). The provincial department's
administrators register an institution, change it, issue (or replace) its key, suspend and resume
it; each locks the row, changes it and writes an audit row. `card_check` is the relying party's
check itself: the answer from the register, the count of the month and the audit row, in one
transaction.

Services take `actor=None` for the operator's command line (`tongban cardcheck`)."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.cardcheck import rules
from tongban.cardcheck.models import Institution, MonthlyCount
from tongban.cardcheck.rules import Outcome
from tongban.cardcheck.selectors import key_hash, month_of
from tongban.cardloss.selectors import card_status
from tongban.core import idnumber, typed
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.registry.models import Unit
from tongban.registry.selectors import registered_name

MAX_PER_MINUTE = 6000
MAX_PER_DAY = 1_000_000
MAX_REASON = 200
OBJECT_TYPE = "cardcheck.institution"


def _manager(actor: User | None) -> None:
    """Only the provincial department's holders of cardcheck.manage (or the operator's CLI)."""
    if actor is None:
        return
    unit = actor.unit
    if not actor.can("cardcheck.manage") or unit is None or unit.kind != Unit.Kind.PROVINCE:
        raise ServiceError("permission_denied", "核查机构由省公安厅系统管理员管理。", status=403)


def _text(value: str, field: str, label: str, max_length: int) -> str:
    text = " ".join(value.split())
    if not text:
        raise ServiceError("invalid", f"请填写{label}。", fields={field: f"请填写{label}。"})
    if len(text) > max_length:
        message = f"{label}不能超过 {max_length} 个字。"
        raise ServiceError("invalid", message, fields={field: message})
    return text


def _limit(value: int, field: str, label: str, most: int) -> int:
    if not 1 <= value <= most:
        message = f"{label}应在 1 到 {most} 之间。"
        raise ServiceError("invalid", message, fields={field: message})
    return value


@dataclass(frozen=True)
class InstitutionEntry:
    """What the administrator fills in for an institution."""

    name: str
    kind: str
    credit_code: str
    purpose: str
    contact: str
    per_minute_limit: int = 60
    daily_limit: int = 10000


def _cleaned(entry: InstitutionEntry) -> dict[str, object]:
    if entry.kind not in Institution.Kind.values:
        raise ServiceError("invalid", "请选择机构类别。", fields={"kind": "请选择机构类别。"})
    code, problem = rules.credit_code_problem(entry.credit_code)
    if problem:
        raise ServiceError("invalid", problem, fields={"credit_code": problem})
    per_minute = _limit(entry.per_minute_limit, "per_minute_limit", "每分钟限额", MAX_PER_MINUTE)
    daily = _limit(entry.daily_limit, "daily_limit", "每日限额", MAX_PER_DAY)
    if per_minute > daily:
        message = "每分钟限额不能大于每日限额。"
        raise ServiceError("invalid", message, fields={"per_minute_limit": message})
    return {
        "name": _text(entry.name, "name", "机构名称", 100),
        "kind": entry.kind,
        "credit_code": code,
        "purpose": _text(entry.purpose, "purpose", "核查用途", 200),
        "contact": _text(entry.contact, "contact", "联系人及电话", 100),
        "per_minute_limit": per_minute,
        "daily_limit": daily,
    }


def _taken(code: str, *, other_than: int | None = None) -> None:
    rows = Institution.objects.filter(credit_code=code)
    if other_than is not None:
        rows = rows.exclude(pk=other_than)
    if rows.exists():
        message = "该统一社会信用代码的机构已登记。"
        raise ServiceError("institution_exists", message, fields={"credit_code": message}, status=409)


def _facts(institution: Institution) -> dict[str, object]:
    return {
        "name": institution.name,
        "kind": institution.kind,
        "credit_code": institution.credit_code,
        "purpose": institution.purpose,
        "per_minute_limit": institution.per_minute_limit,
        "daily_limit": institution.daily_limit,
    }


@transaction.atomic(durable=True)
def institution_add(*, actor: User | None, entry: InstitutionEntry) -> Institution:
    """登记核查机构: registered 启用, without a key until one is issued (`key_issue`)."""
    _manager(actor)
    data = _cleaned(entry)
    _taken(str(data["credit_code"]))
    try:
        with transaction.atomic():
            institution = Institution.objects.create(created_by=actor, **data)
    except IntegrityError:  # registered by someone else at the same moment
        _taken(str(data["credit_code"]))
        raise
    record(
        actor=actor,
        action=AuditAction.CARDCHECK_INSTITUTION_ADDED,
        object_type=OBJECT_TYPE,
        object_id=institution.pk,
        detail=_facts(institution),
    )
    return institution


def _locked(institution: Institution) -> Institution:
    return Institution.objects.select_for_update().get(pk=institution.pk)


@transaction.atomic(durable=True)
def institution_update(
    *, actor: User | None, institution: Institution, entry: InstitutionEntry
) -> Institution:
    """修改核查机构: its particulars, purpose and limits (the new limits hold from the next check)."""
    _manager(actor)
    data = _cleaned(entry)
    institution = _locked(institution)
    _taken(str(data["credit_code"]), other_than=institution.pk)
    before = _facts(institution)
    for name, value in data.items():
        setattr(institution, name, value)
    institution.save()
    after = _facts(institution)
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    record(
        actor=actor,
        action=AuditAction.CARDCHECK_INSTITUTION_UPDATED,
        object_type=OBJECT_TYPE,
        object_id=institution.pk,
        detail={"name": institution.name, "changed": changed},
    )
    return institution


@transaction.atomic(durable=True)
def key_issue(*, actor: User | None, institution: Institution) -> tuple[Institution, str]:
    """签发 or 更换 the institution's key: returns the new key, to be shown once and never again.
    An earlier key stops working at once (only the new one's hash is kept)."""
    _manager(actor)
    institution = _locked(institution)
    replaced = institution.key_prefix
    while True:
        key, prefix = rules.new_key()
        if not Institution.objects.filter(key_prefix=prefix).exists():
            break
    institution.key_prefix = prefix
    institution.key_hash = key_hash(key)
    institution.key_issued_at = timezone.now()
    institution.save(update_fields=["key_prefix", "key_hash", "key_issued_at", "updated_at"])
    record(
        actor=actor,
        action=AuditAction.CARDCHECK_KEY_ISSUED,
        object_type=OBJECT_TYPE,
        object_id=institution.pk,
        detail={"name": institution.name, "key_prefix": prefix, "replaced": replaced},
    )
    return institution, key


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise ServiceError("reason_required", "请填写原因。", fields={"reason": "请填写原因。"})
    if len(text) > MAX_REASON:
        message = f"原因不能超过 {MAX_REASON} 个字。"
        raise ServiceError("reason_too_long", message, fields={"reason": message})
    return text


def _state_change(
    *, actor: User | None, institution: Institution, reason: str, to: str, action: AuditAction
) -> Institution:
    """暂停 or 恢复 with its reason, refused when the institution is already in that state."""
    _manager(actor)
    reason = _reason(reason)
    institution = _locked(institution)
    if institution.state == to:
        if to == Institution.State.SUSPENDED:
            raise ServiceError("already_suspended", "该机构已暂停核查。", status=409)
        raise ServiceError("not_suspended", "该机构未暂停核查。", status=409)
    institution.state = to
    institution.state_reason = reason
    institution.save(update_fields=["state", "state_reason", "updated_at"])
    record(
        actor=actor,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=institution.pk,
        detail={"name": institution.name, "reason": reason},
    )
    return institution


@transaction.atomic(durable=True)
def institution_suspend(*, actor: User | None, institution: Institution, reason: str) -> Institution:
    """暂停: its key is refused from the next request on (`403 institution_suspended`)."""
    return _state_change(
        actor=actor,
        institution=institution,
        reason=reason,
        to=Institution.State.SUSPENDED,
        action=AuditAction.CARDCHECK_SUSPENDED,
    )


@transaction.atomic(durable=True)
def institution_resume(*, actor: User | None, institution: Institution, reason: str) -> Institution:
    """恢复: the same key works again from the next request."""
    return _state_change(
        actor=actor,
        institution=institution,
        reason=reason,
        to=Institution.State.ACTIVE,
        action=AuditAction.CARDCHECK_RESUMED,
    )


# ---------------------------------------------------------------------------------------------
# The check


@dataclass
class InstitutionActor:
    """Who a check's audit row names: the institution, by its key's prefix (no staff account)."""

    username: str
    pk: Any = None
    unit_code: str = ""


@dataclass(frozen=True)
class CheckResult:
    """What the institution is told: the answer, and the check's id and time to cite it by."""

    check_id: str
    outcome: Outcome
    checked_at: datetime.datetime

    @property
    def label(self) -> str:
        return self.outcome.label


def answer(*, id_number: str, name: str, card_serial: str) -> Outcome:
    """The answer the register gives for (公民身份号码, 姓名, 卡号). Reads only."""
    status = card_status(id_number, card_serial.strip())
    if status.state == "unknown":
        return Outcome.MISMATCH
    registered = registered_name(idnumber.canonical(id_number))
    return rules.outcome_for(
        status.state, name_matches=registered is not None and typed.names_match(registered, name)
    )


def _count(institution: Institution, month: datetime.date, outcome: Outcome) -> None:
    """One more check of the month: its own row per institution, month and answer."""
    rows = MonthlyCount.objects.filter(institution=institution, month=month, outcome=outcome)
    if rows.update(count=F("count") + 1):
        return
    try:
        with transaction.atomic():
            MonthlyCount.objects.create(institution=institution, month=month, outcome=outcome, count=1)
    except IntegrityError:  # another check made the row first
        rows.update(count=F("count") + 1)


def _masked(id_number: str) -> str:
    try:
        return mask_id_number(idnumber.canonical(id_number))
    except ValueError:
        return mask_id_number(" ".join(id_number.split())[:18])


@transaction.atomic(durable=True)
def card_check(*, institution: Institution, id_number: str, name: str, card_serial: str) -> CheckResult:
    """居民身份证核查 for a relying party: one of five answers, counted for the month and audited
    with the institution, its purpose, the answer and the masked number (never the name or the
    whole number). The caller has authenticated the institution and applied its limits."""
    if not institution.active:
        raise ServiceError("institution_suspended", "该机构的核查已暂停，请联系省公安厅。", status=403)
    outcome = answer(id_number=id_number, name=name, card_serial=card_serial)
    now = timezone.now()
    check_id = uuid.uuid4().hex
    _count(institution, month_of(timezone.localdate(now)), outcome)
    record(
        actor=InstitutionActor(f"institution:{institution.key_prefix}"),
        action=AuditAction.CARDCHECK_CHECK,
        object_type=OBJECT_TYPE,
        object_id=institution.pk,
        detail={
            "check_id": check_id,
            "institution": institution.name,
            "credit_code": institution.credit_code,
            "purpose": institution.purpose,
            "outcome": outcome.value,
            "outcome_label": outcome.label,
            "id_number": _masked(id_number),
        },
    )
    return CheckResult(check_id=check_id, outcome=outcome, checked_at=now)
