"""The generated application history keeps the invariants the services keep."""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Max

from tongban.accounts.models import User
from tongban.audit.actions import EventAction
from tongban.biometrics.photo import chip_photo
from tongban.core.dates import age_on
from tongban.demo.history import HistoryCounts, generate_history, replicate_history
from tongban.finance.models import Payment, ReceiptCounter, Refund
from tongban.handover.models import Handover, Verification
from tongban.intake import rules
from tongban.intake.models import AcceptanceCounter, Application, ApplicationEvent
from tongban.intake.rules import DEFAULT_FEES, FeeItem
from tongban.production.package import CardImages
from tongban.registry.authority import issuing_authority
from tongban.registry.models import ApplicationReason, Card, Person

pytestmark = pytest.mark.django_db
Status = Application.Status


@pytest.fixture
def history(db: None) -> HistoryCounts:
    return generate_history(applications=600, days=60, seed=11)


def test_counts_are_the_rows(history: HistoryCounts) -> None:
    assert history.applications == Application.objects.count() == 600
    assert history.events == ApplicationEvent.objects.count()
    assert history.payments == Payment.objects.count() == 600
    assert history.refunds == Refund.objects.count()
    assert history.handovers == Handover.objects.count()
    assert history.verifications == Verification.objects.count()
    statuses = Counter(Application.objects.values_list("status", flat=True))
    for status in (
        Status.PENDING_REVIEW,
        Status.ISSUED,
        Status.REJECTED,
        Status.HANDED_OVER,
        Status.VERIFIED,
    ):
        assert statuses[status] > 0, status


def test_events_tell_the_story(history: HistoryCounts) -> None:
    last = dict(
        ApplicationEvent.objects.values("application").annotate(m=Max("at")).values_list("application", "m")
    )
    events: dict[int, list[ApplicationEvent]] = {}
    for event in ApplicationEvent.objects.order_by("application", "at", "pk"):
        events.setdefault(event.application_id, []).append(event)
    for application in Application.objects.all():
        assert application.last_event_at == last[application.pk]
        chain = events[application.pk]
        assert chain[0].action == "created"
        assert chain[-1].to_status == application.status
        for before, after in itertools.pairwise(chain):
            assert after.from_status == before.to_status, (application.number, before.action, after.action)
        assert application.accepted_at is not None and application.review_due is not None
        if application.status in (Status.REJECTED, Status.WITHDRAWN, Status.HANDED_OVER, Status.VERIFIED):
            assert application.closed_at is not None
        if application.status == Status.REJECTED:
            reason = application.refusal_code
            assert reason is not None and application.refusal_remark
            assert application.refusal_reason == f"{reason.name}：{application.refusal_remark}"
            assert chain[-1].note == application.refusal_reason


def test_numbers_fees_and_counters(history: HistoryCounts) -> None:
    numbers = [
        (n or "", code, at)
        for n, code, at in Application.objects.values_list("number", "acceptance_unit__code", "accepted_at")
    ]
    assert len({n for n, *_ in numbers}) == len(numbers)
    for number, station, _ in numbers:
        assert len(number) == 22 and number.startswith(station)
    for counter in AcceptanceCounter.objects.select_related("station"):
        prefix = f"{counter.station.code}{counter.day:%Y%m%d}"
        used = [int(n[-5:]) for n, *_ in numbers if n.startswith(prefix)]
        assert max(used) == counter.last
    payments = {p.application_number: p for p in Payment.objects.select_related("unit")}
    for application in Application.objects.all():
        payment = payments[application.number or ""]
        assert payment.amount == application.fee_amount
        expected = Decimal(0) if application.fee_waived else DEFAULT_FEES[FeeItem(application.fee_item)]
        assert payment.amount == expected
        assert payment.receipt_number.startswith(payment.unit.code)
        closed = application.status in (Status.REJECTED, Status.WITHDRAWN)
        refund = Refund.objects.filter(payment=payment).first()
        assert (refund is not None) == (closed and payment.amount > 0)
        assert (payment.voided_at is not None) == (closed and payment.amount == 0)
    for receipts in ReceiptCounter.objects.select_related("unit"):
        prefix = f"{receipts.unit.code}{receipts.year:04d}"
        assert (
            max(int(p.receipt_number[-6:]) for p in payments.values() if p.receipt_number.startswith(prefix))
            == receipts.last
        )


def test_cards_handovers_and_verifications(history: HistoryCounts) -> None:
    active = Counter(Card.objects.filter(state=Card.State.ACTIVE).values_list("person", flat=True))
    assert max(active.values()) == 1
    handed = Application.objects.filter(
        status__in=(Status.HANDED_OVER, Status.PENDING_VERIFICATION, Status.VERIFIED)
    )
    assert handed.count() == Handover.objects.count() > 0
    for application in handed.select_related("handover__card"):
        card = application.handover.card
        assert card.state == Card.State.ACTIVE and card.application_number == application.number
    owed = Application.objects.filter(status__in=(Status.PENDING_VERIFICATION, Status.VERIFIED))
    assert owed.count() == Verification.objects.count()
    for verification in Verification.objects.select_related("application"):
        assert (verification.verified_at is not None) == (verification.application.status == Status.VERIFIED)
    waiting = Application.objects.filter(status__in=(Status.PRODUCED, Status.SHIPPED, Status.AT_SITE))
    for application in waiting:
        assert (
            Card.objects.filter(application_number=application.number, state=Card.State.PRODUCED).count() == 1
        )


