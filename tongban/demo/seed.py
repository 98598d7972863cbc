"""Demo data (演示数据): Jiangxi's unit tree, one account per role and a synthetic register.

The generator is pure Python and deterministic: every random choice comes from one
`random.Random(seed)`, never the global generator, and nothing depends on dict or set
ordering. Ages and card histories are computed against the fixed `REFERENCE_DATE`, not the
clock, so a seed gives identical data on any day (people simply grow older afterwards).

Every person is fictitious; ID numbers are valid in form (region code, birth date, sequence
parity, check character) but are not meant to belong to anyone.

All demo accounts share `DEMO_PASSWORD`; those that must use a second factor (`admin`, `auditor`, and
the accounts that open full records of a county or more) also give a TOTP code from
`DEMO_TOTP_KEY_HEX` (base32 `DEMO_TOTP_BASE32`, 30-second step, 6 digits).
Never seed a production database: `seed_demo` refuses when settings.PRODUCTION is on.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.accounts.models import User
from tongban.accounts.roles import Role
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core import idnumber, regions
from tongban.core.dates import add_years, age_on
from tongban.demo.campaign import seed_campaign
from tongban.demo.cardcheck import cardcheck_seed_demo
from tongban.demo.history import generate_history
from tongban.demo.liaisons import liaisons_seed_demo
from tongban.ecert.services import certificates_backfill
from tongban.intake.models import Application
from tongban.intake.rules import validity_period
from tongban.registry.authority import issuing_authority
from tongban.registry.models import Card, FloatingRegistration, Person, Unit, WantedPerson
from tongban.registry.services import units_load_province

PROVINCE_CODE = "36"  # 江西省
STATIONS_PER_COUNTY = 2
DEFAULT_PEOPLE = 20_000
DEFAULT_SEED = 2026
DEMO_APPLICATIONS = 3000  # generated application history (tongban/demo/history.py)

DEMO_PASSWORD = "Tongban@2026"  # noqa: S105 - documented shared password of the demo accounts
# RFC 6238's test secret "12345678901234567890", so testers can compute codes with any tool.
DEMO_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"
DEMO_TOTP_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
DEMO_TOTP_DEVICE_NAME = "演示动态口令"
# The station the clerk works at: the generator makes sure a wanted person is registered there.
FEATURED_STATION = "360102001"

# "Today" for the synthetic register: fixed so that the data depends on the seed alone.
REFERENCE_DATE = datetime.date(2026, 11, 1)
EARLIEST_BIRTH = datetime.date(1935, 1, 1)
FIRST_GENERATION_START = datetime.date(1985, 1, 1)  # first-generation cards issued from 1984-85
FIRST_GENERATION_ROLLOUT_END = datetime.date(1991, 12, 31)
SECOND_GENERATION_START = datetime.date(2004, 1, 1)
FIRST_GENERATION_REPLACED_BY = datetime.date(2012, 12, 31)  # first-generation cards void from 2013

RELATION_HEAD = "02"
RELATION_SPOUSE = "10"
RELATION_SON = "20"
RELATION_DAUGHTER = "30"
RELATION_FATHER = "51"
RELATION_MOTHER = "52"
SEX_MALE = idnumber.SEX_MALE
SEX_FEMALE = idnumber.SEX_FEMALE


class DemoRefused(RuntimeError):
    """Demo accounts with a published password must never reach a production database."""


# ---------------------------------------------------------------------------------------------
# Demo accounts


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    unit_code: str
    last_name: str  # 姓
    first_name: str  # 名
    is_staff: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("clerk", Role.CLERK, "360102001", "王", "晓燕"),
    DemoUser("reviewer", Role.REVIEWER, "360102002", "李", "建国"),
    DemoUser("centre_operator", Role.CENTRE_OPERATOR, "360000901", "张", "伟"),
    DemoUser("distributor", Role.DISTRIBUTOR, "360102001", "刘", "芳"),
    DemoUser("supervisor", Role.SUPERVISOR, "3601", "陈", "志强"),
    # Supervisors of the other levels: each dashboard shows its own subtree only.
    DemoUser("supervisor_province", Role.SUPERVISOR, "36", "孙", "立新"),
    DemoUser("supervisor_donghu", Role.SUPERVISOR, "360102", "郑", "海涛"),
    DemoUser("finance", Role.FINANCE, "360102", "杨", "丽"),
    # The provincial finance office settles the free first cards of every city and county.
    DemoUser("finance_province", Role.FINANCE, "36", "何", "晓红"),
    DemoUser("civil_affairs", Role.CIVIL_AFFAIRS, "3601", "黄", "敏"),
    DemoUser("campaign_manager", Role.CAMPAIGN_MANAGER, "3601", "赵", "刚"),
    DemoUser("auditor", Role.AUDITOR, "36", "吴", "静"),
    DemoUser("admin", Role.ADMIN, "36", "周", "明", is_staff=True),
    # A clerk of another city (赣州市章贡区), to show that lists are scoped to the own subtree.
    DemoUser("clerk_ganzhou", Role.CLERK, "360702001", "徐", "丽华"),
    # The accounts the demo's own configuration needs (tongban/accounts/staffing.py): the campaign
    # in force for 南昌市 reviews in three steps (城东派出所 初审 by `reviewer` → 东湖分局 审核签发
    # → 南昌市公安局 复核) and sends finished cards to each county bureau for 质检 and forwarding;
    # 赣州市's acceptances are produced by 赣州制证所.
    DemoUser("reviewer_donghu", Role.REVIEWER, "360102", "罗", "建华"),
    DemoUser("reviewer_nanchang", Role.REVIEWER, "3601", "冯", "志刚"),
    DemoUser("distributor_donghu", Role.DISTRIBUTOR, "360102", "彭", "丽萍"),
    DemoUser("distributor_xihu", Role.DISTRIBUTOR, "360103", "曾", "国平"),
    DemoUser("distributor_qingyunpu", Role.DISTRIBUTOR, "360104", "谢", "婷"),
    DemoUser("distributor_qingshanhu", Role.DISTRIBUTOR, "360111", "邓", "文斌"),
    DemoUser("distributor_xinjian", Role.DISTRIBUTOR, "360112", "熊", "慧"),
    DemoUser("distributor_honggutan", Role.DISTRIBUTOR, "360113", "万", "俊"),
    DemoUser("distributor_nanchangxian", Role.DISTRIBUTOR, "360121", "涂", "秀英"),
    DemoUser("distributor_anyi", Role.DISTRIBUTOR, "360123", "程", "海军"),
    DemoUser("distributor_jinxian", Role.DISTRIBUTOR, "360124", "饶", "春梅"),
    DemoUser("centre_operator_ganzhou", Role.CENTRE_OPERATOR, "360700901", "钟", "振华"),
)


# ---------------------------------------------------------------------------------------------
# Plain records produced by the generator


@dataclass(frozen=True)
class StationInfo:
    """What the generator needs to know about a police station (派出所)."""

    code: str  # 9-digit unit code, e.g. 360102001
    region_code: str  # the county's 6-digit code
    city_name: str  # 南昌市
    county_name: str  # 东湖区
    authority: str  # the county bureau's name, printed as 签发机关 on cards

    @property
    def city_code(self) -> str:
        return self.code[:4]


@dataclass(frozen=True)
class CardSpec:
    generation: int
    issuing_authority: str
    valid_from: datetime.date
    valid_until: datetime.date | None  # None: long-term (长期)
    state: str  # a Card.State value


@dataclass(frozen=True)
class PersonSpec:
    id_number: str
    name: str
    sex: str  # "1" / "2"
    ethnicity: str
    birth_date: datetime.date
    address: str
    household_no: str
    relation: str
    station_code: str
    region_code: str  # the station's county code
    status: str  # a Person.Status value
    cards: tuple[CardSpec, ...]


@dataclass(frozen=True)
class WantedSpec:
    id_number: str
    name: str
    registered: bool  # False: the number belongs to nobody in the register
    case_number: str
    listed_on: datetime.date
    active: bool


@dataclass(frozen=True)
class FloatingSpec:
    id_number: str  # the person's
    station_code: str  # the residence station, in another city than the household
    address: str
    registered_on: datetime.date
    valid_until: datetime.date | None
    active: bool


@dataclass(frozen=True)
class DemoData:
    people: list[PersonSpec]
    wanted: list[WantedSpec]
    floating: list[FloatingSpec]


# ---------------------------------------------------------------------------------------------
# Word lists

# Common surnames, most frequent first; the weights give the head of the list more people.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
_SURNAME_WEIGHTS = tuple(6 if i < 10 else 3 if i < 30 else 1 for i in range(len(SURNAMES)))
MALE_GIVEN = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳建国志文海峰亮成东兵晨博轩睿泽宏德荣"
FEMALE_GIVEN = "芳娜敏静丽艳燕娟霞玲桂英萍红梅琳婷雪慧颖倩洁琴云莉欣怡佳悦思雨萱诗涵梦晓月秀兰凤蓉"
ROADS = (
    "八一大道", "中山路", "胜利路", "阳明路", "北京西路", "井冈山大道", "象山北路", "解放路", "人民路",
    "建设路", "文化路", "长征路", "新华路", "红旗大道", "章江路", "滨江大道", "迎宾大道", "广场路",
    "青年路", "学府路", "城南大道", "站前路",
)  # fmt: skip
# 汉族 and, rarely, minorities found in Jiangxi (畲族 above all).
ETHNICITY_WEIGHTS = (
    ("01", 970),
    ("22", 12),
    ("03", 5),
    ("06", 4),
    ("08", 3),
    ("15", 3),
    ("13", 2),
    ("11", 1),
)
HOUSEHOLD_SIZE_WEIGHTS = ((1, 15), (2, 25), (3, 28), (4, 20), (5, 8), (6, 4))


# ---------------------------------------------------------------------------------------------
# Dates


def valid_until_for(birth: datetime.date, valid_from: datetime.date) -> datetime.date | None:
    return validity_period(birth, issue_date=valid_from, age_date=valid_from).end


def _random_date(rng: random.Random, first: datetime.date, last: datetime.date) -> datetime.date:
    if last < first:
        last = first
    return datetime.date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _birth_for_age(rng: random.Random, today: datetime.date, youngest: int, oldest: int) -> datetime.date:
    """A birth date such that the age today lies in [youngest, oldest]."""
    first = max(add_years(today, -(oldest + 1)) + datetime.timedelta(days=1), EARLIEST_BIRTH)
    return _random_date(rng, first, add_years(today, -youngest))


def _clamp(day: datetime.date, first: datetime.date, last: datetime.date) -> datetime.date:
    return min(max(day, first), last)


# ---------------------------------------------------------------------------------------------
# People


@dataclass(frozen=True)
class _Member:
    relation: str
    sex: str
    birth: datetime.date
    surname: str


def _weighted(rng: random.Random, weights: Sequence[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in weights], weights=[weight for _, weight in weights])[0]


def _surname(rng: random.Random) -> str:
    return rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]


def _given_name(rng: random.Random, sex: str) -> str:
    pool = MALE_GIVEN if sex == SEX_MALE else FEMALE_GIVEN
    if rng.random() < 0.3:
        return rng.choice(pool)
    return "".join(rng.sample(pool, 2))


def _address(rng: random.Random, station: StationInfo) -> str:
    road = rng.choice(ROADS)
    room = f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
    return (
        f"江西省{station.city_name}{station.county_name}{road}{rng.randint(1, 999)}号"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{room}室"
    )


def _other_sex(sex: str) -> str:
    return SEX_FEMALE if sex == SEX_MALE else SEX_MALE


def _household(rng: random.Random, size: int, today: datetime.date) -> list[_Member]:
    """Head first, then spouse, parents of the head and children, with consistent ages."""
    has_spouse = size >= 2 and rng.random() < 0.85
    slots = size - 1 - int(has_spouse)
    parents = 0
    if slots >= 1 and rng.random() < 0.3:
        parents = min(slots, rng.choice((1, 1, 2)))
    children = slots - parents

    if parents:
        head_ages = (28, 55)
    elif children:
        head_ages = (27, 70)
    elif size == 1:
        head_ages = (18, 92)
    else:
        head_ages = (20, 90)
    head_sex = SEX_MALE if rng.random() < 0.8 else SEX_FEMALE
    head_birth = _birth_for_age(rng, today, *head_ages)
    surname = _surname(rng)
    members = [_Member(RELATION_HEAD, head_sex, head_birth, surname)]

    parent_births = [head_birth]
    # Children take their father's surname: the head's, or the husband's of a woman at the head.
    children_surname = surname
    if has_spouse:
        # Husbands are usually a few years older than their wives.
        older = rng.randint(0, 5 * 365) if rng.random() < 0.8 else -rng.randint(0, 3 * 365)
        offset = older if head_sex == SEX_MALE else -older
        youngest_spouse = 22 if children else 20
        spouse_birth = _clamp(
            head_birth + datetime.timedelta(days=offset), EARLIEST_BIRTH, add_years(today, -youngest_spouse)
        )
        spouse_surname = _surname(rng)
        members.append(_Member(RELATION_SPOUSE, _other_sex(head_sex), spouse_birth, spouse_surname))
        parent_births.append(spouse_birth)
        if head_sex == SEX_FEMALE:
            children_surname = spouse_surname

    parent_sexes = [SEX_MALE, SEX_FEMALE]
    if parents == 1:
        parent_sexes = [rng.choice(parent_sexes)]
    elif parents == 0:
        parent_sexes = []
    for sex in parent_sexes:
        first = max(add_years(head_birth, -45), EARLIEST_BIRTH)
        birth = _random_date(rng, first, add_years(head_birth, -20))
        relation = RELATION_FATHER if sex == SEX_MALE else RELATION_MOTHER
        members.append(_Member(relation, sex, birth, surname if sex == SEX_MALE else _surname(rng)))

    # Children are 20 to 45 years younger than both parents.
    first_child = add_years(max(parent_births), 20)
    last_child = min(add_years(min(parent_births), 45), today)
    births: list[datetime.date] = []
    for _ in range(children):
        # Siblings are born at least ten months apart where the parents' ages allow it.
        for _attempt in range(10):
            birth = _random_date(rng, first_child, last_child)
            if all(abs((birth - other).days) >= 300 for other in births):
                break
        births.append(birth)
    for birth in sorted(births):
        sex = rng.choice((SEX_MALE, SEX_FEMALE))
        relation = RELATION_SON if sex == SEX_MALE else RELATION_DAUGHTER
        members.append(_Member(relation, sex, birth, children_surname))
    return members


def _new_id_number(rng: random.Random, region: str, birth: datetime.date, sex: str, used: set[str]) -> str:
    start = 1 if sex == SEX_MALE else 2  # odd sequence: male; even: female
    for _ in range(5000):
        number = idnumber.build(region, birth, rng.randrange(start, 1000, 2))
        if number not in used:
            used.add(number)
            return number
    raise RuntimeError(f"no free ID number left for {region} {birth}")


def _card_states(count: int, lost: Sequence[bool], person_status: str) -> list[str]:
    states = [Card.State.LOST if lost[i] else Card.State.SUPERSEDED for i in range(count - 1)]
    states.append(Card.State.ACTIVE if person_status == Person.Status.NORMAL else Card.State.CANCELLED)
    return [str(state) for state in states]


def _card_chain(
    rng: random.Random, birth: datetime.date, first: datetime.date, today: datetime.date
) -> tuple[list[tuple[int, datetime.date, datetime.date | None]], list[bool]]:
    """Cards from `first` on, each replaced at expiry (or earlier, when lost); first-generation
    cards still valid in 2004 are exchanged for second-generation ones by the end of 2012."""
    cards: list[tuple[int, datetime.date, datetime.date | None]] = []
    lost: list[bool] = []
    issued = first
    while issued <= today:
        until = valid_until_for(birth, issued)
        generation = 1 if issued < SECOND_GENERATION_START else 2
        cards.append((generation, issued, until))
        was_lost = False
        if generation == 1 and (until is None or until >= SECOND_GENERATION_START):
            # 换发第二代居民身份证 (2004-2012).
            last = FIRST_GENERATION_REPLACED_BY if until is None else min(until, FIRST_GENERATION_REPLACED_BY)
            following = _random_date(
                rng, max(issued + datetime.timedelta(days=30), SECOND_GENERATION_START), last
            )
        elif rng.random() < 0.04:
            # Lost and replaced (补领) before it expired.
            end = until or add_years(issued, 20)
            following = _random_date(
                rng, issued + datetime.timedelta(days=60), end - datetime.timedelta(days=1)
            )
            was_lost = True
        elif until is None:
            break
        elif rng.random() < 0.85:
            following = until - datetime.timedelta(days=rng.randint(0, 90))  # renewed before expiry
        else:
            following = until + datetime.timedelta(days=rng.randint(1, 400))  # renewed late
        lost.append(was_lost)
        issued = following
    # The last flag belongs to a replacement that lies in the future: drop it.
    return cards, lost[: len(cards) - 1]


def _first_card_date(rng: random.Random, birth: datetime.date, today: datetime.date) -> datetime.date | None:
    """When a person got their first card, or None if they never applied."""
    age = age_on(birth, today)
    sixteen = add_years(birth, 16)
    if age < 16:
        # Cards for children are voluntary (since 2004); a minority has one.
        if rng.random() < 0.2:
            return _random_date(rng, max(birth, SECOND_GENERATION_START), today)
        return None
    if rng.random() < 0.03:
        return None  # never applied
    if sixteen > SECOND_GENERATION_START and rng.random() < 0.1:
        # Applied as a child.
        return _random_date(rng, max(add_years(birth, 6), SECOND_GENERATION_START), sixteen)
    if sixteen < FIRST_GENERATION_START:
        return _random_date(rng, FIRST_GENERATION_START, FIRST_GENERATION_ROLLOUT_END)
    return _random_date(rng, sixteen, min(sixteen + datetime.timedelta(days=720), today))


def _cards(
    rng: random.Random, birth: datetime.date, status: str, today: datetime.date, authority: str
) -> tuple[CardSpec, ...]:
    # Campaign targets: only ever held a first-generation card, long expired but never replaced.
    target_first = max(add_years(birth, 16), FIRST_GENERATION_START)
    target_last = min(add_years(birth, 45), SECOND_GENERATION_START - datetime.timedelta(days=1))
    if age_on(birth, today) >= 16 and target_first <= target_last and rng.random() < 0.04:
        issued = _random_date(rng, target_first, target_last)
        until = valid_until_for(birth, issued)
        state = Card.State.ACTIVE if status == Person.Status.NORMAL else Card.State.CANCELLED
        return (CardSpec(1, authority, issued, until, str(state)),)
    first = _first_card_date(rng, birth, today)
    if first is None:
        return ()
    chain, lost = _card_chain(rng, birth, first, today)
    if not chain:
        return ()
    states = _card_states(len(chain), lost, status)
    return tuple(
        CardSpec(generation, authority, issued, until, state)
        for (generation, issued, until), state in zip(chain, states, strict=True)
    )


def _status(rng: random.Random, birth: datetime.date, today: datetime.date) -> str:
    age = age_on(birth, today)
    if age >= 65 and rng.random() < 0.04:
        return str(Person.Status.DECEASED)
    if age >= 16 and rng.random() < 0.003:
        return str(Person.Status.CANCELLED)
    return str(Person.Status.NORMAL)


def household_number(station_code: str, n: int) -> str:
    """户号: the station's code without the province, then a 5-digit counter (unique province-wide)."""
    return f"{station_code[-7:]}{n:05d}"


