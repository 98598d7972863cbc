"""挂失招领 writes: one service per action (STYLE.md habit 1). Each locks what it changes, checks
its state, changes it, writes an `Event` (办理记录) and an audit row, and notifies after commit.

The card's state is the register's (`Card.State.LOST`, 已挂失); a report and a found card change
it only through `_lose` and `_revive`, which hold the person's row so that the one-active-card
constraint holds against a handover or another clerk at the same moment."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.accounts.models import User
from tongban.accounts.rules import check_phone
from tongban.audit.actions import AuditAction
from tongban.audit.services import AuditActor, record
from tongban.cardloss import rules
from tongban.cardloss.models import Event, FoundCard, LossReport
from tongban.cardloss.selectors import latest_card_id, still_valid
from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.notifications.services import compose, notify
from tongban.registry.access import Viewer
from tongban.registry.models import Card, Person, Unit

MAX_TEXT = 200


def _station(actor: Viewer) -> Unit:
    """The actor's station, if they may record losses and found cards (403 for everybody else)."""
    unit = actor.unit
    if unit is None or not actor.can("cardloss.report"):
        raise ServiceError("permission_denied", "无权办理挂失招领。", status=403)
    if unit.kind != Unit.Kind.STATION:
        raise ServiceError("permission_denied", "挂失申报和拾获证件由派出所登记。", status=403)
    return unit


def _event(
    actor: User | None,
    action: Event.Action,
    *,
    report: LossReport | None = None,
    found: FoundCard | None = None,
    note: str = "",
) -> None:
    Event.objects.create(
        report=report,
        found=found,
        action=action,
        actor=actor,
        unit=actor.unit if actor else None,
        at=timezone.now(),
        note=note[:300],
    )


def _text(value: str, field: str, label: str, *, required: bool = True) -> str:
    text = " ".join(value.split())
    if required and not text:
        raise ServiceError("invalid", f"请填写{label}。", fields={field: f"请填写{label}。"})
    if len(text) > MAX_TEXT:
        raise ServiceError("invalid", f"{label}不能超过 {MAX_TEXT} 个字。", fields={field: "过长。"})
    return text


def _phone(raw: str, field: str, *, required: bool) -> str:
    phone, problem = check_phone(raw)
    if problem is not None:
        raise ServiceError("invalid", problem.message, fields={field: problem.message})
    if required and not phone:
        raise ServiceError("invalid", "请填写联系电话。", fields={field: "请填写联系电话。"})
    return phone


# ---------------------------------------------------------------------------------------------
# 挂失申报


@transaction.atomic(durable=True)
def loss_report(
    *,
    actor: User,
    person: Person,
    channel: str,
    phone: str,
    verification: str = "",
    card_serial: str = "",
) -> LossReport:
    """挂失申报 at any station, for a person found by exact ID number (`person.lookup`): the valid
    card they hold is 已挂失 at once, everywhere. By telephone the clerk records what they checked
    of the caller (`verification`). `card_serial`, when given, must name that card."""
    unit = _station(actor)
    if channel not in LossReport.Channel.values:
        raise ServiceError("invalid", "请选择申报方式。", fields={"channel": "请选择现场或电话。"})
    phone = _phone(phone, "phone", required=True)
    verification = _text(
        verification, "verification", "核实情况", required=channel == LossReport.Channel.PHONE
    )
    _lock_holder(person.pk)  # serialises two clerks (and a handover) on the same holder
    card = Card.objects.filter(person=person, state=Card.State.ACTIVE).first()
    if card is None:
        if LossReport.objects.filter(person=person, status=LossReport.Status.OPEN).exists():
            raise ServiceError("already_reported", "该人员的证件已挂失。", status=409)
        raise ServiceError("no_valid_card", "该人员没有可挂失的有效证件。", status=409)
    if card_serial.strip() and card_serial.strip() != card.card_serial:
        raise ServiceError(
            "invalid", "卡号与该人员持有的证件不符。", fields={"card_serial": "卡号与持有的证件不符。"}
        )
    Card.objects.filter(pk=card.pk).update(state=Card.State.LOST)
    report = LossReport.objects.create(
        card=card,
        person=person,
        unit=unit,
        channel=channel,
        phone=phone,
        verification=verification,
        reported_at=timezone.now(),
        reported_by=actor,
    )
    _event(actor, Event.Action.REPORTED, report=report, note=f"{report.get_channel_display()}申报")
    record(
        actor=actor,
        action=AuditAction.CARDLOSS_REPORTED,
        object_type="cardloss.lossreport",
        object_id=report.pk,
        detail={"card": card.pk, "channel": channel},
    )
    return report


def _lock_holder(person_id: int) -> None:
    """The person's row, locked first by every change of their cards (here, at the counter and at
    the handover), so that two of them never wait on each other in opposite orders."""
    Person.objects.select_for_update().filter(pk=person_id).first()


