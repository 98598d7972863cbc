"""收支两条线 (daily remittance to the treasury) and the settlement of free first cards."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.finance import rules, services
from tongban.finance.models import Payment, Refund, Remittance, SettlementRate
from tongban.registry.models import Unit
from tongban.testing.factories import PersonFactory, station

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def charge(actor, code: str, day: datetime.date, amount: str, item: str = "renewal") -> Payment:
    payment = services.fee_charge(
        actor=actor,
        unit=station(code),
        person=PersonFactory.create(),
        application_number=f"{code}{day:%Y%m%d}{next(_numbers):05d}",
        item=item,
        amount=Decimal(amount),
    )
    Payment.objects.filter(pk=payment.pk).update(charged_at=at(day))
    payment.refresh_from_db()
    return payment


def refund(actor, payment: Payment, day: datetime.date) -> Refund:
    made = services.fee_refund(actor=actor, application_number=payment.application_number, reason="撤回")
    assert made is not None
    Refund.objects.filter(pk=made.pk).update(refunded_at=at(day, 15))
    return made


@pytest.fixture
def takings(personas, days):
    """Two stations of 东湖分局 over two days, with one refund, and one Ganzhou payment."""
    d1, d2, today = days
    clerk = personas.nanchang_clerk
    first = charge(clerk, "360102001", d1, "20")
    charge(clerk, "360102001", d1, "40")
    charge(clerk, "360102001", d1, "0", item="first")  # free: not money
    charge(clerk, "360102002", d1, "20")
    charge(clerk, "360102001", d2, "20")
    refund(clerk, first, d2)  # given back on d2: comes off d2's takings
    charge(clerk, "360102001", today, "40")  # today is not closed yet
    charge(personas.ganzhou_clerk, "360702001", d1, "20")
    return first


def summary(rows):
    return {(row.unit.code, row.day): (row.payments, row.refunds, row.amount) for row in rows}


def test_unremitted_days_add_up_the_rows(personas, days, takings):
    d1, _d2, _today = days
    rows = services.unremitted(Unit.objects.get(code="360102"))
    assert summary(rows) == {
        ("360102001", d1): (2, 0, Decimal("60")),
        ("360102002", d1): (1, 0, Decimal("20")),
    }  # 360102001 on d2: 20 taken, 20 given back: nothing to pay over
    assert ("360702001", d1) in summary(services.unremitted(Unit.objects.get(code="36")))


def test_a_refund_comes_off_the_day_it_was_paid(personas, days, takings):
    _d1, d2, _today = days
    charge(personas.nanchang_clerk, "360102001", d2, "40")
    rows = summary(services.unremitted(station("360102001")))
    assert rows[("360102001", d2)] == (2, 1, Decimal("40"))


def test_recording_a_remittance_computes_the_amount(personas, days, takings):
    d1, _d2, _today = days
    remittance = services.remittance_record(
        actor=personas.finance, unit=station("360102001"), day=d1, treasury_reference=" 缴2026-0001 "
    )
    assert remittance.amount == Decimal("60") and remittance.payments == 2 and remittance.refunds == 0
    assert remittance.treasury_reference == "缴2026-0001" and remittance.remitted_by == personas.finance
    event = AuditEvent.objects.get(action="fee.remitted", object_id=str(remittance.pk))
    assert event.detail["amount"] == "60.00"
    assert summary(services.unremitted(Unit.objects.get(code="360102"))) == {
        ("360102002", d1): (1, 0, Decimal("20")),
    }


def test_a_day_is_remitted_once(personas, days, takings):
    d1, _d2, _today = days
    services.remittance_record(
        actor=personas.finance, unit=station("360102001"), day=d1, treasury_reference="A1"
    )
    with pytest.raises(ServiceError) as refused:
        services.remittance_record(
            actor=personas.finance, unit=station("360102001"), day=d1, treasury_reference="A2"
        )
    assert refused.value.code == "already_remitted" and refused.value.status == 409
    assert Remittance.objects.count() == 1


@pytest.mark.parametrize("offset", [0, -1])
def test_today_and_the_future_are_refused(personas, days, takings, offset):
    _d1, _d2, today = days
    with pytest.raises(ServiceError) as refused:
        services.remittance_record(
            actor=personas.finance,
            unit=station("360102001"),
            day=today - datetime.timedelta(days=offset),
            treasury_reference="A1",
        )
    assert refused.value.code == "day_not_closed"


def test_a_day_with_nothing_to_remit_is_refused(personas, days, takings):
    _d1, d2, _today = days
    for day in (d2, d2 - datetime.timedelta(days=30)):
        with pytest.raises(ServiceError) as refused:
            services.remittance_record(
                actor=personas.finance, unit=station("360102001"), day=day, treasury_reference="A1"
            )
        assert refused.value.code == "nothing_to_remit"


def test_remittance_is_scoped_to_the_officers_subtree(personas, days, takings):
    d1, _d2, _today = days
    for actor, code in (
        (personas.finance, "360702001"),  # Ganzhou: outside 东湖分局
        (personas.nanchang_clerk, "360102001"),  # not a finance officer
    ):
        with pytest.raises(ServiceError) as refused:
            services.remittance_record(actor=actor, unit=station(code), day=d1, treasury_reference="A1")
        assert refused.value.status == 403
    assert not Remittance.objects.exists()


# ---------------------------------------------------------------------------------------------
# Settlement


def test_rate_on_picks_the_rate_in_force():
    old = rules.Rate(datetime.date(2018, 4, 1), Decimal("17"), Decimal("13"), Decimal("4"))
    new = rules.Rate(datetime.date(2026, 7, 1), Decimal("20"), Decimal("15"), Decimal("5"))
    assert rules.rate_on([new, old], datetime.date(2026, 6, 30)) == old
    assert rules.rate_on([new, old], datetime.date(2026, 7, 1)) == new
    with pytest.raises(ValueError):
        rules.rate_on([old], datetime.date(2018, 3, 31))


def test_the_seeded_rate_is_17_yuan():
    rate = SettlementRate.objects.get(effective_from=datetime.date(2018, 4, 1))
    assert (rate.amount, rate.central, rate.provincial) == (Decimal("17"), Decimal("13"), Decimal("4"))


def test_three_free_first_cards_in_a_county_settle_51_yuan(personas):
    day = datetime.date(2026, 3, 10)
    clerk = personas.nanchang_clerk
    for code in ("360102001", "360102001", "360102002"):
        charge(clerk, code, day, "0", item="first")
    charge(clerk, "360102001", day, "20")  # a renewal: not settled
    charge(clerk, "360102001", datetime.date(2026, 4, 1), "0", item="first")  # after the period
    charge(personas.ganzhou_clerk, "360702001", day, "0", item="first")
    result = services.settlement(
        Unit.objects.get(code="36"), datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)
    )
    counties = {figure.unit.code: (figure.count, figure.amount) for figure in result.counties}
    assert counties == {"360102": (3, Decimal("51")), "360702": (1, Decimal("17"))}
    cities = {figure.unit.code: figure.count for figure in result.cities}
    assert cities == {"3601": 3, "3607": 1}
    assert (result.total.count, result.total.amount) == (4, Decimal("68"))
    assert (result.total.central, result.total.provincial) == (Decimal("52"), Decimal("16"))


def test_a_rate_change_applies_from_its_date(personas):
    SettlementRate.objects.create(
        effective_from=datetime.date(2026, 3, 15),
        amount=Decimal("20"),
        central=Decimal("15"),
        provincial=Decimal("5"),
    )
    clerk = personas.nanchang_clerk
    charge(clerk, "360102001", datetime.date(2026, 3, 14), "0", item="first")
    charge(clerk, "360102001", datetime.date(2026, 3, 15), "0", item="first")
    result = services.settlement(
        Unit.objects.get(code="360102"), datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)
    )
    assert (result.total.count, result.total.amount) == (2, Decimal("37"))
    assert (result.total.central, result.total.provincial) == (Decimal("28"), Decimal("9"))


def test_the_lines_behind_a_figure(personas):
    clerk = personas.nanchang_clerk
    one = charge(clerk, "360102001", datetime.date(2026, 3, 10), "0", item="first")
    two = charge(clerk, "360102002", datetime.date(2026, 3, 11), "0", item="first")
    charge(personas.ganzhou_clerk, "360702001", datetime.date(2026, 3, 10), "0", item="first")
    province = Unit.objects.get(code="36")
    start, end = datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)
    lines = services.settlement_lines(province, start, end, within=Unit.objects.get(code="360102"))
    assert [(line.application_number, line.station.code, line.day) for line in lines] == [
        (one.application_number, "360102001", datetime.date(2026, 3, 10)),
        (two.application_number, "360102002", datetime.date(2026, 3, 11)),
    ]
    county = next(f for f in services.settlement(province, start, end).counties if f.unit.code == "360102")
    assert [line.application_number for line in county.lines] == [line.application_number for line in lines]
    # a county officer cannot look outside their subtree
    assert services.settlement_lines(Unit.objects.get(code="360102"), start, end, within=province) == []


def test_a_withdrawn_or_refused_free_application_is_not_settled(personas):
    day = datetime.date(2026, 3, 10)
    kept = charge(personas.nanchang_clerk, "360102001", day, "0", item="first")
    dropped = charge(personas.nanchang_clerk, "360102001", day, "0", item="first")
    assert (
        services.fee_refund(actor=None, application_number=dropped.application_number, reason="撤销") is None
    )
    dropped.refresh_from_db()
    assert dropped.voided_at is not None and not Refund.objects.exists()
    lines = services.settlement_lines(Unit.objects.get(code="36"), day, day)
    assert [line.application_number for line in lines] == [kept.application_number]
