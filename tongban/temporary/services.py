"""临时居民身份证: one service per action — 受理 at a station's counter, 签发 or 不予签发 at the
county bureau above it, 打印 and 发放 at the station, 收回 (at the formal card's handover, or
later), 作废. Each locks the card, checks its state, writes the card's 办理记录 and the audit trail,
and notifies after commit where the formal flow does.

Imports intake (the formal application it depends on, the photo standard) and finance (the fee);
handover imports this module to take the card back when the formal card is collected."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.finance.services import fee_charge, fee_refund
from tongban.intake import capture
from tongban.intake.models import UNFINISHED_STATUSES, Application
from tongban.intake.rules import FeeItem
from tongban.intake.services import fee_table
from tongban.notifications.services import compose, notify
from tongban.registry.calendar import deadline
from tongban.registry.models import Person, Unit
from tongban.registry.sequences import next_in_sequence
from tongban.temporary import rules
from tongban.temporary.documents import card_pdf
from tongban.temporary.models import TemporaryCard, TemporaryCardEvent, TemporaryCounter
from tongban.temporary.selectors import card_document

State = TemporaryCard.State
Action = TemporaryCardEvent.Action

# A formal application from 已受理 to 待领取: a draft is no application yet.
FORMAL_PENDING = UNFINISHED_STATUSES - {Application.Status.DRAFT}

_AUDIT = {
    Action.ACCEPTED: AuditAction.TEMPORARY_ACCEPTED,
    Action.ISSUED: AuditAction.TEMPORARY_ISSUED,
    Action.REFUSED: AuditAction.TEMPORARY_REFUSED,
    Action.PRINTED: AuditAction.TEMPORARY_PRINTED,
    Action.HANDED_OUT: AuditAction.TEMPORARY_HANDED_OUT,
    Action.RETURNED: AuditAction.TEMPORARY_RETURNED,
    Action.NOT_RETURNED: AuditAction.TEMPORARY_NOT_RETURNED,
    Action.VOIDED: AuditAction.TEMPORARY_VOIDED,
}


def _event(card: TemporaryCard, action: Action, *, actor: User, note: str = "", **detail: object) -> None:
    """The card's 办理记录 entry and its audit row, in the caller's transaction."""
    TemporaryCardEvent.objects.create(card=card, action=action, note=note[:500], actor=actor)
    record(
        actor=actor,
        action=_AUDIT[action],
        object_type="temporary.temporarycard",
        object_id=card.pk,
        detail={"state": card.state, **detail},
    )


def _lock(card: TemporaryCard) -> TemporaryCard:
    return TemporaryCard.objects.select_for_update().get(pk=card.pk)


def _wrong_state(card: TemporaryCard, what: str) -> ServiceError:
    label = rules.STATE_LABELS[card.state_on(timezone.localdate())]
    return ServiceError("bad_state", f"该临时居民身份证当前为“{label}”，不能{what}。", status=409)


def require_temporary_counter(actor: User) -> Unit:
    """The actor's station, if they may apply for temporary cards there (403 otherwise)."""
    if not actor.can("temporary.accept") or actor.unit is None:
        raise ServiceError("permission_denied", "无权受理临时居民身份证。", status=403)
    if actor.unit.kind != Unit.Kind.STATION:
        raise ServiceError("permission_denied", "只有派出所受理点可以受理临时居民身份证。", status=403)
    return actor.unit


def _require_station(actor: User, card: TemporaryCard) -> None:
    """The clerk of the station that accepted the card; anybody else gets 404."""
    if not actor.can("temporary.accept") or actor.unit_id != card.unit_id:
        raise ServiceError("not_found", "未找到该临时居民身份证。", status=404)


def _require_issuer(actor: User, card: TemporaryCard) -> None:
    """A reviewer of the county bureau that issues the card; anybody else gets 404."""
    if not actor.can("temporary.issue") or actor.unit_id != card.issuing_unit_id:
        raise ServiceError("not_found", "未找到该临时居民身份证。", status=404)


def pending_application(person: Person) -> Application | None:
    """The person's formal application being worked on (已受理 … 待领取), the newest first."""
    return (
        Application.objects.filter(person=person, status__in=FORMAL_PENDING)
        .exclude(number=None)
        .order_by("-accepted_at", "-pk")
        .first()
    )


def _photo_checked(image: bytes, person: Person) -> bytes:
    """A new photo through the counter's photo standard (slow: before any transaction)."""
    with capture.biometric_refusals("photo"):
        prepared = capture.photo_prepare(image, person_id=person.pk)
    if not prepared.passed:
        raise capture.photo_refusal(
            "photo", capture.PhotoOutcome(False, prepared.messages, prepared.conformed)
        )
    return prepared.image


def _next_number(station: Unit, day: datetime.date) -> str:
    sequence = next_in_sequence(TemporaryCounter, station_id=station.pk, day=day)
    if sequence > rules.DAILY_SEQUENCE_MAX:
        raise ServiceError("daily_limit", "本受理点今日临时证号已用尽。", status=409)
    return rules.card_number(station.code, day, sequence)


