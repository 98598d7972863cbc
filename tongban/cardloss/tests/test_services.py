"""挂失申报, 撤销挂失, 补领 after a report, and 丢失招领 from registration to collection or destruction."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.http import Http404
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.cardloss import selectors, services
from tongban.cardloss.models import Event, FoundCard, LossReport
from tongban.core.errors import ServiceError
from tongban.intake import rules
from tongban.notifications.models import Message
from tongban.registry.models import Card, Person
from tongban.registry.selectors import person_lookup, person_record
from tongban.testing.concurrency import at_once
from tongban.testing.factories import CardFactory, PersonFactory

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


def report(clerk, person, **fields):
    values = {"channel": "in_person", "phone": "13907910000", **fields}
    return services.loss_report(actor=clerk, person=person, **values)


def entry(card: Card, **fields) -> services.FoundEntry:
    values = {
        "id_number": card.person.id_number,
        "name": card.person.name,
        "found_place": "八一广场公交站",
        "found_on": timezone.localdate(),
        "handed_in_by": "王师傅",
        **fields,
    }
    return services.FoundEntry(**values)


@pytest.fixture
def holder() -> Person:
    person = PersonFactory.create()
    CardFactory.create(
        person=person, card_serial="CS-HOLDER", valid_until=timezone.localdate().replace(year=2040)
    )
    return person


def card_of(person: Person) -> Card:
    return person.cards.order_by("-pk")[0]


# --- 挂失申报 -----------------------------------------------------------------------------------


def test_a_report_makes_the_card_lost_in_lookup_and_history(personas, holder):
    clerk = personas.ganzhou_clerk  # another city: any station of the province takes the report
    found = person_lookup(clerk, holder.id_number)
    lost = report(clerk, found, channel="phone", verification="核对了户籍地址和出生日期")
    assert card_of(holder).state == Card.State.LOST
    assert lost.unit.code == "360702001" and lost.status == LossReport.Status.OPEN
    record = person_record(personas.nanchang_clerk, holder)
    assert [card.current_state_label for card in record.cards] == ["已挂失"]
    assert list(lost.events.values_list("action", flat=True)) == ["reported"]
    assert AuditEvent.objects.filter(action="cardloss.reported", object_id=str(lost.pk)).exists()
    status = selectors.card_status(holder.id_number)
    assert (status.state, status.label, status.valid) == ("lost", "已挂失", False)
    assert status.lost_since == timezone.localdate()


def test_a_call_needs_what_the_clerk_verified_and_a_phone(personas, holder):
    with pytest.raises(ServiceError) as refused:
        report(personas.nanchang_clerk, holder, channel="phone")
    assert refused.value.fields.keys() == {"verification"}
    with pytest.raises(ServiceError) as refused:
        report(personas.nanchang_clerk, holder, phone="")
    assert refused.value.fields.keys() == {"phone"}
    assert card_of(holder).state == Card.State.ACTIVE


def test_a_second_report_and_a_person_without_a_card_are_refused(personas, holder):
    report(personas.nanchang_clerk, holder)
    with pytest.raises(ServiceError) as refused:
        report(personas.ganzhou_clerk, holder)
    assert refused.value.code == "already_reported"
    with pytest.raises(ServiceError) as refused:
        report(personas.nanchang_clerk, PersonFactory.create())
    assert refused.value.code == "no_valid_card"


def test_only_station_staff_report(personas, holder):
    for who in (personas.donghu_supervisor, personas.centre_operator):
        with pytest.raises(ServiceError) as refused:
            report(who, holder)
        assert refused.value.status == 403


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_two_clerks_reporting_at_once_make_one_report(reference_data):
    from tongban.testing.factories import UserFactory, station

    holder = PersonFactory.create()
    CardFactory.create(person=holder)
    clerks = [UserFactory.create(role="clerk", unit=station(code)) for code in ("360102001", "360702001")]
    calls = iter(clerks)

    def one() -> LossReport:
        return report(next(calls), holder)

    made, errors = at_once(one)
    assert len(made) == 1, errors
    assert [error.code for error in errors if isinstance(error, ServiceError)] == ["already_reported"]
    assert LossReport.objects.count() == 1
    assert card_of(holder).state == Card.State.LOST


# --- 撤销挂失 ------------------------------------------------------------------------------------


def test_the_reporting_unit_restores_with_a_reason(personas, holder):
    lost = report(personas.nanchang_clerk, holder)
    with pytest.raises(ServiceError) as refused:
        services.loss_restore(actor=personas.ganzhou_clerk, report=lost, reason="误报")
    assert refused.value.status == 404
    with pytest.raises(ServiceError) as refused:
        services.loss_restore(actor=personas.nanchang_clerk, report=lost, reason=" ")
    assert refused.value.fields.keys() == {"reason"}
    restored = services.loss_restore(actor=personas.nanchang_clerk, report=lost, reason="证件在家中找到")
    assert restored.status == LossReport.Status.RESTORED and restored.close_reason == "证件在家中找到"
    assert card_of(holder).state == Card.State.ACTIVE
    assert selectors.card_status(holder.id_number, "CS-HOLDER").valid
    with pytest.raises(ServiceError) as refused:
        services.loss_restore(actor=personas.nanchang_clerk, report=lost, reason="再次")
    assert refused.value.code == "not_revivable"


def test_no_restore_once_a_newer_card_exists(personas, holder):
    lost = report(personas.nanchang_clerk, holder)
    newer = card_of(holder).valid_from + datetime.timedelta(days=1)
    CardFactory.create(person=holder, state=Card.State.PRODUCED, valid_from=newer, valid_until=None)
    with pytest.raises(ServiceError) as refused:
        services.loss_restore(actor=personas.nanchang_clerk, report=lost, reason="找到了")
    assert refused.value.code == "not_revivable"
    assert "更新的证件" in refused.value.message


def test_a_replacement_takes_the_report_over(personas, holder, accept):
    clerk = personas.nanchang_clerk
    lost = report(personas.ganzhou_clerk, holder)
    application = accept(clerk, holder, rules.ApplicationType.REPLACEMENT)
    lost.refresh_from_db()
    assert lost.status == LossReport.Status.REPLACED
    assert lost.application_number == application.number
    accepted = application.events.get(action="accepted")
    assert accepted.detail == {"loss_report": lost.pk}  # no second loss: the card was lost already
    assert card_of(holder).state == Card.State.LOST
    with pytest.raises(ServiceError) as refused:
        services.loss_restore(actor=personas.ganzhou_clerk, report=lost, reason="找到了")
    assert refused.value.code == "not_revivable"


def test_a_replacement_without_a_report_still_marks_the_card_lost(personas, holder, accept):
    application = accept(personas.nanchang_clerk, holder, rules.ApplicationType.REPLACEMENT)
    card = card_of(holder)
    assert card.state == Card.State.LOST
    assert application.events.get(action="accepted").detail == {"cards_reported_lost": [card.pk]}


# --- 丢失招领 ------------------------------------------------------------------------------------


def test_a_found_lost_card_is_announced_and_collected_valid_again(personas, holder):
    lost = report(personas.ganzhou_clerk, holder, phone="13912345678")
    clerk = personas.nanchang_clerk
    found = services.found_register(actor=clerk, entry=entry(card_of(holder)))
    assert found.card_id == lost.card_id and found.owner_notified
    assert found.keep_until == timezone.localdate() + datetime.timedelta(days=90)
    (notice,) = Message.objects.filter(kind="card.found")
    assert notice.phone == "13912345678" and notice.template == "card.found"
    assert found.unit.name in notice.text and f"{found.keep_until:%Y-%m-%d}" in notice.text
    with pytest.raises(ServiceError) as refused:
        services.found_collect(
            actor=clerk,
            found=found,
            collector_name="某人",
            collector_id_number="360102199001011234",
            identity_checked=True,
        )
    assert refused.value.code == "not_owner"
    with pytest.raises(ServiceError) as refused:
        services.found_collect(
            actor=clerk,
            found=found,
            collector_name=holder.name,
            collector_id_number=holder.id_number,
            identity_checked=False,
        )
    assert refused.value.code == "identity_unchecked"
    collected = services.found_collect(
        actor=clerk,
        found=found,
        collector_name=holder.name,
        collector_id_number=holder.id_number,
        identity_checked=True,
        identity_note="核对本人相貌与证件相片一致",
    )
    assert collected.status == FoundCard.Status.RETURNED and collected.reactivated
    assert card_of(holder).state == Card.State.ACTIVE
    lost.refresh_from_db()
    assert lost.status == LossReport.Status.RECOVERED
    actions = list(Event.objects.filter(found=found).values_list("action", flat=True))
    assert actions == ["registered", "notified", "returned"]


def test_an_expired_lost_card_is_not_valid_again(personas):
    person = PersonFactory.create()
    old = timezone.localdate() - datetime.timedelta(days=3)
    CardFactory.create(person=person, valid_until=old)
    report(personas.nanchang_clerk, person)
    found = services.found_register(actor=personas.nanchang_clerk, entry=entry(card_of(person)))
    collected = services.found_collect(
        actor=personas.nanchang_clerk,
        found=found,
        collector_name=person.name,
        collector_id_number=person.id_number,
        identity_checked=True,
    )
    assert collected.status == FoundCard.Status.VOID_RETURNED and not collected.reactivated
    assert card_of(person).state == Card.State.LOST
    assert LossReport.objects.get(person=person).status == LossReport.Status.OPEN


def test_a_found_card_nobody_reported_is_kept_without_a_notice(personas, holder):
    found = services.found_register(actor=personas.nanchang_clerk, entry=entry(card_of(holder)))
    assert found.card_id == card_of(holder).pk and not found.owner_notified
    assert not Message.objects.filter(kind="card.found").exists()
    stranger = services.found_register(
        actor=personas.nanchang_clerk, entry=entry(card_of(holder), id_number="11010519491231002X")
    )
    assert stranger.card_id is None


def test_destruction_after_the_keeping_days(personas, holder, settings):
    settings.FOUND_CARD_KEEP_DAYS = 30
    clerk = personas.nanchang_clerk
    found = services.found_register(actor=clerk, entry=entry(card_of(holder)))
    assert found.keep_until == timezone.localdate() + datetime.timedelta(days=30)
    with pytest.raises(ServiceError) as refused:
        services.found_destroy(actor=clerk, found=found, witness="李警官")
    assert refused.value.code == "not_due"
    later = found.keep_until + datetime.timedelta(days=1)
    assert services.found_due_mark(today=found.keep_until) == 0
    assert services.found_due_mark(today=later) == 1
    assert services.found_due_mark(today=later) == 0  # marked once
    FoundCard.objects.filter(pk=found.pk).update(keep_until=timezone.localdate() - datetime.timedelta(days=1))
    assert [row.pk for row in selectors.found_page(clerk, "due").rows] == [found.pk]
    assert selectors.found_page(clerk, "waiting").rows == []
    with pytest.raises(ServiceError) as refused:
        services.found_destroy(actor=clerk, found=found, witness="")
    assert refused.value.fields.keys() == {"witness"}
    destroyed = services.found_destroy(actor=clerk, found=found, witness="李警官", note="碎纸机销毁")
    assert destroyed.status == FoundCard.Status.DESTROYED and destroyed.witness == "李警官"
    assert destroyed.closed_by == clerk and destroyed.closed_at is not None
    assert list(destroyed.events.values_list("action", flat=True)) == ["registered", "due", "destroyed"]


def test_records_belong_to_their_unit(personas, holder):
    lost = report(personas.nanchang_clerk, holder)
    found = services.found_register(actor=personas.nanchang_clerk, entry=entry(card_of(holder)))
    for outsider in (personas.ganzhou_clerk,):
        with pytest.raises(Http404):
            selectors.report_get(outsider, lost.pk)
        with pytest.raises(Http404):
            selectors.found_get(outsider, found.pk)
        assert selectors.reports_page(outsider, "open").rows == []
        with pytest.raises(ServiceError) as refused:
            services.found_collect(
                actor=outsider,
                found=found,
                collector_name=holder.name,
                collector_id_number=holder.id_number,
                identity_checked=True,
            )
        assert refused.value.status == 404
    for above in (personas.donghu_supervisor, personas.nanchang_supervisor, personas.province_supervisor):
        assert selectors.report_get(above, lost.pk) == lost
        assert [row.pk for row in selectors.found_page(above, "waiting").rows] == [found.pk]


def test_card_status_without_a_match_is_unknown(personas, holder):
    assert selectors.card_status("not a number").state == "unknown"
    assert selectors.card_status(holder.id_number, "CS-OTHER").state == "unknown"
    status = selectors.card_status(holder.id_number, "CS-HOLDER")
    assert (status.state, status.valid) == ("active", True)