def generate_people(
    rng: random.Random, stations: Sequence[StationInfo], n: int, today: datetime.date
) -> list[PersonSpec]:
    """`n` people in households of 1 to 6, each registered at a random station of `stations`."""
    if n < 0:
        raise ValueError("the number of people cannot be negative")
    if n and not stations:
        raise ValueError("no stations to register people at")
    counties = sorted({station.region_code for station in stations})
    used: set[str] = set()
    households: dict[str, int] = {}
    people: list[PersonSpec] = []
    sizes = [(str(size), weight) for size, weight in HOUSEHOLD_SIZE_WEIGHTS]
    while len(people) < n:
        station = rng.choice(stations)
        size = min(int(_weighted(rng, sizes)), n - len(people))
        households[station.code] = households.get(station.code, 0) + 1
        household_no = household_number(station.code, households[station.code])
        address = _address(rng, station)
        ethnicity = _weighted(rng, ETHNICITY_WEIGHTS)
        for member in _household(rng, size, today):
            own_ethnicity = ethnicity
            if member.relation == RELATION_SPOUSE and rng.random() < 0.1:
                own_ethnicity = _weighted(rng, ETHNICITY_WEIGHTS)
            # Most were born in the county they live in; some elsewhere in the province.
            region = station.region_code if rng.random() < 0.9 else rng.choice(counties)
            status = _status(rng, member.birth, today)
            people.append(
                PersonSpec(
                    id_number=_new_id_number(rng, region, member.birth, member.sex, used),
                    name=member.surname + _given_name(rng, member.sex),
                    sex=member.sex,
                    ethnicity=own_ethnicity,
                    birth_date=member.birth,
                    address=address,
                    household_no=household_no,
                    relation=member.relation,
                    station_code=station.code,
                    region_code=station.region_code,
                    status=status,
                    cards=_cards(rng, member.birth, status, today, station.authority),
                )
            )
    return people


