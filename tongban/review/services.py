"""Review and issue (审核签发) at the household-registration authority: take an item, decide it
(review_issue 签发 / review_pass 审核通过 / review_refuse 不予签发 / review_record_verification
核实), release it. Every decision locks the application and checks the step it
was made for, so two reviewers clicking at once produce exactly one decision.

Who acts: reviewers (`review.decide`) of the unit whose step the item is at (`review_unit`); the
units above it see it (辖区在办) but do not act on it, nor does a unit whose step is over or that
only accepted the application or keeps the household. One holder at a time (领取); a reviewer
of the unit may also decide an item nobody holds (the pages offer decisions to the holder)."""

from __future__ import annotations

import datetime
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import EventAction
from tongban.core.dates import age_on
from tongban.core.errors import ServiceError
from tongban.finance.services import fee_refund
from tongban.intake import rules
from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.intake.services import route_to_step
from tongban.intake.transitions import Transition, application_event, application_transition, lock
from tongban.notifications.services import compose, notify
from tongban.registry.authority import issuing_authority
from tongban.registry.models import RefusalReason, Unit
from tongban.review.models import ReviewStep, VerificationNote

Status = Application.Status


class Decision(StrEnum):
    """The reviewer's three choices, as the page's forms and the API's `decision` name them."""

    ISSUE = "issue"  # 签发 at the last step; 审核通过 (on to the next step) before it
    REFUSE = "refuse"  # 不予签发
    VERIFY = "verify"  # 核实: the item stays with the reviewer


# A refusal's remark leaves room for the reason's name (≤ 50) in the one-line text (≤ 500).
REFUSAL_REMARK_MAX = 400


def _require_reviewer(actor: User, application: Application) -> None:
    """Reviewers act on applications they can see; anybody else gets 404."""
    if (
        not actor.can("review.decide")
        or actor.unit is None
        or not Application.objects.visible_to(actor).filter(pk=application.pk).exists()
    ):
        raise ServiceError("not_found", "未找到该事项。", status=404)


def step_position(application: Application) -> str:
    """Where the item is, as a reader says it: “南昌市公安局东湖分局审核签发”."""
    current = application.current_step or {}
    return f"{current.get('unit_name', '')}{current.get('title', '')}"


def elsewhere_notice(application: Application, unit: Unit) -> str:
    """Why `unit` has nothing to do on an item in review at another unit."""
    position = step_position(application)
    review_unit = application.review_unit
    if review_unit is not None and unit.contains(review_unit):
        return f"该事项由{position}，本单位只可查看。"
    earlier = application.review_chain[: max(application.review_step - 1, 0)]
    if any(step.get("unit") == unit.pk for step in earlier):
        return f"该事项已流转至{position}，您无需办理。"
    return f"该事项由{position}，您无需办理。"


def _check_open(application: Application, step: int | None, actor: User | None = None) -> None:
    """The (locked) item is still in review, at the actor's unit, at the step they saw."""
    if application.status not in IN_REVIEW_STATUSES:
        raise ServiceError(
            "already_decided", f"该事项已{Status(application.status).label}，无需再办理。", status=409
        )
    if actor is not None and actor.unit is not None and application.review_unit_id != actor.unit.pk:
        raise ServiceError("other_unit", elsewhere_notice(application, actor.unit), status=409)
    if step is not None and step != application.review_step:
        raise ServiceError("step_decided", "该环节已由他人办结，请刷新后查看。", status=409)


def _taken(application: Application) -> ServiceError:
    holder = application.assignee
    who = f"{holder.unit.name if holder.unit else ''}{holder.display_name}" if holder else "他人"
    return ServiceError("taken", f"该事项已由{who}领取办理。", status=409)