def temporary_accept(
    *,
    actor: User,
    person: Person,
    photo: bytes | None = None,
    waived: bool = False,
    waiver_evidence: str = "",
    phone: str = "",
) -> TemporaryCard:
    """受理: a temporary card for a person of the register whose formal application is being
    worked on. The photo is the application's (`photo` None) or a new one that meets the
    standard; the 10-yuan fee is charged (or waived with evidence) with a receipt. The county
    bureau above the station issues it within three working days."""
    station = require_temporary_counter(actor)
    image = _photo_checked(photo, person) if photo is not None else None
    phone = phone.strip()[:20]
    with transaction.atomic(durable=True):
        # Two clerks applying for one person queue here: one card, one refusal.
        person = Person.objects.select_for_update().get(pk=person.pk)
        if person.status != Person.Status.NORMAL:
            raise ServiceError(
                "not_eligible", f"人员状态为“{person.get_status_display()}”，不能申领临时居民身份证。"
            )
        application = pending_application(person)
        if application is None:
            raise ServiceError(
                "no_pending_application",
                "该人员没有办理中的居民身份证申领（已受理至待领取），不能申领临时居民身份证。",
                status=409,
            )
        held = TemporaryCard.objects.filter(person=person, state__in=rules.IN_FORCE).first()
        if held is not None:
            raise ServiceError(
                "temporary_in_force",
                f"该人员已有临时居民身份证（{held.number}，{rules.STATE_LABELS[held.state_on(timezone.localdate())]}），"
                "须先收回或作废。",
                status=409,
            )
        if image is None:
            if application.photo is None:
                raise ServiceError(
                    "photo_required", "该申领没有相片，请采集相片。", fields={"photo": "请采集相片。"}
                )
            image = bytes(application.photo)
            source = TemporaryCard.PhotoSource.APPLICATION
        else:
            source = TemporaryCard.PhotoSource.NEW
        issuer = station.ancestor(Unit.Kind.COUNTY) or station
        now = timezone.now()
        due = deadline(now, rules.ISSUE_WORKDAYS)
        amount = Decimal(0) if waived else fee_table()[FeeItem.TEMPORARY]
        card = TemporaryCard(
            person=person,
            application=application,
            unit=station,
            issuing_unit=issuer,
            id_number=person.id_number,
            name=person.name,
            sex=person.sex.name,
            ethnicity=person.ethnicity.name,
            birth_date=person.birth_date,
            address=person.address,
            phone=phone or application.phone,
            photo=image,
            photo_source=source,
            fee_amount=amount,
            fee_waived=waived,
            accepted_by=actor,
            accepted_at=now,
            due=due.due,
            due_provisional=due.provisional,
        )
        # The station's counters are taken last: rows every clerk of the station updates.
        card.number = _next_number(station, timezone.localdate(now))
        try:
            with transaction.atomic():
                card.save()
        except IntegrityError as exc:  # the constraint behind the check above
            raise ServiceError(
                "temporary_in_force", "该人员已有临时居民身份证，须先收回或作废。", status=409
            ) from exc
        payment = fee_charge(
            actor=actor,
            unit=station,
            person=person,
            application_number=card.number,
            item=FeeItem.TEMPORARY.value,
            amount=amount,
            waived=waived,
            waiver_evidence=waiver_evidence,
        )
        card.receipt_number = payment.receipt_number
        card.save(update_fields=["receipt_number"])
        _event(card, Action.ACCEPTED, actor=actor, note=f"签发期限 {due.due:%Y-%m-%d}", source=source)
        notify(
            compose(
                "temporary.arrived", unit_code=issuer.code, number=card.number, due=f"{card.due:%Y-%m-%d}"
            )
        )
        return card


@transaction.atomic(durable=True)
def temporary_issue(*, actor: User, card: TemporaryCard) -> TemporaryCard:
    """签发: the validity (three months from today) and the issuing authority; the applicant is
    told to collect it."""
    _require_issuer(actor, card)
    card = _lock(card)
    if card.state != State.PENDING:
        raise _wrong_state(card, "签发")
    now = timezone.now()
    validity = rules.validity(timezone.localdate(now))
    card.state = State.ISSUED
    card.decided_by, card.decided_at = actor, now
    card.issuing_authority = card.issuing_unit.name
    card.valid_from, card.valid_until = validity.start, validity.end
    card.save()
    _event(card, Action.ISSUED, actor=actor, note=f"有效期限 {validity.label}", validity=validity.label)
    if card.phone:
        notify(compose("temporary.issued", phone=card.phone, number=card.number))
    return card