# ---------------------------------------------------------------------------------------------
# Wanted persons and floating population


def _living_aged(
    people: Sequence[PersonSpec], today: datetime.date, youngest: int, oldest: int
) -> list[PersonSpec]:
    """People of normal status whose age today lies in [youngest, oldest], in register order."""
    return [
        person
        for person in people
        if person.status == Person.Status.NORMAL and youngest <= age_on(person.birth_date, today) <= oldest
    ]


def generate_wanted(
    rng: random.Random,
    people: Sequence[PersonSpec],
    stations: Sequence[StationInfo],
    count: int,
    today: datetime.date,
    *,
    featured_station: str | None = FEATURED_STATION,
) -> list[WantedSpec]:
    """`count` wanted-list entries: 80% people of the register, the rest numbers of nobody there.

    The first registered entry is someone of `featured_station` when it has any adult, so the
    demo clerk meets a watchlist hit."""
    candidates = _living_aged(people, today, 18, 70)
    linked = min(round(count * 0.8), len(candidates))
    featured = [p for p in candidates if p.station_code == featured_station]
    chosen: list[PersonSpec] = []
    if linked and featured:
        chosen.append(rng.choice(featured))
        candidates = [p for p in candidates if p.id_number != chosen[0].id_number]
    chosen += rng.sample(candidates, linked - len(chosen))

    used = {person.id_number for person in people}
    counties = sorted({station.region_code for station in stations})
    cities = sorted({station.city_code for station in stations})
    case_numbers: set[str] = set()
    wanted: list[WantedSpec] = []

    def case_number(city_code: str, listed_on: datetime.date) -> str:
        while True:
            number = f"A{city_code}{listed_on.year}{rng.randint(0, 99_999):05d}"
            if number not in case_numbers:
                case_numbers.add(number)
                return number

    def listed(birth: datetime.date) -> datetime.date:
        first = max(add_years(birth, 16), add_years(today, -15))
        return _random_date(rng, first, today - datetime.timedelta(days=1))

    for person in chosen:
        listed_on = listed(person.birth_date)
        wanted.append(
            WantedSpec(
                id_number=person.id_number,
                name=person.name,
                registered=True,
                case_number=case_number(person.station_code[:4], listed_on),
                listed_on=listed_on,
                active=rng.random() < 0.9,
            )
        )
    for _ in range(count - len(chosen)):
        sex = rng.choice((SEX_MALE, SEX_FEMALE))
        birth = _birth_for_age(rng, today, 18, 65)
        region = rng.choice(counties)
        listed_on = listed(birth)
        wanted.append(
            WantedSpec(
                id_number=_new_id_number(rng, region, birth, sex, used),
                name=_surname(rng) + _given_name(rng, sex),
                registered=False,
                case_number=case_number(rng.choice(cities), listed_on),
                listed_on=listed_on,
                active=rng.random() < 0.9,
            )
        )
    return wanted