def _revival_refusal(report: LossReport) -> str | None:
    """Why the lost card of `report` may not become valid again (None: it may); the caller holds
    the person's row (`_lock_holder`), so nothing makes another card valid meanwhile."""
    card = Card.objects.get(pk=report.card_id)
    refusal = rules.revival_refusal(
        report_open=report.status == LossReport.Status.OPEN and card.state == Card.State.LOST,
        latest=latest_card_id(report.person_id) == card.pk,
        valid_until=card.valid_until,
        today=timezone.localdate(),
    )
    if refusal is None and Card.objects.filter(person_id=report.person_id, state=Card.State.ACTIVE).exists():
        refusal = "该人员已有有效证件，原证件不能恢复有效。"
    return refusal


@transaction.atomic(durable=True)
def loss_restore(*, actor: User, report: LossReport, reason: str) -> LossReport:
    """撤销挂失: a card reported lost in error is valid again, by the reporting unit or a unit
    above it, while the report is open (no 补领 accepted) and the card is still the person's
    latest and within its validity."""
    if actor.unit is None or not actor.can("cardloss.report"):
        raise ServiceError("permission_denied", "无权办理挂失招领。", status=403)
    reason = _text(reason, "reason", "撤销原因")
    _lock_holder(report.person_id)
    report = LossReport.objects.select_for_update().get(pk=report.pk)
    if not actor.unit.contains(report.unit):
        raise ServiceError("not_found", "未找到。", status=404)
    refusal = _revival_refusal(report)
    if refusal is not None:
        raise ServiceError("not_revivable", refusal, status=409)
    Card.objects.filter(pk=report.card_id).update(state=Card.State.ACTIVE)
    report.status = LossReport.Status.RESTORED
    report.closed_at, report.closed_by, report.close_reason = timezone.now(), actor, reason
    report.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
    _event(actor, Event.Action.RESTORED, report=report, note=reason)
    record(
        actor=actor,
        action=AuditAction.CARDLOSS_RESTORED,
        object_type="cardloss.lossreport",
        object_id=report.pk,
        detail={"card": report.card_id},
    )
    return report


# ---------------------------------------------------------------------------------------------
# 补领 (called by intake inside its acceptance)


@dataclass
class ReplacementLoss:
    """What a 补领's acceptance did to the person's cards: `cards` made 已挂失 now, and the open
    report it took over, if there was one."""

    cards: list[int]
    report: LossReport | None


def replacement_loss(*, actor: User, person: Person) -> ReplacementLoss:
    """补领 accepted: the person's open loss report is taken over (已补领: the card can no longer
    come back), and a valid card nobody reported is 已挂失 from now on. Not durable: runs inside
    the acceptance, which holds the person's row already, before its counters;
    `replacement_link` names the 受理号 once it is taken."""
    report = (
        LossReport.objects.select_for_update()
        .filter(person=person, status=LossReport.Status.OPEN)
        .order_by("-pk")
        .first()
    )
    lost = list(Card.objects.filter(person=person, state=Card.State.ACTIVE).values_list("pk", flat=True))
    Card.objects.filter(pk__in=lost).update(state=Card.State.LOST)
    if report is not None:
        report.status = LossReport.Status.REPLACED
        report.closed_at, report.closed_by = timezone.now(), actor
        report.save(update_fields=["status", "closed_at", "closed_by"])
        _event(actor, Event.Action.REPLACED, report=report)
        record(
            actor=actor,
            action=AuditAction.CARDLOSS_REPLACED,
            object_type="cardloss.lossreport",
            object_id=report.pk,
            detail={"card": report.card_id},
        )
    return ReplacementLoss(cards=lost, report=report)


def replacement_link(loss: ReplacementLoss, *, application_number: str) -> None:
    """The 补领's 受理号 on the report it took over: one UPDATE of a row the acceptance already
    holds locked (`replacement_loss`), so it may follow the station's counters."""
    if loss.report is not None:
        LossReport.objects.filter(pk=loss.report.pk).update(application_number=application_number)


# ---------------------------------------------------------------------------------------------
# 丢失招领


@dataclass(frozen=True)
class FoundEntry:
    """A found card as the clerk reads it and hears how it came."""

    id_number: str
    name: str
    found_place: str
    found_on: datetime.date
    handed_in_by: str
    handed_in_phone: str = ""
    card_serial: str = ""


