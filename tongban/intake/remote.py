"""跨省通办 (DOMAIN.md §9): the services the exchange with other provinces calls.

Province A accepts an application of a resident of province B (`Application.Exchange.OUT`: a guest
registered at A's counter, the application waiting 待审核 at B's `external` unit); B reviews and
issues its copy (`Exchange.IN`, accepted at A's stand-in unit, in B's normal review queues); the
decision goes back to A, whose centre produces the card and whose station hands it over, and A's
progress comes back to B's copy (`tongban.handover.remote`).

The transport (signed messages, directory, outbox: tongban/exchange) moves the data classes below,
as JSON (`to_dict` / `from_dict`), and calls these services with `source` (peer, message id) for the
history. They act as the system (actor None), lock the rows, write events and audit rows, and
notify after commit, like every service; they run inside the exchange's transaction that records
the message (so theirs are not durable), and a refusal undoes both. Each is idempotent: a message
received twice changes nothing the second time.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.audit.actions import EventAction
from tongban.biometrics.engine import get_abis
from tongban.biometrics.interfaces import Gallery
from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.core.regions import place_name
from tongban.finance.services import fee_refund
from tongban.intake import rules
from tongban.intake.capture import (
    FingerCapture,
    FingerRow,
    PhotoOutcome,
    PreparedPhoto,
    application_ref,
    biometric_refusals,
    fingers_keep,
    fingers_prepare,
    guardian_photo_keep,
    photo_keep,
    photo_prepare,
    photo_refusal,
)
from tongban.intake.models import IN_REVIEW_STATUSES, UNFINISHED_STATUSES, Application
from tongban.intake.services import applicant_facts, reason_check, review_chain_for, route_to_step
from tongban.intake.transitions import Transition, application_event, application_transition, lock
from tongban.notifications.services import compose, notify
from tongban.registry.models import ApplicationReason, Card, Person, RefusalReason, Unit

Status = Application.Status
Exchange = Application.Exchange

# ---------------------------------------------------------------------------------------------
# What travels


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text, validate=True) if text is not None else None


def _bad_message(what: str) -> ServiceError:
    return ServiceError("bad_message", f"跨省通办报文内容有误：{what}。")


@dataclass(frozen=True)
class RemoteFinger:
    """One finger as the counter recorded it: 指位, 结果 (registered / failed / not_registered),
    the reason when not registered, the quality score and the template (engine format)."""

    position: str
    result: str
    reason: str = ""
    quality: float | None = None
    format: str = ""
    template: bytes | None = None


@dataclass(frozen=True)
class RemoteApplication:
    """An application accepted in one province for a resident of another: what the household
    province needs to review and issue it. Pure data; `to_dict` is JSON-able (bytes as base64,
    dates as ISO 8601)."""

    number: str  # 受理号: unique across provinces, it starts with the station's region code
    type: str  # ApplicationType value
    reason: str  # 申领原因 code
    id_number: str
    name: str
    sex: str  # GB/T 2261.1 code
    ethnicity: str  # GB 3304 code
    birth_date: datetime.date
    household_address: str
    residence_address: str
    phone: str
    collection: str  # station / post
    postal_recipient: str
    postal_phone: str
    postal_address: str
    guardianship: str
    guardian_name: str
    guardian_id_number: str
    guardian_relation: str
    guardian_phone: str
    materials_shown: tuple[str, ...]
    pledge_signed: bool
    validity: str
    fee_item: str
    accepted_at: datetime.datetime
    station_code: str
    station_name: str
    photo: bytes
    guardian_photo: bytes | None
    fingers: tuple[RemoteFinger, ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["birth_date"] = self.birth_date.isoformat()
        data["accepted_at"] = self.accepted_at.isoformat()
        data["materials_shown"] = list(self.materials_shown)
        data["photo"] = _b64(self.photo)
        data["guardian_photo"] = _b64(self.guardian_photo)
        data["fingers"] = [{**asdict(finger), "template": _b64(finger.template)} for finger in self.fingers]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteApplication:
        """The message's application; ServiceError `bad_message` (400) for a malformed one."""
        try:
            values = {field.name: data[field.name] for field in fields(cls)}
            values["birth_date"] = datetime.date.fromisoformat(values["birth_date"])
            values["accepted_at"] = datetime.datetime.fromisoformat(values["accepted_at"])
            values["materials_shown"] = tuple(str(code) for code in values["materials_shown"])
            values["photo"] = _unb64(values["photo"])
            values["guardian_photo"] = _unb64(values["guardian_photo"])
            values["fingers"] = tuple(
                RemoteFinger(
                    position=str(finger["position"]),
                    result=str(finger["result"]),
                    reason=str(finger.get("reason", "")),
                    quality=finger.get("quality"),
                    format=str(finger.get("format", "")),
                    template=_unb64(finger.get("template")),
                )
                for finger in values["fingers"]
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise _bad_message(f"申领数据不完整或格式不正确（{exc}）") from exc
        if values["photo"] is None or timezone.is_naive(values["accepted_at"]):
            raise _bad_message("缺少相片或受理时间未带时区")
        return cls(**values)


@dataclass(frozen=True)
class RemoteDecision:
    """The household province's decision on an application accepted elsewhere: issued (签发机关,
    validity, when) or refused (the 不予签发原因 code and the one-line text). `unit_name` is the
    unit that decided."""

    number: str
    issued: bool
    unit_name: str
    decided_at: datetime.datetime
    issuing_authority: str = ""
    validity: str = ""
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None  # None: 长期
    refusal_code: str = ""
    refusal_text: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["decided_at"] = self.decided_at.isoformat()
        data["valid_from"] = self.valid_from.isoformat() if self.valid_from else None
        data["valid_until"] = self.valid_until.isoformat() if self.valid_until else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RemoteDecision:
        try:
            values = {field.name: data[field.name] for field in fields(cls)}
            values["decided_at"] = datetime.datetime.fromisoformat(values["decided_at"])
            for key in ("valid_from", "valid_until"):
                values[key] = datetime.date.fromisoformat(values[key]) if values[key] else None
            values["issued"] = bool(values["issued"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad_message(f"审核结果不完整或格式不正确（{exc}）") from exc
        if values["issued"] and (not values["issuing_authority"] or values["valid_from"] is None):
            raise _bad_message("签发结果缺少签发机关或有效期限")
        if not values["issued"] and not values["refusal_text"]:
            raise _bad_message("不予签发结果缺少原因")
        return cls(**values)


def _external_unit(province: str) -> Unit:
    unit = Unit.objects.external().filter(code=province).first()
    if unit is None:
        raise ServiceError(
            "province_not_connected", f"尚未与{place_name(province)}开通跨省通办。", status=409
        )
    return unit


def _source_detail(source: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"source": dict(source)} if source else {}


# ---------------------------------------------------------------------------------------------
# The acceptance province (A): what goes out, and the decision as it comes back


def remote_application_of(application: Application) -> RemoteApplication:
    """The accepted application of a guest (跨省受理·外省户籍) as its household province gets it,
    photo and finger templates unsealed."""
    if application.exchange != Exchange.OUT or not application.number or application.accepted_at is None:
        raise ServiceError("not_cross_province", "该申领不是已受理的跨省通办申领。", status=409)
    station = application.acceptance_unit
    photo = application.photo
    if photo is None:
        raise ServiceError("incomplete", "该申领没有相片，不能发往户籍地。")
    return RemoteApplication(
        number=application.number,
        type=application.type,
        reason=application.reason_id,
        id_number=application.id_number,
        name=application.name,
        sex=application.sex_id,
        ethnicity=application.ethnicity_id,
        birth_date=application.birth_date,
        household_address=application.household_address,
        residence_address=application.residence_address,
        phone=application.phone,
        collection=application.collection,
        postal_recipient=application.postal_recipient,
        postal_phone=application.postal_phone,
        postal_address=application.postal_address,
        guardianship=application.guardianship,
        guardian_name=application.guardian_name,
        guardian_id_number=application.guardian_id_number,
        guardian_relation=application.guardian_relation,
        guardian_phone=application.guardian_phone,
        materials_shown=tuple(application.materials_shown),
        pledge_signed=application.pledge_signed,
        validity=application.validity,
        fee_item=application.fee_item,
        accepted_at=application.accepted_at,
        station_code=station.code,
        station_name=station.name,
        photo=bytes(photo),
        guardian_photo=bytes(application.guardian_photo) if application.guardian_photo is not None else None,
        fingers=tuple(
            RemoteFinger(
                position=finger.position,
                result=finger.result,
                reason=finger.reason,
                quality=finger.quality,
                format=finger.format,
                template=bytes(finger.template) if finger.template is not None else None,
            )
            for finger in application.fingerprints.order_by("position")
        ),
    )


def _same_decision(application: Application, decision: RemoteDecision) -> bool:
    if decision.issued:
        return application.issued_at is not None and (
            application.issuing_authority,
            application.valid_from,
            application.valid_until,
        ) == (decision.issuing_authority, decision.valid_from, decision.valid_until)
    return application.status == Status.REJECTED and application.refusal_reason == decision.refusal_text


def remote_decision_apply(
    *, application: Application, decision: RemoteDecision, source: Mapping[str, Any] | None = None
) -> Application:
    """The household province decided an application accepted here (跨省受理·外省户籍): 签发,
    with its issuing authority and validity (it joins our centre's production queue as any issued
    application), or 不予签发 (the counter tells the applicant, the fee is refunded). The same
    decision again changes nothing; a different one after the first is refused
    (`already_decided`)."""
    with transaction.atomic():  # not durable: inside the exchange's receiving one
        application = lock(application)
        if application.exchange != Exchange.OUT:
            raise ServiceError("not_cross_province", "该申领不是跨省通办申领。", status=409)
        if decision.number != application.number:
            raise _bad_message("受理号与申领不符")
        if decision.issued and (not decision.issuing_authority or decision.valid_from is None):
            raise _bad_message("签发结果缺少签发机关或有效期限")
        if application.status not in IN_REVIEW_STATUSES:
            if _same_decision(application, decision):
                return application
            raise ServiceError(
                "already_decided",
                f"该申领已{Status(application.status).label}，不能再按户籍地结果办理。",
                status=409,
            )
        # The bureau that issues (签发机关) names the other side once issued; else who refused.
        decided_by = (decision.issuing_authority if decision.issued else decision.unit_name)[:100]
        where = f"户籍地（{place_name(application.remote_province)}）{decided_by}"
        detail = {"decided_at": decision.decided_at.isoformat(), **_source_detail(source)}
        application.remote_unit_name = decided_by
        application.assignee = None
        if decision.issued:
            _remote_issue(application, decision, where=where, detail=detail)
        else:
            _remote_refuse(application, decision, where=where, detail=detail)
        return application


def _remote_issue(
    application: Application, decision: RemoteDecision, *, where: str, detail: dict[str, Any]
) -> None:
    application.issuing_authority = decision.issuing_authority
    application.validity = decision.validity or application.validity
    application.valid_from, application.valid_until = decision.valid_from, decision.valid_until
    # Stamped now, as every counted time (supervision.rollup); the decision's own time is in the event.
    application.issued_at = timezone.now()
    application_transition(
        application,
        Transition.REMOTE_ISSUE,
        actor=None,
        note=f"{where}签发，签发机关：{decision.issuing_authority}，有效期限：{application.validity_label}",
        detail={**detail, "issuing_authority": decision.issuing_authority},
    )
    notify(
        compose(
            "application.issued",
            phone=application.phone,
            application_id=application.pk,
            number=application.number,
        )
    )


def _remote_refuse(
    application: Application, decision: RemoteDecision, *, where: str, detail: dict[str, Any]
) -> None:
    # The reason tables are national: the code names ours; one we lack keeps the text alone.
    application.refusal_code = RefusalReason.objects.filter(code=decision.refusal_code).first()
    application.refusal_reason = decision.refusal_text[:500]
    application.refusal_remark = ""
    application.closed_at = timezone.now()
    application_transition(
        application,
        Transition.REMOTE_REFUSE,
        actor=None,
        note=f"{where}不予签发：{application.refusal_reason}",
        detail={**detail, "refusal_reason": decision.refusal_code},
    )
    if application.number:
        fee_refund(
            actor=None,
            application_number=application.number,
            reason=f"不予签发：{application.refusal_reason}",
        )
    notify(
        compose(
            "application.refused.station",
            unit_code=application.acceptance_unit.code,
            application_id=application.pk,
            number=application.number,
            reason=application.refusal_reason,
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


# ---------------------------------------------------------------------------------------------
# The household province (B): the application received, its decision, its withdrawal


def _person_for(data: RemoteApplication) -> Person:
    """Our resident with the application's number, agreeing on name, sex and birth date."""
    number = idnumber.canonical(data.id_number)
    people = list(
        Person.objects.residents()
        .select_related("registration_unit")
        .filter(id_number=number)
        .order_by("pk")[:2]
    )
    if not people:
        raise ServiceError("person_unknown", "本省人口信息中没有该公民身份号码。", status=404)
    if len(people) > 1:
        raise ServiceError(
            "duplicate_number", "该公民身份号码为重号（登记给多人），正在清理更正中，暂不能办理。", status=409
        )
    person = people[0]
    differ = {
        key: label
        for key, label, theirs, ours in (
            ("name", "姓名", data.name, person.name),
            ("sex", "性别", data.sex, person.sex_id),
            ("birth_date", "出生日期", data.birth_date, person.birth_date),
        )
        if theirs != ours
    }
    if differ:
        raise ServiceError(
            "person_mismatch",
            f"申领的{'、'.join(differ.values())}与本省人口信息不符。",
            status=409,
            fields={key: "与本省人口信息不符。" for key in differ},
        )
    return person


def remote_application_receive(
    *, province: str, data: RemoteApplication, source: Mapping[str, Any] | None = None
) -> Application:
    """跨省受理·本省户籍: an application another province accepted for one of our residents,
    entered into the normal review chain of the household with the normal deadline, as if accepted
    at a station of ours (the photo checked and searched, the fingers' templates kept, the face in
    the applications gallery). Refused, with nothing written, when the person is not ours
    (`person_unknown`) or the particulars disagree (`person_mismatch`), when the counter's rules
    refuse it (`not_eligible`, `bad_reason`, `reason_age_mismatch`) or the person has an unfinished
    application (`application_open`). The same 受理号 again returns the application received."""
    external = _external_unit(province)
    if not (len(data.number) == 22 and data.number.isdigit() and data.number.startswith(province)):
        raise _bad_message(f"受理号“{data.number[:30]}”不是{place_name(province)}的受理号")
    existing = Application.objects.filter(number=data.number).first()
    if existing is not None:
        if existing.exchange == Exchange.IN and existing.remote_province == province:
            return existing
        raise ServiceError("number_taken", f"受理号 {data.number} 已被使用。", status=409)
    try:
        application_type = rules.ApplicationType(data.type)
    except ValueError as exc:
        raise _bad_message(f"申领类型“{data.type[:20]}”无效") from exc
    person = _person_for(data)
    # The slow biometric work first, before our own rows are locked.
    with biometric_refusals("photo"):
        prepared = photo_prepare(data.photo, person_id=person.pk)
    if not prepared.passed:
        raise photo_refusal("photo", PhotoOutcome(False, prepared.messages, prepared.conformed))
    rows = fingers_prepare(
        FingerCapture(
            position=finger.position,
            outcome=_finger_outcome(finger.result),
            template=finger.template,
            reason=finger.reason or "受理地未注册",
        )
        for finger in data.fingers
    )
    quality = {finger.position: finger.quality for finger in data.fingers}
    rows = [replace(row, quality=quality.get(row.position)) for row in rows]
    with transaction.atomic():  # not durable: inside the exchange's receiving one
        return _receive(
            province=province,
            external=external,
            person=person,
            application_type=application_type,
            data=data,
            prepared_photo=prepared,
            fingers=rows,
            source=source,
        )


def _finger_outcome(result: str) -> rules.FingerOutcome:
    try:
        return rules.FingerOutcome(result)
    except ValueError as exc:
        raise _bad_message(f"指纹结果“{result[:20]}”无效") from exc


def _receive(
    *,
    province: str,
    external: Unit,
    person: Person,
    application_type: rules.ApplicationType,
    data: RemoteApplication,
    prepared_photo: PreparedPhoto,
    fingers: list[FingerRow],
    source: Mapping[str, Any] | None,
) -> Application:
    person = (
        Person.objects.select_for_update(of=("self",)).select_related("registration_unit").get(pk=person.pk)
    )
    existing = Application.objects.filter(number=data.number).first()
    if existing is not None:  # a copy of the message ran meanwhile
        return existing
    reason = ApplicationReason.objects.filter(code=data.reason, active=True).first()
    if reason is None:
        raise ServiceError("bad_reason", f"申领原因代码“{data.reason[:10]}”无效。")
    verdict = rules.eligibility(application_type, applicant_facts(person))
    if not verdict.allowed:
        raise ServiceError("not_eligible", " ".join(verdict.refusals))
    accepted_on = timezone.localdate(data.accepted_at)
    reason_check(
        application_type=application_type,
        reason=reason,
        person=person,
        birth_date=data.birth_date,
        on=accepted_on,
        cross_region=True,
    )
    pending = (
        Application.objects.filter(person=person, status__in=UNFINISHED_STATUSES).exclude(number=None).first()
    )
    if pending is not None:
        raise ServiceError(
            "application_open",
            f"该人员已有办理中的申领（受理号 {pending.number}），不能重复受理。",
            status=409,
        )
    where = f"{place_name(province)}{data.station_name}"
    application = Application.objects.create(
        number=data.number,
        type=application_type.value,
        reason=reason,
        person=person,
        id_number=person.id_number,
        name=data.name,
        sex_id=data.sex,
        ethnicity_id=data.ethnicity,
        birth_date=data.birth_date,
        household_address=data.household_address[:200],
        residence_address=data.residence_address[:200],
        phone=data.phone[:20],
        collection=data.collection,
        postal_recipient=data.postal_recipient[:50],
        postal_phone=data.postal_phone[:20],
        postal_address=data.postal_address[:200],
        guardianship=data.guardianship[:32],
        guardian_name=data.guardian_name[:50],
        guardian_id_number=data.guardian_id_number[:18],
        guardian_relation=data.guardian_relation[:20],
        guardian_phone=data.guardian_phone[:20],
        materials_shown=list(data.materials_shown),
        pledge_signed=data.pledge_signed,
        # The fee is charged, and kept, where the application was accepted.
        fee_item=data.fee_item[:12],
        fee_amount=0,
        validity=data.validity,
        acceptance_unit=external,
        household_unit=person.registration_unit,
        region_code=person.region_code,
        cross_region=True,
        exchange=Exchange.IN,
        remote_province=province,
        remote_unit_name=data.station_name[:100],
        flags=list(verdict.flags),
        created_by=None,
    )
    detail = {
        "province": province,
        "station": data.station_code,
        "accepted_at": data.accepted_at.isoformat(),
        **_source_detail(source),
    }
    application_event(
        application,
        actor=None,
        action=EventAction.REMOTE_RECEIVED,
        from_status="",
        note=f"收到{where}跨省受理的申领",
        detail=detail,
    )
    photo_keep(actor=None, application=application, prepared=prepared_photo)
    if data.guardian_photo is not None:  # checked where it was taken
        guardian_photo_keep(
            actor=None,
            application=application,
            image=data.guardian_photo,
            quality=PhotoOutcome(True, (), False),
        )
    fingers_keep(actor=None, application=application, rows=fingers, replace=True)
    application = lock(application)
    now = timezone.now()
    # Accepted into our system now (counted times are stamped now: supervision.rollup); the
    # acceptance there, and the 受理号, say when the applicant applied.
    application.accepted_at = now
    application.review_chain = review_chain_for(application.household_unit)
    route_to_step(application, 1, arrived_at=now)
    step = application.review_chain[0]
    if prepared_photo.template is not None:
        with biometric_refusals("photo"):
            get_abis().insert(
                application_ref(application), prepared_photo.template, Gallery.APPLICATIONS, actor=None
            )
    # 补领: the card is reported lost with the application, here as at our counters.
    lost = []
    if application_type == rules.ApplicationType.REPLACEMENT:
        lost = list(person.cards.filter(state=Card.State.ACTIVE).values_list("pk", flat=True))
        Card.objects.filter(pk__in=lost).update(state=Card.State.LOST)
    application_transition(
        application,
        Transition.ACCEPT,
        actor=None,
        note=f"{where}受理（跨省通办）",
        detail={**detail, **({"cards_reported_lost": lost} if lost else {})},
    )
    application_transition(
        application,
        Transition.ROUTE,
        actor=None,
        note=f"流转至{step['unit_name']}{step['title']}",
        detail={"step": 1, "unit": step["unit_name"], "due": str(application.review_due)},
    )
    notify(
        compose(
            "review.arrived",
            unit_code=Unit.objects.values_list("code", flat=True).get(pk=step["unit"]),
            application_id=application.pk,
            number=application.number,
            due=f"{application.review_due:%Y-%m-%d}",
        )
    )
    return application


def remote_decision_of(application: Application) -> RemoteDecision:
    """Our decision on an application accepted in another province (跨省受理·本省户籍), for the
    exchange to send back: issued (and anything after) or refused. 409 before a decision."""
    if application.exchange != Exchange.IN or not application.number:
        raise ServiceError("not_cross_province", "该申领不是跨省通办申领。", status=409)
    step = application.current_step or {}
    unit_name = str(step.get("unit_name", ""))
    if application.status == Status.REJECTED:
        return RemoteDecision(
            number=application.number,
            issued=False,
            unit_name=unit_name,
            decided_at=application.closed_at or timezone.now(),
            refusal_code=application.refusal_code_id or "",
            refusal_text=application.refusal_reason,
        )
    if (
        application.issued_at is None
        or application.valid_from is None
        or application.status == Status.WITHDRAWN
    ):
        raise ServiceError("not_decided", "该申领尚未审核签发。", status=409)
    return RemoteDecision(
        number=application.number,
        issued=True,
        unit_name=unit_name,
        decided_at=application.issued_at,
        issuing_authority=application.issuing_authority,
        validity=application.validity,
        valid_from=application.valid_from,
        valid_until=application.valid_until,
    )


def remote_withdraw(
    *, application: Application, reason: str, source: Mapping[str, Any] | None = None
) -> Application:
    """The applicant withdrew at the acceptance province before a decision: our copy is
    withdrawn too (its reviewers told). Again for a withdrawn copy: nothing changes; a copy
    decided meanwhile is refused (`not_withdrawable`), and the decision stands."""
    with transaction.atomic():  # not durable: inside the exchange's receiving one
        application = lock(application)
        if application.exchange != Exchange.IN:
            raise ServiceError("not_cross_province", "该申领不是跨省通办申领。", status=409)
        if application.status == Status.WITHDRAWN:
            return application
        if application.status not in Transition.REMOTE_WITHDRAW.sources:
            raise ServiceError(
                "not_withdrawable", f"该申领已{Status(application.status).label}，不能撤销。", status=409
            )
        was_in_review = application.status in IN_REVIEW_STATUSES
        application.closed_at = timezone.now()
        application.assignee = None
        text = reason.strip()[:200] or "申请人撤销申请"
        application_transition(
            application,
            Transition.REMOTE_WITHDRAW,
            actor=None,
            note=f"受理地（{place_name(application.remote_province)}）撤销：{text}",
            detail=_source_detail(source),
        )
        get_abis().delete(application_ref(application), Gallery.APPLICATIONS, actor=None)
        if was_in_review and application.review_unit is not None:
            notify(
                compose(
                    "review.withdrawn",
                    unit_code=application.review_unit.code,
                    application_id=application.pk,
                    number=application.number,
                )
            )
        return application