def generate_floating(
    rng: random.Random,
    people: Sequence[PersonSpec],
    stations: Sequence[StationInfo],
    count: int,
    today: datetime.date,
) -> list[FloatingSpec]:
    """`count` people of working age living at a station of another city than their household's."""
    cities = sorted({station.city_code for station in stations})
    if len(cities) < 2:
        return []
    elsewhere = {city: [s for s in stations if s.city_code != city] for city in cities}
    candidates = _living_aged(people, today, 18, 60)
    floating: list[FloatingSpec] = []
    for person in rng.sample(candidates, min(count, len(candidates))):
        station = rng.choice(elsewhere[person.station_code[:4]])
        first = max(add_years(person.birth_date, 16), add_years(today, -5))
        registered_on = _random_date(rng, first, today - datetime.timedelta(days=1))
        valid_until = add_years(registered_on, rng.choice((1, 1, 2, 3)))
        floating.append(
            FloatingSpec(
                id_number=person.id_number,
                station_code=station.code,
                address=_address(rng, station),
                registered_on=registered_on,
                valid_until=valid_until,
                active=valid_until >= today,
            )
        )
    return floating


def wanted_count(people: int) -> int:
    """About 1% of the register, at least one from 100 people on."""
    return people // 100


def floating_count(people: int) -> int:
    """About 1.5% of the register."""
    return people * 3 // 200


