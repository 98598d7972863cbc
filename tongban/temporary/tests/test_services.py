"""The services of 临时居民身份证: acceptance and its refusals, 签发, printing, handing out,
return and voiding, with their events, audit rows, fees and notices."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.http import Http404
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.finance.models import Payment, Refund
from tongban.intake import services as intake
from tongban.intake.models import Application
from tongban.intake.rules import ApplicationType
from tongban.notifications.models import Message
from tongban.temporary import rules, selectors, services
from tongban.temporary.models import TemporaryCard
from tongban.testing.concurrency import at_once
from tongban.testing.factories import PersonFactory, UserFactory, station

pytestmark = pytest.mark.django_db
State = TemporaryCard.State


def accept(personas, person, **kw):
    return services.temporary_accept(actor=personas.nanchang_clerk, person=person, **kw)


def test_accept_takes_the_application_photo_and_charges_ten_yuan(personas, applied, person):
    card = accept(personas, person, phone="13900139000")
    assert card.state == State.PENDING
    assert card.application == applied
    assert card.number.startswith("L360102001") and len(card.number) == 22
    assert card.issuing_unit.code == "360102"  # the county bureau above the station
    assert card.photo_source == TemporaryCard.PhotoSource.APPLICATION
    assert bytes(card.photo) == bytes(applied.photo)
    assert (card.name, card.id_number, card.sex) == (person.name, person.id_number, "女")
    payment = Payment.objects.get(application_number=card.number)
    assert (payment.item, payment.amount, payment.receipt_number) == (
        "temporary",
        Decimal("10"),
        card.receipt_number,
    )
    assert card.due > timezone.localdate()  # three working days on
    assert list(card.events.values_list("action", flat=True)) == ["accepted"]
    assert AuditEvent.objects.filter(action="temporary.accepted", object_id=str(card.pk)).exists()
    arrived = Message.objects.get(template="temporary.arrived")
    assert arrived.unit_code == "360102" and card.number in arrived.text


def test_a_waived_fee_needs_its_evidence(personas, applied, person):
    with pytest.raises(ServiceError) as refused:
        accept(personas, person, waived=True)
    assert refused.value.code == "waiver_evidence_required"
    assert not TemporaryCard.objects.exists()
    card = accept(personas, person, waived=True, waiver_evidence="低保证 36010200123")
    payment = Payment.objects.get(application_number=card.number)
    assert (payment.amount, payment.waived) == (Decimal("0"), True)


def test_a_new_photo_is_checked_by_the_standard(personas, applied, person, standard_photo):
    card = accept(personas, person, photo=standard_photo)
    assert card.photo_source == TemporaryCard.PhotoSource.NEW
    services.temporary_void(actor=personas.nanchang_clerk, card=card, reason="不再需要")
    with pytest.raises(ServiceError) as refused:
        accept(personas, person, photo=b"not an image")
    assert refused.value.code in {"photo_rejected", "bad_image"} and "photo" in refused.value.fields


def test_refused_without_a_formal_application_in_progress(personas, person, accept):
    with pytest.raises(ServiceError) as refused:
        services.temporary_accept(actor=personas.nanchang_clerk, person=person)
    assert refused.value.code == "no_pending_application"
    # A draft is no application yet.
    intake.application_start(
        actor=personas.nanchang_clerk, person=person, application_type=ApplicationType.FIRST, reason_code="12"
    )
    with pytest.raises(ServiceError) as refused:
        services.temporary_accept(actor=personas.nanchang_clerk, person=person)
    assert refused.value.code == "no_pending_application"


def test_refused_after_the_formal_card_is_collected(personas, applied, person):
    Application.objects.filter(pk=applied.pk).update(status=Application.Status.HANDED_OVER)
    with pytest.raises(ServiceError) as refused:
        accept(personas, person)
    assert refused.value.code == "no_pending_application"


def test_one_card_in_force_per_person(personas, applied, person):
    first = accept(personas, person)
    with pytest.raises(ServiceError) as refused:
        accept(personas, person)
    assert refused.value.code == "temporary_in_force" and first.number in refused.value.message
    services.temporary_void(actor=personas.nanchang_clerk, card=first, reason="申请人不再需要")
    assert accept(personas, person).state == State.PENDING


def test_only_a_station_clerk_accepts(personas, applied, person):
    for actor in (personas.donghu_supervisor, personas.nanchang_distributor):
        with pytest.raises(ServiceError) as refused:
            services.temporary_accept(actor=actor, person=person)
        assert refused.value.status == 403


def test_issue_print_hand_out_and_return(personas, applied, person, county_reviewer):
    clerk = personas.nanchang_clerk
    card = accept(personas, person, phone="13900139000")
    # The station's own reviewer and another county's do not issue: the county bureau does.
    for outsider in (personas.nanchang_reviewer, UserFactory.create(role="reviewer", unit=station("360702"))):
        with pytest.raises(ServiceError) as refused:
            services.temporary_issue(actor=outsider, card=card)
        assert refused.value.status == 404
    card = services.temporary_issue(actor=county_reviewer, card=card)
    today = timezone.localdate()
    assert card.state == State.ISSUED
    assert (card.valid_from, card.valid_until) == (today, rules.validity(today).end)
    assert card.issuing_authority == "南昌市公安局东湖分局"
    issued = Message.objects.get(template="temporary.issued")
    assert issued.phone == "13900139000" and card.number in issued.text
    with pytest.raises(ServiceError) as refused:
        services.temporary_issue(actor=county_reviewer, card=card)
    assert refused.value.code == "bad_state"
    with pytest.raises(ServiceError) as refused:
        services.temporary_hand_out(actor=clerk, card=card)
    assert refused.value.code == "not_printed"
    services.temporary_print(actor=clerk, card=card)
    card = services.temporary_hand_out(actor=clerk, card=card)
    assert card.state == State.HANDED_OUT and card.handed_out_by == clerk
    card = services.temporary_return(actor=clerk, card=card)
    assert card.state == State.RETURNED
    actions = list(card.events.values_list("action", flat=True))
    assert actions == ["accepted", "issued", "printed", "handed_out", "returned"]
    audited = set(AuditEvent.objects.filter(object_id=str(card.pk)).values_list("action", flat=True))
    assert {"temporary.issued", "temporary.printed", "temporary.handed_out", "temporary.returned"} <= audited


def test_refusal_needs_a_reason_and_gives_the_fee_back(personas, applied, person, county_reviewer):
    card = accept(personas, person, phone="13900139000")
    with pytest.raises(ServiceError) as refused:
        services.temporary_refuse(actor=county_reviewer, card=card, reason="  ")
    assert refused.value.code == "reason_required" and "reason" in refused.value.fields
    card = services.temporary_refuse(actor=county_reviewer, card=card, reason="申请人身份存疑")
    assert card.state == State.REFUSED
    assert Refund.objects.get(payment__application_number=card.number).amount == Decimal("10")
    assert "申请人身份存疑" in Message.objects.get(template="temporary.refused").text
    # Refused is not in force: another may be applied for.
    assert accept(personas, person).state == State.PENDING


def test_expired_is_derived_and_owed_back(personas, applied, person, county_reviewer):
    clerk = personas.nanchang_clerk
    card = services.temporary_issue(actor=county_reviewer, card=accept(personas, person))
    services.temporary_print(actor=clerk, card=card)
    card = services.temporary_hand_out(actor=clerk, card=card)
    assert selectors.unreturned(clerk) == []
    ended = timezone.localdate() - datetime.timedelta(days=1)
    TemporaryCard.objects.filter(pk=card.pk).update(valid_until=ended)
    shown = selectors.card_get(clerk, card.pk)
    assert shown.current_state_label == "已过期" and shown.state == State.HANDED_OUT
    assert list(selectors.register(clerk, selectors.Filters(state=rules.EXPIRED))) == [shown]
    assert not selectors.register(clerk, selectors.Filters(state=rules.HANDED_OUT)).exists()
    (owed,) = selectors.unreturned(clerk)
    assert owed.card.pk == card.pk and owed.due == timezone.localdate() and owed.reason == "已过期未交回"
    # An expired card not returned blocks another until it is taken back.
    with pytest.raises(ServiceError) as refused:
        accept(personas, person)
    assert refused.value.code == "temporary_in_force" and "已过期" in refused.value.message


def test_owed_back_at_once_when_the_formal_application_is_withdrawn(
    personas, applied, person, county_reviewer
):
    clerk = personas.nanchang_clerk
    card = services.temporary_issue(actor=county_reviewer, card=accept(personas, person))
    services.temporary_print(actor=clerk, card=card)
    services.temporary_hand_out(actor=clerk, card=card)
    assert selectors.unreturned(clerk) == []
    intake.application_withdraw(actor=clerk, application=applied, reason="申请人不再办理")
    (owed,) = selectors.unreturned(clerk)
    assert owed.card.pk == card.pk and owed.due == timezone.localdate()
    assert owed.reason == "居民身份证申领已撤销"


def test_scope(personas, applied, person):
    card = accept(personas, person)
    assert selectors.card_get(personas.nanchang_clerk, card.pk) == card
    assert selectors.card_get(personas.nanchang_supervisor, card.pk) == card
    for outsider in (personas.ganzhou_clerk, personas.finance):
        with pytest.raises(Http404):
            selectors.card_get(outsider, card.pk)
    other = PersonFactory.create()
    assert not TemporaryCard.objects.filter(person=other).exists()


AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_clerks_at_once_make_one_card(reference_data, standard_photo, accept):
    """Two clerks of the station apply for one person at the same moment: one card, one refusal."""
    from tongban.testing.personas import make_personas

    personas = make_personas()
    person = PersonFactory.create()
    accept(personas.nanchang_clerk, person)
    clerks = iter([personas.nanchang_clerk, UserFactory.create(role="clerk", unit=station("360102001"))])
    made, errors = at_once(lambda: services.temporary_accept(actor=next(clerks), person=person))
    assert len(made) == 1, errors
    assert [getattr(error, "code", error) for error in errors] == ["temporary_in_force"]
    assert TemporaryCard.objects.filter(person=person).count() == 1
    assert Payment.objects.filter(item="temporary").count() == 1