def test_type_reason_age_and_issuing_authority_are_consistent(history: HistoryCounts) -> None:
    """What the counter and review would have written: the reason fits the type and the age on
    the acceptance day, a renewal's card has expired, and 签发机关 is the household's county."""
    zone = ZoneInfo(settings.TIME_ZONE)
    kinds = dict(ApplicationReason.objects.values_list("code", "kind"))
    renewals = 0
    for application in Application.objects.select_related("household_unit", "reason"):
        assert application.accepted_at is not None
        accepted_on = application.accepted_at.astimezone(zone).date()
        # The card the applicant held on the acceptance day: the one the history did not make.
        old = Card.objects.filter(person_id=application.person_id, application_number="").first()
        problem = rules.reason_problem(
            rules.ApplicationType(application.type),
            reason_code=application.reason_id,
            reason_kind=kinds[application.reason_id],
            reason_label=application.reason_id,
            birth_date=application.birth_date,
            on=accepted_on,
            held_card=rules.HeldCard(old.valid_until) if old is not None else None,
            cross_region=application.cross_region,
        )
        assert problem is None, (application.number, problem)
        if application.type == "renewal":
            renewals += 1
            old = Card.objects.filter(person_id=application.person_id, application_number="").get()
            assert old.valid_until is not None and old.valid_until < accepted_on
            assert rules.validity_years(age_on(application.birth_date, old.valid_from)) == (
                old.valid_until.year - old.valid_from.year
            )
        if application.issuing_authority:
            assert application.issuing_authority == issuing_authority(application.household_unit)
    assert renewals > 0
    for card in Card.objects.exclude(application_number=""):
        household = Application.objects.get(number=card.application_number).household_unit
        assert card.issuing_authority == issuing_authority(household)
    assert not Person.objects.filter(address__contains="公安局").exists()
    # The clerks and reviewers the history is attributed to have names to print (受理人, 收费人).
    assert not User.objects.filter(username__startswith="hist-", last_name="").exists()


def test_generating_again_continues_the_sequences(history: HistoryCounts) -> None:
    more = generate_history(applications=50, days=5, seed=12)
    assert more.applications == 50
    assert Application.objects.values("number").distinct().count() == 650
    assert Payment.objects.values("receipt_number").distinct().count() == 650


@pytest.mark.skipif(connection.vendor != "postgresql", reason="replicate_history is PostgreSQL's")
def test_replicated_history_is_copies_with_their_own_keys_and_numbers(db: None) -> None:
    original = generate_history(applications=200, days=30, seed=5, key_stride=3)
    statuses = Counter(Application.objects.values_list("status", flat=True))
    copied = replicate_history(3)
    assert copied.applications == 3 * original.applications == Application.objects.count()
    assert copied.events == 3 * original.events
    assert copied.handovers == 3 * original.handovers == Handover.objects.count()
    assert Counter(Application.objects.values_list("status", flat=True)) == Counter(
        {status: 3 * n for status, n in statuses.items()}
    )
    numbers = [n for n in Application.objects.values_list("number", flat=True) if n]
    assert len(set(numbers)) == len(numbers)
    assert set(Payment.objects.values_list("application_number", flat=True)) == set(numbers)
    # Every copy hangs together: events, payments, cards and handovers of its own application.
    for application in Application.objects.order_by("?")[:30]:
        assert application.last_event_at == application.events.aggregate(m=Max("at"))["m"]
        assert Payment.objects.get(application_number=application.number).person_id == application.person_id
        handover = Handover.objects.filter(application=application).select_related("card").first()
        if handover is not None:
            assert handover.card.application_number == application.number
    # The counters stand at the largest sequences used: the next acceptance continues them.
    for counter in AcceptanceCounter.objects.all()[:50]:
        used = [
            int(n[-5:])
            for n in numbers
            if n[9:17] == f"{counter.day:%Y%m%d}" and n.startswith(counter.station.code)
        ]
        assert counter.last == max(used)
    serials = [s for s in Card.objects.values_list("card_serial", flat=True) if s]
    assert len(set(serials)) == len(serials)


def test_every_generated_event_has_a_chinese_label(history: HistoryCounts) -> None:
    # The demo history writes its events in bulk, past the services the label test reads.
    actions = set(ApplicationEvent.objects.values_list("action", flat=True).distinct())
    assert {"created", "issued", "handed_over"} <= actions
    assert actions <= set(EventAction.values), actions - set(EventAction.values)


def test_the_photo_comes_with_its_production_segment_as_the_counter_keeps_them(
    db: None, standard_photo: bytes
) -> None:
    generate_history(applications=20, days=5, seed=3, photo=standard_photo)
    kept = {
        (a.photo, CardImages.from_record(bytes(a.card_images or b""), a.card_images_key or b"").open())
        for a in Application.objects.only("photo", "card_images", "card_images_key")
    }
    assert kept == {(standard_photo, (standard_photo, chip_photo(standard_photo)))}