def generate(seed: int, stations: Sequence[StationInfo], people: int, today: datetime.date) -> DemoData:
    """All synthetic records for `seed`, from one random generator."""
    # Deterministic synthetic data, not security: a seeded PRNG is exactly what is wanted.
    rng = random.Random(seed)  # noqa: S311
    register = generate_people(rng, stations, people, today)
    return DemoData(
        people=register,
        wanted=generate_wanted(rng, register, stations, wanted_count(people), today),
        floating=generate_floating(rng, register, stations, floating_count(people), today),
    )


# ---------------------------------------------------------------------------------------------
# Database


def province_stations(province_code: str = PROVINCE_CODE) -> list[StationInfo]:
    """The active stations of a province, ordered by code."""
    units = (
        Unit.objects.stations()
        .filter(code__startswith=province_code, active=True)
        .select_related("parent")
        .order_by("code")
    )
    stations = []
    for unit in units:
        county = unit.region_code
        stations.append(
            StationInfo(
                code=unit.code,
                region_code=county,
                city_name=regions.name_for(county[:4] + "00") or "",
                county_name=regions.name_for(county) or "",
                authority=issuing_authority(unit),
            )
        )
    return stations


def _seed_users() -> int:
    units = {unit.code: unit for unit in Unit.objects.filter(code__in=[u.unit_code for u in DEMO_USERS])}
    existing = set(
        User.objects.filter(username__in=[u.username for u in DEMO_USERS]).values_list("username", flat=True)
    )
    created = 0
    password_hash: str | None = None
    for spec in DEMO_USERS:
        if spec.username in existing:
            continue
        unit = units.get(spec.unit_code)
        if unit is None:
            raise RuntimeError(f"demo unit {spec.unit_code} is missing")
        # One hash for all: the password is shared, and hashing is deliberately slow.
        password_hash = password_hash or make_password(DEMO_PASSWORD)
        user = User.objects.create_user(
            spec.username,
            password=None,
            first_name=spec.first_name,
            last_name=spec.last_name,
            role=spec.role.value,
            unit=unit,
            is_staff=spec.is_staff,
        )
        user.password = password_hash
        user.save(update_fields=["password"])
        created += 1
    # Every account that must use a second factor (accounts.roles.second_factor_required) shares
    # the demo authenticator, whose current code `tongban demo otp` prints.
    for user in User.objects.filter(username__in=[spec.username for spec in DEMO_USERS]).select_related(
        "unit"
    ):
        if user.requires_second_factor and not any(True for _ in devices_for_user(user, confirmed=None)):
            TOTPDevice.objects.create(
                user=user, name=DEMO_TOTP_DEVICE_NAME, key=DEMO_TOTP_KEY_HEX, confirmed=True
            )
    return created