def _matching_card(id_number: str, card_serial: str) -> Card | None:
    """The register's card a found card is: by its serial when read (and the number agrees),
    else the holder's lost card, else their latest."""
    if card_serial:
        card = Card.objects.select_related("person").filter(card_serial=card_serial).first()
        return card if card is not None and card.person.id_number == id_number else None
    people = list(Person.objects.filter(id_number=id_number).values_list("pk", flat=True)[:2])
    if len(people) != 1:
        return None
    cards = Card.objects.filter(person_id=people[0]).order_by("-valid_from", "-pk")
    return cards.filter(state=Card.State.LOST).first() or cards.first()


def _owner_phone(card: Card) -> str:
    """The phone the owner left with the loss report (the register keeps none). A card made lost
    by a 补领 without a report is not announced: its owner has a new card coming."""
    report = card.loss_reports.order_by("-pk").first()
    return report.phone if report is not None else ""


@transaction.atomic(durable=True)
def found_register(*, actor: User, entry: FoundEntry) -> FoundCard:
    """登记拾获证件 at a station. A card that is 已挂失 in the register: its owner is told where
    to collect it, at the phone of the loss report."""
    unit = _station(actor)
    try:
        number = idnumber.canonical(entry.id_number)
    except ValueError:
        number = ""
    if len(number) != 18:
        raise ServiceError(
            "invalid", "公民身份号码格式不正确。", fields={"id_number": "请按证件上的号码填写 18 位。"}
        )
    today = timezone.localdate()
    if entry.found_on > today:
        raise ServiceError("invalid", "拾获日期不能晚于今天。", fields={"found_on": "不能晚于今天。"})
    serial = entry.card_serial.strip()
    if len(serial) > 32:
        raise ServiceError("invalid", "卡号过长。", fields={"card_serial": "卡号过长。"})
    card = _matching_card(number, serial)
    found = FoundCard.objects.create(
        unit=unit,
        card_serial=serial,
        id_number=number,
        name=_text(entry.name, "name", "姓名")[:50],
        found_place=_text(entry.found_place, "found_place", "拾获地点"),
        found_on=entry.found_on,
        handed_in_by=_text(entry.handed_in_by, "handed_in_by", "交来人")[:50],
        handed_in_phone=_phone(entry.handed_in_phone, "handed_in_phone", required=False),
        card=card,
        registered_at=timezone.now(),
        registered_by=actor,
        keep_until=rules.keep_until(today, settings.FOUND_CARD_KEEP_DAYS),
    )
    _event(actor, Event.Action.REGISTERED, found=found, note=f"拾获于{found.found_place}")
    record(
        actor=actor,
        action=AuditAction.CARDLOSS_FOUND_REGISTERED,
        object_type="cardloss.foundcard",
        object_id=found.pk,
        detail={"card": card.pk if card else None},
    )
    if card is not None and card.state == Card.State.LOST:
        phone = _owner_phone(card)
        if phone:
            notify(
                compose(
                    "card.found",
                    phone=phone,
                    station=unit.name,
                    station_phone=unit.phone or "",
                    keep_until=f"{found.keep_until:%Y-%m-%d}",
                )
            )
            FoundCard.objects.filter(pk=found.pk).update(owner_notified=True)
            found.owner_notified = True
            _event(actor, Event.Action.NOTIFIED, found=found)
    return found


def _waiting(actor: User, found: FoundCard) -> FoundCard:
    unit = _station(actor)
    found = FoundCard.objects.select_for_update().get(pk=found.pk)
    if found.unit_id != unit.pk:
        raise ServiceError("not_found", "未找到。", status=404)
    if found.status != FoundCard.Status.WAITING:
        raise ServiceError("not_waiting", f"该证件已{found.get_status_display()}。", status=409)
    return found


def _close(found: FoundCard, actor: User, status: FoundCard.Status, **fields: object) -> None:
    found.status, found.closed_at, found.closed_by = status, timezone.now(), actor
    for name, value in fields.items():
        setattr(found, name, value)
    found.save()


