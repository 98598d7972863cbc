"""Business actions at the counter (受理): start, edit, accept, withdraw, abandon, and the review
routing an acceptance sets. What the counter captures (photo, fingers, re-collection) is in
capture.py, who may work it in access.py, how an application moves in transitions.py. Each
action: check who may do it, lock the row, check the state, move it through its named transition,
notify after commit. Refusals raise ServiceError and change nothing.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction, EventAction
from tongban.audit.services import AuditActor, record
from tongban.biometrics.engine import get_abis, get_sdk
from tongban.biometrics.interfaces import Gallery, Modality, Sample, Template
from tongban.cardloss.services import replacement_link, replacement_loss
from tongban.core import idnumber
from tongban.core.dates import age_on
from tongban.core.errors import ServiceError
from tongban.core.regions import longest_prefix
from tongban.finance.services import fee_charge, fee_refund
from tongban.intake import rules
from tongban.intake.access import require_counter, require_own_counter
from tongban.intake.capture import (
    FingerCapture,
    PhotoOutcome,
    application_ref,
    biometric_refusals,
    fingers_keep,
    fingers_prepare,
    guardian_photo_check,
    guardian_photo_keep,
    photo_keep,
    photo_prepare,
    photo_refusal,
)
from tongban.intake.models import (
    IN_REVIEW_STATUSES,
    OPEN_STATUSES,
    UNFINISHED_STATUSES,
    AcceptanceCounter,
    Application,
    ReviewChain,
    ReviewChainStep,
)
from tongban.intake.transitions import Transition, application_event, application_transition, lock
from tongban.notifications.services import compose, notify, texts_in_force
from tongban.registry.calendar import review_deadline
from tongban.registry.models import ApplicationReason, Card, Ethnicity, Person, Sex, Unit, WantedPerson
from tongban.registry.sequences import next_in_sequence

Status = Application.Status


def application_open(*, viewer: AuditActor, application: Application, how: str) -> None:
    """Record that a full application was shown (`how`: "counter", "review", "handover", "api"):
    the one audited read of an application, for every page and the API."""
    record(
        actor=viewer,
        action=AuditAction.APPLICATION_VIEW,
        object_type="intake.application",
        object_id=application.pk,
        detail={"how": how},
    )


def fee_table() -> Mapping[rules.FeeItem, Decimal]:
    """The configured fee table (TONGBAN_FEES over the defaults, read at start-up): what the counter
    charges and what the public guide says."""
    return settings.FEES


def local_today() -> datetime.date:
    return timezone.localdate()


# ---------------------------------------------------------------------------------------------
# Starting an application


def applicant_facts(person: Person) -> rules.Applicant:
    return rules.Applicant(
        birth_date=person.birth_date,
        status=person.status,
        cards_ever=person.cards.count(),
        wanted=WantedPerson.objects.filter(active=True, id_number=person.id_number).exists(),
        card_history_elsewhere=person.is_guest,
    )


def validity_for(birth: datetime.date, *, accepted_on: datetime.date) -> str:
    years = rules.validity_years(age_on(birth, accepted_on))
    return "long" if years is None else str(years)


def held_card(person: Person) -> rules.HeldCard | None:
    """The card `person` holds (有效, or made and not yet collected), as the reason rules see it."""
    card = person.cards.filter(state__in=[Card.State.ACTIVE, Card.State.PRODUCED]).held_first().first()
    return rules.HeldCard(card.valid_until) if card is not None else None


def reason_check(
    *,
    application_type: rules.ApplicationType,
    reason: ApplicationReason,
    person: Person,
    birth_date: datetime.date,
    on: datetime.date,
    cross_region: bool,
    field: str = "reason",
) -> None:
    """Refuse a 申领原因 that does not fit the 申领类型, the applicant's age on `on` (the day
    that fixes the age at the counter: the acceptance day; see docs/applications.md) or, for 有效期满
    换领, the end date of the card held, with the message at `field` and the code `bad_reason` or
    `reason_age_mismatch`."""
    problem = rules.reason_problem(
        application_type,
        reason_code=reason.code,
        reason_kind=reason.kind,
        reason_label=f"{reason.code} {reason.name}",
        birth_date=birth_date,
        on=on,
        held_card=held_card(person),
        cross_region=cross_region,
        card_history_elsewhere=person.is_guest,
    )
    if problem is not None:
        raise ServiceError(problem.code, problem.message, fields={field: problem.message})


def application_start(
    *,
    actor: User,
    person: Person,
    application_type: rules.ApplicationType,
    reason_code: str,
    birth_date: datetime.date | None = None,
) -> Application:
    """Open a draft (草稿) for `person`, pre-filled from the register, if the counter rules allow
    the application at all. The person may be registered anywhere in the province. The reason
    must fit the type and the applicant's age today (`birth_date`: the one the clerk entered,
    when it differs from the register's)."""
    with transaction.atomic(durable=True):
        return _start(
            actor=actor,
            person=person,
            application_type=application_type,
            reason_code=reason_code,
            birth_date=birth_date,
        )