def refusal_check(*, code: str, remark: str) -> RefusalReason:
    """The active refusal reason `code`, with the remark it needs (其他: a remark of two
    characters or more). Refuses (400) an unknown or inactive reason or a missing remark."""
    code = code.strip()
    if not code:
        raise ServiceError(
            "refusal_reason_required",
            "不予签发须选择原因。",
            fields={"refusal_reason": "请选择不予签发原因。"},
        )
    reason = RefusalReason.objects.filter(code=code).first()
    if reason is None:
        raise ServiceError(
            "bad_refusal_reason",
            "没有该不予签发原因，请从原因列表中选择。",
            fields={"refusal_reason": f"没有代码为“{code[:10]}”的不予签发原因。"},
        )
    if not reason.active:
        raise ServiceError(
            "refusal_reason_inactive",
            f"不予签发原因“{reason.name}”已停用，请另选。",
            fields={"refusal_reason": f"“{reason.name}”已停用，请另选。"},
        )
    remark = remark.strip()
    if len(remark) > REFUSAL_REMARK_MAX:
        raise ServiceError(
            "reason_too_long",
            f"说明不能超过 {REFUSAL_REMARK_MAX} 个字。",
            fields={"reason": f"不能超过 {REFUSAL_REMARK_MAX} 个字。"},
        )
    if reason.remark_required and len(remark) < 2:
        raise ServiceError(
            "reason_required",
            f"不予签发原因为“{reason.name}”时须填写说明。",
            fields={"reason": "请写明不予签发的具体情况。"},
        )
    return reason


def step_record(application: Application) -> ReviewStep:
    """Review's record of the application's current step (created when first acted on)."""
    current = application.current_step
    if current is None or application.review_arrived_at is None or application.review_due is None:
        raise ServiceError("not_routed", "该申领尚未流转到审核环节。", status=409)
    record, created = ReviewStep.objects.get_or_create(
        application=application,
        step=application.review_step,
        defaults={
            "title": current["title"],
            "unit_id": current["unit"],
            "arrived_at": application.review_arrived_at,
            "due": application.review_due,
            "due_provisional": application.review_due_provisional,
        },
    )
    if not created and not record.decision and record.due != application.review_due:  # recounted
        record.due, record.due_provisional = application.review_due, application.review_due_provisional
        record.save(update_fields=["due", "due_provisional"])
    return record


@transaction.atomic(durable=True)
def review_take(*, actor: User, application: Application) -> Application:
    """领取: the item is the actor's until decided or released; others see who holds it."""
    _require_reviewer(actor, application)
    application = lock(application)
    _check_open(application, None, actor)
    if application.assignee_id == actor.pk:
        return application
    if application.assignee_id is not None:
        raise _taken(application)
    application.assignee = actor
    application.assigned_at = timezone.now()
    application.save(update_fields=["assignee", "assigned_at", "updated_at"])
    step_record(application)
    application_event(application, actor=actor, action=EventAction.TAKEN)
    return application


@transaction.atomic(durable=True)
def review_release(*, actor: User, application: Application) -> Application:
    """退回待办: the holder gives the item back to the unit's queue."""
    _require_reviewer(actor, application)
    application = lock(application)
    # The holder may give it back even after moving to another unit; nobody else may.
    if application.status not in IN_REVIEW_STATUSES or application.assignee_id != actor.pk:
        _check_open(application, None, actor)
        raise ServiceError("not_holder", "只有领取人可以退回该事项。", status=409)
    application.assignee = None
    application.assigned_at = None
    application.save(update_fields=["assignee", "assigned_at", "updated_at"])
    application_event(application, actor=actor, action=EventAction.RELEASED)
    return application


def _clean_reason(reason: str) -> str:
    """The reviewer's text (opinion, remark or what was verified), refused when too long."""
    reason = reason.strip()
    limit = Application._meta.get_field("refusal_reason").max_length or 500
    if len(reason) > limit:
        raise ServiceError(
            "reason_too_long", f"意见不能超过 {limit} 个字。", fields={"reason": f"不能超过 {limit} 个字。"}
        )
    return reason


