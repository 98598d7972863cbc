"""Business actions of 网上预约: book, rebook, cancel (the citizen, without a login), open the
counter's draft from a booking (the clerk), mark no-shows and send reminders (the schedule), and
keep a station's 预约设置.

No overbooking: a booking takes its half-day by one conditional UPDATE of the half-day's count row
(`booked < capacity`), which PostgreSQL re-checks on the locked row and SQLite runs under its one
writer, so however many book at once, no more than the capacity get in. One active booking per
person is a partial unique index. Every refusal raises ServiceError and changes nothing.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from tongban.accounts.models import User
from tongban.appointments import rules
from tongban.appointments.models import Booking, SlotCount, SlotOverride, StationSchedule
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core import idnumber, typed
from tongban.core.dates import age_on
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.intake import rules as intake_rules
from tongban.intake import services as intake
from tongban.intake.models import UNFINISHED_STATUSES, Application
from tongban.notifications.services import Notification, compose, notify, notify_once
from tongban.registry.calendar import work_calendar
from tongban.registry.models import ApplicationReason, Person, Unit

State = rules.State
MOBILE = re.compile(r"^1[3-9]\d{9}$")
TEXT_LIMITS = {
    "name": 50,
    "residence_address": 200,
    "postal_recipient": 50,
    "postal_address": 200,
    "guardian_name": 50,
    "guardian_relation": 20,
}
NOT_IN_REGISTER = (
    "未能按该公民身份号码和姓名找到本省的户籍登记，请核对号码和姓名（与户口簿一致）后再试；"
    "户口不在本省的，请到户籍地公安机关预约办理。"
)
NOT_FOUND = "未查询到该预约，请核对预约码和公民身份号码后6位。"


def local_now() -> datetime.datetime:
    """Local wall-clock time (TIME_ZONE), naive: what the half-day hours are read against."""
    return timezone.localtime().replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# The station's settings and its half-days


def station_settings(station: Unit) -> rules.Settings:
    schedule = StationSchedule.objects.filter(station=station).first()
    if schedule is None:
        return rules.Settings(
            open=True,
            morning=settings.APPOINTMENT_CAPACITY,
            afternoon=settings.APPOINTMENT_CAPACITY,
            days_ahead=settings.APPOINTMENT_DAYS_AHEAD,
        )
    return rules.Settings(
        open=schedule.open,
        morning=schedule.morning_capacity,
        afternoon=schedule.afternoon_capacity,
        days_ahead=schedule.days_ahead,
    )


def slots_between(station: Unit, first: datetime.date, last: datetime.date) -> list[rules.Slot]:
    """Every half-day of the station from `first` to `last`, with what it takes and holds: the
    holiday table, the overrides and the counts in four queries."""
    own = station_settings(station)
    calendar = work_calendar(first, last)
    overrides = {
        (o.date, o.half): o
        for o in SlotOverride.objects.filter(station=station, date__range=(first, last)).only(
            "date", "half", "capacity", "note"
        )
    }
    counts = {
        (date, half): booked
        for date, half, booked in SlotCount.objects.filter(
            station=station, date__range=(first, last)
        ).values_list("date", "half", "booked")
    }
    slots = []
    day = first
    while day <= last:
        workday = calendar.is_workday(day)
        provisional = day.year not in calendar.covered_years
        for half in rules.HalfDay:
            override = overrides.get((day, half.value))
            note = override.note if override is not None else ("" if workday else "法定节假日或休息日")
            slots.append(
                rules.Slot(
                    date=day,
                    half=half,
                    capacity=rules.capacity(
                        own, half, workday=workday, override=override.capacity if override else None
                    ),
                    booked=counts.get((day, half.value), 0),
                    provisional=provisional,
                    note=note,
                )
            )
        day += datetime.timedelta(days=1)
    return slots


def slot_of(station: Unit, date: datetime.date, half: rules.HalfDay) -> rules.Slot:
    return next(slot for slot in slots_between(station, date, date) if slot.half == half)


def _take(station: Unit, date: datetime.date, half: rules.HalfDay) -> None:
    """Take one place of the half-day, or refuse it (past, closed, full). In the caller's
    transaction: a refusal after this rolls the place back."""
    slot = slot_of(station, date, half)
    problem = rules.slot_problem(slot, now=local_now(), days_ahead=station_settings(station).days_ahead)
    if problem is not None:
        code, message = problem
        raise ServiceError(
            code, message, fields={"date": message}, status=409 if code == "slot_full" else 400
        )
    rows = SlotCount.objects.filter(station=station, date=date, half=half.value)
    if not rows.exists():
        try:
            with transaction.atomic():
                SlotCount.objects.create(station=station, date=date, half=half.value)
        except IntegrityError:  # another booking made the row first
            pass
    if not rows.filter(booked__lt=slot.capacity).update(booked=F("booked") + 1):
        message = f"{date.year}年{date.month}月{date.day}日{half.label}的预约已满，请选择其他时段。"
        raise ServiceError("slot_full", message, fields={"date": message}, status=409)


def _release(booking: Booking) -> None:
    SlotCount.objects.filter(
        station_id=booking.station_id, date=booking.date, half=booking.half, booked__gt=0
    ).update(booked=F("booked") - 1)


# ---------------------------------------------------------------------------------------------
# The citizen's side


@dataclass(frozen=True)
class PreApplication:
    """预申请: what the citizen fills in, as typed (the services check it)."""

    id_number: str
    name: str
    type: str
    reason: str
    phone: str
    residence_address: str = ""
    collection: str = Application.Collection.STATION
    postal_recipient: str = ""
    postal_phone: str = ""
    postal_address: str = ""
    guardianship: str = ""
    guardian_name: str = ""
    guardian_id_number: str = ""
    guardian_relation: str = ""
    guardian_phone: str = ""


def _phone(text: str) -> str:
    return re.sub(r"[\s()（）-]", "", text)


def _clean(pre: PreApplication) -> dict[str, Any]:
    """Field checks, every problem at once; the register is asked afterwards."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {f.name: str(getattr(pre, f.name) or "").strip() for f in fields(pre)}
    try:
        clean["id_number"] = idnumber.validate(clean["id_number"])
    except idnumber.InvalidIdNumber as exc:
        errors["id_number"] = str(exc)
    for key, limit in TEXT_LIMITS.items():
        if len(clean[key]) > limit:
            errors[key] = f"不能超过 {limit} 个字。"
    if not clean["name"]:
        errors["name"] = "请填写姓名（与户口簿一致）。"
    if clean["type"] not in {t.value for t in intake_rules.ApplicationType}:
        errors["type"] = "请选择申领类型。"
    if not clean["reason"]:
        errors["reason"] = "请选择申领原因。"
    for key in ("phone", "postal_phone", "guardian_phone"):
        clean[key] = _phone(clean[key])
        if clean[key] and not MOBILE.match(clean[key]):
            errors[key] = "请填写11位手机号码。"
    if not clean["phone"]:
        errors["phone"] = "请填写手机号码，用于接收预约短信。"
    if clean["collection"] not in Application.Collection.values:
        errors["collection"] = "请选择领取方式。"
    elif clean["collection"] == Application.Collection.POST:
        if not clean["postal_address"]:
            errors["postal_address"] = "邮政寄递须填写邮寄地址。"
        if not clean["postal_recipient"]:
            errors["postal_recipient"] = "邮政寄递须填写收件人。"
        # The counter needs the recipient's phone too: the contact phone unless another is given.
        clean["postal_phone"] = clean["postal_phone"] or clean["phone"]
    else:
        clean.update(postal_recipient="", postal_phone="", postal_address="")
    if clean["guardianship"] and clean["guardianship"] not in {
        c.value for c in intake_rules.GuardianshipCase
    }:
        errors["guardianship"] = "请选择监护关系证明情形。"
    if clean["guardian_id_number"]:
        try:
            clean["guardian_id_number"] = idnumber.validate(clean["guardian_id_number"])
        except idnumber.InvalidIdNumber as exc:
            errors["guardian_id_number"] = str(exc)
    if errors:
        raise ServiceError("invalid", "输入有误，请检查标出的项目。", fields=errors)
    return clean