def _start(
    *,
    actor: User,
    person: Person,
    application_type: rules.ApplicationType,
    reason_code: str,
    birth_date: datetime.date | None,
) -> Application:
    station = require_counter(actor)
    reason = ApplicationReason.objects.filter(code=reason_code, active=True).first()
    if reason is None:
        raise ServiceError(
            "bad_reason",
            f"申领原因代码“{reason_code}”无效。",
            fields={"reason": f"请选择{application_type.label}的申领原因。"},
        )
    # of=self: locking the joined unit row too would make concurrent acceptances at one station
    # deadlock on PostgreSQL's foreign-key checks at commit.
    person = (
        Person.objects.select_for_update(of=("self",)).select_related("registration_unit").get(pk=person.pk)
    )
    draft = Application.objects.filter(
        person=person,
        acceptance_unit=station,
        status=Status.DRAFT,
        type=application_type.value,
        reason=reason,
    ).first()
    # Whether this type of application is open to the person at all, before which reason fits.
    verdict = rules.eligibility(application_type, applicant_facts(person))
    if not verdict.allowed:
        raise ServiceError("not_eligible", " ".join(verdict.refusals))
    cross_region = person.registration_unit.parent_id != station.parent_id
    reason_check(
        application_type=application_type,
        reason=reason,
        person=person,
        birth_date=birth_date or (draft.birth_date if draft is not None else person.birth_date),
        on=local_today(),
        cross_region=cross_region,
    )
    if draft is not None:  # the clerk comes back to what was entered before
        return draft
    pending = (
        Application.objects.filter(person=person, status__in=UNFINISHED_STATUSES).exclude(number=None).first()
    )
    if pending is not None:
        raise ServiceError(
            "application_open",
            f"该人员已有办理中的申领（受理号 {pending.number}），不能重复受理。",
            status=409,
        )
    today = local_today()
    fee = rules.fee_for(application_type, reason.code, table=fee_table())
    household = person.registration_unit
    # 跨省通办: a guest's application is reviewed and issued by their household province.
    exchange = (
        {
            "exchange": Application.Exchange.OUT,
            "remote_province": household.code,
            "remote_unit_name": household.name,
        }
        if household.kind == Unit.Kind.EXTERNAL
        else {}
    )
    application = Application.objects.create(
        type=application_type.value,
        reason=reason,
        person=person,
        id_number=person.id_number,
        name=person.name,
        sex_id=person.sex_id,
        ethnicity_id=person.ethnicity_id,
        birth_date=person.birth_date,
        household_address=person.address,
        acceptance_unit=station,
        household_unit=person.registration_unit,
        region_code=person.region_code,
        cross_region=cross_region,
        **exchange,
        flags=list(verdict.flags),
        fee_item=fee.item.value,
        fee_amount=fee.amount,
        validity=validity_for(person.birth_date, accepted_on=today),
        created_by=actor,
    )
    application_event(application, actor=actor, action=EventAction.CREATED, from_status="")
    return application


# ---------------------------------------------------------------------------------------------
# Editing the draft

EDITABLE_FIELDS = frozenset(
    {
        "reason",
        "name",
        "sex",
        "ethnicity",
        "birth_date",
        "household_address",
        "residence_address",
        "phone",
        "collection",
        "postal_recipient",
        "postal_phone",
        "postal_address",
        "guardianship",
        "guardian_name",
        "guardian_id_number",
        "guardian_relation",
        "guardian_phone",
        "materials_shown",
        "pledge_signed",
        "fee_waived",
        "fee_waiver_evidence",
    }
)
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
TEXT_LIMITS = {
    "name": 50,
    "household_address": 200,
    "residence_address": 200,
    "postal_recipient": 50,
    "postal_address": 200,
    "guardian_name": 50,
    "guardian_relation": 20,
    "fee_waiver_evidence": 200,
}