def _write(data: DemoData, stations: Sequence[StationInfo]) -> dict[str, int]:
    unit_ids = dict(Unit.objects.filter(code__in=[s.code for s in stations]).values_list("code", "pk"))
    Person.objects.bulk_create(
        (
            Person(
                id_number=p.id_number,
                name=p.name,
                sex_id=p.sex,
                ethnicity_id=p.ethnicity,
                birth_date=p.birth_date,
                address=p.address,
                household_no=p.household_no,
                relation_id=p.relation,
                registration_unit_id=unit_ids[p.station_code],
                region_code=p.region_code,
                status=p.status,
            )
            for p in data.people
        ),
        batch_size=2000,
    )
    person_ids = (
        dict(
            Person.objects.filter(id_number__in=[p.id_number for p in data.people]).values_list(
                "id_number", "pk"
            )
        )
        if len(data.people) < 900
        else dict(Person.objects.values_list("id_number", "pk"))
    )
    cards = [
        Card(
            person_id=person_ids[p.id_number],
            generation=c.generation,
            issuing_authority=c.issuing_authority,
            valid_from=c.valid_from,
            valid_until=c.valid_until,
            state=c.state,
        )
        for p in data.people
        for c in p.cards
    ]
    Card.objects.bulk_create(cards, batch_size=2000)
    WantedPerson.objects.bulk_create(
        [
            WantedPerson(
                id_number=w.id_number,
                person_id=person_ids[w.id_number] if w.registered else None,
                name=w.name,
                case_number=w.case_number,
                listed_on=w.listed_on,
                active=w.active,
            )
            for w in data.wanted
        ],
        batch_size=2000,
    )
    FloatingRegistration.objects.bulk_create(
        [
            FloatingRegistration(
                person_id=person_ids[f.id_number],
                residence_unit_id=unit_ids[f.station_code],
                address=f.address,
                registered_on=f.registered_on,
                valid_until=f.valid_until,
                active=f.active,
            )
            for f in data.floating
        ],
        batch_size=2000,
    )
    return {
        "people": len(data.people),
        "cards": len(cards),
        "wanted": len(data.wanted),
        "floating": len(data.floating),
    }


