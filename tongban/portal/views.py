"""The public guide (办事指南) to 首次申领居民身份证“全省通办”, open to anyone.

Every list and figure on it comes from the counter's own rules (rules.materials, the fee table,
rules.validity_years) and the configured deadlines, so what the public reads to prepare is what the
clerk checks at the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from tongban.intake import rules
from tongban.intake.rules import ApplicationType, FeeItem, GuardianshipCase
from tongban.intake.services import fee_table

# The wording of the implementation plan (seeds/000) for the three ways guardianship is proven.
CASE_LABELS: dict[GuardianshipCase, str] = {
    GuardianshipCase.SAME_HOUSEHOLD: "申请人户口与父（母）户口在同一户的",
    GuardianshipCase.BIRTH_CERTIFICATE: "申请人户口与父（母）户口不在同一户，出生医学证明能够体现监护关系的",
    GuardianshipCase.BIRTH_CERTIFICATE_AND_MARRIAGE: (
        "申请人户口与父（母）户口不在同一户，且出生医学证明不能体现监护关系的"
    ),
}

FEE_LABELS: dict[FeeItem, str] = {
    FeeItem.FIRST: "首次申领居民身份证",
    FeeItem.RENEWAL: "换领居民身份证（有效期满、登记项目变更等）",
    FeeItem.DAMAGED: "换领居民身份证（证件严重损坏）",
    FeeItem.REPLACEMENT: "补领居民身份证（证件丢失）",
    FeeItem.TEMPORARY: "临时居民身份证",
}

OLDEST_AGE = 150  # where the scan of validity_years stops


@dataclass(frozen=True)
class Checklist:
    title: str
    materials: tuple[rules.Material, ...]


def _yuan(amount: Decimal) -> str:
    return "免费" if amount == 0 else f"{amount:f}元"


def _validity_bands() -> list[tuple[str, str]]:
    """(ages, period) rows, found by asking rules.validity_years age by age."""
    bands: list[tuple[int, int, int | None]] = []
    for age in range(OLDEST_AGE + 1):
        years = rules.validity_years(age)
        if bands and bands[-1][2] == years:
            bands[-1] = (bands[-1][0], age, years)
        else:
            bands.append((age, age, years))
    rows = []
    for index, (low, high, years) in enumerate(bands):
        if low == 0:
            ages = f"未满{high + 1}周岁"
        elif index == len(bands) - 1:
            ages = f"{low}周岁以上"
        else:
            ages = f"{low}至{high}周岁"
        rows.append((ages, f"{years}年" if years is not None else "长期"))
    return rows


@require_safe
def guide(request: HttpRequest) -> HttpResponse:
    adult_age = rules.ADULT_AGE
    minor_age = adult_age - 1
    first = ApplicationType.FIRST
    adult = Checklist(f"年满{adult_age}周岁公民", rules.materials(first, age=adult_age))
    minors = [
        Checklist(CASE_LABELS[case], rules.materials(first, age=minor_age, guardianship=case))
        for case in GuardianshipCase
    ]
    fees = [(FEE_LABELS[item], _yuan(amount)) for item, amount in fee_table().items()]
    context = {
        "adult_age": adult_age,
        "adult": adult,
        "minors": minors,
        "adult_guardian_photo": rules.needs_guardian_photo(adult_age),
        "minor_guardian_photo": rules.needs_guardian_photo(minor_age),
        "fees": fees,
        "validity": _validity_bands(),
        "age_date": "受理" if settings.VALIDITY_AGE_DATE == "acceptance" else "签发",
        "review_days": settings.DEADLINES.review_days,
        "verification_days": settings.DEADLINES.post_verification_days,
    }
    return render(request, "portal/guide.html", context)
