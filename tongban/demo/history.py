"""A realistic application history (申领历史), generated in bulk: for the demo, the dashboards'
tests and the 1.31-million benchmark.

Each application is a synthetic applicant registered at a station of the province (首次申领 for
minors and young adults who never had a card, 换领 for adults with an expired card), accepted at
a random moment of a working day of the last `days` days at a station (in 全省通办 often another
city or county than the household's), and then lived forward with realistic delays: withdrawn,
refused with a reason, or issued; batched and produced at the centre its acceptance routes to,
shipped, received at the station and handed over in person, to a relative (代领) or by post, the
last two followed by the applicant's own verification (核验) within the configured working days,
some late and some still owed. A small share stalls in some stage (滞留件). The application stands
at the last step whose time has passed.

Every row keeps the invariants the services keep: a 申领原因 that fits the 申领类型 and the age on
the acceptance day (11 under 16, 12 at 16 or over, 21 for a card whose validity ended), the
household's county bureau as 签发机关 (registry.authority); the 办理记录 (ApplicationEvent) of each step
with `last_event_at` the time of the last one; 受理号 and 票据号 from the same counters the
counter services use (`intake_acceptancecounter`, `finance_receiptcounter` brought up to date,
so later acceptances continue the sequences); one `Payment` per accepted application with the fee
of the fee table (0 for first applications, waived for 低保 recipients), a `Refund` for each paid
application withdrawn or refused and the free ones voided; review deadlines from the holiday
table; one active card per person (the old card superseded at handover); `Handover` and
`Verification` rows. Production and distribution records of their own (batches, shipments) are
not generated: the production queue and the 待领取 list find the applications by status, and a
handover finds the produced card by 受理号.

Rows are written with COPY on PostgreSQL and executemany on SQLite, with explicit primary keys.
Deterministic for a seed and a `today`. The events are attributed to generated, disabled
accounts (one clerk and one reviewer per station, `hist-…`), so nobody can sign in as them.
"""

from __future__ import annotations

import datetime
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.db.models import Max

from tongban.accounts.models import User
from tongban.accounts.roles import Role
from tongban.biometrics.photo import chip_photo
from tongban.core import idnumber, regions
from tongban.core.crypto import seal
from tongban.core.dates import add_years, age_on
from tongban.core.workdays import WorkCalendar
from tongban.finance import rules as finance_rules
from tongban.finance.models import Payment, Refund
from tongban.handover.models import FingerCheck, Handover, Verification
from tongban.intake import rules
from tongban.intake.models import Application, ApplicationEvent
from tongban.production.package import seal_card_images
from tongban.registry import codes
from tongban.registry.authority import issuing_authority
from tongban.registry.calendar import work_calendar
from tongban.registry.fields import SealedBinaryField
from tongban.registry.models import Card, Person, ProductionRoute, Unit
from tongban.supervision import rollup as supervision_rollup

Status = Application.Status

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段"
)
# Given names by sex, so that a name fits the sex the ID number records.
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁"
GIVEN_FEMALE = "芳娜敏静丽艳燕娟霞玲英萍红梅琳婷雪慧颖倩洁琴云莉欣怡佳悦思雨萱诗涵梦晓"
GIVEN = GIVEN_MALE + GIVEN_FEMALE
ROADS = (
    "八一大道",
    "北京西路",
    "阳明路",
    "中山路",
    "胜利路",
    "象山北路",
    "叠山路",
    "解放路",
    "人民路",
    "文化路",
)
# 不予签发: (coded reason, remark), weight; the text is the reason's shipped name and the remark.
REFUSAL_REASONS = (
    (("06", "经走访核实，申请人身份存疑，无法确认"), 30),
    (("01", "曾领取居民身份证，不符合首次申领条件"), 25),
    (("04", "制证相片与常住人口相片比对不一致"), 20),
    (("02", "登记项目与户籍信息不一致，须先办理变更"), 15),
    (("99", "人像比对命中在逃人员库，移交核查"), 3),
    (("07", "未能提供监护关系证明材料"), 7),
)
REFUSAL_NAMES = {code: name for code, name, _ in codes.REFUSAL_REASONS}
WITHDRAWAL_REASONS = (
    "申请人要求撤销，回户籍地办理",
    "申请人信息录入有误，撤销后重新受理",
    "申请人已在他处申领",
)
# Local working hours in which steps happen (08:30 – 17:30).
WORK_START_MIN, WORK_LENGTH_MIN = 8 * 60 + 30, 9 * 60


@dataclass(frozen=True)
class HistoryCounts:
    applications: int
    events: int
    people: int
    cards: int
    payments: int
    refunds: int
    handovers: int
    verifications: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class _Station:
    pk: int
    code: str
    region_code: str
    county_pk: int
    authority: str  # 签发机关 of its households (registry.authority)
    centre_pk: int
    name: str