# 区号 of Jiangxi's cities, for the demo stations' telephones.
AREA_CODES = {
    "3601": "0791", "3602": "0798", "3603": "0799", "3604": "0792", "3605": "0790", "3606": "0701",
    "3607": "0797", "3608": "0796", "3609": "0795", "3610": "0794", "3611": "0793",
}  # fmt: skip


def seed_station_contacts(seed: int) -> int:
    """Give the demo's stations a telephone and an office address, as their administrators would
    enter them (printed on their 登记表, 领证回执 and 票据), except the stations of the last county
    of the province: those stay blank so that the list of stations missing them has something to
    show. Fills blanks only, so what an administrator entered is kept. Returns how many changed."""
    rng = random.Random(seed)  # noqa: S311 - deterministic synthetic data
    stations = list(
        Unit.objects.stations().filter(code__startswith=PROVINCE_CODE, active=True).order_by("code")
    )
    if not stations:
        return 0
    left_blank = stations[-1].region_code
    changed = 0
    for unit in stations:
        if unit.region_code == left_blank or (unit.phone and unit.address):
            continue
        region = unit.region_code
        city, county = regions.name_for(region[:4] + "00") or "", regions.name_for(region) or ""
        stem = unit.name.removeprefix(county).removesuffix("派出所") or "中心"
        unit.phone = (
            unit.phone or f"{AREA_CODES.get(region[:4], '0791')}-{rng.randrange(8200_0000, 8899_9999)}"
        )
        unit.address = unit.address or f"江西省{city}{county}{stem}路{rng.randint(1, 299)}号"
        unit.save(update_fields=["phone", "address"])
        changed += 1
    return changed


# Where the generated history leaves an application past its review deadline, one due today and one
# due the next working day: 城东派出所, the demo `reviewer`'s station (审核期限提醒 on 通知 at once).
REVIEW_EXAMPLES_AT = "360102002"


