"""签发机关 written wrong before issue 12 (the county above the chain's last unit, not the
household's county bureau): the data migration's correction of applications not yet produced,
and the report of cards already produced."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.intake.models import Application
from tongban.production import services
from tongban.production.authority import correct_pending, produced_mismatches
from tongban.production.feedback import FeedbackLine
from tongban.production.models import Batch, BatchItem
from tongban.registry.models import Card

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("centre_keys")]

Status = Application.Status
RIGHT = "南昌市公安局东湖分局"
WRONG = "南昌市公安局"  # what a chain ending at the city bureau printed


def written_wrong(*applications: Application) -> None:
    Application.objects.filter(pk__in=[a.pk for a in applications]).update(issuing_authority=WRONG)


def correct() -> tuple[int, int, int]:
    counts = correct_pending(apps.get_model, now=timezone.now())
    return counts.corrected, counts.unpackaged, counts.batches_closed


def test_issued_and_open_batch_applications_are_corrected_with_an_entry(personas, issue):
    queued, batched, fine = (issue(personas.nanchang_clerk) for _ in range(3))
    operator = personas.centre_operator
    services.batch_create(actor=operator, centre=operator.unit, size=1)  # takes `queued`, the oldest
    written_wrong(queued, batched)
    assert correct() == (2, 0, 0)
    for application in (queued, batched):
        application.refresh_from_db()
        assert application.issuing_authority == RIGHT
        event = application.events.get(action="authority_corrected")
        assert event.detail == {"before": WRONG, "after": RIGHT} and "第八条" in event.note
    assert Application.objects.get(pk=queued.pk).status == Status.IN_PRODUCTION  # the batch is not packaged
    assert not Application.objects.get(pk=fine.pk).events.filter(action="authority_corrected").exists()
    assert correct() == (0, 0, 0)  # idempotent


def test_a_packaged_application_leaves_its_package_and_is_packaged_again_right(personas, issue):
    wrong, right = issue(personas.nanchang_clerk), issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )
    written_wrong(wrong)
    assert correct() == (1, 1, 0)
    wrong.refresh_from_db()
    assert wrong.status == Status.ISSUED and wrong.issuing_authority == RIGHT
    item = BatchItem.objects.get(batch=batch, application=wrong)
    assert (item.result, item.reason) == ("failed", "data_error")
    assert Batch.objects.get(pk=batch.pk).state == Batch.State.PACKAGED  # `right` still awaits feedback
    # The centre's "produced" for the withdrawn card is refused: the wrong card is never registered.
    report = services.feedback_apply(
        actor=operator,
        centre=operator.unit,
        lines=[
            FeedbackLine(1, batch.number, wrong.number or "", "produced", "CARD-W"),
            FeedbackLine(2, batch.number, right.number or "", "produced", "CARD-R"),
        ],
        source="api",
    )
    assert [r["code"] for r in report.rejected] == ["conflicting_feedback"]
    assert not Card.objects.filter(card_serial="CARD-W").exists()
    assert Batch.objects.get(pk=batch.pk).state == Batch.State.CLOSED
    again = services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )
    [card] = list(services.package_cards(again))
    assert card.issuing_authority == RIGHT


def test_a_package_left_with_nothing_pending_is_closed(personas, issue):
    application = issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )
    written_wrong(application)
    assert correct() == (1, 1, 1)
    assert Batch.objects.get(pk=batch.pk).state == Batch.State.CLOSED


def _produce(personas, issue, serial: str) -> Application:
    application = issue(personas.nanchang_clerk)
    operator = personas.centre_operator
    batch = services.batch_package(
        actor=operator, batch=services.batch_create(actor=operator, centre=operator.unit)
    )
    services.feedback_apply(
        actor=operator,
        centre=operator.unit,
        lines=[FeedbackLine(1, batch.number, application.number or "", "produced", serial)],
        source="api",
    )
    return Application.objects.get(pk=application.pk)


def test_produced_cards_are_listed_not_changed(personas, issue, tmp_path: Path):
    printed_wrong = _produce(personas, issue, "CARD-1")
    _produce(personas, issue, "CARD-2")
    Card.objects.filter(card_serial="CARD-1").update(issuing_authority=WRONG)
    written_wrong(printed_wrong)
    assert correct() == (0, 0, 0)  # produced: the record keeps what the card says
    [row] = list(produced_mismatches(today=timezone.localdate()))
    assert (row.number, row.card_serial, row.printed, row.correct) == (
        printed_wrong.number,
        "CARD-1",
        WRONG,
        RIGHT,
    )
    assert row.id_number != printed_wrong.id_number and row.id_number.endswith(printed_wrong.id_number[-4:])
    assert (row.status, row.card_state) == ("已制证", "已制证未领取")

    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "report.csv"
    call_command("production", "authority-report", "--output", str(target), stdout=out, stderr=err)
    assert json.loads(out.getvalue()) == {"cards": 1, "output": str(target)}
    with target.open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:2] == ["受理号", "卡号"] and rows[0][-2:] == ["证件签发机关", "应为"]
    assert rows[1][0] == printed_wrong.number and rows[1][-2:] == [WRONG, RIGHT]
    assert AuditEvent.objects.filter(action="production.authority_report").exists()


def test_cards_a_household_province_issued_are_not_listed(personas, issue):
    """跨省通办 (外省户籍): the other province named its issuing bureau; ours has no say."""
    made = _produce(personas, issue, "CARD-3")
    Card.objects.filter(card_serial="CARD-3").update(issuing_authority="广州市公安局天河分局")
    assert [row.card_serial for row in produced_mismatches(today=timezone.localdate())] == ["CARD-3"]
    Application.objects.filter(pk=made.pk).update(exchange="out", remote_province="44")
    assert list(produced_mismatches(today=timezone.localdate())) == []