@transaction.atomic(durable=True)
def found_collect(
    *,
    actor: User,
    found: FoundCard,
    collector_name: str,
    collector_id_number: str,
    identity_checked: bool,
    identity_note: str = "",
    destroy: bool = False,
    witness: str = "",
) -> FoundCard:
    """失主领回 at the station that keeps the card, the owner's identity checked and recorded. A
    card still valid (its report open, no newer card, not expired) is valid again (已领回);
    otherwise it is handed back void (作废交还), or destroyed there (`destroy`, with a witness)."""
    found = _waiting(actor, found)
    if not identity_checked:
        raise ServiceError(
            "identity_unchecked",
            "请核对领取人身份后确认。",
            fields={"identity_checked": "请核对领取人身份。"},
        )
    name = _text(collector_name, "collector_name", "领取人姓名")[:50]
    try:
        number = idnumber.canonical(collector_id_number)
    except ValueError:
        number = ""
    if number != found.id_number:
        raise ServiceError(
            "not_owner",
            "领取人不是证件上的本人，不能领取。",
            fields={"collector_id_number": "与证件上的公民身份号码不一致。"},
        )
    note = _text(identity_note, "identity_note", "身份核验情况", required=False)
    fields = {"collector_name": name, "collector_id_number": number, "identity_note": note}
    card = Card.objects.get(pk=found.card_id) if found.card_id else None
    report = None
    if card is not None:
        _lock_holder(card.person_id)
        report = (
            LossReport.objects.select_for_update().filter(card=card, status=LossReport.Status.OPEN).first()
        )
    if report is not None and _revival_refusal(report) is None:
        Card.objects.filter(pk=report.card_id).update(state=Card.State.ACTIVE)
        report.status, report.closed_at, report.closed_by = LossReport.Status.RECOVERED, timezone.now(), actor
        report.save(update_fields=["status", "closed_at", "closed_by"])
        _event(actor, Event.Action.RECOVERED, report=report, note=f"拾获证件由本人在{actor.unit}领回")
        record(
            actor=actor,
            action=AuditAction.CARDLOSS_RECOVERED,
            object_type="cardloss.lossreport",
            object_id=report.pk,
            detail={"card": report.card_id, "found": found.pk},
        )
        _close(found, actor, FoundCard.Status.RETURNED, reactivated=True, **fields)
        _event(actor, Event.Action.RETURNED, found=found, note="证件恢复有效")
    elif card is not None and still_valid(card, timezone.localdate()) and not destroy:
        _close(found, actor, FoundCard.Status.RETURNED, **fields)  # never reported lost: still valid
        _event(actor, Event.Action.RETURNED, found=found)
    elif destroy:
        witness = _text(witness, "witness", "监销人")[:50]
        _close(found, actor, FoundCard.Status.DESTROYED, witness=witness, **fields)
        _event(actor, Event.Action.DESTROYED, found=found, note=f"本人同意当场销毁，监销人{witness}")
    else:
        _close(found, actor, FoundCard.Status.VOID_RETURNED, **fields)
        _event(actor, Event.Action.VOID_RETURNED, found=found, note="证件已失效，作废后交还本人")
    record(
        actor=actor,
        action=AuditAction.CARDLOSS_FOUND_COLLECTED,
        object_type="cardloss.foundcard",
        object_id=found.pk,
        detail={"status": found.status, "reactivated": found.reactivated},
    )
    return found


@transaction.atomic(durable=True)
def found_destroy(*, actor: User, found: FoundCard, witness: str, note: str = "") -> FoundCard:
    """销毁 of a found card nobody collected within the keeping time (TONGBAN_FOUND_CARD_KEEP_DAYS),
    with who destroyed it, when, and the witness (监销人)."""
    found = _waiting(actor, found)
    if not rules.destruction_due(found.keep_until, timezone.localdate()):
        raise ServiceError(
            "not_due", f"该证件保管至 {found.keep_until:%Y-%m-%d}，期满前不能销毁。", status=409
        )
    witness = _text(witness, "witness", "监销人")[:50]
    note = _text(note, "note", "备注", required=False)
    _close(found, actor, FoundCard.Status.DESTROYED, witness=witness, note=note)
    _event(actor, Event.Action.DESTROYED, found=found, note=f"期满销毁，监销人{witness}")
    record(
        actor=actor,
        action=AuditAction.CARDLOSS_FOUND_DESTROYED,
        object_type="cardloss.foundcard",
        object_id=found.pk,
        detail={"witness": witness},
    )
    return found


@transaction.atomic(durable=True)
def found_due_mark(*, today: datetime.date | None = None) -> int:
    """The daily schedule: found cards still waiting after their keeping time are 列入待销毁
    (`due_since`), each with its event, and counted in one audit row. Marks each card once."""
    today = today or timezone.localdate()
    due = list(
        FoundCard.objects.select_for_update()
        .filter(status=FoundCard.Status.WAITING, due_since=None, keep_until__lt=today)
        .values_list("pk", flat=True)
    )
    if not due:
        return 0
    FoundCard.objects.filter(pk__in=due).update(due_since=today)
    now = timezone.now()
    Event.objects.bulk_create(
        [Event(found_id=pk, action=Event.Action.DUE, at=now, note="保管期满，待销毁") for pk in due]
    )
    record(
        actor=None,
        action=AuditAction.CARDLOSS_FOUND_DUE,
        object_type="cardloss.foundcard",
        detail={"count": len(due)},
    )
    return len(due)


def record_open(*, viewer: AuditActor, kind: str, pk: int) -> None:
    """A full loss report or found card was shown (its whole ID number): audited, as every view of
    a full personal record is."""
    record(actor=viewer, action=AuditAction.CARDLOSS_VIEW, object_type=f"cardloss.{kind}", object_id=pk)