def _known_material_codes() -> frozenset[str]:
    codes: set[str] = set()
    for material in (
        rules.HOUSEHOLD_BOOK,
        rules.ADULT_PROOF,
        rules.GUARDIAN_ID,
        rules.MINOR_PROOF,
        rules.BIRTH_CERTIFICATE,
        rules.PARENTAGE_PROOF,
        rules.PLEDGE,
    ):
        codes.add(material.code)
        codes.update(code for code, _ in material.alternatives)
    return frozenset(codes)


def _clean_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Type and range checks of the editable fields; every problem at once, per field."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ServiceError(
            "unknown_fields", "存在不可修改的字段。", fields=dict.fromkeys(sorted(unknown), "不可修改")
        )
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in TEXT_LIMITS:
            text = str(value or "").strip()
            if len(text) > TEXT_LIMITS[key]:
                errors[key] = f"不能超过 {TEXT_LIMITS[key]} 个字。"
            elif key in {"name", "household_address"} and not text:
                errors[key] = "不能为空。"
            clean[key] = text
        elif key in {"phone", "postal_phone", "guardian_phone"}:
            text = re.sub(r"[\s()（）]", "", str(value or ""))
            if text and not PHONE.match(text):
                errors[key] = "电话号码格式不正确（手机 11 位，或区号-号码）。"
            clean[key] = text
        elif key == "sex":
            if not Sex.objects.filter(code=str(value), active=True).exists():
                errors[key] = "性别代码无效。"
            clean["sex_id"] = str(value)
        elif key == "ethnicity":
            if not Ethnicity.objects.filter(code=str(value), active=True).exists():
                errors[key] = "民族代码无效。"
            clean["ethnicity_id"] = str(value)
        elif key == "reason":
            if not ApplicationReason.objects.filter(code=str(value), active=True).exists():
                errors[key] = "申领原因代码无效。"
            clean["reason_id"] = str(value)
        elif key == "birth_date":
            if not isinstance(value, datetime.date) or value > local_today():
                errors[key] = "出生日期无效。"
            clean[key] = value
        elif key == "collection":
            if value not in Application.Collection.values:
                errors[key] = "领取方式无效。"
            clean[key] = value
        elif key == "guardianship":
            if value and value not in {case.value for case in rules.GuardianshipCase}:
                errors[key] = "监护关系证明情形无效。"
            clean[key] = value or ""
        elif key == "guardian_id_number":
            text = str(value or "").strip()
            if text:
                try:
                    text = idnumber.validate(text)
                except idnumber.InvalidIdNumber as exc:
                    errors[key] = str(exc)
            clean[key] = text
        elif key == "materials_shown":
            codes = sorted({str(code) for code in (value or [])})
            bad = [code for code in codes if code not in _known_material_codes()]
            if bad:
                errors[key] = f"未知的材料：{'、'.join(bad)}。"
            clean[key] = codes
        else:  # pledge_signed, fee_waived
            clean[key] = bool(value)
    if errors:
        raise ServiceError("invalid", "输入有误，请检查标出的字段。", fields=errors)
    return clean


def application_update(*, actor: User, application: Application, changes: Mapping[str, Any]) -> Application:
    """Save what the clerk entered on a draft. Differences from the register are allowed (the
    reviewer sees them field by field); nothing entered is lost."""
    require_own_counter(actor, application)
    with transaction.atomic(durable=True):
        return _update(actor=actor, application=application, changes=changes)


