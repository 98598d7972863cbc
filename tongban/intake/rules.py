"""The rules at the counter (受理), DOMAIN.md §3. Pure Python: no Django, so the counter, the API
and the public guide (办事指南) all derive from the same functions, and they test without a database.

Figures marked configurable in DOMAIN.md are parameters with defaults here (the fee table, which
date fixes the age); the callers pass what the settings say.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from tongban.core.dates import add_months, add_years, age_on

ADULT_AGE = 16


class ApplicationType(StrEnum):
    FIRST = "first"  # 首次申领
    RENEWAL = "renewal"  # 换领
    REPLACEMENT = "replacement"  # 补领

    @property
    def label(self) -> str:
        return {"first": "首次申领", "renewal": "换领", "replacement": "补领"}[self.value]


# ---------------------------------------------------------------------------------------------
# Validity period (有效期限)


def validity_years(age: int) -> int | None:
    """Years a card is valid for an applicant of `age`; None means long-term (长期)."""
    if age < ADULT_AGE:
        return 5
    if age <= 25:
        return 10
    if age <= 45:
        return 20
    return None


@dataclass(frozen=True)
class Validity:
    start: datetime.date
    end: datetime.date | None  # None: 长期

    @property
    def label(self) -> str:
        """As printed on the card: `2026.11.23-2036.11.23` or `2026.11.23-长期`."""
        end = f"{self.end:%Y.%m.%d}" if self.end else "长期"
        return f"{self.start:%Y.%m.%d}-{end}"


def validity_period(birth: datetime.date, *, issue_date: datetime.date, age_date: datetime.date) -> Validity:
    """From the issue date to the same month and day N years later. `age_date` is the day whose
    age decides N: the acceptance or the issue date, as configured."""
    years = validity_years(age_on(birth, age_date))
    return Validity(issue_date, add_years(issue_date, years) if years is not None else None)


# ---------------------------------------------------------------------------------------------
# 申领原因 against 申领类型 and age (DOMAIN.md §8)

UNDER_16_REASON = "11"  # 未满16周岁申领
AGED_16_REASON = "12"  # 年满16周岁申领
EXPIRY_RENEWAL_REASON = "21"  # 有效期满换领
# The two reasons that follow from the age alone.
AGE_REASONS = frozenset({UNDER_16_REASON, AGED_16_REASON})
# 首次申领“全省通办” (a first application away from the household): the 填表说明 of the
# 居民身份证异地受理登记表, item 九, allows only these two.
CROSS_REGION_FIRST_REASONS = AGE_REASONS
REASON_NAMES = {UNDER_16_REASON: "11 未满16周岁申领", AGED_16_REASON: "12 年满16周岁申领"}
# 有效期满换领 is applied for from three months before the card's end date (居民身份证法 第十条 and
# the 公安部 practice of 期满前三个月内申请换领); earlier, another 换领 reason must fit.
RENEWAL_WINDOW_MONTHS = 3


@dataclass(frozen=True)
class HeldCard:
    """The card a person holds (有效 or 已制证未领取) as the reason checks see it."""

    valid_until: datetime.date | None  # None: 长期


def renewal_opens(valid_until: datetime.date) -> datetime.date:
    """The first day 有效期满换领 may be applied for, for a card valid until `valid_until`."""
    return add_months(valid_until, -RENEWAL_WINDOW_MONTHS)


def _day(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class ReasonProblem:
    """Why a 申领原因 does not fit: `code` is the API's error code, `message` is shown at the field."""

    code: str  # bad_reason / reason_age_mismatch
    message: str


