"""The counter's rules, without a database."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.core.dates import add_years, age_on
from tongban.intake.rules import (
    CARD_HISTORY_ELSEWHERE,
    Applicant,
    ApplicationType,
    FeeItem,
    GuardianshipCase,
    HeldCard,
    age_reason,
    eligibility,
    fee_for,
    materials,
    missing,
    needs_guardian_photo,
    proposal,
    reason_problem,
    validity_period,
    validity_years,
)

D = datetime.date


@pytest.mark.parametrize(
    ("age", "years"), [(0, 5), (15, 5), (16, 10), (25, 10), (26, 20), (45, 20), (46, None), (90, None)]
)
def test_validity_years_by_age(age: int, years: int | None) -> None:
    assert validity_years(age) == years


def test_leap_day_birthdays_age_on_the_first_of_march() -> None:
    born = D(2008, 2, 29)
    assert age_on(born, D(2024, 2, 28)) == 15
    assert age_on(born, D(2024, 2, 29)) == 16
    assert age_on(born, D(2025, 2, 28)) == 16
    assert age_on(born, D(2026, 2, 28)) == 17
    assert age_on(D(2010, 2, 28), D(2026, 2, 28)) == 16


def test_validity_period_counts_from_the_issue_date() -> None:
    period = validity_period(D(2010, 3, 1), issue_date=D(2026, 3, 5), age_date=D(2026, 3, 5))
    assert (period.start, period.end, period.label) == (D(2026, 3, 5), D(2036, 3, 5), "2026.03.05-2036.03.05")
    assert (
        validity_period(D(1970, 1, 1), issue_date=D(2026, 3, 5), age_date=D(2026, 3, 5)).label
        == "2026.03.05-长期"
    )
    # A card issued on 29 February ends on 1 March of a common year (10 years: 2038).
    leap = validity_period(D(2010, 1, 1), issue_date=D(2028, 2, 29), age_date=D(2028, 2, 29))
    assert leap.end == D(2038, 3, 1)


def test_which_date_fixes_the_age_is_configurable() -> None:
    born = D(2010, 11, 25)  # 15 at acceptance on 2026-11-20, 16 at issue on 2026-11-26
    by_acceptance = validity_period(born, issue_date=D(2026, 11, 26), age_date=D(2026, 11, 20))
    by_issue = validity_period(born, issue_date=D(2026, 11, 26), age_date=D(2026, 11, 26))
    assert (by_acceptance.end, by_issue.end) == (D(2031, 11, 26), D(2036, 11, 26))


@given(
    st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)), st.integers(min_value=-100, max_value=100)
)
def test_add_years_keeps_month_and_day_except_the_leap_day(day: datetime.date, years: int) -> None:
    later = add_years(day, years)
    assert later.year == day.year + years
    if (day.month, day.day) != (2, 29):
        assert (later.month, later.day) == (day.month, day.day)
    else:
        assert (later.month, later.day) in {(2, 29), (3, 1)}


@pytest.mark.parametrize(
    ("kind", "reason", "item", "amount"),
    [
        (ApplicationType.FIRST, "12", FeeItem.FIRST, "0"),
        (ApplicationType.RENEWAL, "21", FeeItem.RENEWAL, "20"),
        (ApplicationType.RENEWAL, "23", FeeItem.DAMAGED, "40"),
        (ApplicationType.REPLACEMENT, "31", FeeItem.REPLACEMENT, "40"),
    ],
)
def test_fees_follow_the_table(kind: ApplicationType, reason: str, item: FeeItem, amount: str) -> None:
    fee = fee_for(kind, reason)
    assert (fee.item, fee.amount, fee.waived) == (item, Decimal(amount), False)


def test_fee_waivers_and_a_configured_table() -> None:
    assert fee_for(ApplicationType.REPLACEMENT, "31", waived=True).amount == Decimal("0")
    table = {item: Decimal("25") for item in FeeItem}
    assert fee_for(ApplicationType.RENEWAL, "21", table=table).amount == Decimal("25")


def person(**overrides: object) -> Applicant:
    values: dict[str, object] = {"birth_date": D(2000, 1, 1), "status": "normal", "cards_ever": 0}
    values.update(overrides)
    return Applicant(**values)  # type: ignore[arg-type]


def test_first_application_only_without_any_card() -> None:
    assert eligibility(ApplicationType.FIRST, person()).allowed
    refused = eligibility(ApplicationType.FIRST, person(cards_ever=1))
    assert not refused.allowed and "已申领过" in refused.refusals[0]


@pytest.mark.parametrize("kind", [ApplicationType.RENEWAL, ApplicationType.REPLACEMENT])
def test_renewal_and_replacement_need_an_earlier_card(kind: ApplicationType) -> None:
    assert eligibility(kind, person(cards_ever=2)).allowed
    assert "从未申领过" in eligibility(kind, person()).refusals[0]


@pytest.mark.parametrize("kind", list(ApplicationType))
def test_a_card_history_kept_elsewhere_is_checked_there_not_refused_here(kind: ApplicationType) -> None:
    """外省户籍人员 (跨省通办): whatever the type, the household province checks the cards."""
    verdict = eligibility(kind, person(card_history_elsewhere=True))
    assert verdict.allowed and verdict.flags == (CARD_HISTORY_ELSEWHERE,)
    on = D(2026, 6, 1)

    def expiry_problem(*, elsewhere: bool) -> object:
        return reason_problem(
            ApplicationType.RENEWAL,
            reason_code="21",
            reason_kind="renewal",
            reason_label="21 有效期满换领",
            birth_date=D(1980, 1, 1),
            on=on,
            held_card=None,
            card_history_elsewhere=elsewhere,
        )

    assert expiry_problem(elsewhere=False) is not None and expiry_problem(elsewhere=True) is None
    guess = proposal(
        birth_date=D(1980, 1, 1), on=on, cards_ever=0, held_card=None, card_history_elsewhere=True
    )
    assert guess.reason_code == "" and "户籍地" in guess.why


@pytest.mark.parametrize(("status", "words"), [("deceased", "死亡"), ("cancelled", "注销")])
def test_cancelled_or_deceased_people_cannot_apply(status: str, words: str) -> None:
    verdict = eligibility(ApplicationType.FIRST, person(status=status))
    assert not verdict.allowed and words in verdict.refusals[0]


def test_wanted_people_are_accepted_and_flagged_for_the_reviewer_only() -> None:
    verdict = eligibility(ApplicationType.FIRST, person(wanted=True))
    assert verdict.allowed and verdict.flags == ("wanted",)
    assert not any("在逃" in text for text in verdict.refusals)


def codes(checklist: tuple[object, ...]) -> list[str]:
    return [m.code for m in checklist]  # type: ignore[attr-defined]


def test_adult_materials() -> None:
    checklist = materials(ApplicationType.FIRST, age=30)
    assert codes(checklist) == ["household_book", "residence_proof", "pledge"]
    assert codes(materials(ApplicationType.RENEWAL, age=30)) == ["household_book", "residence_proof"]
    # One proof of employment, study or residence is enough.
    assert missing(checklist, frozenset({"household_book", "study_proof", "pledge"})) == ()
    assert codes(missing(checklist, frozenset({"household_book", "pledge"}))) == ["residence_proof"]


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        (GuardianshipCase.SAME_HOUSEHOLD, []),
        (GuardianshipCase.BIRTH_CERTIFICATE, ["birth_certificate"]),
        (GuardianshipCase.BIRTH_CERTIFICATE_AND_MARRIAGE, ["birth_certificate", "parentage_proof"]),
    ],
)
def test_minor_materials_follow_the_three_guardianship_cases(
    case: GuardianshipCase, extra: list[str]
) -> None:
    checklist = materials(ApplicationType.FIRST, age=12, guardianship=case)
    assert codes(checklist) == [
        "household_book",
        "guardian_id_card",
        "minor_residence_proof",
        *extra,
        "pledge",
    ]
    shown = frozenset({"household_book", "guardian_id_card", "applicant_study_proof", "pledge"})
    assert codes(missing(checklist, shown)) == extra
    assert needs_guardian_photo(12) and not needs_guardian_photo(16)


def test_minor_without_a_guardianship_case_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="guardianship"):
        materials(ApplicationType.FIRST, age=10)


# --- 申领类型 × 申领原因 × age (DOMAIN.md §8) -----------------------------------------------------

REASON_KINDS = {
    "11": "first",
    "12": "first",
    "13": "first",
    "21": "renewal",
    "23": "renewal",
    "31": "replacement",
}


def check(
    kind: ApplicationType,
    reason: str,
    birth: datetime.date,
    on: datetime.date,
    cross: bool = False,
    held: HeldCard | None = None,
):
    return reason_problem(
        kind,
        reason_code=reason,
        reason_kind=REASON_KINDS[reason],
        reason_label=reason,
        birth_date=birth,
        on=on,
        held_card=held,
        cross_region=cross,
    )


def test_a_reason_of_another_type_is_refused() -> None:
    problem = check(ApplicationType.FIRST, "21", datetime.date(1990, 1, 1), datetime.date(2026, 1, 1))
    assert problem is not None and problem.code == "bad_reason" and "不属于首次申领" in problem.message
    assert check(ApplicationType.RENEWAL, "31", datetime.date(1990, 1, 1), datetime.date(2026, 1, 1))


def test_a_fourteen_year_old_is_refused_under_12_and_accepted_under_11() -> None:
    birth, on = datetime.date(2012, 3, 1), datetime.date(2026, 6, 1)
    problem = check(ApplicationType.FIRST, "12", birth, on)
    assert problem is not None and problem.code == "reason_age_mismatch"
    assert "未满16周岁（14周岁）" in problem.message and "11 未满16周岁申领" in problem.message
    assert check(ApplicationType.FIRST, "11", birth, on) is None


def test_16_on_the_birthday_itself() -> None:
    birth = datetime.date(2010, 6, 1)
    assert check(ApplicationType.FIRST, "11", birth, datetime.date(2026, 5, 31)) is None
    assert check(ApplicationType.FIRST, "12", birth, datetime.date(2026, 5, 31)).code == "reason_age_mismatch"
    assert check(ApplicationType.FIRST, "12", birth, datetime.date(2026, 6, 1)) is None
    assert check(ApplicationType.FIRST, "11", birth, datetime.date(2026, 6, 1)).code == "reason_age_mismatch"


def test_a_leap_day_birthday_is_16_on_the_16th_29_february() -> None:
    birth = datetime.date(2008, 2, 29)  # 16 years on is always a leap year (until 2100)
    assert check(ApplicationType.FIRST, "11", birth, datetime.date(2024, 2, 28)) is None
    assert check(ApplicationType.FIRST, "12", birth, datetime.date(2024, 2, 29)) is None


def test_cross_region_first_applications_take_only_11_or_12() -> None:
    birth, on = datetime.date(1990, 1, 1), datetime.date(2026, 1, 1)
    problem = check(ApplicationType.FIRST, "13", birth, on, cross=True)
    assert problem is not None and problem.code == "bad_reason" and "全省通办" in problem.message
    assert check(ApplicationType.FIRST, "13", birth, on, cross=False) is None
    assert check(ApplicationType.RENEWAL, "23", birth, on, cross=True) is None


@given(st.dates(datetime.date(1950, 1, 1), datetime.date(2026, 1, 1)), st.integers(0, 40_000))
def test_exactly_one_of_11_and_12_fits_any_age(birth: datetime.date, days: int) -> None:
    on = birth + datetime.timedelta(days=days)
    fits = [r for r in ("11", "12") if check(ApplicationType.FIRST, r, birth, on, cross=True) is None]
    assert fits == [age_reason(birth, on)]
    assert fits == (["11"] if age_on(birth, on) < 16 else ["12"])


def test_the_counter_proposes_by_the_register() -> None:
    on = datetime.date(2026, 6, 1)
    first = proposal(birth_date=datetime.date(2012, 1, 1), on=on, cards_ever=0, held_card=None)
    assert (first.application_type, first.reason_code) == (ApplicationType.FIRST, "11")
    adult = proposal(birth_date=datetime.date(2000, 1, 1), on=on, cards_ever=0, held_card=None)
    assert adult.reason_code == "12"
    born = datetime.date(1980, 1, 1)
    expired = proposal(birth_date=born, on=on, cards_ever=1, held_card=HeldCard(datetime.date(2026, 5, 31)))
    assert (expired.application_type, expired.reason_code) == (ApplicationType.RENEWAL, "21")
    assert "已过期" in expired.why
    ending = proposal(birth_date=born, on=on, cards_ever=1, held_card=HeldCard(datetime.date(2026, 9, 1)))
    assert ending.reason_code == "21" and "将于2026年9月1日到期" in ending.why
    valid = proposal(birth_date=born, on=on, cards_ever=1, held_card=HeldCard(datetime.date(2026, 9, 2)))
    assert valid.reason_code == ""
    long_term = proposal(birth_date=born, on=on, cards_ever=1, held_card=HeldCard(None))
    assert long_term.reason_code == ""


def test_expiry_renewal_from_three_months_before_the_end_date() -> None:
    """21 有效期满换领: from three months before the card's end date (the same day of the month,
    or the month's last day), and after it; never for a 长期 card or without a card held."""
    born = datetime.date(1980, 1, 1)
    held = HeldCard(datetime.date(2026, 9, 1))
    early = check(ApplicationType.RENEWAL, "21", born, datetime.date(2026, 5, 31), held=held)
    assert early is not None and early.code == "bad_reason"
    assert "有效期至2026年9月1日" in early.message and "2026年6月1日起" in early.message
    assert check(ApplicationType.RENEWAL, "21", born, datetime.date(2026, 6, 1), held=held) is None
    assert check(ApplicationType.RENEWAL, "21", born, datetime.date(2027, 6, 1), held=held) is None
    end_of_may = HeldCard(datetime.date(2026, 5, 31))
    assert check(ApplicationType.RENEWAL, "21", born, datetime.date(2026, 2, 27), held=end_of_may) is not None
    assert check(ApplicationType.RENEWAL, "21", born, datetime.date(2026, 2, 28), held=end_of_may) is None
    long_term = check(ApplicationType.RENEWAL, "21", born, datetime.date(2026, 6, 1), held=HeldCard(None))
    assert long_term is not None and "长期" in long_term.message
    none = check(ApplicationType.RENEWAL, "21", born, datetime.date(2026, 6, 1), held=None)
    assert none is not None and "补领" in none.message
    # Other 换领 reasons do not depend on the end date.
    assert check(ApplicationType.RENEWAL, "23", born, datetime.date(2026, 1, 1), held=held) is None