def _update(*, actor: User, application: Application, changes: Mapping[str, Any]) -> Application:
    application = lock(application)
    if application.status != Status.DRAFT:
        raise ServiceError("not_draft", "已受理的申领不能再修改。", status=409)
    clean = _clean_changes(changes)
    changed = sorted(key for key, value in clean.items() if getattr(application, key) != value)
    if not changed:
        return application
    for key in changed:
        setattr(application, key, clean[key])
    if "birth_date" in changed or "reason_id" in changed:
        # A corrected birth date can contradict the reason (11/12), and a new reason the age.
        reason_check(
            application_type=application.application_type,
            reason=ApplicationReason.objects.get(code=application.reason_id),
            person=application.person,
            birth_date=application.birth_date,
            on=local_today(),
            cross_region=application.cross_region,
            field="reason" if "reason_id" in changed else "birth_date",
        )
    if "birth_date" in changed:
        application.validity = validity_for(application.birth_date, accepted_on=local_today())
    if "fee_waived" in changed or "reason_id" in changed:
        fee = rules.fee_for(
            application.application_type,
            application.reason_id,
            waived=application.fee_waived,
            table=fee_table(),
        )
        application.fee_item, application.fee_amount = fee.item.value, fee.amount
    application.save()
    application_event(application, actor=actor, action=EventAction.UPDATED, detail={"fields": changed})
    return application


# ---------------------------------------------------------------------------------------------
# Acceptance (受理), routing, withdrawal


def checklist_for(application: Application) -> tuple[rules.Material, ...]:
    age = age_on(application.birth_date, local_today())
    guardianship = rules.GuardianshipCase(application.guardianship) if application.guardianship else None
    if age < rules.ADULT_AGE and guardianship is None:
        guardianship = rules.GuardianshipCase.SAME_HOUSEHOLD
    return rules.materials(application.application_type, age=age, guardianship=guardianship)


def acceptance_problems(application: Application) -> dict[str, str]:
    """What still stops acceptance, per section of the counter page (empty when ready)."""
    problems: dict[str, str] = {}
    today = local_today()
    reason = application.reason
    mismatch = rules.reason_problem(
        application.application_type,
        reason_code=reason.code,
        reason_kind=reason.kind,
        reason_label=f"{reason.code} {reason.name}",
        birth_date=application.birth_date,
        on=today,
        held_card=held_card(application.person),
        cross_region=application.cross_region,
        card_history_elsewhere=application.exchange == Application.Exchange.OUT,
    )
    if mismatch is not None:
        problems["reason"] = mismatch.message
    minor = rules.needs_guardian_photo(age_on(application.birth_date, today))
    shown = frozenset(application.materials_shown) | (
        {rules.PLEDGE.code} if application.pledge_signed else frozenset()
    )
    missing = rules.missing(checklist_for(application), shown)
    if minor and not application.guardianship:
        problems["guardianship"] = "未满16周岁：请选择监护关系证明情形。"
    if missing:
        problems["materials"] = "尚缺材料：" + "、".join(material.label for material in missing) + "。"
    if minor:
        if not (application.guardian_name and application.guardian_id_number):
            problems["guardian"] = "未满16周岁：请登记陪同监护人的姓名和公民身份号码。"
        if application.guardian_photo is None:
            problems["guardian_photo"] = "未满16周岁：须采集申请人与监护人同框相片。"
    if application.photo is None:
        problems["photo"] = "尚未采集符合标准的相片。"
    plan = rules.finger_plan(
        {
            pos: rules.FingerOutcome(result)
            for pos, result in application.fingerprints.values_list("position", "result")
        }
    )
    if not plan.complete:
        names = "、".join(plan.next_positions)
        problems["fingers"] = " ".join(plan.errors) or f"指纹尚未采集完毕：下一枚应采集指位 {names}。"
    if not application.phone:
        problems["phone"] = "请填写联系电话。"
    if application.collection == Application.Collection.POST and not (
        application.postal_recipient and application.postal_phone and application.postal_address
    ):
        problems["collection"] = "邮政寄递须填写收件人、电话和邮寄地址。"
    if application.fee_waived and not application.fee_waiver_evidence:
        problems["fee"] = "减免工本费须登记减免依据（如低保证号）。"
    return problems


def _next_number(station: Unit, day: datetime.date) -> str:
    """The next 受理号 of `station` on `day` (concurrent acceptances never share one)."""
    sequence = next_in_sequence(AcceptanceCounter, station_id=station.pk, day=day)
    if sequence > rules.DAILY_SEQUENCE_MAX:
        raise ServiceError("daily_limit", "本受理点今日受理号已用尽。", status=409)
    return rules.acceptance_number(station.code, day, sequence)


# The one step of a guest's application (跨省通办): the household province reviews and issues.
REMOTE_STEP_TITLE = "户籍地审核签发"


