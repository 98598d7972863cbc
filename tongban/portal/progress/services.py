"""办理进度查询: a citizen's 受理号 with the last 6 digits of the 公民身份号码 or the applicant's
name → where the application stands, in plain words (docs/progress.md).

One service, `progress_lookup`, serves the page and the API. Privacy rules it keeps:
- a wrong combination and an unknown 受理号 answer the same (`Outcome.NOT_FOUND`), after the same
  work (the number looked up, the proof compared, a failure counted against the number, one audit
  row), so neither the answer nor its time says which part was wrong;
- limits (accounts.limits): lookups per client address, and failures per 受理号 — known or not —
  that lock the number for the rest of the window, the right combination refused too. A success
  clears nothing: neither the address's count nor the number's failures (else the owner's own
  lookups would hand a guesser fresh tries);
- one audit row per lookup, with the 受理号 (not personal) and the outcome, never what was typed
  with it;
- the answer names nothing of the person: no name, no number, no address; the unit it names is
  the acceptance unit, which the 受理号 itself encodes.
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.accounts import limits
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.handover import selectors as handover
from tongban.intake import selectors as intake
from tongban.intake.models import Application
from tongban.portal.progress import rules
from tongban.portal.progress.rules import Stage
from tongban.registry.calendar import day_start, deadline

NOT_FOUND_MESSAGE = "未查询到办理信息。请核对受理号和公民身份号码后6位（或姓名）后再试。"


class Outcome(enum.Enum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    LIMITED = "limited"


def address_limit() -> limits.Limit:
    return limits.Limit(
        "progress.address",
        settings.PROGRESS_LOOKUPS_PER_ADDRESS,
        datetime.timedelta(minutes=settings.PROGRESS_ADDRESS_WINDOW_MINUTES),
    )


def number_limit() -> limits.Limit:
    return limits.Limit(
        "progress.number",
        settings.PROGRESS_FAILURES_PER_NUMBER,
        datetime.timedelta(minutes=settings.PROGRESS_FAILURE_WINDOW_MINUTES),
    )


@dataclass(frozen=True)
class Estimate:
    """A date counted in working days over the holiday table; `provisional` (暂估) where the
    count crossed a year whose arrangement is not entered."""

    date: datetime.date
    provisional: bool

    @property
    def text(self) -> str:
        return f"{self.date:%Y-%m-%d}" + ("（暂估）" if self.provisional else "")


@dataclass(frozen=True)
class Station:
    """Where the card is collected (the acceptance unit), with what the register has of it."""

    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class Progress:
    """What the citizen reads about one application."""

    number: str
    stage: Stage
    summary: str
    accepted_on: datetime.date | None
    issued_on: datetime.date | None
    expected_issue: Estimate | None
    expected_ready: Estimate | None
    ready_label: str  # 预计领证日期 / 预计寄出日期
    collection: str  # station / post
    station: Station | None
    tracking_number: str
    refusal: rules.RefusalAdvice | None
    next_steps: tuple[str, ...]
    cross_province: bool
    notes: tuple[str, ...]

    @property
    def stage_label(self) -> str:
        return self.stage.label

    @property
    def track(self) -> tuple[tuple[str, str], ...]:
        return rules.track(self.stage, self.collection)


@dataclass(frozen=True)
class Lookup:
    outcome: Outcome
    progress: Progress | None = None
    retry_at: datetime.datetime | None = None  # LIMITED: when to try again


def progress_lookup(*, number: str, id_suffix: str = "", name: str = "", address: str | None) -> Lookup:
    """One lookup from `address`: exactly one of `id_suffix` (the last 6 characters of the
    公民身份号码, X in either case) and `name` proves the asker knows the applicant. Input is
    checked by the caller (form or serializer); the limits, the comparison and the audit row are
    here."""
    number = number.strip()
    by = "id_suffix" if id_suffix else "name"
    with transaction.atomic(durable=True):
        until = limits.take(address_limit(), address or "")
        if until is None:
            until = limits.blocked_until(number_limit(), number)
            refused_by = "number"
        else:
            refused_by = "address"
        if until is not None:
            _audit(AuditAction.PROGRESS_LIMITED, number, {"by": by, "limit": refused_by})
            return Lookup(Outcome.LIMITED, retry_at=until)
        application = intake.application_for_progress(number)
        found = application is not None and rules.matches(
            id_number=application.id_number,
            name=application.name,
            typed_suffix=id_suffix,
            typed_name=name,
        )
        if application is None or not found:
            # Counted for any number, known or not: a lock must not tell that a number exists.
            limits.hit(number_limit(), number)
            _audit(AuditAction.PROGRESS_NOT_FOUND, number, {"by": by})
            return Lookup(Outcome.NOT_FOUND)
        progress = progress_of(application)
        _audit(AuditAction.PROGRESS_FOUND, number, {"by": by, "stage": progress.stage.value})
        return Lookup(Outcome.FOUND, progress)


def _audit(action: AuditAction, number: str, detail: dict[str, str]) -> None:
    # The 受理号 as typed, cut to its field's length: a long string of junk is not kept.
    record(actor=None, action=action, object_type="progress", object_id=number[:22], detail=detail)


# ---------------------------------------------------------------------------------------------
# The answer


def progress_of(application: Application) -> Progress:
    """Where `application` stands, in the citizen's words. Reads only."""
    status = application.status
    stage = rules.stage_of(status, application.collection)
    if stage is None:  # application_for_progress never gives a draft
        raise ValueError(f"no stage for status {status!r}")
    cross_province = application.is_cross_province
    station = _station(application)
    today = timezone.localdate()
    notes: list[str] = []
    next_steps = list(rules.next_steps(stage, status=status, collection=application.collection))

    expected_issue = _expected_issue(application) if stage in rules.WAITING_FOR_ISSUE else None
    expected_ready = None
    if stage in rules.WAITING_FOR_CARD and application.accepted_at is not None:
        ready = deadline(application.accepted_at, settings.DEADLINES.expected_ready_days)
        if ready.due >= today:
            expected_ready = Estimate(ready.due, ready.provisional)
        else:
            notes.append("已超过受理时预计的日期，请以受理单位的通知为准。")
    if expected_issue is not None and expected_issue.date < today:
        notes.append("审核已超过规定的期限，如有疑问请联系受理单位。")

    tracking = ""
    if stage in (Stage.POSTED, Stage.COLLECTED) and application.collection == Application.Collection.POST:
        tracking = handover.postal_tracking_number(application.pk)
        if not tracking and stage is Stage.POSTED:
            notes.append("邮件号请向受理单位咨询。")
    if status == Application.Status.PENDING_VERIFICATION:
        owed = handover.verification_owed(application.pk)
        if owed is not None:
            due = Estimate(owed.due, owed.due_provisional)
            next_steps.append(f"请于 {due.text} 前，本人到受理地或户籍地公安机关核验证件和指纹。")

    refusal = None
    if stage is Stage.REFUSED:
        refusal = rules.refusal_advice(application.refusal_code_id)
        next_steps.append(refusal.advice)

    return Progress(
        number=application.number or "",
        stage=stage,
        summary=rules.summary(
            stage,
            status=status,
            collection=application.collection,
            cross_province=cross_province,
            station=station.name,
        ),
        accepted_on=timezone.localdate(application.accepted_at) if application.accepted_at else None,
        issued_on=timezone.localdate(application.issued_at) if application.issued_at else None,
        expected_issue=expected_issue,
        expected_ready=expected_ready,
        ready_label="预计寄出日期"
        if application.collection == Application.Collection.POST
        else "预计领证日期",
        collection=application.collection,
        station=station,
        tracking_number=tracking,
        refusal=refusal,
        next_steps=tuple(next_steps),
        cross_province=cross_province,
        notes=tuple(notes),
    )


def _station(application: Application) -> Station:
    """The acceptance unit: where the card waits (分发 sends it there, through the county bureau
    or not). For an application accepted in another province (跨省通办, 本省户籍) that is the other
    province's station, of which only the name is known here."""
    if application.exchange == Application.Exchange.IN:
        return Station(application.remote_unit_name or application.acceptance_unit.name, "", "")
    unit = application.acceptance_unit
    return Station(unit.name, unit.address, unit.phone)


def _expected_issue(application: Application) -> Estimate | None:
    """The day the review chain should be through: the current step's deadline, then the
    configured working days for each step after it; from acceptance when not yet routed."""
    steps_left = max(0, len(application.review_chain) - application.review_step)
    if application.review_due is not None:
        due = Estimate(application.review_due, application.review_due_provisional)
    elif application.accepted_at is not None:
        first = deadline(application.accepted_at, settings.DEADLINES.review_days)
        due = Estimate(first.due, first.provisional)
        steps_left = max(0, steps_left - 1)
    else:
        return None
    if steps_left:
        later = deadline(
            day_start(due.date), settings.DEADLINES.review_days * steps_left, count_arrival_day=False
        )
        due = Estimate(later.due, due.provisional or later.provisional)
    return due
