"""Putting right the 签发机关 written wrong before it was the household's county bureau.

Until issue 12 the issuing authority was taken from the county above the unit that decided the
last review step, so a chain ending at the city bureau wrote "南昌市公安局" where the law wants
"南昌市公安局东湖分局" (居民身份证法 第八条; `registry.authority`). Two remedies:

- `correct_pending` (run once by the data migration production/0002): applications issued but not
  yet produced (已签发, 制证中, 待重新采集) get the right value, with an entry in their 办理记录. One
  already in a *packaged* batch is taken out of it as a data error (数据错误), as the centre's
  feedback would, and goes back to the production queue: its package carries the wrong value and
  must not be printed; the next batch packages it right. A later "produced" line for it in the
  old batch is refused (`conflicting_feedback`).
- `produced_mismatches` (`tongban production authority-report`): the cards already produced with
  a wrong value, listed for an operator to recall and reprint; the card records keep what was
  printed.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from tongban.core.masking import mask_id_number
from tongban.registry.authority import issuing_authority

# Not yet produced: what the application says is still what will be printed.
PENDING_STATUSES = ("issued", "in_production", "recollect")
LAW = "居民身份证法第八条：由常住户口所在地的县级人民政府公安机关签发"


class _Names:
    """签发机关 per household unit, each worked out once."""

    def __init__(self, units: Any) -> None:
        self.units = units
        self.cache: dict[int, str] = {}

    def __call__(self, household_unit_id: int) -> str:
        if household_unit_id not in self.cache:
            unit = self.units.get(pk=household_unit_id)
            self.cache[household_unit_id] = issuing_authority(unit, units=self.units)
        return self.cache[household_unit_id]


@dataclass(frozen=True)
class CorrectionCounts:
    corrected: int  # applications whose 签发机关 was put right
    unpackaged: int  # of which taken out of a packaged batch, back to the production queue
    batches_closed: int  # batches left with nothing pending, closed


def correct_pending(get_model: Callable[[str, str], Any], *, now: datetime.datetime) -> CorrectionCounts:
    """Put right the 签发机关 of the applications not yet produced. `get_model(app, name)` gives a
    model: the historical one in the migration, the real one in tests. Idempotent."""
    application_model = get_model("intake", "Application")
    event_model = get_model("intake", "ApplicationEvent")
    item_model = get_model("production", "BatchItem")
    batch_model = get_model("production", "Batch")
    names = _Names(get_model("registry", "Unit").objects)
    corrected = unpackaged = 0
    touched: set[int] = set()
    pending = application_model.objects.filter(status__in=PENDING_STATUSES).order_by("pk")
    for application in pending.iterator(chunk_size=500):
        right = names(application.household_unit_id)
        if application.issuing_authority == right:
            continue
        before, status = application.issuing_authority, application.status
        note = f"签发机关由“{before or '（空）'}”更正为“{right}”（{LAW}）"
        detail: dict[str, Any] = {"before": before, "after": right}
        item = (
            item_model.objects.filter(application_id=application.pk, result="", batch__state="packaged")
            .select_related("batch")
            .first()
            if status == "in_production"
            else None
        )
        if item is not None:
            item.result, item.reason, item.feedback_at = "failed", "data_error", now
            item.note = "签发机关更正，原数据包中的签发机关有误，不得制证"
            item.save(update_fields=["result", "reason", "note", "feedback_at"])
            touched.add(item.batch_id)
            application.status = "issued"
            note += f"；批次 {item.batch.number} 的数据包作废，重新进入制证队列"
            detail["batch"] = item.batch.number
            unpackaged += 1
        application.issuing_authority = right
        application.last_event_at = now
        application.save(update_fields=["issuing_authority", "status", "last_event_at"])
        event_model.objects.create(
            application_id=application.pk,
            action="authority_corrected",
            from_status=status,
            to_status=application.status,
            actor=None,
            unit=None,
            note=note,
            detail=detail,
        )
        # `at` is auto_now_add: the event is dated when the correction ran.
        corrected += 1
    closed = 0
    for batch in batch_model.objects.filter(pk__in=touched, state="packaged"):
        if not item_model.objects.filter(batch_id=batch.pk, result="").exists():
            batch.state, batch.closed_at = "closed", now
            batch.save(update_fields=["state", "closed_at"])
            closed += 1
    return CorrectionCounts(corrected, unpackaged, closed)


@dataclass(frozen=True)
class Mismatch:
    """A produced card whose printed 签发机关 is not its household's county bureau."""

    number: str  # 受理号
    card_serial: str
    id_number: str  # masked
    name: str
    status: str  # the application's status label
    card_state: str  # the card's state label, by the calendar
    acceptance_unit: str  # where the card was or is to be handed over
    printed: str
    correct: str

    HEADERS = (
        "受理号",
        "卡号",
        "公民身份号码",
        "姓名",
        "申领状态",
        "证件状态",
        "受理单位",
        "证件签发机关",
        "应为",
    )

    def row(self) -> tuple[str, ...]:
        return (
            self.number,
            self.card_serial,
            self.id_number,
            self.name,
            self.status,
            self.card_state,
            self.acceptance_unit,
            self.printed,
            self.correct,
        )


def produced_mismatches(*, today: datetime.date, chunk: int = 1000) -> Iterator[Mismatch]:
    """Every card made from an application whose printed 签发机关 differs from the household's
    county bureau, in 受理号 order (cards of the old register, without an application, are left
    out: who issued them then is not known here). One pass over the cards, one query per chunk."""
    from tongban.intake.models import Application
    from tongban.registry.models import Card, Unit

    names = _Names(Unit.objects)
    cards = (
        Card.objects.with_current_state(today)
        .exclude(application_number="")
        .order_by("application_number", "pk")
        .iterator(chunk_size=chunk)
    )
    while batch := list(itertools.islice(cards, chunk)):
        applications = {
            application.number: application
            for application in Application.objects.filter(
                number__in={card.application_number for card in batch}
            ).select_related("acceptance_unit")
        }
        for card in batch:
            application = applications.get(card.application_number)
            # 跨省通办 (外省户籍): the household province named its issuing bureau; none of ours.
            if (
                application is None
                or application.person_id != card.person_id
                or application.exchange == "out"
            ):
                continue
            right = names(application.household_unit_id)
            if card.issuing_authority == right:
                continue
            yield Mismatch(
                number=card.application_number,
                card_serial=card.card_serial,
                id_number=mask_id_number(application.id_number),
                name=application.name,
                status=application.get_status_display(),
                card_state=card.current_state_label,
                acceptance_unit=application.acceptance_unit.name,
                printed=card.issuing_authority,
                correct=right,
            )