def review_chain_for(household_unit: Unit) -> list[dict[str, Any]]:
    """The configured review steps for a household's unit, each with the unit that acts. For a
    household in another province (外省公安机关), one step there: it sits 待审核 at that unit,
    in no queue of ours, until the province's decision comes back."""
    if household_unit.kind == Unit.Kind.EXTERNAL:
        return [
            {
                "level": ReviewChainStep.Level.COUNTY,
                "title": REMOTE_STEP_TITLE,
                "unit": household_unit.pk,
                "unit_name": household_unit.name,
            }
        ]
    chains = {chain.region_prefix: chain for chain in ReviewChain.objects.all()}
    chain = longest_prefix(household_unit.region_code, chains)
    steps: list[tuple[str, str]] = (
        [(step.level, step.title) for step in chain.steps.all()]
        if chain is not None
        else [(ReviewChainStep.Level.STATION, "审核签发")]
    )
    if not steps:
        steps = [(ReviewChainStep.Level.STATION, "审核签发")]
    resolved = []
    for level, title in steps:
        unit = household_unit if level == ReviewChainStep.Level.STATION else household_unit.ancestor(level)
        if unit is None:
            raise ServiceError(
                "no_review_unit", f"户籍地没有“{title}”环节的办理单位，请联系管理员。", status=409
            )
        resolved.append({"level": level, "title": title, "unit": unit.pk, "unit_name": unit.name})
    return resolved


def route_to_step(application: Application, step: int, *, arrived_at: datetime.datetime) -> None:
    """Point a (locked) application at review step `step` with its deadline; the caller saves it
    through application_transition."""
    current = application.review_chain[step - 1]
    due = review_deadline(arrived_at)
    application.review_step = step
    application.review_unit_id = current["unit"]
    application.review_arrived_at = arrived_at
    application.review_due = due.due
    application.review_due_provisional = due.provisional
    application.assignee = None
    application.assigned_at = None


def application_accept(
    *,
    actor: User,
    application: Application,
    face_template: Template | None = None,
) -> Application:
    """受理: when nothing is missing, give the application its 受理号, fix validity and fee, put
    the face into the applications gallery for later 查重, and route it to the household's review
    chain (待审核) with its deadline. `face_template` is the template of the stored photo when
    the caller has it (`photo_prepare`); otherwise it is extracted here, outside the transaction."""
    require_own_counter(actor, application)
    # The face template for the applications gallery is made before the transaction, which holds
    # the application's and the person's rows until it commits.
    photo = Application.objects.filter(pk=application.pk).values_list("photo", flat=True).first()
    template = face_template or _face_template(photo)
    with transaction.atomic(durable=True):
        return _accept_locked(actor=actor, application=application, template=template, photo=photo)


def application_accept_at_once(
    *,
    actor: User,
    person: Person,
    application_type: rules.ApplicationType,
    reason_code: str,
    birth_date: datetime.date | None = None,
    changes: Mapping[str, Any],
    photo: bytes,
    guardian_photo: bytes | None = None,
    fingers: Iterable[FingerCapture],
) -> Application:
    """受理 in one call (the API's; a command's or a job's alike): the draft, what the clerk
    entered (`changes`, as for application_update), the photo, the 同框 photo, the fingers and
    the acceptance. The biometric work runs first, outside any transaction (it takes a good part
    of a second), and refuses an unfit photo at its field; then one short transaction, so that a
    refusal at any step (checklist, eligibility) leaves no draft behind."""
    require_counter(actor)
    with biometric_refusals("photo"):
        prepared = photo_prepare(photo, person_id=person.pk)
    if not prepared.passed:
        raise photo_refusal("photo", PhotoOutcome(False, prepared.messages, prepared.conformed))
    together = None
    if guardian_photo is not None:
        together = guardian_photo_check(guardian_photo)
        if not together.passed:
            raise photo_refusal("guardian_photo", together)
    rows = fingers_prepare(fingers)
    with transaction.atomic(durable=True):
        application = _start(
            actor=actor,
            person=person,
            application_type=application_type,
            reason_code=reason_code,
            birth_date=birth_date,
        )
        if changes:
            application = _update(actor=actor, application=application, changes=changes)
        photo_keep(actor=actor, application=application, prepared=prepared)
        if guardian_photo is not None and together is not None:
            guardian_photo_keep(actor=actor, application=application, image=guardian_photo, quality=together)
        fingers_keep(actor=actor, application=application, rows=rows, replace=True)
        return _accept_locked(
            actor=actor, application=application, template=prepared.template, photo=prepared.image
        )


