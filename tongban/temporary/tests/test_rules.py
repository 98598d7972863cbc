"""The pure rules of 临时居民身份证: no database."""

from __future__ import annotations

import datetime

import pytest

from tongban.temporary import rules

D = datetime.date


@pytest.mark.parametrize(
    ("issued", "end"),
    [
        (D(2026, 12, 7), D(2027, 3, 6)),
        (D(2026, 11, 30), D(2027, 2, 27)),  # no 30 February: the month's last day less one
        (D(2027, 1, 1), D(2027, 3, 31)),
        (D(2027, 12, 31), D(2028, 3, 30)),
    ],
)
def test_valid_three_months_less_a_day(issued, end):
    validity = rules.validity(issued)
    assert (validity.start, validity.end) == (issued, end)
    assert validity.label == f"{issued:%Y.%m.%d}-{end:%Y.%m.%d}"


def test_expired_is_derived_from_the_end_date_for_a_card_in_hand():
    end = D(2027, 3, 6)
    assert rules.current_state(rules.HANDED_OUT, end, end) == rules.HANDED_OUT
    assert rules.current_state(rules.HANDED_OUT, end, end + datetime.timedelta(days=1)) == rules.EXPIRED
    # Returned or voided cards keep their state whatever the date.
    assert rules.current_state(rules.RETURNED, end, D(2030, 1, 1)) == rules.RETURNED
    assert rules.current_state(rules.PENDING, None, D(2030, 1, 1)) == rules.PENDING


def test_card_number():
    assert rules.card_number("360102001", D(2026, 12, 7), 12) == "L360102001202612070012"
    assert len(rules.card_number("360102001", D(2026, 12, 7), 9999)) == 22
    with pytest.raises(ValueError, match="9 digits"):
        rules.card_number("3601", D(2026, 12, 7), 1)
    with pytest.raises(ValueError, match="out of range"):
        rules.card_number("360102001", D(2026, 12, 7), 10000)


def test_owed_from_the_formal_handover_or_the_day_after_the_end():
    end = D(2027, 3, 6)
    assert rules.return_due(formal_collected_on=None, valid_until=end) == D(2027, 3, 7)
    assert rules.return_due(formal_collected_on=D(2027, 1, 10), valid_until=end) == D(2027, 1, 10)
    assert rules.return_due(formal_collected_on=None, valid_until=None) is None
    # The formal application withdrawn or refused: owed from that day, if earlier.
    assert rules.return_due(formal_collected_on=None, valid_until=end, formal_closed_on=D(2027, 1, 4)) == D(
        2027, 1, 4
    )