def _person(id_number: str, name: str) -> Person:
    """The person of the register the number and name name together; the same refusal whether the
    number is unknown or the name differs, so the door tells nobody whose number exists."""
    people = list(
        Person.objects.residents().select_related("registration_unit").filter(id_number=id_number)[:2]
    )
    if len(people) > 1:
        raise ServiceError(
            "duplicate_number",
            "该公民身份号码正在核查更正中，暂不能网上预约，请联系户籍地公安机关。",
            fields={"id_number": "该号码暂不能网上预约。"},
            status=409,
        )
    if not people or not typed.names_match(people[0].name, name):
        raise ServiceError("not_in_register", NOT_IN_REGISTER, fields={"id_number": NOT_IN_REGISTER})
    return people[0]


def _check_applicant(
    *, person: Person, station: Unit, clean: dict[str, Any], date: datetime.date
) -> ApplicationReason:
    """The counter's rules, asked before anything is booked: may the person apply for this type at
    all, does the reason fit the type and the age on the day, is an application already open, and
    a minor's guardian."""
    application_type = intake_rules.ApplicationType(clean["type"])
    verdict = intake_rules.eligibility(application_type, intake.applicant_facts(person))
    if not verdict.allowed:
        if person.status != Person.Status.NORMAL:
            message = "人口信息显示该人员目前不能申领居民身份证，请到户籍地公安机关咨询。"
        else:
            message = " ".join(verdict.refusals).replace("受理", "预约")
        raise ServiceError("not_eligible", message, fields={"type": message})
    reason = ApplicationReason.objects.filter(code=clean["reason"], active=True).first()
    if reason is None:
        raise ServiceError("bad_reason", "申领原因无效。", fields={"reason": "请重新选择申领原因。"})
    intake.reason_check(
        application_type=application_type,
        reason=reason,
        person=person,
        birth_date=person.birth_date,
        on=date,
        cross_region=person.registration_unit.parent_id != station.parent_id,
    )
    if (
        Application.objects.filter(person=person, status__in=UNFINISHED_STATUSES)
        .exclude(number=None)
        .exists()
    ):
        raise ServiceError(
            "application_open",
            "您已有办理中的居民身份证申领，无需再预约；办理进度可凭受理号查询。",
            status=409,
        )
    if age_on(person.birth_date, date) < intake_rules.ADULT_AGE:
        missing = {
            "guardian_name": "未满16周岁须由监护人陪同，请填写监护人姓名。",
            "guardian_id_number": "请填写监护人的公民身份号码。",
            "guardian_relation": "请填写监护人与申请人的关系。",
            "guardianship": "请选择监护关系证明情形，以便列出所需材料。",
        }
        errors = {key: message for key, message in missing.items() if not clean[key]}
        if errors:
            raise ServiceError("invalid", "未满16周岁的申请人须填写监护人信息。", fields=errors)
    else:
        clean.update(
            guardianship="", guardian_name="", guardian_id_number="", guardian_relation="", guardian_phone=""
        )
    return reason