def reason_problem(
    application_type: ApplicationType,
    *,
    reason_code: str,
    reason_kind: str,
    reason_label: str,
    birth_date: datetime.date,
    on: datetime.date,
    held_card: HeldCard | None,
    cross_region: bool = False,
    card_history_elsewhere: bool = False,
) -> ReasonProblem | None:
    """The 申领原因 must belong to the 申领类型 (`reason_kind` is the reason's 类别: first / renewal /
    replacement), 11 only under 16 and 12 only at 16 or over on `on` (the date that fixes the age),
    a cross-region first application only 11 or 12, and 21 有效期满换领 only for a card `held_card`
    whose validity ends within three months of `on` or has ended (unless the card history is kept
    elsewhere: `card_history_elsewhere`, the household province's check). None when it fits."""
    if reason_kind != application_type.value:
        return ReasonProblem(
            "bad_reason",
            f"申领原因“{reason_label}”不属于{application_type.label}，"
            f"请选择{application_type.label}的申领原因。",
        )
    age = age_on(birth_date, on)
    when = f"{on.year}年{on.month}月{on.day}日"
    if reason_code == UNDER_16_REASON and age >= ADULT_AGE:
        return ReasonProblem(
            "reason_age_mismatch",
            f"申请人在{when}已满16周岁（{age}周岁），申领原因应为“{REASON_NAMES[AGED_16_REASON]}”。",
        )
    if reason_code == AGED_16_REASON and age < ADULT_AGE:
        return ReasonProblem(
            "reason_age_mismatch",
            f"申请人在{when}未满16周岁（{age}周岁），申领原因应为“{REASON_NAMES[UNDER_16_REASON]}”。",
        )
    if (
        cross_region
        and application_type == ApplicationType.FIRST
        and reason_code not in CROSS_REGION_FIRST_REASONS
    ):
        return ReasonProblem(
            "bad_reason",
            "首次申领居民身份证“全省通办”（异地受理）的申领原因仅为未满或者年满16周岁申领一种情形，"
            "其他原因的首次申领请到户籍地公安机关办理。",
        )
    if reason_code == EXPIRY_RENEWAL_REASON and not card_history_elsewhere:
        return _expiry_problem(held_card, on)
    return None


def _expiry_problem(held_card: HeldCard | None, on: datetime.date) -> ReasonProblem | None:
    if held_card is None:
        return ReasonProblem(
            "bad_reason",
            "人口信息中该人员没有在用的居民身份证，不能按“有效期满换领”申请；证件丢失、被盗的请按补领受理。",
        )
    until = held_card.valid_until
    if until is None:
        return ReasonProblem("bad_reason", "所持居民身份证有效期为长期，不能按“有效期满换领”申请。")
    if on < renewal_opens(until):
        return ReasonProblem(
            "bad_reason",
            f"所持居民身份证有效期至{_day(until)}，有效期满前三个月内（{_day(renewal_opens(until))}起）"
            "方可按“有效期满换领”申请；提前换领请按实际情况选择登记项目变更、证件严重损坏等换领原因。",
        )
    return None


def age_reason(birth_date: datetime.date, on: datetime.date) -> str:
    """The first-application reason an applicant's age gives on `on`: 11 or 12."""
    return UNDER_16_REASON if age_on(birth_date, on) < ADULT_AGE else AGED_16_REASON


@dataclass(frozen=True)
class Proposal:
    """What the counter proposes for a person once the register is read (the clerk may choose
    otherwise within the rules above)."""

    application_type: ApplicationType
    reason_code: str  # "" when the clerk must choose (e.g. 换领 of a valid card: which reason?)
    why: str  # Chinese, shown beside the proposal


def proposal(
    *,
    birth_date: datetime.date,
    on: datetime.date,
    cards_ever: int,
    held_card: HeldCard | None,
    card_history_elsewhere: bool = False,
) -> Proposal:
    """Never held a card → 首次申领 with 11 or 12 by age; the card held has expired (已过期) or
    ends within three months → 换领, 21 有效期满换领; otherwise 换领 or 补领, the reason the
    clerk's to choose. A card history kept by another province (外省户籍人员) proposes nothing:
    the clerk asks the applicant and the household province checks."""
    if card_history_elsewhere:
        why = "外省户籍人员：证件记录在户籍地，请按申请人所述选择申领类型和原因，由户籍地核验。"
        return Proposal(ApplicationType.FIRST, "", why)
    if cards_ever == 0:
        reason = age_reason(birth_date, on)
        why = f"从未申领过居民身份证：首次申领，{REASON_NAMES[reason]}。"
        return Proposal(ApplicationType.FIRST, reason, why)
    until = held_card.valid_until if held_card is not None else None
    if until is not None and renewal_opens(until) <= on:
        state = "已过期" if until < on else f"将于{_day(until)}到期"
        return Proposal(
            ApplicationType.RENEWAL,
            EXPIRY_RENEWAL_REASON,
            f"所持居民身份证{state}：换领，21 有效期满换领。",
        )
    return Proposal(ApplicationType.RENEWAL, "", "已申领过居民身份证：换领或补领，请按实际情况选择申领原因。")