@transaction.atomic(durable=True)
def temporary_refuse(*, actor: User, card: TemporaryCard, reason: str) -> TemporaryCard:
    """不予签发, with the reason the applicant is told; the fee is given back, as for a formal
    application refused."""
    _require_issuer(actor, card)
    reason = reason.strip()
    if not reason:
        raise ServiceError(
            "reason_required", "请填写不予签发原因。", fields={"reason": "请填写不予签发原因。"}
        )
    if len(reason) > 500:
        raise ServiceError("invalid", "原因不能超过 500 个字。", fields={"reason": "不能超过 500 个字。"})
    card = _lock(card)
    if card.state != State.PENDING:
        raise _wrong_state(card, "不予签发")
    card.state = State.REFUSED
    card.decided_by, card.decided_at = actor, timezone.now()
    card.refusal_reason = reason
    card.save()
    _event(card, Action.REFUSED, actor=actor, note=reason)
    fee_refund(actor=actor, application_number=card.number, reason=f"临时居民身份证不予签发：{reason}")
    if card.phone:
        notify(compose("temporary.refused", phone=card.phone, number=card.number, reason=reason))
    return card


@transaction.atomic(durable=True)
def temporary_print(*, actor: User, card: TemporaryCard) -> bytes:
    """打印 at the accepting station, once issued (again, for a spoiled print, until returned):
    the PDF (documents.card_pdf), recorded as printed. PdfFontMissing when the server has no font."""
    _require_station(actor, card)
    card = _lock(card)
    if card.state not in (State.ISSUED, State.HANDED_OUT):
        raise _wrong_state(card, "打印")
    pdf = card_pdf(card_document(card))
    again = card.printed_at is not None
    card.printed_at = timezone.now()
    card.save(update_fields=["printed_at"])
    _event(card, Action.PRINTED, actor=actor, note="重新打印" if again else "", again=again)
    return pdf


@transaction.atomic(durable=True)
def temporary_hand_out(*, actor: User, card: TemporaryCard) -> TemporaryCard:
    """发放: the printed card into the applicant's hand."""
    _require_station(actor, card)
    card = _lock(card)
    if card.state != State.ISSUED:
        raise _wrong_state(card, "发放")
    if card.printed_at is None:
        raise ServiceError("not_printed", "该临时居民身份证尚未打印，请先打印再发放。", status=409)
    card.state = State.HANDED_OUT
    card.handed_out_by, card.handed_out_at = actor, timezone.now()
    card.save()
    _event(card, Action.HANDED_OUT, actor=actor)
    return card


def _take_back(card: TemporaryCard, *, actor: User, note: str = "") -> None:
    card.state = State.RETURNED
    card.returned_by, card.returned_at = actor, timezone.now()
    card.save()
    _event(card, Action.RETURNED, actor=actor, note=note)


@transaction.atomic(durable=True)
def temporary_return(*, actor: User, card: TemporaryCard) -> TemporaryCard:
    """收回: the card handed back at the station (one left 未收回 at the formal handover, or an
    expired one)."""
    _require_station(actor, card)
    card = _lock(card)
    if card.state != State.HANDED_OUT:
        raise _wrong_state(card, "收回")
    _take_back(card, actor=actor)
    return card


@transaction.atomic(durable=True)
def temporary_void(*, actor: User, card: TemporaryCard, reason: str) -> TemporaryCard:
    """作废 (lost, damaged, no longer needed): the card stops being in force."""
    _require_station(actor, card)
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason_required", "请填写作废原因。", fields={"reason": "请填写作废原因。"})
    if len(reason) > 200:
        raise ServiceError("invalid", "原因不能超过 200 个字。", fields={"reason": "不能超过 200 个字。"})
    card = _lock(card)
    if card.state not in rules.IN_FORCE:
        raise _wrong_state(card, "作废")
    card.state = State.VOIDED
    card.void_reason, card.voided_at = reason, timezone.now()
    card.save()
    _event(card, Action.VOIDED, actor=actor, note=reason)
    return card


def collect_at_handover(*, actor: User, person_id: int, returned: bool | None, reason: str = "") -> None:
    """At the formal card's handover, inside handover's transaction: a temporary card in the
    holder's hand is 已收回, or 未收回 with the reason (and stays on the unit's 未收回 list); one
    never handed out is voided, the formal card having come first."""
    card = (
        TemporaryCard.objects.select_for_update()
        .filter(person_id=person_id, state__in=rules.IN_FORCE)
        .first()
    )
    if card is None:
        return
    if card.state != State.HANDED_OUT:
        card.state = State.VOIDED
        card.void_reason, card.voided_at = "正式居民身份证已领取，临时居民身份证未发放即作废", timezone.now()
        card.save()
        _event(card, Action.VOIDED, actor=actor, note=card.void_reason)
        return
    if returned is None:
        raise ServiceError(
            "temporary_return_required",
            f"申请人持有临时居民身份证（{card.number}），请收回并勾选“已收回”，或填写未收回原因。",
            fields={"temporary_returned": "请选择临时居民身份证是否已收回。"},
        )
    card.formal_collected_at = timezone.now()
    if returned:
        _take_back(card, actor=actor, note="领取正式居民身份证时收回")
        return
    reason = reason.strip()
    if not reason:
        raise ServiceError(
            "temporary_reason_required",
            "临时居民身份证未收回，请填写原因。",
            fields={"temporary_reason": "请填写未收回原因。"},
        )
    card.unreturned_reason = reason[:200]
    card.save()
    _event(card, Action.NOT_RETURNED, actor=actor, note=card.unreturned_reason)