def _face_template(photo: bytes | None) -> Template | None:
    if photo is None:
        return None
    return get_sdk(Modality.FACE).extract_template(Sample(Modality.FACE, bytes(photo)))


def _accept_locked(
    *,
    actor: User,
    application: Application,
    template: Template | None,
    photo: bytes | None,
) -> Application:
    application = lock(application)
    if application.status != Status.DRAFT:
        raise ServiceError("not_draft", "该申领已受理或已撤销。", status=409)
    person = (
        Person.objects.select_for_update(of=("self",))
        .select_related("registration_unit")
        .get(pk=application.person_id)
    )
    verdict = rules.eligibility(application.application_type, applicant_facts(person))
    if not verdict.allowed:
        raise ServiceError("not_eligible", " ".join(verdict.refusals))
    pending = Application.objects.filter(person=person, status__in=UNFINISHED_STATUSES).exclude(
        pk=application.pk
    )
    if pending.exclude(number=None).exists():
        raise ServiceError("application_open", "该人员已有办理中的申领，不能重复受理。", status=409)
    now = timezone.now()
    today = timezone.localdate(now)
    # Checked again on the acceptance day: a draft may have waited past a 16th birthday.
    reason_check(
        application_type=application.application_type,
        reason=application.reason,
        person=person,
        birth_date=application.birth_date,
        on=today,
        cross_region=application.cross_region,
    )
    problems = acceptance_problems(application)
    if problems:
        raise ServiceError("incomplete", "尚不能受理：" + " ".join(problems.values()), fields=problems)

    station = application.acceptance_unit
    application.accepted_by = actor
    application.accepted_at = now
    application.flags = sorted(set(application.flags) | set(verdict.flags))
    application.validity = validity_for(application.birth_date, accepted_on=today)
    fee = rules.fee_for(
        application.application_type, application.reason_id, waived=application.fee_waived, table=fee_table()
    )
    application.fee_item, application.fee_amount = fee.item.value, fee.amount
    application.review_chain = review_chain_for(application.household_unit)
    route_to_step(application, 1, arrived_at=now)
    step = application.review_chain[0]
    review_unit_code, review_unit_kind = Unit.objects.values_list("code", "kind").get(pk=step["unit"])
    # 补领: the card is reported lost with the application (or takes over its 挂失申报), and is
    # invalid from now on.
    loss = (
        replacement_loss(actor=actor, person=person)
        if application.application_type == rules.ApplicationType.REPLACEMENT
        else None
    )
    if photo is None or application.photo is None or bytes(application.photo) != bytes(photo):
        template = _face_template(application.photo)  # retaken meanwhile
    if template is not None:
        with biometric_refusals("photo"):  # the engine gone since the search: 503, nothing kept
            get_abis().insert(application_ref(application), template, Gallery.APPLICATIONS, actor=actor)
    # The station's 受理号 and 票据号 counters are rows every clerk of the station updates, each
    # held from its upsert to the commit: they are taken last, after the slow work above (and
    # after reading the notifications' texts), and then only our own rows are written.
    letters = texts_in_force("application.accepted", "review.arrived")
    application.number = _next_number(station, today)
    fee_charge(
        actor=actor,
        unit=station,
        person=person,
        application_number=application.number,
        item=fee.item.value,
        amount=fee.amount,
        waived=fee.waived,
        waiver_evidence=application.fee_waiver_evidence,
    )
    loss_detail: dict[str, object] = {}
    if loss is not None:
        replacement_link(loss, application_number=application.number)
        loss_detail = {"cards_reported_lost": loss.cards} if loss.cards else {}
        if loss.report is not None:
            loss_detail["loss_report"] = loss.report.pk
    application_transition(application, Transition.ACCEPT, actor=actor, detail=loss_detail or None)
    application_transition(
        application,
        Transition.ROUTE,
        actor=actor,
        note=f"流转至{step['unit_name']}{step['title']}",
        detail={"step": 1, "unit": step["unit_name"], "due": str(application.review_due)},
    )
    notify(
        compose(
            "application.accepted",
            phone=application.phone,
            application_id=application.pk,
            text=letters["application.accepted"],
            number=application.number,
        )
    )
    if review_unit_kind != Unit.Kind.EXTERNAL:  # another province hears of it through the exchange
        notify(
            compose(
                "review.arrived",
                unit_code=review_unit_code,
                application_id=application.pk,
                text=letters["review.arrived"],
                number=application.number,
                due=f"{application.review_due:%Y-%m-%d}",
            )
        )
    return application


