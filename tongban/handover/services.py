"""Business actions of distribution (分发) and handover (核验发放). Each one: check who may do it,
lock the rows, check the states, change them, move the application through intake's one
transition service (event + audit row), notify after commit. Refusals raise ServiceError and
change nothing. Slow biometric work (`finger_compare`) runs before the transaction opens.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction, EventAction
from tongban.audit.services import record
from tongban.biometrics.engine import get_sdk
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.biometrics.finger import TEMPLATE_FORMAT as FINGER_TEMPLATE_FORMAT
from tongban.biometrics.interfaces import BiometricError, Modality, Sample, Template
from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.core.regions import longest_prefix
from tongban.handover.models import (
    DistributionRule,
    FingerCheck,
    Handover,
    Shipment,
    ShipmentItem,
    Verification,
)
from tongban.intake.models import Application, Fingerprint
from tongban.intake.rules import ApplicationType
from tongban.intake.transitions import Transition, application_event, application_transition, lock
from tongban.notifications.services import Notification, compose, notify, texts_in_force
from tongban.registry.access import Viewer
from tongban.registry.calendar import post_verification_deadline
from tongban.registry.models import Card, Person, Unit, centre_station_ids
from tongban.registry.services import production_centre_for
from tongban.temporary import services as temporary

Status = Application.Status
Outcome = ShipmentItem.Outcome

SIGNATURE_MAX_BYTES = 512 * 1024
MAX_ITEMS = 2000  # per call: one transaction holds the audit chain while it runs
NOT_FOUND = "未找到该申领。"


def _not_found(message: str = NOT_FOUND) -> ServiceError:
    return ServiceError("not_found", message, status=404)


def require_role(actor: Viewer, *actions: str) -> None:
    """403 `permission_denied` for a role that may take none of `actions` at all (a record
    outside the actor's jurisdiction is 404 instead)."""
    if actor.unit is None or not any(actor.can(action) for action in actions):
        raise ServiceError("permission_denied", "无权执行此操作。", status=403)


# ---------------------------------------------------------------------------------------------
# Where cards go


def distribution_route(station: Unit) -> str:
    """直接 or 经县局: the longest DistributionRule prefix of the station's code decides."""
    routes = dict(DistributionRule.objects.values_list("region_prefix", "route"))
    return longest_prefix(station.code, routes) or DistributionRule.Route.DIRECT


def produced_card(application: Application) -> Card | None:
    """The card production made for this application and nobody has received yet."""
    return (
        Card.objects.filter(
            person_id=application.person_id,
            application_number=application.number or "",
            state=Card.State.PRODUCED,
        )
        .order_by("-pk")
        .first()
    )


def require_centre(actor: User) -> Unit:
    """The actor's production centre, if they ship its cards (403 for everybody else)."""
    require_role(actor, "shipment.create")
    unit = actor.unit
    if unit is None or unit.kind != Unit.Kind.CENTRE:
        raise ServiceError("permission_denied", "只有制证中心分发证件。", status=403)
    return unit


# ---------------------------------------------------------------------------------------------
# Shipping from the centre


@dataclass(frozen=True)
class _Leg:
    method: str
    destination: Unit | None


def _leg_for(application: Application) -> _Leg:
    if application.collection == Application.Collection.POST:
        return _Leg(Shipment.Method.POST, None)
    station = application.acceptance_unit
    if distribution_route(station) == DistributionRule.Route.COUNTY:
        county = station.ancestor(Unit.Kind.COUNTY)
        if county is not None:
            return _Leg(Shipment.Method.COUNTY, county)
    return _Leg(Shipment.Method.UNIT, station)


def _new_shipment(actor: User, origin: Unit, leg: _Leg) -> Shipment:
    return Shipment.objects.create(
        method=leg.method, origin=origin, destination=leg.destination, created_by=actor
    )


def _add_item(shipment: Shipment, application: Application, card: Card, tracking: str = "") -> ShipmentItem:
    try:
        with transaction.atomic():  # a savepoint: the constraint's refusal leaves the rest usable
            return ShipmentItem.objects.create(
                shipment=shipment, application=application, card=card, tracking_number=tracking
            )
    except IntegrityError as exc:
        taken = tracking and ShipmentItem.objects.filter(tracking_number=tracking).exists()
        if taken:
            raise ServiceError(
                "tracking_taken",
                f"邮件号 {tracking} 已被使用。",
                fields={f"tracking_numbers.{application.number}": "邮件号已被使用"},
                status=409,
            ) from exc
        raise ServiceError(
            "already_shipped", f"受理号 {application.number} 已在途，不能重复分发。", status=409
        ) from exc


def _clean_numbers(numbers: Iterable[str]) -> list[str]:
    wanted = sorted({str(number).strip() for number in numbers if str(number).strip()})
    if not wanted:
        raise ServiceError(
            "nothing_selected", "请选择要分发的证件。", fields={"applications": "请至少选择一张证件。"}
        )
    if len(wanted) > MAX_ITEMS:
        raise ServiceError("too_many", f"一次最多分发 {MAX_ITEMS} 张证件。")
    return wanted


@dataclass(frozen=True)
class PlannedShipment:
    """One shipment `shipments_create` would make of a selection: where it goes and what."""

    method: str
    destination: Unit | None
    applications: tuple[Application, ...]

    @property
    def method_label(self) -> str:
        return Shipment.Method(self.method).label


def _shippable(
    centre: Unit, numbers: Iterable[str], tracking: Mapping[str, str], *, lock_rows: bool
) -> list[Application]:
    """The selected applications of the centre, checked: each 已制证, each postal one with a
    tracking number of its own that no other card carries. Refusals change nothing."""
    wanted = _clean_numbers(numbers)
    scope = Application.objects.filter(acceptance_unit_id__in=centre_station_ids(centre), number__in=wanted)
    if lock_rows:
        # Locked in primary-key order, like every other multi-row lock here: no deadlocks.
        scope = scope.select_for_update(of=("self",))
    applications = list(scope.select_related("acceptance_unit").order_by("pk"))
    found = {application.number for application in applications}
    unknown = [number for number in wanted if number not in found]
    if unknown:
        raise ServiceError(
            "not_found",
            f"未找到受理号：{'、'.join(unknown)}。",
            fields={"applications": "含未找到的受理号"},
            status=404,
        )
    errors: dict[str, str] = {}
    for application in applications:
        if application.status != Status.PRODUCED:
            errors[f"applications.{application.number}"] = f"当前为“{application.get_status_display()}”"
        elif application.collection == Application.Collection.POST and not tracking.get(
            application.number or ""
        ):
            errors[f"tracking_numbers.{application.number}"] = "邮政寄递须填写邮件号"
    if errors:
        raise ServiceError("cannot_ship", "以下证件不能分发：请检查标出的受理号。", fields=errors, status=409)
    postal = {
        application.number or "": tracking[application.number or ""]
        for application in applications
        if application.collection == Application.Collection.POST
    }
    seen: dict[str, str] = {}
    taken = set(
        ShipmentItem.objects.filter(tracking_number__in=set(postal.values())).values_list(
            "tracking_number", flat=True
        )
    )
    for number, code in sorted(postal.items()):
        if code in taken:
            errors[f"tracking_numbers.{number}"] = "邮件号已被使用"
        elif code in seen:
            errors[f"tracking_numbers.{number}"] = f"与受理号 {seen[code]} 的邮件号相同"
        seen.setdefault(code, number)
    if errors:
        raise ServiceError(
            "tracking_taken", "邮件号已被使用或重复，请检查标出的邮件号。", fields=errors, status=409
        )
    return applications


def shipments_plan(
    *, actor: User, numbers: Iterable[str], tracking_numbers: Mapping[str, str] | None = None
) -> list[PlannedShipment]:
    """What `shipments_create` would make of this selection, checked the same way and written
    nowhere: the confirmation step of the page (确认发出) shows it."""
    centre = require_centre(actor)
    tracking = {key: value.strip() for key, value in (tracking_numbers or {}).items()}
    groups: dict[tuple[str, int | None], list[Application]] = defaultdict(list)
    legs: dict[tuple[str, int | None], _Leg] = {}
    for application in _shippable(centre, numbers, tracking, lock_rows=False):
        leg = _leg_for(application)
        key = (leg.method, leg.destination.pk if leg.destination else None)
        legs[key] = leg
        groups[key].append(application)
    return [
        PlannedShipment(legs[key].method, legs[key].destination, tuple(applications))
        for key, applications in groups.items()
    ]


@transaction.atomic(durable=True)
def shipments_create(
    *,
    actor: User,
    numbers: Iterable[str],
    tracking_numbers: Mapping[str, str] | None = None,
) -> list[Shipment]:
    """分发: ship the centre's produced cards. They are grouped by where they go: one shipment per
    acceptance unit, or per county bureau where a DistributionRule says so, and one postal
    consignment for cards going by post (each with its tracking number). 已制证 → 已分发."""
    centre = require_centre(actor)
    tracking = {key: value.strip() for key, value in (tracking_numbers or {}).items()}
    applications = _shippable(centre, numbers, tracking, lock_rows=True)

    shipments: dict[tuple[str, int | None], Shipment] = {}
    now_notes: list[Notification] = []
    letters = texts_in_force("card.posted", "shipment.sent")
    for application in applications:
        card = produced_card(application)
        if card is None:
            raise ServiceError("no_card", f"受理号 {application.number} 没有已制证的证件记录。", status=409)
        leg = _leg_for(application)
        key = (leg.method, leg.destination.pk if leg.destination else None)
        if key not in shipments:
            shipments[key] = _new_shipment(actor, centre, leg)
        shipment = shipments[key]
        number = application.number or ""
        _add_item(shipment, application, card, tracking.get(number, "") if leg.destination is None else "")
        where = leg.destination.name if leg.destination else f"申请人（邮件号 {tracking[number]}）"
        application_transition(
            application,
            Transition.SHIP,
            actor=actor,
            note=f"分发至{where}",
            detail={"shipment": shipment.pk, "method": leg.method},
        )
        if leg.destination is None:
            now_notes.append(
                compose(
                    "card.posted",
                    phone=application.phone,
                    application_id=application.pk,
                    text=letters["card.posted"],
                    number=number,
                    tracking=tracking[number],
                )
            )
    for shipment in shipments.values():
        record(
            actor=actor,
            action=AuditAction.SHIPMENT_CREATE,
            object_type="handover.shipment",
            object_id=shipment.pk,
            detail={"method": shipment.method, "items": shipment.items.count()},
        )
        if shipment.destination is not None:
            now_notes.append(
                compose(
                    "shipment.sent",
                    unit_code=shipment.destination.code,
                    text=letters["shipment.sent"],
                    shipment=shipment.pk,
                    count=shipment.items.count(),
                    sender=centre.name,
                )
            )
    for note in now_notes:
        notify(note)
    return list(shipments.values())


# ---------------------------------------------------------------------------------------------
# Receipt (签收), county quality check and forwarding


def _require_destination(actor: User, shipment: Shipment) -> None:
    """Only the destination unit itself signs for a shipment (a postal one has none)."""
    require_role(actor, "shipment.receive")
    if shipment.destination_id is None or actor.unit_id != shipment.destination_id:
        raise ServiceError("permission_denied", "只能由收件单位签收该分发单。", status=403)


def _reprint(*, actor: User, item: ShipmentItem, outcome: str, reason: str) -> None:
    """A missing or damaged card goes back to reprint: its record is cancelled and the
    application returns to the centre's queue (已签发)."""
    application = item.application
    item.outcome = outcome
    item.note = reason[:200]
    item.save(update_fields=["outcome", "note"])
    Card.objects.filter(pk=item.card_id).update(state=Card.State.CANCELLED)
    label = Outcome(outcome).label
    application_transition(
        application,
        Transition.REPRINT,
        actor=actor,
        note=f"证件{label}，退回重新制证" + (f"：{reason}" if reason else ""),
        detail={"shipment": item.shipment_id, "outcome": outcome, "card": item.card_id},
    )
    centre = production_centre_for(application.acceptance_unit.code)
    if centre is not None:
        notify(
            compose(
                "card.reprint",
                unit_code=centre.code,
                application_id=application.pk,
                number=application.number,
                what=label,
            )
        )


@transaction.atomic(durable=True)
def shipment_receive(
    *,
    actor: User,
    shipment: Shipment,
    missing: Iterable[str] = (),
    damaged: Iterable[str] = (),
    notes: Mapping[str, str] | None = None,
    note: str = "",
) -> Shipment:
    """签收: the receiving unit confirms what arrived. Missing and damaged cards (at a county
    bureau: those failing its quality check, 质检不合格) go back to reprint; the rest are received:
    at the acceptance unit they wait for collection (待领取) and the applicant is told; at a
    county bureau they wait to be forwarded."""
    _require_destination(actor, shipment)
    shipment = (
        Shipment.objects.select_for_update(of=("self",)).select_related("destination").get(pk=shipment.pk)
    )
    if shipment.state != Shipment.State.IN_TRANSIT:
        raise ServiceError("already_received", "该分发单已签收。", status=409)
    missing_set, damaged_set = set(missing), set(damaged)
    items = list(
        shipment.items.select_related("application", "application__acceptance_unit").order_by(
            "application_id"
        )
    )
    numbers = {item.application.number for item in items}
    errors: dict[str, str] = {}
    for field, chosen in (("missing", missing_set), ("damaged", damaged_set)):
        strangers = sorted(chosen - numbers)
        if strangers:
            errors[field] = f"不在本分发单中：{'、'.join(strangers)}"
    both = sorted(missing_set & damaged_set)
    if both:
        errors["damaged"] = f"不能同时登记为缺失和损坏：{'、'.join(both)}"
    if errors:
        raise ServiceError("invalid", "签收登记有误，请检查标出的字段。", fields=errors)
    note = note.strip()[:500]
    notes = dict(notes or {})
    at_county = shipment.method == Shipment.Method.COUNTY
    letters = texts_in_force("card.ready")  # read once for the whole shipment
    for item in items:
        application = lock(item.application)
        item.application = application
        number = application.number or ""
        if number in missing_set or number in damaged_set:
            outcome = Outcome.MISSING if number in missing_set else Outcome.DAMAGED
            reason = str(notes.get(number, "")).strip() or (
                "质检不合格" if at_county and outcome == Outcome.DAMAGED else ""
            )
            _reprint(actor=actor, item=item, outcome=outcome, reason=reason)
            continue
        item.outcome = Outcome.RECEIVED
        item.save(update_fields=["outcome"])
        if at_county:
            application_event(
                application,
                actor=actor,
                action=EventAction.COUNTY_RECEIVED,
                note="县局签收，质检合格",
                detail={"shipment": shipment.pk},
            )
            continue
        application_transition(
            application,
            Transition.RECEIVE,
            actor=actor,
            note=f"{shipment.destination.name if shipment.destination else ''}签收，待领取",
            detail={"shipment": shipment.pk},
        )
        notify(
            compose(
                "card.ready",
                phone=application.phone,
                application_id=application.pk,
                text=letters["card.ready"],
                number=number,
                station=application.acceptance_unit.name,
            )
        )
    shipment.state = Shipment.State.RECEIVED
    shipment.received_by = actor
    shipment.received_at = timezone.now()
    shipment.note = note
    shipment.save(update_fields=["state", "received_by", "received_at", "note"])
    record(
        actor=actor,
        action=AuditAction.SHIPMENT_RECEIVE,
        object_type="handover.shipment",
        object_id=shipment.pk,
        detail={
            "received": len(items) - len(missing_set) - len(damaged_set),
            "missing": len(missing_set),
            "damaged": len(damaged_set),
        },
    )
    return shipment


def require_county(actor: User) -> Unit:
    """The actor's county bureau, if they forward its cards (403 for everybody else)."""
    require_role(actor, "shipment.receive")
    unit = actor.unit
    if unit is None or unit.kind != Unit.Kind.COUNTY:
        raise ServiceError("permission_denied", "只有县（市、区）公安机关质检转发证件。", status=403)
    return unit


def awaiting_forward(county: Unit) -> QuerySet[ShipmentItem]:
    """Cards a county bureau received and passed, not yet forwarded to their stations."""
    return ShipmentItem.objects.filter(
        shipment__destination=county,
        shipment__method=Shipment.Method.COUNTY,
        outcome=Outcome.RECEIVED,
        forwarded_at=None,
        application__status=Status.SHIPPED,
    )


def forward_plan(*, actor: User, numbers: Iterable[str] | None = None) -> list[PlannedShipment]:
    """What `shipments_forward` would send, one shipment per station, written nowhere: the
    confirmation step of the page (确认转发) shows it."""
    county = require_county(actor)
    waiting = awaiting_forward(county)
    if numbers is not None:
        waiting = waiting.filter(application__number__in=_clean_numbers(numbers))
    items = list(
        waiting.select_related("application", "application__acceptance_unit").order_by(
            "application__acceptance_unit__code", "application_id"
        )
    )
    if not items:
        raise ServiceError("nothing_to_forward", "没有待转发的证件。", status=409)
    by_station: dict[int, list[Application]] = defaultdict(list)
    for item in items:
        by_station[item.application.acceptance_unit_id].append(item.application)
    return [
        PlannedShipment(Shipment.Method.UNIT, applications[0].acceptance_unit, tuple(applications))
        for applications in by_station.values()
    ]


@transaction.atomic(durable=True)
def shipments_forward(*, actor: User, numbers: Iterable[str] | None = None) -> list[Shipment]:
    """县局分发: the county bureau forwards the cards it received and passed to their acceptance
    stations, one shipment per station (已分发 → 已分发). `numbers` narrows the selection; by
    default everything waiting is forwarded."""
    county = require_county(actor)
    waiting = awaiting_forward(county)
    if numbers is not None:
        waiting = waiting.filter(application__number__in=_clean_numbers(numbers))
    item_ids = list(waiting.order_by("application_id").values_list("pk", flat=True))
    if not item_ids:
        raise ServiceError("nothing_to_forward", "没有待转发的证件。", status=409)
    items = list(
        ShipmentItem.objects.select_for_update(of=("self",))
        .filter(pk__in=item_ids, forwarded_at=None)
        .select_related("application", "application__acceptance_unit", "card")
        .order_by("application_id")
    )
    by_station: dict[int, list[ShipmentItem]] = defaultdict(list)
    for item in items:
        by_station[item.application.acceptance_unit_id].append(item)
    now = timezone.now()
    shipments = []
    for station_items in by_station.values():
        station = station_items[0].application.acceptance_unit
        shipment = _new_shipment(actor, county, _Leg(Shipment.Method.UNIT, station))
        for item in station_items:
            application = lock(item.application)
            if application.status != Status.SHIPPED:
                raise ServiceError(
                    "cannot_forward", f"受理号 {application.number} 当前不能转发。", status=409
                )
            item.forwarded_at = now
            item.save(update_fields=["forwarded_at"])
            _add_item(shipment, application, item.card)
            application_transition(
                application,
                Transition.FORWARD,
                actor=actor,
                note=f"县局质检后转发至{station.name}",
                detail={"shipment": shipment.pk, "from_shipment": item.shipment_id},
            )
        record(
            actor=actor,
            action=AuditAction.SHIPMENT_FORWARD,
            object_type="handover.shipment",
            object_id=shipment.pk,
            detail={"items": len(station_items)},
        )
        notify(
            compose(
                "shipment.sent",
                unit_code=station.code,
                shipment=shipment.pk,
                count=len(station_items),
                sender=county.name,
            )
        )
        shipments.append(shipment)
    return shipments


# ---------------------------------------------------------------------------------------------
# The card becomes valid


def card_activate(application: Application, card: Card) -> list[int]:
    """The new card becomes the person's one valid card; the card it replaces is invalidated
    first (换领: 已换领作废; 补领: 已挂失, where no 挂失申报 made it so before), so the
    one-active-card constraint holds throughout. Returns the invalidated cards."""
    Person.objects.select_for_update().filter(pk=application.person_id).first()
    old_state = Card.State.LOST if application.type == ApplicationType.REPLACEMENT else Card.State.SUPERSEDED
    old = list(
        Card.objects.select_for_update()
        .filter(person_id=application.person_id, state=Card.State.ACTIVE)
        .exclude(pk=card.pk)
        .values_list("pk", flat=True)
    )
    if old:
        Card.objects.filter(pk__in=old).update(state=old_state)
    Card.objects.filter(pk=card.pk).update(state=Card.State.ACTIVE)
    return old


def _refuse_lost(application: Application) -> None:
    """A card of this application reported lost (挂失申报 after a proxy or postal handover) is
    neither handed over nor verified: the holder restores it (撤销挂失) or applies for a 补领."""
    if Card.objects.filter(
        person_id=application.person_id, application_number=application.number or "", state=Card.State.LOST
    ).exists():
        raise ServiceError(
            "card_lost", "该证件已挂失，不能发放或核验：请先撤销挂失，或办理补领。", status=409
        )


def _card_for_handover(application: Application) -> Card:
    card = produced_card(application)
    if card is None:
        _refuse_lost(application)
        raise ServiceError("no_card", "没有该申领待发放的证件记录。", status=409)
    return card


def due_text(verification: Verification) -> str:
    """The verification deadline as 办理记录 and the applicant read it; 暂估 when it was counted
    over a year whose holiday arrangement is not published."""
    return f"{verification.due:%Y-%m-%d}" + ("（暂估）" if verification.due_provisional else "")


def _start_verification(application: Application) -> Verification:
    due = post_verification_deadline(timezone.now())
    verification, _ = Verification.objects.update_or_create(
        application=application, defaults={"due": due.due, "due_provisional": due.provisional}
    )
    return verification


# ---------------------------------------------------------------------------------------------
# Postal delivery (邮政妥投)


@transaction.atomic(durable=True)
def postal_delivered(*, actor: User, tracking_number: str) -> Application:
    """妥投: the postal service (or the centre) confirms delivery of one postal item. The card is
    valid from now on, and the applicant owes a verification within the configured working days
    (已分发 → 待核验)."""
    centre = require_centre(actor)
    tracking_number = tracking_number.strip()
    item = (
        ShipmentItem.objects.select_for_update(of=("self",))
        .select_related("shipment", "application", "card")
        .filter(
            tracking_number=tracking_number,
            shipment__origin=centre,
            shipment__method=Shipment.Method.POST,
        )
        .first()
    )
    if not tracking_number or item is None:
        raise _not_found("未找到该邮件号。")
    if item.outcome != Outcome.PENDING:
        raise ServiceError("already_delivered", "该邮件已登记妥投。", status=409)
    application = lock(item.application)
    item.outcome = Outcome.DELIVERED
    item.save(update_fields=["outcome"])
    invalidated = card_activate(application, item.card)
    Handover.objects.create(
        application=application,
        card=item.card,
        way=Handover.Way.POST,
        performed_by=actor,
        finger_check=FingerCheck.NOT_APPLICABLE,
        tracking_number=tracking_number,
    )
    verification = _start_verification(application)
    application_transition(
        application,
        Transition.DELIVER,
        actor=actor,
        note=f"邮件 {tracking_number} 已妥投；须于 {due_text(verification)} 前核验",
        detail={"tracking_number": tracking_number, "due": str(verification.due), "invalidated": invalidated},
    )
    if not item.shipment.items.filter(outcome=Outcome.PENDING).exists():
        Shipment.objects.filter(pk=item.shipment_id).update(
            state=Shipment.State.DELIVERED, received_at=timezone.now()
        )
    notify(
        compose(
            "verification.due.post",
            phone=application.phone,
            application_id=application.pk,
            number=application.number,
            due=due_text(verification),
        )
    )
    return application


# ---------------------------------------------------------------------------------------------
# Fingerprint comparison (比对指纹信息)


@dataclass(frozen=True)
class FingerProbe:
    """The finger taken now: an image from the reader, or a template from a capture client."""

    position: str = ""
    image: bytes | None = None
    template: bytes | None = None


@dataclass(frozen=True)
class Comparison:
    """`check` is matched / no_match / not_possible; `position` the registered finger compared."""

    check: str
    position: str = ""
    score: float | None = None
    note: str = ""

    @property
    def failed(self) -> bool:
        return self.check == "no_match"


def _registered_note(application: Application) -> str:
    rows = application.fingerprints.order_by("position")
    parts = [
        f"{row.position}{FINGER_POSITION_NAMES.get(row.position, '')}{row.get_result_display()}"
        + (f"（{row.reason}）" if row.reason else "")
        for row in rows
    ]
    return ("未登记指纹：" + "；".join(parts))[:200] if parts else "未登记指纹"


def _probe_template(probe: FingerProbe) -> Template:
    sdk = get_sdk(Modality.FINGER)
    position = probe.position or None
    try:
        if probe.template is not None:
            template = Template(Modality.FINGER, FINGER_TEMPLATE_FORMAT, probe.template, position)
            sdk.match(template, [template])  # parses it: a broken template is refused now
            return template
        if probe.image is None:
            raise ServiceError("finger_required", "请采集指纹。", fields={"finger": "请采集指纹。"})
        sample = Sample(Modality.FINGER, probe.image, position)
        quality = sdk.check_quality(sample)
        if not quality.passed:
            message = "；".join(quality.reasons)
            raise ServiceError("finger_quality", message, fields={"finger": message})
        return sdk.extract_template(sample)
    except BiometricError as exc:
        raise ServiceError(exc.code, exc.message, fields={"finger": exc.message}, status=exc.status) from exc


def finger_compare(application: Application, probe: FingerProbe | None) -> Comparison:
    """Compare the finger taken now 1:1 with the application's registered template of the same
    position (with each registered finger when the position is not one of them). When no finger
    was registered (注册失败 / 未注册) no comparison is possible and the reason is recorded.
    Slow (about a second): callers run it before their transaction."""
    registered = [
        row
        for row in application.fingerprints.filter(result=Fingerprint.Result.REGISTERED).order_by("position")
        if row.template
    ]
    if not registered:
        return Comparison("not_possible", note=_registered_note(application))
    if probe is None or (probe.image is None and probe.template is None):
        raise ServiceError("finger_required", "请采集指纹进行比对。", fields={"finger": "请采集指纹。"})
    template = _probe_template(probe)
    same = [row for row in registered if row.position == probe.position]
    candidates = same or registered
    gallery = [
        Template(
            Modality.FINGER, row.format or FINGER_TEMPLATE_FORMAT, bytes(row.template or b""), row.position
        )
        for row in candidates
    ]
    try:
        results = get_sdk(Modality.FINGER).match(template, gallery)
    except BiometricError as exc:
        raise ServiceError(exc.code, exc.message, fields={"finger": exc.message}, status=exc.status) from exc
    best_row, best = max(zip(candidates, results, strict=True), key=lambda pair: pair[1].score)
    return Comparison(
        "matched" if best.matched else "no_match",
        position=best_row.position,
        score=round(best.score, 4),
        note=f"阈值 {best.threshold:g}",
    )


def _finger_outcome(
    *, actor: User, application: Application, comparison: Comparison, override_reason: str, what: str
) -> str:
    """The FingerCheck to record, or a refusal when the comparison failed without an override.
    The failed attempt itself is recorded (its own short transaction) before the refusal."""
    if comparison.check == "matched":
        return FingerCheck.MATCHED
    if comparison.check == "not_possible":
        return FingerCheck.NOT_POSSIBLE
    override_reason = override_reason.strip()
    if len(override_reason) >= 2:
        return FingerCheck.OVERRIDDEN
    with transaction.atomic():
        application_event(
            lock(application),
            actor=actor,
            action=EventAction.FINGER_MISMATCH,
            note=f"{what}指纹比对未通过（分数 {comparison.score}）",
            detail={"position": comparison.position, "score": comparison.score},
        )
    raise ServiceError(
        "finger_mismatch",
        f"指纹比对未通过（分数 {comparison.score}），不能{what}。请擦净手指重新采集比对；"
        "确属本人而多次比对不通过的，须填写人工核对情况后放行。",
        fields={"finger": "指纹比对未通过"},
        status=409,
    )


# ---------------------------------------------------------------------------------------------
# Handover (发放)


def _require_handover(actor: User, application: Application) -> None:
    """Cards are handed over where they wait: the acceptance unit (and units above it)."""
    require_role(actor, "handover.perform")
    unit = actor.unit
    if unit is None or not unit.contains(application.acceptance_unit):
        raise _not_found()


def signature_check(image: bytes | None) -> bytes | None:
    """A captured signature: a PNG no larger than SIGNATURE_MAX_BYTES, decodable."""
    if image is None:
        return None
    if len(image) > SIGNATURE_MAX_BYTES or not image.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ServiceError(
            "bad_signature", "签名须为 PNG 图像，不超过 512 KB。", fields={"signature": "签名图像无效"}
        )
    try:
        with Image.open(io.BytesIO(image)) as png:
            png.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ServiceError(
            "bad_signature", "签名图像无法读取。", fields={"signature": "签名图像无效"}
        ) from exc
    return image


@dataclass(frozen=True)
class Relative:
    name: str
    id_number: str


def handover_perform(
    *,
    actor: User,
    application: Application,
    way: str,
    finger: FingerProbe | None = None,
    signature: bytes | None = None,
    paper_signed: bool = False,
    relative: Relative | None = None,
    override_reason: str = "",
    temporary_returned: bool | None = None,
    temporary_reason: str = "",
) -> Handover:
    """发放 at the acceptance unit, with the 领证回执 (the 受理号).

    In person (本人领取): the fingerprint taken now is compared 1:1 with the registered one; a
    failed comparison refuses the handover unless the clerk records why they release it anyway
    (`override_reason`); the card becomes valid and the application is 已领取.
    By a relative (亲属代领): the relative's name and ID number are recorded; the card becomes
    valid and the applicant owes a verification (待核验) within the configured working days.
    Either way the receiver signs: a captured signature (PNG) or a tick that the paper form
    (居民身份证异地受理登记表) was signed. A 临时居民身份证 the applicant holds is taken back
    (`temporary_returned`), or recorded 未收回 with `temporary_reason`."""
    _require_handover(actor, application)
    if way not in (Handover.Way.IN_PERSON, Handover.Way.PROXY):
        raise ServiceError("bad_way", "领取方式无效。", fields={"way": "请选择本人领取或亲属代领。"})
    signature = signature_check(signature)
    if signature is None and not paper_signed:
        raise ServiceError(
            "signature_required",
            "领证人须签字确认：请采集签名，或确认已在登记表上签字。",
            fields={"signature": "请签名或勾选已在登记表上签字。"},
        )
    if way == Handover.Way.PROXY:
        relative = _clean_relative(application, relative)
        comparison = Comparison("not_applicable")
    else:
        if application.status != Status.AT_SITE:  # before the slow comparison
            raise ServiceError(
                "not_at_site", f"该申领当前为“{application.get_status_display()}”，不能发放。", status=409
            )
        comparison = finger_compare(application, finger)
    check = (
        FingerCheck.NOT_APPLICABLE
        if way == Handover.Way.PROXY
        else _finger_outcome(
            actor=actor,
            application=application,
            comparison=comparison,
            override_reason=override_reason,
            what="发放",
        )
    )
    with transaction.atomic(durable=True):
        application = lock(application)
        if application.status != Status.AT_SITE:
            raise ServiceError(
                "not_at_site", f"该申领当前为“{application.get_status_display()}”，不能发放。", status=409
            )
        card = _card_for_handover(application)
        invalidated = card_activate(application, card)
        temporary.collect_at_handover(
            actor=actor, person_id=application.person_id, returned=temporary_returned, reason=temporary_reason
        )
        note = (
            comparison.note if check != FingerCheck.OVERRIDDEN else f"人工核对放行：{override_reason.strip()}"
        )
        handover = Handover.objects.create(
            application=application,
            card=card,
            way=way,
            unit=actor.unit,
            performed_by=actor,
            relative_name=relative.name if relative else "",
            relative_id_number=relative.id_number if relative else "",
            finger_check=check,
            finger_position=comparison.position,
            finger_score=comparison.score,
            finger_note=note[:200],
            signature=signature,
            paper_signed=paper_signed,
        )
        detail = {
            "way": way,
            "finger_check": check,
            "finger_score": comparison.score,
            "signature": "captured" if signature else "paper",
            "invalidated": invalidated,
        }
        if way == Handover.Way.IN_PERSON:
            application.closed_at = timezone.now()
            application_transition(
                application,
                Transition.HAND_OVER,
                actor=actor,
                note=f"本人领取，{FingerCheck(check).label}",
                detail=detail,
            )
        else:
            verification = _start_verification(application)
            who = relative.name if relative else ""
            application_transition(
                application,
                Transition.HAND_OVER_TO_PROXY,
                actor=actor,
                note=f"亲属 {who} 代领；须于 {due_text(verification)} 前核验",
                detail={**detail, "due": str(verification.due)},
            )
            notify(
                compose(
                    "verification.due.proxy",
                    phone=application.phone,
                    application_id=application.pk,
                    number=application.number,
                    due=due_text(verification),
                )
            )
    return handover


def _clean_relative(application: Application, relative: Relative | None) -> Relative:
    errors: dict[str, str] = {}
    name = (relative.name if relative else "").strip()
    number = (relative.id_number if relative else "").strip()
    if not name:
        errors["relative_name"] = "请填写代领人姓名。"
    elif len(name) > 50:
        errors["relative_name"] = "不能超过 50 个字。"
    try:
        number = idnumber.validate(number)
    except idnumber.InvalidIdNumber as exc:
        errors["relative_id_number"] = str(exc) if number else "请填写代领人公民身份号码。"
    else:
        if number == application.id_number:
            errors["relative_id_number"] = "代领人不能是申请人本人；本人领取须比对指纹。"
    if errors:
        raise ServiceError("invalid", "代领人信息有误，请检查标出的字段。", fields=errors)
    return Relative(name, number)


# ---------------------------------------------------------------------------------------------
# Post-verification (核验)


def _require_verifier(actor: User, application: Application) -> None:
    """At the acceptance or the household police: either unit's subtree."""
    require_role(actor, "verification.perform")
    unit = actor.unit
    if unit is None or not (
        unit.contains(application.acceptance_unit) or unit.contains(application.household_unit)
    ):
        raise _not_found()


def verification_perform(
    *,
    actor: User,
    application: Application,
    finger: FingerProbe | None,
    card_checked: bool,
    override_reason: str = "",
) -> Verification:
    """核验: the applicant comes with the card after a proxy or postal handover; the card data is
    checked and the fingerprint compared 1:1 as at the handover (待核验 → 已核验)."""
    _require_verifier(actor, application)
    if not card_checked:
        raise ServiceError(
            "card_not_checked", "请核对证件信息后确认。", fields={"card_checked": "请核对证件信息。"}
        )
    if application.status != Status.PENDING_VERIFICATION:
        raise ServiceError(
            "not_pending", f"该申领当前为“{application.get_status_display()}”，无需核验。", status=409
        )
    comparison = finger_compare(application, finger)
    check = _finger_outcome(
        actor=actor,
        application=application,
        comparison=comparison,
        override_reason=override_reason,
        what="核验",
    )
    with transaction.atomic(durable=True):
        application = lock(application)
        if application.status != Status.PENDING_VERIFICATION:
            raise ServiceError("not_pending", "该申领已核验。", status=409)
        _refuse_lost(application)
        verification = Verification.objects.select_for_update().get(application=application)
        now = timezone.now()
        verification.verified_at = now
        verification.verified_by = actor
        verification.unit = actor.unit
        verification.finger_check = check
        verification.finger_position = comparison.position
        verification.finger_score = comparison.score
        note = (
            comparison.note if check != FingerCheck.OVERRIDDEN else f"人工核对放行：{override_reason.strip()}"
        )
        verification.finger_note = note[:200]
        verification.card_checked = True
        verification.save()
        application.closed_at = now
        overdue = timezone.localdate(now) > verification.due
        application_transition(
            application,
            Transition.VERIFY,
            actor=actor,
            note=f"核验通过，{FingerCheck(check).label}" + ("（逾期核验）" if overdue else ""),
            detail={"finger_check": check, "finger_score": comparison.score, "overdue": overdue},
        )
    return verification


# ---------------------------------------------------------------------------------------------
# Distribution routes (分发路由) as a campaign (集中换发) sets them; the admin edits the rows itself


@transaction.atomic
def distribution_rule_set(
    *, actor: User | None, region_prefix: str, route: str, note: str
) -> DistributionRule:
    """How the cards of the stations under `region_prefix` travel from the centre, created or
    replaced. Shipments already sent keep their route. Whether the route's units are staffed is
    the caller's check (accounts/staffing.py)."""
    rule, _ = DistributionRule.objects.update_or_create(
        region_prefix=region_prefix, defaults={"route": route, "note": note}
    )
    record(
        actor=actor,
        action=AuditAction.DISTRIBUTION_RULE_SET,
        object_type="handover.distributionrule",
        object_id=rule.pk,
        detail={"prefix": region_prefix, "route": route},
    )
    return rule


@transaction.atomic
def distribution_rule_remove(*, actor: User | None, region_prefix: str) -> None:
    """No rule of its own for `region_prefix` any more: its stations follow the next shorter
    prefix's rule, or go direct. Nothing happens where there is none."""
    rule = DistributionRule.objects.filter(region_prefix=region_prefix).first()
    if rule is None:
        return
    pk = rule.pk
    rule.delete()
    record(
        actor=actor,
        action=AuditAction.DISTRIBUTION_RULE_REMOVE,
        object_type="handover.distributionrule",
        object_id=pk,
        detail={"prefix": region_prefix},
    )