@transaction.atomic
def seed_demo(
    *,
    people: int,
    seed: int,
    today: datetime.date | None = None,
    applications: int = 0,
    history_photo: bytes | None = None,
) -> dict[str, int]:
    """Load Jiangxi's units, the demo accounts and (into an empty register) `people` synthetic
    people with cards, wanted-list entries and floating registrations. Returns what was created.

    Safe to run again: units are brought up to date, existing accounts are kept, and no people
    are added once the register holds anyone. `today` defaults to the date in Asia/Shanghai.
    `history_photo` is the ID photo the generated applications carry (`tongban demo seed` gives
    the demo photo, so the centre can package the ones still waiting for production)."""
    if getattr(settings, "PRODUCTION", False):
        raise DemoRefused("refusing to load demo data (shared demo passwords) into a production system")
    if people < 0:
        raise ValueError("the number of people cannot be negative")
    today = today or REFERENCE_DATE
    units = units_load_province(
        province_code=PROVINCE_CODE, stations_per_county=STATIONS_PER_COUNTY, actor=None
    )
    seed_station_contacts(seed)
    counts = {
        "units": units.created,
        "users": _seed_users(),
        "liaisons": liaisons_seed_demo(),
        "people": 0,
        "cards": 0,
        "wanted": 0,
        "floating": 0,
    }
    if not Person.objects.exists():
        stations = province_stations()
        counts.update(_write(generate(seed, stations, people, today), stations))
    # 申领历史 for the dashboards (督导): applications of the last 90 days at real dates, once.
    # `applications` applicants are people of their own, beside the `people` of the register.
    if applications and not Application.objects.exists():
        counts["applications"] = generate_history(
            applications=applications, days=90, seed=seed, photo=history_photo, waiting_at=REVIEW_EXAMPLES_AT
        ).applications
        # 电子证照 of the cards the history handed over (written in bulk, past the listener).
        counts["ecerts"] = certificates_backfill()
    # The 集中换发 of seeds/003 in 南昌市, its phases around the real date (not REFERENCE_DATE).
    seed_campaign(today=timezone.localdate())
    # 居民身份证核查: a demo bank with a documented key, and a card holder to check (after the
    # register: an empty register is what lets the people above be generated).
    cardcheck_seed_demo()
    record(actor=None, action=AuditAction.DEMO_SEED, object_type="demo", object_id=str(seed), detail=counts)
    return counts


# ---------------------------------------------------------------------------------------------
# A second province, for 跨省通办 between two demo instances


HOUSEHOLD_RESIDENT = ("林嘉怡", SEX_FEMALE, datetime.date(1995, 8, 16))


@transaction.atomic
def seed_other_province(*, province_code: str) -> dict[str, str | int]:
    """Another province's system in miniature (`tongban demo province 44`, beside its own database
    and keys): its units, one resident registered at its first station (林嘉怡, no card yet) and
    that station's reviewer `reviewer_<code>` (the demo password and, where the role needs one, the
    demo authenticator), so that an application accepted in the demo province for her is reviewed
    and issued there. Safe to run again."""
    if getattr(settings, "PRODUCTION", False):
        raise DemoRefused("refusing to load demo data (shared demo passwords) into a production system")
    units = units_load_province(province_code=province_code, stations_per_county=1, actor=None)
    station = Unit.objects.stations().filter(code__startswith=province_code).order_by("code").first()
    if station is None:
        raise ValueError(f"province {province_code} has no stations")
    name, sex, birth = HOUSEHOLD_RESIDENT
    id_number = idnumber.build(station.region_code, birth, 2 if sex == SEX_FEMALE else 1)
    Person.objects.get_or_create(
        id_number=id_number,
        defaults={
            "name": name,
            "sex_id": sex,
            "ethnicity_id": "01",
            "birth_date": birth,
            "address": f"{regions.full_name(station.region_code) or ''}人民路1号",
            "household_no": household_number(station.code, 1),
            "relation_id": RELATION_HEAD,
            "registration_unit": station,
            "region_code": station.region_code,
        },
    )
    username = f"reviewer_{province_code}"
    reviewer = User.objects.filter(username=username).first()
    if reviewer is None:
        reviewer = User.objects.create_user(
            username, password=None, first_name="国强", last_name="梁", role=Role.REVIEWER.value, unit=station
        )
        reviewer.password = make_password(DEMO_PASSWORD)
        reviewer.save(update_fields=["password"])
    if reviewer.requires_second_factor and not any(True for _ in devices_for_user(reviewer, confirmed=None)):
        TOTPDevice.objects.create(
            user=reviewer, name=DEMO_TOTP_DEVICE_NAME, key=DEMO_TOTP_KEY_HEX, confirmed=True
        )
    record(
        actor=None,
        action=AuditAction.DEMO_SEED,
        object_type="demo",
        object_id=province_code,
        detail={"units": units.created, "resident": id_number, "reviewer": username},
    )
    return {"units": units.created, "station": station.code, "resident": id_number, "reviewer": username}