class _Table:
    """Rows of one table with explicit primary keys, written in chunks."""

    def __init__(self, model: type[models.Model], start_pk: int, stride: int = 1) -> None:
        self.model = model
        self.stride = stride
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        self.json = {i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)}
        # SQLite gets what Django itself would bind (naive UTC text for aware times).
        self.adapt = [
            (i, f.get_db_prep_value)
            for i, f in enumerate(self.fields)
            if isinstance(f, (models.DateTimeField, models.DateField, models.DecimalField))
        ]
        # What Django would store for a field left out ("" for text, the declared default).
        self.template: list[Any] = [f.get_default() for f in self.fields]
        self.next_pk = start_pk
        self.rows: list[list[Any]] = []
        self.written = 0

    def add(self, **values: Any) -> int:
        row = self.template.copy()
        pk = self.next_pk
        self.next_pk += self.stride
        row[0] = pk
        for key, value in values.items():
            row[self.index[key]] = value
        self.rows.append(row)
        return pk

    def flush(self) -> None:
        if not self.rows:
            return
        for i in self.json:
            for row in self.rows:
                row[i] = json.dumps(row[i], ensure_ascii=False)
        table = self.model._meta.db_table
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                for i, prep in self.adapt:
                    for row in self.rows:
                        if row[i] is not None:
                            row[i] = prep(row[i], connection, prepared=False)
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", self.rows)  # noqa: S608
        self.written += len(self.rows)
        self.rows = []


def _next_pk(model: type[models.Model]) -> int:
    return (model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _reset_sequence(model: type[models.Model]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's rowid continues after the largest key by itself
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1)) FROM {table}"  # noqa: S608
        )


def _stations(province: Unit) -> list[_Station]:
    units = list(Unit.objects.subtree(province).filter(active=True).order_by("path"))
    by_code = {u.code: u for u in units}
    routes = {r.region_prefix: r.centre for r in ProductionRoute.objects.select_related("centre")}
    stations = []
    for unit in units:
        if unit.kind != Unit.Kind.STATION or unit.parent_id is None:
            continue
        county = next(u for u in units if u.pk == unit.parent_id)
        centre = regions.longest_prefix(unit.code, routes) or by_code.get(province.code.ljust(6, "0") + "901")
        if centre is None:
            raise RuntimeError("no production centre for " + unit.code)
        stations.append(
            _Station(
                unit.pk, unit.code, unit.region_code, county.pk, issuing_authority(unit), centre.pk, unit.name
            )
        )
    if not stations:
        raise RuntimeError("the province has no stations: load its units first")
    return stations


def _staff_name(username: str) -> dict[str, str]:
    rng = random.Random(username)  # noqa: S311 - the same name for the same account, every run
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return {"last_name": rng.choice(SURNAMES), "first_name": given}


def _history_users(stations: Sequence[_Station]) -> tuple[dict[int, int], dict[int, int]]:
    """One disabled clerk and one reviewer per station (created once), with a name."""
    wanted = {f"hist-clerk-{s.code}": (Role.CLERK, s.pk) for s in stations}
    wanted |= {f"hist-reviewer-{s.code}": (Role.REVIEWER, s.pk) for s in stations}
    existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    unusable = make_password(None)
    User.objects.bulk_create(
        [
            User(
                username=name,
                password=unusable,
                role=role.value,
                unit_id=unit_pk,
                is_active=False,
                # A person's name, as printed on the forms they signed (受理人, 收费人).
                **_staff_name(name),
            )
            for name, (role, unit_pk) in wanted.items()
            if name not in existing
        ]
    )
    ids = dict(User.objects.filter(username__in=wanted).values_list("username", "pk"))
    clerks = {s.pk: ids[f"hist-clerk-{s.code}"] for s in stations}
    reviewers = {s.pk: ids[f"hist-reviewer-{s.code}"] for s in stations}
    return clerks, reviewers