def _open_step(actor: User, application: Application, step: int) -> tuple[Application, ReviewStep]:
    """The application locked, still in review at the actor's unit at the `step` they saw, and
    held by nobody else; with review's record of that step."""
    application = lock(application)
    _check_open(application, step, actor)
    if application.assignee_id not in (None, actor.pk):
        raise _taken(application)
    return application, step_record(application)


def _step_decided(record: ReviewStep, *, actor: User, decision: str, reason: str) -> datetime.datetime:
    """Review's record of the step, decided now (returned)."""
    now = timezone.now()
    record.decided_by, record.decided_at = actor, now
    record.decision, record.reason = decision, reason
    record.save()
    return now


def _is_last_step(application: Application) -> bool:
    return application.review_step >= len(application.review_chain)


@transaction.atomic(durable=True)
def review_approve(*, actor: User, application: Application, step: int, reason: str = "") -> Application:
    """The reviewer's 同意 on the step they saw, as the pages and the API's `issue` offer it:
    审核通过 (review_pass) before the last step, 签发 (review_issue) at the last."""
    _require_reviewer(actor, application)
    reason = _clean_reason(reason)
    application, record = _open_step(actor, application, step)
    approve = _issue if _is_last_step(application) else _pass
    return approve(actor=actor, application=application, record=record, reason=reason)


@transaction.atomic(durable=True)
def review_record_verification(
    *, actor: User, application: Application, step: int, method: str, note: str
) -> Application:
    """核实: what the reviewer checked and how (`method`); the item stays with them (核实中).
    `step` is the step the reviewer saw: when somebody else decided it meanwhile, the call is
    refused (409) and nothing changes, as for every decision below."""
    _require_reviewer(actor, application)
    note = _clean_reason(note)
    if not note:
        raise ServiceError("note_required", "请填写核实情况。", fields={"reason": "请填写核实情况。"})
    if method not in VerificationNote.Method.values:
        raise ServiceError("bad_method", "请选择核实方式。", fields={"method": "请选择核实方式。"})
    application, _ = _open_step(actor, application, step)
    VerificationNote.objects.create(
        application=application, step=application.review_step, method=method, note=note, author=actor
    )
    application.assignee = actor
    application.assigned_at = application.assigned_at or timezone.now()
    application_transition(
        application,
        Transition.RECORD_VERIFICATION,
        actor=actor,
        note=note,
        detail={"step": application.review_step, "method": method},
    )
    return application


@transaction.atomic(durable=True)
def review_refuse(
    *, actor: User, application: Application, step: int, refusal_reason: str, remark: str = ""
) -> Application:
    """不予签发 for the coded `refusal_reason` with the `remark` beside it: the application goes
    back to the acceptance station, which tells the applicant; the fee is refunded."""
    _require_reviewer(actor, application)
    remark = _clean_reason(remark)
    refusal = refusal_check(code=refusal_reason, remark=remark)
    application, record = _open_step(actor, application, step)
    text = refusal.text(remark)
    now = _step_decided(record, actor=actor, decision=ReviewStep.Decision.REFUSED, reason=text)
    application.refusal_code = refusal
    application.refusal_remark = remark
    application.refusal_reason = text
    application.closed_at = now
    application.assignee = None
    application_transition(
        application,
        Transition.REFUSE,
        actor=actor,
        note=text,
        detail={"step": application.review_step, "refusal_reason": refusal.code},
    )
    if application.number:
        fee_refund(actor=actor, application_number=application.number, reason=f"不予签发：{text}")
    notify(
        compose(
            "application.refused.station",
            unit_code=application.acceptance_unit.code,
            application_id=application.pk,
            number=application.number,
            reason=text,
        )
    )
    notify(
        compose(
            "application.refused",
            phone=application.phone,
            application_id=application.pk,
            number=application.number,
        )
    )
    return application