# ---------------------------------------------------------------------------------------------
# Fees (工本费)


class FeeItem(StrEnum):
    FIRST = "first"  # 首次申领: free since 2018-04-01
    RENEWAL = "renewal"  # 换领
    DAMAGED = "damaged"  # 损坏换领
    REPLACEMENT = "replacement"  # 补领
    TEMPORARY = "temporary"  # 临时居民身份证


DEFAULT_FEES: dict[FeeItem, Decimal] = {
    FeeItem.FIRST: Decimal("0"),
    FeeItem.RENEWAL: Decimal("20"),
    FeeItem.DAMAGED: Decimal("40"),
    FeeItem.REPLACEMENT: Decimal("40"),
    FeeItem.TEMPORARY: Decimal("10"),
}

# 申领原因 codes (registry/codes.py) that make a 换领 the dearer damaged-card item.
DAMAGED_REASONS = frozenset({"23"})


@dataclass(frozen=True)
class Fee:
    item: FeeItem
    amount: Decimal  # yuan
    waived: bool = False  # e.g. 低保: the evidence is recorded with the payment


def fee_for(
    application_type: ApplicationType,
    reason_code: str,
    *,
    waived: bool = False,
    table: Mapping[FeeItem, Decimal] | None = None,
) -> Fee:
    table = table or DEFAULT_FEES
    if application_type == ApplicationType.FIRST:
        item = FeeItem.FIRST
    elif application_type == ApplicationType.REPLACEMENT:
        item = FeeItem.REPLACEMENT
    else:
        item = FeeItem.DAMAGED if reason_code in DAMAGED_REASONS else FeeItem.RENEWAL
    return Fee(item, Decimal("0") if waived else table[item], waived)


# ---------------------------------------------------------------------------------------------
# Eligibility


@dataclass(frozen=True)
class Applicant:
    """What the register says about the person applying."""

    birth_date: datetime.date
    status: str  # registry Person.Status value: normal / cancelled / deceased
    cards_ever: int  # cards in the card history, whatever their state
    wanted: bool = False
    # 外省户籍人员 (跨省通办): the card history is kept by the household province, which checks it.
    card_history_elsewhere: bool = False


@dataclass(frozen=True)
class Eligibility:
    refusals: tuple[str, ...] = ()  # Chinese, shown to the clerk; any refusal stops acceptance
    flags: tuple[str, ...] = ()  # for the reviewer only, never shown at the counter

    @property
    def allowed(self) -> bool:
        return not self.refusals


def eligibility(application_type: ApplicationType, applicant: Applicant) -> Eligibility:
    refusals: list[str] = []
    if applicant.status == "deceased":
        refusals.append("人口信息显示该人员已死亡，不能申领居民身份证。")
    elif applicant.status == "cancelled":
        refusals.append("该人员户口已注销，不能申领居民身份证，请先核实户籍。")
    flags: tuple[str, ...] = ()
    if applicant.card_history_elsewhere:
        flags += (CARD_HISTORY_ELSEWHERE,)
    elif application_type == ApplicationType.FIRST and applicant.cards_ever > 0:
        refusals.append("人口信息显示该人员已申领过居民身份证，不能按首次申领办理，请按换领或补领受理。")
    elif application_type != ApplicationType.FIRST and applicant.cards_ever == 0:
        refusals.append(
            f"人口信息显示该人员从未申领过居民身份证，不能{application_type.label}，请按首次申领受理。"
        )
    # A wanted person is not refused at the counter: the reviewer is told, the applicant is not.
    if applicant.wanted:
        flags += ("wanted",)
    return Eligibility(tuple(refusals), flags)