class _Clock:
    """Local working-time arithmetic over one loaded holiday calendar."""

    def __init__(self, calendar: WorkCalendar, zone: ZoneInfo) -> None:
        self.calendar = calendar
        self.zone = zone

    def at(self, day: datetime.date, minute: int) -> datetime.datetime:
        local = datetime.datetime.combine(day, datetime.time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(datetime.UTC)

    def later(self, rng: random.Random, moment: datetime.datetime, workdays: float) -> datetime.datetime:
        """About `workdays` working days after `moment`, inside working hours."""
        local = moment.astimezone(self.zone)
        day = local.date()
        whole = int(workdays)
        minute = local.hour * 60 + local.minute + int((workdays - whole) * WORK_LENGTH_MIN)
        if minute >= WORK_START_MIN + WORK_LENGTH_MIN:
            whole += 1
            minute = WORK_START_MIN + rng.randrange(60)
        for _ in range(whole):
            day = self.calendar.next_workday(day)
        if not self.calendar.is_workday(day):
            day = self.calendar.next_workday(day)
        minute = max(minute, WORK_START_MIN)
        return self.at(day, minute)

    def due(self, moment: datetime.datetime, workdays: int) -> datetime.date:
        start = moment.astimezone(self.zone).date()
        count_start = settings.DEADLINES.count_arrival_day
        return self.calendar.add_workdays(start, workdays, count_start=count_start)


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def generate_history(
    *,
    applications: int,
    days: int = 90,
    seed: int = 2026,
    today: datetime.date | None = None,
    province_code: str = "36",
    acceptance_prefix: str = "",
    chunk: int = 20_000,
    progress: Any = None,
    key_stride: int = 1,
    photo: bytes | None = None,
    waiting_at: str = "",
) -> HistoryCounts:
    """Generate `applications` applications accepted over the last `days` days (up to now) with
    their people, events, fees, cards, handovers and verifications. Returns what was written.
    `acceptance_prefix` keeps the acceptances at stations whose code starts with it (households
    stay province-wide). `key_stride` leaves room between primary keys for `replicate_history`.
    `photo` (a standard ID photo) is given to every application, sealed as the counter stores it,
    so that the ones still to be produced can be packaged and the review and handover pages show
    one; without it the applications have none (the benchmarks). `waiting_at` (a station's code)
    adds three applications of people registered there, accepted at that station and still in its
    review: one past its deadline, one due today and one due the next working day (the demo's
    reviewer has each kind of 审核期限提醒 from the first minute)."""
    if applications < 0 or days < 1:
        raise ValueError("applications must be ≥ 0 and days ≥ 1")
    began = time.perf_counter()
    zone = ZoneInfo(settings.TIME_ZONE)
    now = datetime.datetime.now(tz=datetime.UTC)
    today = today or now.astimezone(zone).date()
    if today != now.astimezone(zone).date():
        now = datetime.datetime.combine(today, datetime.time(18, 0), tzinfo=zone).astimezone(datetime.UTC)
    rng = random.Random(seed)  # noqa: S311 - deterministic synthetic data
    province = Unit.objects.get(code=province_code)
    stations = _stations(province)
    clerks, reviewers = _history_users(stations)
    counters = [s for s in stations if s.code.startswith(acceptance_prefix)]
    if not counters:
        raise ValueError(f"no station code starts with {acceptance_prefix!r}")
    first_day = today - datetime.timedelta(days=days - 1)
    calendar = work_calendar(first_day - datetime.timedelta(days=10), today + datetime.timedelta(days=120))
    clock = _Clock(calendar, zone)
    workdays_list = [
        d for d in (first_day + datetime.timedelta(n) for n in range(days)) if calendar.is_workday(d)
    ]
    if not workdays_list:
        workdays_list = [today]
    review_days = settings.DEADLINES.review_days
    verification_days = settings.DEADLINES.post_verification_days
    fee_table = settings.FEES
    by_county: dict[str, list[_Station]] = {}
    for s in stations:
        by_county.setdefault(s.region_code, []).append(s)
    counties = sorted(by_county)

    tables: dict[type[models.Model], _Table] = {
        model: _Table(model, _next_pk(model), key_stride)
        for model in (Person, Card, Application, ApplicationEvent, Payment, Refund, Handover, Verification)
    }
    people, cards, apps, events = tables[Person], tables[Card], tables[Application], tables[ApplicationEvent]
    payments, refunds, handovers, verifications = (
        tables[Payment],
        tables[Refund],
        tables[Handover],
        tables[Verification],
    )
    # Sequences continue where the counters stand.
    acceptance_seq: dict[tuple[int, datetime.date], int] = {
        (station_id, day): last
        for station_id, day, last in _counter_rows("intake_acceptancecounter", "station_id", "day", first_day)
    }
    receipt_seq: dict[tuple[int, int], int] = {
        (unit_id, year): last
        for unit_id, year, last in _counter_rows("finance_receiptcounter", "unit_id", "year", first_day.year)
    }
    taken = set(Person.objects.values_list("id_number", flat=True)) if Person.objects.exists() else set()
    # Sealed once, bound to the column like every photo the counter stores, with the production
    # segment the counter makes of it and its chip copy (one for all: the same photo).
    sealed_photo = _sealed("photo", photo) if photo else None
    images = seal_card_images(photo, chip_photo(photo)) if photo else None
    sealed_images_key = _sealed("card_images_key", images.record()) if images else None
    serial_base = _next_pk(Card) * 10 + 7_000_000_000

    acceptance_times = sorted(
        clock.at(rng.choice(workdays_list), WORK_START_MIN + rng.randrange(WORK_LENGTH_MIN))
        for _ in range(applications)
    )
    acceptance_times = [t for t in acceptance_times if t <= now] + [
        now - datetime.timedelta(minutes=rng.randrange(1, 60)) for t in acceptance_times if t > now
    ]
    acceptance_times.sort()
    visits: list[tuple[datetime.datetime, _Station | None, _Station | None]] = [
        (accepted_at, None, None) for accepted_at in acceptance_times
    ]
    if waiting_at:
        focus = next(s for s in stations if s.code == waiting_at)
        visits += [(moment, focus, focus) for moment in _deadline_examples(clock, today, review_days)]
    written = 0
    for accepted_at, station_or_none, household_or_none in visits:
        station = station_or_none or rng.choice(counters)
        # 全省通办: 40 % registered in another county of the province.
        if household_or_none is not None:
            household = household_or_none
        elif rng.random() < 0.4:
            household = rng.choice(by_county[rng.choice(counties)])
        else:
            household = rng.choice(by_county[station.region_code])
        _one(
            rng,
            locals_=_Ctx(
                now=now,
                clock=clock,
                station=station,
                household=household,
                accepted_at=accepted_at,
                clerks=clerks,
                reviewers=reviewers,
                review_days=review_days,
                verification_days=verification_days,
                fee_table=fee_table,
                acceptance_seq=acceptance_seq,
                receipt_seq=receipt_seq,
                taken=taken,
                serial=serial_base + written,
                tables=tables,
                photo=sealed_photo,
                card_images=images.segment if images else None,
                card_images_key=sealed_images_key,
                waiting=household_or_none is not None,
            ),
        )
        written += 1
        if len(events.rows) >= chunk * 8:
            _flush(tables)
            if progress is not None:
                progress(written, applications)
    _flush(tables)
    _write_counters("intake_acceptancecounter", "station_id", "day", acceptance_seq)
    _write_counters("finance_receiptcounter", "unit_id", "year", receipt_seq)
    for model in tables:
        _reset_sequence(model)
    # Past days were written around the ORM: the supervision rollup of those days is stale.
    supervision_rollup.forget(first_day)
    if progress is not None:
        progress(written, applications)
    return HistoryCounts(
        applications=apps.written,
        events=events.written,
        people=people.written,
        cards=cards.written,
        payments=payments.written,
        refunds=refunds.written,
        handovers=handovers.written,
        verifications=verifications.written,
        seconds=round(time.perf_counter() - began, 2),
    )


def _deadline_examples(clock: _Clock, today: datetime.date, review_days: int) -> list[datetime.datetime]:
    """Acceptance moments (10:00 of a working day) whose review falls due on the working day before
    `today`, on `today` (or the next working day, on a holiday) and on the working day after that."""
    calendar = clock.calendar

    def before(day: datetime.date) -> datetime.date:
        day -= datetime.timedelta(days=1)
        while not calendar.is_workday(day):
            day -= datetime.timedelta(days=1)
        return day

    due_today = today if calendar.is_workday(today) else calendar.next_workday(today)
    moments = []
    for due in (before(due_today), due_today, calendar.next_workday(due_today)):
        day = before(due)
        while clock.due(clock.at(day, 10 * 60), review_days) > due:
            day = before(day)
        moments.append(clock.at(day, 10 * 60))
    return moments


REPLICATED: tuple[type[models.Model], ...] = (
    Person,
    Card,
    Application,
    ApplicationEvent,
    Payment,
    Refund,
    Handover,
    Verification,
)


def replicate_history(factor: int) -> HistoryCounts:
    """PostgreSQL, for the benchmarks: make `factor` copies of a history that
    `generate_history(..., key_stride=factor)` wrote into an otherwise empty database, in SQL.

    Copy k (1 … factor − 1) of a row takes the key base + k, the free slot the stride left next to
    the original, so keys and the physical order stay in time order as in a real table; its
    foreign keys to the copied tables move by k the same way. What must stay unique is renumbered:
    受理号 (daily sequence + k × the largest daily sequence of the original), 票据号 (likewise by
    year) and card serials (+ k × the applications generated); the acceptance and receipt counters
    are then set to the largest sequence used. Times, units and statuses are the original's, so
    every figure of the dashboards is exactly `factor` × the original's. Person rows are copied
    with their ID numbers (the register has no unique constraint on them; no benchmark looks a
    person up)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("replicate_history runs on PostgreSQL")
    if factor < 2:
        return _table_counts(0.0)
    began = time.perf_counter()
    shifted = {model._meta.db_table for model in REPLICATED}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(right(number, 5)::int) FROM intake_application")
        daily = int(cursor.fetchone()[0] or 0)
        cursor.execute("SELECT max(right(receipt_number, 6)::int) FROM finance_payment")
        yearly = int(cursor.fetchone()[0] or 0)
        cursor.execute("SELECT count(*) FROM intake_application")
        generated = int(cursor.fetchone()[0])
    if daily * factor > rules.DAILY_SEQUENCE_MAX or yearly * factor > finance_rules.YEARLY_SEQUENCE_MAX:
        raise ValueError("too many copies for the 受理号 or 票据号 sequences")

    def sequence(column: str, digits: int, step: int) -> str:
        head = 9 + 8 if digits == 5 else 9 + 4
        return (
            f"left(t.{column}, {head}) "
            f"|| lpad((right(t.{column}, {digits})::int + k * {step})::text, {digits}, '0')"
        )

    renumber = {
        (Application, "number"): sequence("number", 5, daily),
        (Payment, "application_number"): sequence("application_number", 5, daily),
        (Card, "application_number"): (
            f"CASE WHEN t.application_number = '' THEN '' ELSE {sequence('application_number', 5, daily)} END"
        ),
        (Payment, "receipt_number"): sequence("receipt_number", 6, yearly),
        (Card, "card_serial"): (
            f"CASE WHEN t.card_serial = '' THEN '' "
            f"ELSE lpad((t.card_serial::bigint + k * {generated})::text, 12, '0') END"
        ),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # Every row copies a consistent one: the foreign-key triggers need not look (superuser).
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")
        for model in REPLICATED:
            columns, values = [], []
            for f in model._meta.concrete_fields:
                column = quote(f.column)
                columns.append(column)
                target = getattr(f, "related_model", None)
                if f.primary_key:
                    values.append(f"t.{column} + k")
                elif (model, f.attname) in renumber:
                    values.append(renumber[(model, f.attname)])
                elif target is not None and target._meta.db_table in shifted:
                    values.append(f"t.{column} + k")
                else:
                    values.append(f"t.{column}")
            table = model._meta.db_table
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {', '.join(values)} FROM {table} t "
                f"CROSS JOIN LATERAL generate_series(1, {factor - 1}) k"
            )
        cursor.execute(
            "UPDATE intake_acceptancecounter c SET last = m.last FROM ("
            " SELECT acceptance_unit_id AS station_id, to_date(substr(number, 10, 8), 'YYYYMMDD') AS day,"
            " max(right(number, 5)::int) AS last FROM intake_application GROUP BY 1, 2) m"
            " WHERE c.station_id = m.station_id AND c.day = m.day"
        )
        cursor.execute(
            "UPDATE finance_receiptcounter c SET last = m.last FROM ("
            " SELECT unit_id, substr(receipt_number, 10, 4)::int AS year,"
            " max(right(receipt_number, 6)::int) AS last FROM finance_payment GROUP BY 1, 2) m"
            " WHERE c.unit_id = m.unit_id AND c.year = m.year"
        )
    for model in REPLICATED:
        _reset_sequence(model)
    supervision_rollup.forget()
    return _table_counts(time.perf_counter() - began)


def _table_counts(seconds: float) -> HistoryCounts:
    def count(model: type[models.Model]) -> int:
        return model._default_manager.count()

    return HistoryCounts(
        applications=count(Application),
        events=count(ApplicationEvent),
        people=count(Person),
        cards=count(Card),
        payments=count(Payment),
        refunds=count(Refund),
        handovers=count(Handover),
        verifications=count(Verification),
        seconds=round(seconds, 2),
    )


def _sealed(field: str, value: bytes) -> bytes:
    """`value` as the application's column `field` stores it (rows here bypass the ORM)."""
    column = cast(SealedBinaryField, Application._meta.get_field(field))
    return seal(settings.DATA_KEY, value, context=column.context.encode())


def _flush(tables: dict[type[models.Model], _Table]) -> None:
    # Parents before children (foreign keys are checked per statement on SQLite).
    with transaction.atomic():
        for table in tables.values():
            table.flush()


def _counter_rows(table: str, unit_column: str, key_column: str, since: Any) -> list[tuple[int, Any, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {unit_column}, {key_column}, last FROM {table} WHERE {key_column} >= %s",  # noqa: S608
            [since],
        )
        rows = cursor.fetchall()
    if connection.vendor != "postgresql":
        rows = [(u, datetime.date.fromisoformat(k) if isinstance(k, str) else k, last) for u, k, last in rows]
    return rows


def _write_counters(
    table: str, unit_column: str, key_column: str, values: dict[tuple[int, Any], int]
) -> None:
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    rows = [(unit, key, last) for (unit, key), last in values.items()]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({unit_column}, {key_column}, last) VALUES (%s, %s, %s) "  # noqa: S608
            f"ON CONFLICT ({unit_column}, {key_column}) "
            f"DO UPDATE SET last = {greatest}({table}.last, excluded.last)",
            rows,
        )


@dataclass
class _Ctx:
    now: datetime.datetime
    clock: _Clock
    station: _Station
    household: _Station
    accepted_at: datetime.datetime
    clerks: dict[int, int]
    reviewers: dict[int, int]
    review_days: int
    verification_days: int
    fee_table: Mapping[rules.FeeItem, Decimal]
    acceptance_seq: dict[tuple[int, datetime.date], int]
    receipt_seq: dict[tuple[int, int], int]
    taken: set[str]
    serial: int
    tables: dict[type[models.Model], _Table]
    photo: bytes | None = None  # sealed
    card_images: bytes | None = None
    card_images_key: bytes | None = None  # sealed
    waiting: bool = False  # still in review, whatever its deadline (the demo's deadline examples)


def _person(
    rng: random.Random, ctx: _Ctx, youngest: int, oldest: int
) -> tuple[int, str, str, datetime.date, str]:
    """A person aged `youngest`…`oldest` on the acceptance day (the age may grow by one when a
    taken number moves the birth date back a day: callers read the age from the birth date)."""
    local_today = ctx.accepted_at.astimezone(ctx.clock.zone).date()
    age = rng.randint(youngest, oldest)
    birth = add_years(local_today, -age) - datetime.timedelta(days=rng.randrange(365))
    region = ctx.household.region_code
    sex = rng.choice((idnumber.SEX_MALE, idnumber.SEX_FEMALE))
    # The sequence's last digit records the sex: odd for men, even for women.
    first = 1 if sex == idnumber.SEX_MALE else 2
    sequence = first + 2 * rng.randrange(495)
    number = idnumber.build(region, birth, sequence)
    while number in ctx.taken:
        sequence += 2
        if sequence > 999:
            sequence = first
            birth -= datetime.timedelta(days=1)
        number = idnumber.build(region, birth, sequence)
    ctx.taken.add(number)
    given = GIVEN_MALE if sex == idnumber.SEX_MALE else GIVEN_FEMALE
    name = rng.choice(SURNAMES) + "".join(rng.sample(given, rng.choice((1, 2, 2))))
    address = _address(rng, region)
    # A minor is 子 / 女 of a household; an adult 户主 of a household of their own.
    minor = age_on(birth, local_today) < rules.ADULT_AGE
    relation = ("20" if sex == idnumber.SEX_MALE else "30") if minor else "02"
    pk = ctx.tables[Person].add(
        id_number=number,
        name=name,
        sex_id=sex,
        ethnicity_id="01",
        birth_date=birth,
        address=address,
        household_no=f"{ctx.household.code[-6:]}{rng.randrange(100000):05d}",
        relation_id=relation,
        registration_unit_id=ctx.household.pk,
        region_code=region,
        status=Person.Status.NORMAL,
        created_at=ctx.accepted_at - datetime.timedelta(days=3650),
        updated_at=ctx.accepted_at,
    )
    return pk, number, name, birth, address


def _address(rng: random.Random, region_code: str) -> str:
    """A street address in the county (江西省南昌市东湖区八一大道12号3栋2单元501室): the region's
    names, never a police unit's."""
    place = regions.full_name(region_code) or "江西省"
    room = f"{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
    return (
        f"{place}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{room}室"
    )


def _one(rng: random.Random, locals_: _Ctx) -> None:
    ctx = locals_
    t = ctx.tables
    apps, events = t[Application], t[ApplicationEvent]
    accepted_at = ctx.accepted_at
    local_day = accepted_at.astimezone(ctx.clock.zone).date()
    renewal = rng.random() < 0.3
    minor = not renewal and rng.random() < 0.6
    # A renewal's card expired a month to ten months ago, issued at an age that gave its period:
    # 10 years at 16–25, 20 years at 26–45 (居民身份证法 第五条).
    card_years = rng.choice((10, 20))
    ages = ((27, 35) if card_years == 10 else (47, 60)) if renewal else ((6, 15) if minor else (16, 25))
    person_pk, id_number, name, birth, address = _person(rng, ctx, *ages)
    old_card: list[Any] | None = None
    if renewal:
        issued = add_years(local_day, -card_years) - datetime.timedelta(days=rng.randrange(30, 300))
        t[Card].add(
            person_id=person_pk,
            application_number="",
            card_serial="",
            generation=2,
            issuing_authority=ctx.household.authority,
            valid_from=issued,
            valid_until=add_years(issued, card_years),
            state=Card.State.ACTIVE,
            created_at=accepted_at - datetime.timedelta(days=3000),
        )
        old_card = t[Card].rows[-1]
        app_type, reason = rules.ApplicationType.RENEWAL, rules.EXPIRY_RENEWAL_REASON
    else:
        # 11 or 12 by the age on the acceptance day, as the counter checks it.
        app_type, reason = rules.ApplicationType.FIRST, rules.age_reason(birth, local_day)
    waived = renewal and rng.random() < 0.03
    fee = rules.fee_for(app_type, reason, waived=waived, table=ctx.fee_table)
    seq = ctx.acceptance_seq.get((ctx.station.pk, local_day), 0) + 1
    ctx.acceptance_seq[(ctx.station.pk, local_day)] = seq
    number = rules.acceptance_number(ctx.station.code, local_day, seq)
    clerk, reviewer = ctx.clerks[ctx.station.pk], ctx.reviewers[ctx.household.pk]
    years = rules.validity_years(age_on(birth, local_day))
    app_pk = apps.next_pk
    history: list[tuple[datetime.datetime, str, str, str, int | None, int | None, str, dict[str, Any]]] = []

    def step(
        at: datetime.datetime,
        action: str,
        before: str,
        after: str,
        actor: int | None,
        unit: int | None,
        note: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        history.append((at, action, before, after, actor, unit, note, detail or {}))

    created = accepted_at - datetime.timedelta(minutes=rng.randint(5, 25))
    step(created, "created", "", Status.DRAFT, clerk, ctx.station.pk)
    step(accepted_at, "accepted", Status.DRAFT, Status.ACCEPTED, clerk, ctx.station.pk)
    due = ctx.clock.due(accepted_at, ctx.review_days)
    step(
        accepted_at,
        "routed",
        Status.ACCEPTED,
        Status.PENDING_REVIEW,
        clerk,
        ctx.station.pk,
        f"流转至{ctx.household.name}审核签发",
        {"step": 1, "due": str(due)},
    )
    values: dict[str, Any] = {
        "status": Status.PENDING_REVIEW,
        "closed_at": None,
        "issued_at": None,
        "refusal_reason": "",
        "refusal_code_id": None,
        "refusal_remark": "",
        "issuing_authority": "",
        "valid_from": None,
        "valid_until": None,
    }
    status = Status.PENDING_REVIEW
    now = ctx.now
    stalls = rng.random() < 0.04  # 滞留件: one step waits far longer than it should

    def delay(normal: float) -> float:
        nonlocal stalls
        if stalls and rng.random() < 0.3:
            stalls = False
            return normal + rng.uniform(8, 25)
        return normal

    # Review (审核签发)
    fate = rng.random()
    decided_at = ctx.clock.later(rng, accepted_at, delay(rng.choice((0.2, 0.5, 1, 1, 2, 2, 3, 4, 6))))
    if ctx.waiting:
        decided_at = now + datetime.timedelta(days=1)  # not yet: every branch below waits for it
    if fate < 0.08 and decided_at <= now:
        verify_at = ctx.clock.later(rng, accepted_at, rng.uniform(0.3, 2))
        if verify_at <= now:
            step(
                verify_at,
                "verification_noted",
                status,
                Status.UNDER_VERIFICATION,
                reviewer,
                ctx.household.pk,
                "电话联系亲属核实身份",
                {"step": 1, "method": "phone"},
            )
            status = Status.UNDER_VERIFICATION
            decided_at = max(decided_at, verify_at + datetime.timedelta(hours=2))
    if fate > 0.985 and decided_at <= now:
        at = accepted_at + (decided_at - accepted_at) / 3
        reason_text = rng.choice(WITHDRAWAL_REASONS)
        step(at, "withdrawn", status, Status.WITHDRAWN, clerk, ctx.station.pk, reason_text)
        status = Status.WITHDRAWN
        values.update(closed_at=at)
        closing_reason = f"撤销：{reason_text}"
    elif fate > 0.96 and decided_at <= now:
        refusal_code, remark = _weighted(rng, REFUSAL_REASONS)
        reason_text = f"{REFUSAL_NAMES[refusal_code]}：{remark}"
        step(
            decided_at,
            "refused",
            status,
            Status.REJECTED,
            reviewer,
            ctx.household.pk,
            reason_text,
            {"step": 1, "refusal_reason": refusal_code},
        )
        status = Status.REJECTED
        values.update(
            closed_at=decided_at,
            refusal_reason=reason_text,
            refusal_code_id=refusal_code,
            refusal_remark=remark,
        )
        closing_reason = f"不予签发：{reason_text}"
    elif decided_at <= now:
        issue_day = decided_at.astimezone(ctx.clock.zone).date()
        valid_until = None if years is None else add_years(issue_day, years)
        step(
            decided_at,
            "issued",
            status,
            Status.ISSUED,
            reviewer,
            ctx.household.pk,
            "",
            {
                "step": 1,
                "validity": f"{issue_day:%Y.%m.%d}-{valid_until:%Y.%m.%d}" if valid_until else "长期",
            },
        )
        status = Status.ISSUED
        values.update(
            issued_at=decided_at,
            issuing_authority=ctx.household.authority,
            valid_from=issue_day,
            valid_until=valid_until,
        )
    if status == Status.ISSUED:
        _production(rng, ctx, step, delay, values, number, person_pk, old_card, app_pk, name, id_number)
        status = values["status"]
    else:
        values["status"] = status

    # Fees (工本费): charged at acceptance, given back on withdrawal or refusal.
    year = local_day.year
    receipt_seq = ctx.receipt_seq.get((ctx.station.pk, year), 0) + 1
    ctx.receipt_seq[(ctx.station.pk, year)] = receipt_seq
    closed = values["closed_at"] if status in (Status.WITHDRAWN, Status.REJECTED) else None
    payment_pk = t[Payment].add(
        application_number=number,
        person_id=person_pk,
        unit_id=ctx.station.pk,
        item=fee.item.value,
        amount=fee.amount,
        waived=fee.waived,
        waiver_evidence=f"低保证号 赣{rng.randrange(10**8):08d}" if fee.waived else "",
        receipt_number=finance_rules.receipt_number(ctx.station.code, year, receipt_seq),
        voided_at=closed if closed is not None and fee.amount <= 0 else None,
        charged_at=accepted_at,
        charged_by_id=clerk,
    )
    if closed is not None and fee.amount > 0:
        t[Refund].add(
            payment_id=payment_pk,
            amount=fee.amount,
            reason=closing_reason[:500],
            refunded_at=closed,
            refunded_by_id=clerk if status == Status.WITHDRAWN else reviewer,
        )

    history.sort(key=lambda h: h[0])
    for at, action, before, after, actor, unit, note, detail in history:
        events.add(
            application_id=app_pk,
            action=action,
            from_status=before,
            to_status=after,
            actor_id=actor,
            unit_id=unit,
            at=at,
            note=note,
            detail=detail,
        )
    last = history[-1][0]
    residence = _address(rng, ctx.station.region_code)
    phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
    collection = values.get("collection", Application.Collection.STATION)
    apps.add(
        number=number,
        type=app_type.value,
        reason_id=reason,
        status=values["status"],
        person_id=person_pk,
        id_number=id_number,
        name=name,
        sex_id=idnumber.sex_of(id_number),
        ethnicity_id="01",
        birth_date=birth,
        household_address=address,
        residence_address=residence,
        phone=phone,
        collection=collection,
        photo=ctx.photo,
        card_images=ctx.card_images,
        card_images_key=ctx.card_images_key,
        # 邮政寄递 goes to the applicant at the address where they live now.
        **(
            {"postal_recipient": name, "postal_phone": phone, "postal_address": residence}
            if collection == Application.Collection.POST
            else {}
        ),
        materials_shown=["household_book", "pledge"] if not renewal else ["household_book"],
        pledge_signed=not renewal,
        fee_item=fee.item.value,
        fee_amount=fee.amount,
        fee_waived=fee.waived,
        fee_waiver_evidence=f"低保证号 赣{rng.randrange(10**8):08d}" if fee.waived else "",
        validity="long" if years is None else str(years),
        valid_from=values["valid_from"],
        valid_until=values["valid_until"],
        cross_region=ctx.household.county_pk != ctx.station.county_pk,
        acceptance_unit_id=ctx.station.pk,
        household_unit_id=ctx.household.pk,
        region_code=ctx.household.region_code,
        created_by_id=clerk,
        created_at=created,
        accepted_by_id=clerk,
        accepted_at=accepted_at,
        review_chain=[
            {
                "level": "station",
                "title": "审核签发",
                "unit": ctx.household.pk,
                "unit_name": ctx.household.name,
            }
        ],
        review_step=1,
        review_unit_id=ctx.household.pk,
        review_arrived_at=accepted_at,
        review_due=due,
        review_due_provisional=False,
        issued_at=values["issued_at"],
        issuing_authority=values["issuing_authority"],
        refusal_reason=values["refusal_reason"],
        refusal_code_id=values["refusal_code_id"],
        refusal_remark=values["refusal_remark"],
        refusal_notified_at=None,
        closed_at=values["closed_at"],
        last_event_at=last,
        updated_at=last,
    )


def _production(
    rng: random.Random,
    ctx: _Ctx,
    step: Any,
    delay: Any,
    values: dict[str, Any],
    number: str,
    person_pk: int,
    old_card: list[Any] | None,
    app_pk: int,
    name: str,
    id_number: str,
) -> None:
    """From 已签发 on: centre, distribution, handover, verification — as far as time has come."""
    t = ctx.tables
    now, centre = ctx.now, ctx.station.centre_pk
    status = Status.ISSUED
    at = values["issued_at"]
    way = _weighted(rng, ((Handover.Way.IN_PERSON, 80), (Handover.Way.PROXY, 12), (Handover.Way.POST, 8)))
    if way == Handover.Way.POST:
        values["collection"] = Application.Collection.POST
    card_pk = None
    card_row: list[Any] = []
    plan = (
        ("batched", Status.IN_PRODUCTION, rng.uniform(0.3, 2)),
        ("produced", Status.PRODUCED, rng.uniform(1, 4)),
        ("shipped", Status.SHIPPED, rng.uniform(0.3, 2)),
    )
    for action, to, days in plan:
        nxt = ctx.clock.later(rng, at, delay(days))
        if nxt > now:
            values["status"] = status
            return
        detail: dict[str, Any] = {}
        if action == "produced":
            card_pk = t[Card].add(
                person_id=person_pk,
                application_number=number,
                card_serial=f"{ctx.serial:012d}",
                generation=2,
                issuing_authority=values["issuing_authority"],
                valid_from=values["valid_from"],
                valid_until=values["valid_until"],
                state=Card.State.PRODUCED,
                created_at=nxt,
            )
            card_row = t[Card].rows[-1]
            detail = {"card_serial": f"{ctx.serial:012d}"}
        step(nxt, action, status, to, None, centre, "", detail)
        status, at = to, nxt
    # Distribution: received at the station (待领取), or delivered by post.
    if way != Handover.Way.POST:
        nxt = ctx.clock.later(rng, at, delay(rng.uniform(1, 3)))
        if nxt > now:
            values["status"] = status
            return
        step(nxt, "received", status, Status.AT_SITE, ctx.clerks[ctx.station.pk], ctx.station.pk)
        status, at = Status.AT_SITE, nxt
        nxt = ctx.clock.later(rng, at, delay(rng.uniform(0.5, 12)))
    else:
        nxt = ctx.clock.later(rng, at, delay(rng.uniform(1, 4)))
    if nxt > now:
        values["status"] = status
        return
    clerk = ctx.clerks[ctx.station.pk]
    card_row[t[Card].index["state"]] = Card.State.ACTIVE
    if old_card is not None:
        old_card[t[Card].index["state"]] = Card.State.SUPERSEDED
    tracking = f"EMS{ctx.serial:010d}CN" if way == Handover.Way.POST else ""
    t[Handover].add(
        application_id=app_pk,
        card_id=card_pk,
        way=way,
        unit_id=None if way == Handover.Way.POST else ctx.station.pk,
        performed_by_id=None if way == Handover.Way.POST else clerk,
        at=nxt,
        relative_name=(rng.choice(SURNAMES) + rng.choice(GIVEN)) if way == Handover.Way.PROXY else "",
        relative_id_number="",
        finger_check=FingerCheck.MATCHED if way == Handover.Way.IN_PERSON else FingerCheck.NOT_APPLICABLE,
        finger_position="11" if way == Handover.Way.IN_PERSON else "",
        finger_score=round(rng.uniform(0.2, 0.6), 3) if way == Handover.Way.IN_PERSON else None,
        paper_signed=way != Handover.Way.POST,
        tracking_number=tracking,
    )
    if way == Handover.Way.IN_PERSON:
        step(nxt, "handed_over", status, Status.HANDED_OVER, clerk, ctx.station.pk, "本人领取，比对通过")
        values.update(status=Status.HANDED_OVER, closed_at=nxt)
        return
    due = ctx.clock.due(nxt, ctx.verification_days)
    action = "handed_over_proxy" if way == Handover.Way.PROXY else "delivered"
    step(
        nxt,
        action,
        status,
        Status.PENDING_VERIFICATION,
        clerk if way == Handover.Way.PROXY else None,
        ctx.station.pk if way == Handover.Way.PROXY else centre,
        f"须于 {due:%Y-%m-%d} 前核验",
        {"due": str(due)},
    )
    verify_at = ctx.clock.later(rng, nxt, rng.choice((2, 5, 10, 20, 28, 35)) * rng.uniform(0.5, 1.1))
    done = rng.random() < 0.85 and verify_at <= now
    t[Verification].add(
        application_id=app_pk,
        due=due,
        due_provisional=False,
        created_at=nxt,
        verified_at=verify_at if done else None,
        verified_by_id=clerk if done else None,
        unit_id=ctx.station.pk if done else None,
        finger_check=FingerCheck.MATCHED if done else "",
        finger_position="11" if done else "",
        finger_score=round(rng.uniform(0.2, 0.6), 3) if done else None,
        card_checked=done,
    )
    if done:
        late = verify_at.astimezone(ctx.clock.zone).date() > due
        step(
            verify_at,
            "verified",
            Status.PENDING_VERIFICATION,
            Status.VERIFIED,
            clerk,
            ctx.station.pk,
            "核验通过，比对通过" + ("（逾期核验）" if late else ""),
            {"overdue": late},
        )
        values.update(status=Status.VERIFIED, closed_at=verify_at)
    else:
        values["status"] = Status.PENDING_VERIFICATION