def _station(code: str) -> Unit:
    station = Unit.objects.filter(code=code, kind=Unit.Kind.STATION, active=True).first()
    if station is None:
        raise ServiceError("not_found", "未找到该受理单位。", status=404)
    return station


def _message(template: str, booking: Booking) -> Notification:
    """The citizen's SMS of `template` about `booking`."""
    return compose(
        template,
        phone=booking.phone,
        booking=booking.display_code,
        when=booking.when_label,
        station=booking.station.name,
        type=booking.application_type.label,
    )


def booking_create(
    *, station_code: str, date: datetime.date, half: rules.HalfDay, pre: PreApplication
) -> Booking:
    """网上预约: check the pre-application against the register and the counter's rules, take a
    place of the half-day, and send the booking code by SMS. Refuses an unknown number, a person
    who cannot apply for the type, a past, closed or full half-day, and a second active booking."""
    station = _station(station_code)
    clean = _clean(pre)
    person = _person(clean["id_number"], clean["name"])
    with transaction.atomic(durable=True):
        reason = _check_applicant(person=person, station=station, clean=clean, date=date)
        if Booking.objects.filter(person=person, state=State.BOOKED).exists():
            raise _already_booked()
        _take(station, date, half)
        booking = Booking(
            code=_unused_code(),
            station=station,
            date=date,
            half=half.value,
            person=person,
            type=clean["type"],
            reason=reason,
            **{key: clean[key] for key in _PRE_FIELDS},
        )
        try:
            with transaction.atomic():
                booking.save()
        except IntegrityError as exc:  # the same person booked at the same moment
            raise _already_booked() from exc
        record(
            actor=None,
            action=AuditAction.APPOINTMENT_BOOKED,
            object_type="appointments.booking",
            object_id=booking.pk,
            detail={
                "channel": "网上预约",
                "station": station.code,
                "date": date.isoformat(),
                "half": half.value,
                "id_number": mask_id_number(person.id_number),
            },
        )
        notify(_message("appointment.booked", booking))
    return booking