@transaction.atomic(durable=True)
def review_pass(*, actor: User, application: Application, step: int, reason: str = "") -> Application:
    """审核通过 at a step before the last: on to the next step of the chain, with its deadline.
    `reason` is the opinion (may be empty)."""
    _require_reviewer(actor, application)
    reason = _clean_reason(reason)
    application, record = _open_step(actor, application, step)
    if _is_last_step(application):
        raise ServiceError("bad_transition", "该环节为最后一个审核环节，请签发或不予签发。", status=409)
    return _pass(actor=actor, application=application, record=record, reason=reason)


def _pass(*, actor: User, application: Application, record: ReviewStep, reason: str) -> Application:
    now = _step_decided(record, actor=actor, decision=ReviewStep.Decision.PASSED, reason=reason)
    route_to_step(application, application.review_step + 1, arrived_at=now)
    following = application.review_chain[application.review_step - 1]
    due = application.review_due
    application_transition(
        application,
        Transition.PASS,
        actor=actor,
        note=reason or f"审核通过，流转至{following['unit_name']}{following['title']}",
        detail={"step": application.review_step, "due": str(application.review_due)},
    )
    notify(
        compose(
            "review.arrived",
            unit_code=Unit.objects.get(pk=following["unit"]).code,
            application_id=application.pk,
            number=application.number,
            due=f"{due:%Y-%m-%d}",
        )
    )
    return application


@transaction.atomic(durable=True)
def review_issue(*, actor: User, application: Application, step: int, reason: str = "") -> Application:
    """签发 at the last step: the validity period, the issuing authority, and the application on
    to production (已签发). `reason` is the opinion (may be empty)."""
    _require_reviewer(actor, application)
    reason = _clean_reason(reason)
    application, record = _open_step(actor, application, step)
    if not _is_last_step(application):
        raise ServiceError("bad_transition", "该环节之后还有审核环节，请审核通过后流转。", status=409)
    return _issue(actor=actor, application=application, record=record, reason=reason)


def _issue(*, actor: User, application: Application, record: ReviewStep, reason: str) -> Application:
    now = _step_decided(record, actor=actor, decision=ReviewStep.Decision.ISSUED, reason=reason)
    issue_date = timezone.localdate(now)
    accepted_on = timezone.localdate(application.accepted_at) if application.accepted_at else issue_date
    age_date = issue_date if settings.VALIDITY_AGE_DATE == "issue" else accepted_on
    validity = rules.validity_period(application.birth_date, issue_date=issue_date, age_date=age_date)
    years = rules.validity_years(age_on(application.birth_date, age_date))
    application.validity = "long" if years is None else str(years)
    application.valid_from, application.valid_until = validity.start, validity.end
    application.issued_at = now
    # 居民身份证法 第八条: the household's county-level bureau issues, whatever the chain's last step.
    application.issuing_authority = issuing_authority(application.household_unit)
    application.assignee = None
    detail: dict[str, object] = {"step": application.review_step, "validity": validity.label}
    # The reason follows the age on the date that fixes it: when that is the issue date, an
    # applicant accepted at 15 who is 16 by now gets a 16-year-old's card, and 11 becomes 12
    # (an application accepted with the wrong one before the counter checked it is put right too).
    by_age = rules.age_reason(application.birth_date, age_date)
    if application.reason_id in rules.AGE_REASONS and application.reason_id != by_age:
        detail["reason"] = [application.reason_id, by_age]
        application.reason_id = by_age
        corrected = f"签发时按年龄将申领原因更正为“{rules.REASON_NAMES[by_age]}”"
        reason = f"{reason}；{corrected}" if reason else corrected
    application_transition(application, Transition.ISSUE, actor=actor, note=reason, detail=detail)
    notify(
        compose(
            "application.issued",
            phone=application.phone,
            application_id=application.pk,
            number=application.number,
        )
    )
    return application