@transaction.atomic(durable=True)
def application_withdraw(*, actor: User, application: Application, reason: str) -> Application:
    """撤销: the applicant withdraws before issue. Done at the acceptance station."""
    if not actor.can("application.withdraw") or actor.unit_id != application.acceptance_unit_id:
        raise ServiceError("not_found", "未找到该申领。", status=404)
    reason = reason.strip()
    if not reason:
        raise ServiceError("reason_required", "请填写撤销原因。", fields={"reason": "请填写撤销原因。"})
    application = lock(application)
    if application.status not in OPEN_STATUSES:
        raise ServiceError(
            "not_withdrawable",
            f"该申领已{Status(application.status).label}，不能撤销。",
            status=409,
        )
    was_in_review = application.status in IN_REVIEW_STATUSES
    application.closed_at = timezone.now()
    application.assignee = None
    application_transition(application, Transition.WITHDRAW, actor=actor, note=reason)
    if application.number:
        fee_refund(actor=actor, application_number=application.number, reason=f"撤销：{reason}")
        get_abis().delete(application_ref(application), Gallery.APPLICATIONS, actor=actor)
        notify(
            compose(
                "application.withdrawn",
                phone=application.phone,
                application_id=application.pk,
                number=application.number,
            )
        )
    # Another province's unit hears of a withdrawal through the exchange (remote_withdraw).
    if (
        was_in_review
        and application.review_unit is not None
        and application.exchange != Application.Exchange.OUT
    ):
        notify(
            compose(
                "review.withdrawn",
                unit_code=application.review_unit.code,
                application_id=application.pk,
                number=application.number,
            )
        )
    return application


ABANDON_NOTE = "放弃本次受理"
STALE_DRAFT_NOTE = "草稿超过 {days} 天无人办理，系统自动放弃受理"


@transaction.atomic(durable=True)
def application_abandon(*, actor: User, application: Application, reason: str = "") -> Application:
    """放弃本次受理: the clerk discards a draft that will not be accepted (the applicant left, or it
    was started for the wrong person)."""
    require_own_counter(actor, application)
    application = lock(application)
    if application.status != Status.DRAFT:
        raise ServiceError(
            "not_draft",
            f"该申领已{Status(application.status).label}，不能放弃受理；已受理的申领请办理撤销。",
            status=409,
        )
    reason = reason.strip()[:500]
    return _abandon(application, actor=actor, note=f"{ABANDON_NOTE}：{reason}" if reason else ABANDON_NOTE)