_PRE_FIELDS = (
    "phone",
    "residence_address",
    "collection",
    "postal_recipient",
    "postal_phone",
    "postal_address",
    "guardianship",
    "guardian_name",
    "guardian_id_number",
    "guardian_relation",
    "guardian_phone",
)


def _already_booked() -> ServiceError:
    return ServiceError(
        "already_booked",
        "该公民身份号码已有一个尚未办理的预约。如需变更时间，请凭预约码改约；不再需要的，请先取消原预约。",
        fields={"id_number": "已有尚未办理的预约。"},
        status=409,
    )


def _unused_code() -> str:
    while True:
        code = rules.new_code()
        if not Booking.objects.filter(code=code).exists():
            return code


def booking_find(*, code: str, id_tail: str) -> Booking:
    """The booking the code and the last 6 characters of the 公民身份号码 prove together; the
    same `not_found` for an unknown code and a wrong tail (the caller counts the failures)."""
    normal = rules.normalize_code(code)
    booking = (
        Booking.objects.select_related("station", "person", "reason").filter(code=normal).first()
        if normal
        else None
    )
    if booking is None or not typed.id_suffix_matches(booking.person.id_number, id_tail):
        raise ServiceError("not_found", NOT_FOUND, status=404)
    record(
        actor=None,
        action=AuditAction.APPOINTMENT_LOOKUP,
        object_type="appointments.booking",
        object_id=booking.pk,
        detail={"channel": "网上预约"},
    )
    return booking


def _lock(booking: Booking) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",)).select_related("station", "person").get(pk=booking.pk)
    )


def _require_booked(booking: Booking, what: str) -> None:
    if booking.state != State.BOOKED:
        raise ServiceError("booking_closed", f"该预约{booking.state_label}，不能{what}。", status=409)


def booking_cancel(*, booking: Booking, actor: User | None = None) -> Booking:
    """取消预约 by the citizen (`actor` None) or at the station: the place is free again at once."""
    with transaction.atomic(durable=True):
        booking = _lock(booking)
        _require_booked(booking, "取消")
        _release(booking)
        booking.state, booking.cancelled_at, booking.cancelled_by = State.CANCELLED, timezone.now(), actor
        booking.save(update_fields=["state", "cancelled_at", "cancelled_by"])
        record(
            actor=actor,
            action=AuditAction.APPOINTMENT_CANCELLED,
            object_type="appointments.booking",
            object_id=booking.pk,
            detail={"channel": "网上预约" if actor is None else "受理单位"},
        )
        notify(_message("appointment.cancelled", booking))
    return booking


def booking_rebook(*, booking: Booking, date: datetime.date, half: rules.HalfDay) -> Booking:
    """改约: the same booking (and code) moves to another half-day of its station; the old place
    is freed only if the new one is taken. The reason is checked again for the new day (an
    applicant who turns 16 in between needs reason 12)."""
    with transaction.atomic(durable=True):
        booking = _lock(booking)
        _require_booked(booking, "改约")
        if (date, half.value) == (booking.date, booking.half):
            return booking
        intake.reason_check(
            application_type=booking.application_type,
            reason=ApplicationReason.objects.get(code=booking.reason_id),
            person=booking.person,
            birth_date=booking.person.birth_date,
            on=date,
            cross_region=booking.person.registration_unit.parent_id != booking.station.parent_id,
        )
        _take(booking.station, date, half)
        _release(booking)
        before = f"{booking.date.isoformat()} {booking.half}"
        booking.date, booking.half, booking.rebooked_at = date, half.value, timezone.now()
        booking.save(update_fields=["date", "half", "rebooked_at"])
        record(
            actor=None,
            action=AuditAction.APPOINTMENT_REBOOKED,
            object_type="appointments.booking",
            object_id=booking.pk,
            detail={"before": before, "after": f"{date.isoformat()} {half.value}"},
        )
        notify(_message("appointment.booked", booking))
    return booking