# The flag of an application whose card history the household province checks (跨省通办).
CARD_HISTORY_ELSEWHERE = "card_history_elsewhere"


# ---------------------------------------------------------------------------------------------
# Materials (所需材料)


class GuardianshipCase(StrEnum):
    """How a minor's guardianship is proven (DOMAIN.md §3)."""

    SAME_HOUSEHOLD = "same_household"  # 与父（母）同户：户口簿即可
    BIRTH_CERTIFICATE = "birth_certificate"  # 不同户，出生医学证明能体现监护关系
    BIRTH_CERTIFICATE_AND_MARRIAGE = "birth_certificate_and_marriage"  # 不同户，且出生医学证明不能体现


@dataclass(frozen=True)
class Material:
    """One line of the checklist; with `alternatives`, showing any one of them satisfies it."""

    code: str
    label: str
    alternatives: tuple[tuple[str, str], ...] = field(default=())

    def satisfied_by(self, shown: frozenset[str]) -> bool:
        if self.alternatives:
            return any(code in shown for code, _ in self.alternatives)
        return self.code in shown


HOUSEHOLD_BOOK = Material("household_book", "居民户口簿")
ADULT_PROOF = Material(
    "residence_proof",
    "合法稳定就业、就学、居住的证明材料（其中一种）",
    (("employment_proof", "就业证明"), ("study_proof", "就学证明"), ("residence_proof", "居住证明")),
)
GUARDIAN_ID = Material("guardian_id_card", "监护人居民身份证")
MINOR_PROOF = Material(
    "minor_residence_proof",
    "监护人合法稳定就业、居住或申请人合法稳定就学的证明材料（其中一种）",
    (
        ("guardian_employment_proof", "监护人就业证明"),
        ("guardian_residence_proof", "监护人居住证明"),
        ("applicant_study_proof", "申请人就学证明"),
    ),
)
BIRTH_CERTIFICATE = Material("birth_certificate", "出生医学证明")
PARENTAGE_PROOF = Material(
    "parentage_proof",
    "父（母）结婚证或收养登记证（其中一种）",
    (("marriage_certificate", "父（母）结婚证"), ("adoption_certificate", "收养登记证")),
)
PLEDGE = Material("pledge", "签署《告知承诺书》")


def materials(
    application_type: ApplicationType, *, age: int, guardianship: GuardianshipCase | None = None
) -> tuple[Material, ...]:
    """The checklist for one application; the same function writes the public guide."""
    if age >= ADULT_AGE:
        checklist = [HOUSEHOLD_BOOK, ADULT_PROOF]
    else:
        if guardianship is None:
            raise ValueError("an applicant under 16 needs the guardianship case")
        checklist = [HOUSEHOLD_BOOK, GUARDIAN_ID, MINOR_PROOF]
        if guardianship != GuardianshipCase.SAME_HOUSEHOLD:
            checklist.append(BIRTH_CERTIFICATE)
        if guardianship == GuardianshipCase.BIRTH_CERTIFICATE_AND_MARRIAGE:
            checklist.append(PARENTAGE_PROOF)
    if application_type == ApplicationType.FIRST:
        checklist.append(PLEDGE)
    return tuple(checklist)


def missing(checklist: tuple[Material, ...], shown: frozenset[str]) -> tuple[Material, ...]:
    """What is still missing; acceptance waits until this is empty."""
    return tuple(material for material in checklist if not material.satisfied_by(shown))


def needs_guardian_photo(age: int) -> bool:
    """Under 16: the photo of the applicant together with the guardian (同框) is taken."""
    return age < ADULT_AGE


def fee_table(overrides: Mapping[str, object]) -> Mapping[FeeItem, Decimal]:
    """DEFAULT_FEES with the configured overrides (TONGBAN_FEES: item → yuan), the table the
    settings hold (settings.FEES). Raises ValueError for an unknown item or an amount that is not a
    non-negative number."""
    table = dict(DEFAULT_FEES)
    for key, value in overrides.items():
        try:
            item = FeeItem(key)
            amount = Decimal(str(value))
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"bad fee table entry {key!r}: {value!r}") from exc
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"bad fee table entry {key!r}: {value!r}")
        table[item] = amount
    return table