def drafts_abandon_stale(*, now: datetime.datetime | None = None) -> int:
    """The schedule's clean-up: drafts nobody has changed for settings.DRAFT_MAX_AGE_DAYS days are
    closed as a clerk's 放弃本次受理 closes them, by the system (no actor, as the audit row says).
    Each is checked again under its row lock, so a draft accepted or changed meanwhile is left
    alone and two runs at once close it once. Returns how many were closed."""
    days = settings.DRAFT_MAX_AGE_DAYS
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    # Saving the row moves updated_at; recording fingers only writes history (last_event_at).
    stale = Q(status=Status.DRAFT, updated_at__lt=cutoff) & (
        Q(last_event_at=None) | Q(last_event_at__lt=cutoff)
    )
    closed = 0
    for pk in list(Application.objects.filter(stale).order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic(durable=True):
            application = Application.objects.select_for_update().filter(stale, pk=pk).first()
            if application is not None:
                _abandon(application, actor=None, note=STALE_DRAFT_NOTE.format(days=days))
                closed += 1
    return closed


def _abandon(application: Application, *, actor: User | None, note: str) -> Application:
    """Close the locked draft as 已撤销 with its history (event `abandoned`). Its photos, face
    searches and fingerprints with their sealed templates are deleted, since no application goes
    on to use them; a draft has nothing in the galleries (the face goes there at acceptance)."""
    application.closed_at = timezone.now()
    application.photo = None
    application.card_images = None
    application.card_images_key = None
    application.guardian_photo = None
    application.face_hits = {}
    discarded = application.fingerprints.count()
    application.fingerprints.all().delete()
    application_transition(
        application,
        Transition.ABANDON,
        actor=actor,
        note=note,
        detail={"fingerprints_deleted": discarded},
    )
    return application


@transaction.atomic(durable=True)
def application_refusal_notified(*, actor: User, application: Application, note: str = "") -> Application:
    """The acceptance station records that it told the applicant of a refusal (不予签发) and to
    apply at the household location."""
    require_own_counter(actor, application)
    application = lock(application)
    if application.status != Status.REJECTED:
        raise ServiceError("not_refused", "只有不予签发的申领需要告知申请人。", status=409)
    if application.refusal_notified_at is not None:
        return application
    application.refusal_notified_at = timezone.now()
    application.save(update_fields=["refusal_notified_at", "updated_at"])
    application_event(application, actor=actor, action=EventAction.REFUSAL_NOTIFIED, note=note.strip())
    return application


def application_deadlines_refresh(*, actor: User | None) -> int:
    """Recount the provisional review deadlines (暂估: counted over a year whose holiday
    arrangement was not entered) now that the calendar may know more. Returns how many changed."""
    changed = 0
    pending = Application.objects.filter(status__in=IN_REVIEW_STATUSES, review_due_provisional=True)
    for pk in pending.values_list("pk", flat=True).iterator():
        with transaction.atomic(durable=True):
            application = Application.objects.select_for_update().get(pk=pk)
            if application.status not in IN_REVIEW_STATUSES or application.review_arrived_at is None:
                continue
            due = review_deadline(application.review_arrived_at)
            if (due.due, due.provisional) == (application.review_due, application.review_due_provisional):
                continue
            before = application.review_due
            application.review_due, application.review_due_provisional = due.due, due.provisional
            application.save(update_fields=["review_due", "review_due_provisional", "updated_at"])
            application_event(
                application,
                actor=actor,
                action=EventAction.DEADLINE_RECOUNTED,
                note=f"办理期限按节假日安排重新计算：{before} → {due.due}",
                detail={"before": str(before), "due": str(due.due), "provisional": due.provisional},
            )
            changed += 1
    return changed


# ---------------------------------------------------------------------------------------------
# Review routing (审核签发流程) as a campaign (集中换发) sets it; the admin edits the rows itself


@transaction.atomic
def review_chain_set(
    *, actor: User | None, region_prefix: str, name: str, note: str, steps: Iterable[tuple[str, str]]
) -> ReviewChain:
    """The review chain of the household regions under `region_prefix`, created or replaced, with
    `steps` ((level, title), in order). Applications already routed keep the steps they were given.
    Whether the steps' units are staffed is the caller's check (accounts/staffing.py)."""
    chain, _ = ReviewChain.objects.update_or_create(
        region_prefix=region_prefix, defaults={"name": name, "note": note}
    )
    chain.steps.all().delete()
    created = ReviewChainStep.objects.bulk_create(
        ReviewChainStep(chain=chain, order=order, level=level, title=title)
        for order, (level, title) in enumerate(steps, start=1)
    )
    record(
        actor=actor,
        action=AuditAction.REVIEW_CHAIN_SET,
        object_type="intake.reviewchain",
        object_id=chain.pk,
        detail={"prefix": region_prefix, "steps": [[step.level, step.title] for step in created]},
    )
    return chain


@transaction.atomic
def review_chain_remove(*, actor: User | None, region_prefix: str) -> None:
    """No chain of its own for `region_prefix` any more: its applications follow the next shorter
    prefix's chain, or the default single step. Nothing happens where there is none."""
    chain = ReviewChain.objects.filter(region_prefix=region_prefix).first()
    if chain is None:
        return
    pk = chain.pk
    chain.delete()
    record(
        actor=actor,
        action=AuditAction.REVIEW_CHAIN_REMOVE,
        object_type="intake.reviewchain",
        object_id=pk,
        detail={"prefix": region_prefix},
    )