# ---------------------------------------------------------------------------------------------
# At the counter


def booking_open(*, actor: User, booking: Booking) -> Application:
    """The clerk types or scans the code: the counter's draft opens through intake's own services
    (every counter rule applies, the register pre-fills the person), with the citizen's
    pre-application written into it; the booking becomes 已到场 and names the draft. Opening it
    again returns the same draft."""
    if not actor.can("application.accept") or actor.unit_id != booking.station_id:
        raise ServiceError("other_station", "该预约不是本受理单位的预约。", status=409)
    if booking.state == State.ARRIVED and booking.application_id is not None:
        return Application.objects.get(pk=booking.application_id)
    _require_booked(booking, "受理")
    today = intake.local_today()
    if booking.date != today:
        raise ServiceError(
            "wrong_day",
            f"该预约为{booking.when_label}，不是今天的预约；请按预约日期办理，或按普通受理办理。",
            status=409,
        )
    # intake's services run in transactions of their own (durable): the draft first, then the
    # pre-application written into it, then the booking marked.
    application = intake.application_start(
        actor=actor,
        person=booking.person,
        application_type=booking.application_type,
        reason_code=booking.reason_id,
    )
    changes = {key: getattr(booking, key) for key in _PRE_FIELDS if getattr(booking, key)}
    if changes:
        application = intake.application_update(actor=actor, application=application, changes=changes)
    with transaction.atomic(durable=True):
        locked = _lock(booking)
        if locked.state == State.BOOKED:
            _arrive(locked, actor=actor, application=application)
    return application


def _arrive(booking: Booking, *, actor: User, application: Application) -> None:
    booking.state, booking.arrived_at, booking.arrived_by = State.ARRIVED, timezone.now(), actor
    booking.application = application
    booking.save(update_fields=["state", "arrived_at", "arrived_by", "application"])
    record(
        actor=actor,
        action=AuditAction.APPOINTMENT_ARRIVED,
        object_type="appointments.booking",
        object_id=booking.pk,
        detail={"application": application.pk},
    )


def booking_view(*, viewer: User, booking: Booking) -> None:
    """Record that a booking's full record was shown to staff."""
    record(
        actor=viewer,
        action=AuditAction.APPOINTMENT_VIEW,
        object_type="appointments.booking",
        object_id=booking.pk,
    )


# ---------------------------------------------------------------------------------------------
# The schedule's work


def no_shows_mark(*, now: datetime.datetime | None = None) -> int:
    """Bookings whose half-day has ended without the citizen coming become 未到场. Returns how many."""
    now = now or local_now()
    today = now.date()
    over = Q(date__lt=today)
    for half in rules.HalfDay:
        if rules.half_day_over(today, half, now):
            over |= Q(date=today, half=half.value)
    marked = 0
    ids = list(Booking.objects.filter(over, state=State.BOOKED).values_list("pk", flat=True)[:5000])
    for pk in ids:
        with transaction.atomic():
            booking = Booking.objects.select_for_update().filter(pk=pk, state=State.BOOKED).first()
            if booking is None:  # arrived or cancelled meanwhile
                continue
            booking.state, booking.no_show_at = State.NO_SHOW, timezone.now()
            booking.save(update_fields=["state", "no_show_at"])
            record(
                actor=None,
                action=AuditAction.APPOINTMENT_NO_SHOW,
                object_type="appointments.booking",
                object_id=pk,
                detail={"date": booking.date.isoformat(), "half": booking.half},
            )
            marked += 1
    return marked