# ---------------------------------------------------------------------------------------------
# Differences between the application and the register (the reviewer's 信息比对)

COMPARED_FIELDS: tuple[tuple[str, str], ...] = (
    ("id_number", "公民身份号码"),
    ("name", "姓名"),
    ("sex", "性别"),
    ("ethnicity", "民族"),
    ("birth_date", "出生日期"),
    ("address", "住址"),
)


@dataclass(frozen=True)
class FieldComparison:
    field: str
    label: str
    entered: str
    registered: str

    @property
    def matches(self) -> bool:
        return self.entered == self.registered


def compare_with_register(entered: dict[str, str], registered: dict[str, str]) -> tuple[FieldComparison, ...]:
    """Field by field, the application against the register (values already as display text)."""
    return tuple(
        FieldComparison(key, label, entered.get(key, ""), registered.get(key, ""))
        for key, label in COMPARED_FIELDS
    )


# ---------------------------------------------------------------------------------------------
# Fingerprints (指纹信息): right thumb, left thumb, the next finger of a hand when one cannot be taken

RIGHT_HAND = ("11", "12", "13", "14", "15")
LEFT_HAND = ("16", "17", "18", "19", "20")


class FingerOutcome(StrEnum):
    REGISTERED = "registered"  # 注册成功
    FAILED = "failed"  # 注册失败: captured, no usable features
    NOT_REGISTERED = "not_registered"  # 未注册: injury, disability


@dataclass(frozen=True)
class FingerPlan:
    next_positions: tuple[str, ...]  # what to try next, one per unfinished hand
    errors: tuple[str, ...]  # records that break the capture order

    @property
    def complete(self) -> bool:
        return not self.next_positions and not self.errors


def finger_plan(records: dict[str, FingerOutcome]) -> FingerPlan:
    """Check the fingers recorded so far (position → outcome) against the capture rule and say
    which finger comes next. Per hand, fingers are tried in order (thumb, index, middle, ring,
    little); every finger before the registered one must be recorded as not usable, and none
    after it. A hand is finished with one registered finger or with all five recorded unusable."""
    errors: list[str] = []
    next_positions: list[str] = []
    for hand, hand_name in ((RIGHT_HAND, "右手"), (LEFT_HAND, "左手")):
        tried = [pos for pos in hand if pos in records]
        expected_prefix = list(hand[: len(tried)])
        if tried != expected_prefix:
            errors.append(f"{hand_name}应按拇指、食指、中指、环指、小指的顺序采集，不能跳过手指。")
            continue
        registered = [pos for pos in tried if records[pos] == FingerOutcome.REGISTERED]
        if len(registered) > 1 or (registered and registered[0] != tried[-1]):
            errors.append(f"{hand_name}只登记一枚指纹：注册成功后不再采集该手其他手指。")
        elif not registered and len(tried) < len(hand):
            next_positions.append(hand[len(tried)])
    unknown = sorted(set(records) - set(RIGHT_HAND) - set(LEFT_HAND))
    if unknown:
        errors.append(f"指位代码无效：{'、'.join(unknown)}（应为 11–20）。")
    return FingerPlan(tuple(next_positions), tuple(errors))


# ---------------------------------------------------------------------------------------------
# 受理号 (GA 214.4): region (6) + station (3) + date (8) + daily sequence (5)

DAILY_SEQUENCE_MAX = 99_999


def acceptance_number(station_code: str, day: datetime.date, sequence: int) -> str:
    if len(station_code) != 9 or not station_code.isdigit():
        raise ValueError(f"a station code has 9 digits: {station_code!r}")
    if not 1 <= sequence <= DAILY_SEQUENCE_MAX:
        raise ValueError(f"daily sequence out of range: {sequence}")
    return f"{station_code}{day:%Y%m%d}{sequence:05d}"


def is_acceptance_number(value: str) -> bool:
    if len(value) != 22 or not value.isdigit():
        return False
    try:
        datetime.date(int(value[9:13]), int(value[13:15]), int(value[15:17]))
    except ValueError:
        return False
    return value[17:] != "00000"