def reminders_notify(*, today: datetime.date | None = None) -> int:
    """预约提醒 for the bookings of the next working day, once each however often it runs."""
    today = today or intake.local_today()
    calendar = work_calendar(today, today + datetime.timedelta(days=40))
    day = calendar.next_workday(today)
    bookings = Booking.objects.filter(date=day, state=State.BOOKED).select_related("station")
    messages = [
        (
            f"appointment.reminder:{b.pk}:{b.date.isoformat()}:{b.half}",
            _message("appointment.reminder", b),
        )
        for b in bookings.iterator()
    ]
    return len(notify_once(messages))


# ---------------------------------------------------------------------------------------------
# 预约设置


def _manage(actor: User, station: Unit) -> None:
    if not actor.can("appointment.manage") or not (
        actor.unit is not None and station.path.startswith(actor.unit.path)
    ):
        raise ServiceError("not_found", "未找到该受理单位。", status=404)


@dataclass(frozen=True)
class ScheduleInput:
    open: bool
    morning_capacity: int
    afternoon_capacity: int
    days_ahead: int
    notice: str = ""


MAX_CAPACITY = 500
MAX_DAYS_AHEAD = 90


def schedule_update(*, actor: User, station: Unit, data: ScheduleInput) -> StationSchedule:
    """修改预约设置. Bookings already made stand (a smaller capacity only stops new ones)."""
    _manage(actor, station)
    errors = {}
    for key in ("morning_capacity", "afternoon_capacity"):
        if not 0 <= getattr(data, key) <= MAX_CAPACITY:
            errors[key] = f"应为 0 至 {MAX_CAPACITY}。"
    if not 1 <= data.days_ahead <= MAX_DAYS_AHEAD:
        errors["days_ahead"] = f"应为 1 至 {MAX_DAYS_AHEAD} 天。"
    if len(data.notice.strip()) > 200:
        errors["notice"] = "不能超过 200 个字。"
    if errors:
        raise ServiceError("invalid", "输入有误，请检查标出的项目。", fields=errors)
    with transaction.atomic(durable=True):
        schedule, _ = StationSchedule.objects.select_for_update().get_or_create(
            station=station,
            defaults={
                "morning_capacity": data.morning_capacity,
                "afternoon_capacity": data.afternoon_capacity,
                "days_ahead": data.days_ahead,
            },
        )
        schedule.open = data.open
        schedule.morning_capacity = data.morning_capacity
        schedule.afternoon_capacity = data.afternoon_capacity
        schedule.days_ahead = data.days_ahead
        schedule.notice = data.notice.strip()
        schedule.updated_by = actor
        schedule.save()
        record(
            actor=actor,
            action=AuditAction.APPOINTMENT_SETTINGS,
            object_type="appointments.stationschedule",
            object_id=station.code,
            detail={
                "open": data.open,
                "morning": data.morning_capacity,
                "afternoon": data.afternoon_capacity,
                "days_ahead": data.days_ahead,
            },
        )
    return schedule


def override_set(
    *,
    actor: User,
    station: Unit,
    date: datetime.date,
    half: rules.HalfDay,
    capacity: int | None,
    note: str = "",
) -> SlotOverride | None:
    """One half-day set apart: `capacity` 0 closes it, a number changes or opens it, None goes
    back to the settings. Bookings already made stand; the page says how many there are."""
    _manage(actor, station)
    if date < intake.local_today():
        raise ServiceError("date_past", "不能调整已过去的日期。", fields={"date": "日期已过。"})
    if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
        raise ServiceError("invalid", "输入有误。", fields={"capacity": f"应为 0 至 {MAX_CAPACITY}。"})
    if len(note.strip()) > 100:
        raise ServiceError("invalid", "输入有误。", fields={"note": "不能超过 100 个字。"})
    with transaction.atomic(durable=True):
        rows = SlotOverride.objects.filter(station=station, date=date, half=half.value)
        override = None
        if capacity is None:
            rows.delete()
        else:
            override, _ = SlotOverride.objects.update_or_create(
                station=station,
                date=date,
                half=half.value,
                defaults={"capacity": capacity, "note": note.strip(), "updated_by": actor},
            )
        record(
            actor=actor,
            action=AuditAction.APPOINTMENT_SETTINGS,
            object_type="appointments.slotoverride",
            object_id=f"{station.code}:{date.isoformat()}:{half.value}",
            detail={"capacity": capacity, "note": note.strip()},
        )
    return override
