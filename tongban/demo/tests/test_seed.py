from __future__ import annotations

import base64
import datetime
import io
import json
import random
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.core import idnumber, regions
from tongban.core.dates import age_on
from tongban.demo import seed
from tongban.demo.seed import (
    DEMO_PASSWORD,
    DEMO_TOTP_BASE32,
    DEMO_TOTP_KEY_HEX,
    DEMO_USERS,
    DemoRefused,
    StationInfo,
    generate,
    generate_people,
    seed_demo,
    valid_until_for,
)
from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.production.models import CentreKey
from tongban.production.services import read_centre_key_file
from tongban.registry import provinces
from tongban.registry.models import Card, FloatingRegistration, Person, Unit, WantedPerson
from tongban.review.selectors import due_days, due_state

PEOPLE = 300
TODAY = datetime.date(2026, 6, 1)


def jiangxi_stations() -> list[StationInfo]:
    """The stations `units_load_province("36", 2)` creates, without a database."""
    specs = provinces.province_tree("36", 2)
    names = {spec.code: spec.name for spec in specs}
    return sorted(
        (
            StationInfo(
                code=spec.code,
                region_code=spec.region_code,
                city_name=regions.name_for(spec.region_code[:4] + "00") or "",
                county_name=regions.name_for(spec.region_code) or "",
                authority=names[spec.parent_code or ""],
            )
            for spec in specs
            if spec.kind == "station"
        ),
        key=lambda station: station.code,
    )


# ---------------------------------------------------------------------------------------------
# Pure generator


def test_same_seed_same_people() -> None:
    stations = jiangxi_stations()
    first = generate_people(random.Random(7), stations, PEOPLE, TODAY)
    second = generate_people(random.Random(7), stations, PEOPLE, TODAY)
    assert [p.id_number for p in first] == [p.id_number for p in second]
    assert first == second
    assert generate(7, stations, PEOPLE, TODAY) == generate(7, stations, PEOPLE, TODAY)


def test_other_seed_other_people() -> None:
    stations = jiangxi_stations()
    first = generate_people(random.Random(7), stations, PEOPLE, TODAY)
    second = generate_people(random.Random(8), stations, PEOPLE, TODAY)
    assert [p.id_number for p in first] != [p.id_number for p in second]


def test_generated_people_are_consistent() -> None:
    people = generate_people(random.Random(2026), jiangxi_stations(), 2000, TODAY)
    assert len(people) == 2000
    assert len({p.id_number for p in people}) == len(people)
    households = defaultdict(list)
    for person in people:
        households[person.household_no].append(person)
        assert idnumber.parse(person.id_number, today=TODAY).valid
        assert seed.EARLIEST_BIRTH <= person.birth_date <= TODAY
        assert person.address.startswith("江西省")
    for members in households.values():
        assert 1 <= len(members) <= 6
        heads = [m for m in members if m.relation == seed.RELATION_HEAD]
        assert len(heads) == 1
        head = heads[0]
        assert len({(m.station_code, m.address) for m in members}) == 1
        # Children take their father's surname: the head's, or the head's husband's.
        husband = [m for m in members if m.relation == seed.RELATION_SPOUSE and m.sex == seed.SEX_MALE]
        father = husband[0] if head.sex == seed.SEX_FEMALE and husband else head
        for member in members:
            if member.relation == seed.RELATION_SPOUSE:
                assert member.sex != head.sex
            if member.relation in (seed.RELATION_SON, seed.RELATION_DAUGHTER):
                assert member.name[0] == father.name[0]
                assert 20 <= age_on(head.birth_date, member.birth_date) <= 45
            if member.relation in (seed.RELATION_FATHER, seed.RELATION_MOTHER):
                assert 20 <= age_on(member.birth_date, head.birth_date) <= 45


def test_generated_card_histories() -> None:
    people = generate_people(random.Random(2026), jiangxi_stations(), 2000, TODAY)
    first_generation_targets = 0
    for person in people:
        states = [card.state for card in person.cards]
        assert states.count("active") <= 1
        if person.status != "normal":
            assert "active" not in states
        for card in person.cards:
            assert person.birth_date <= card.valid_from <= TODAY
            assert card.valid_until == valid_until_for(person.birth_date, card.valid_from)
            assert (card.generation == 1) == (card.valid_from < seed.SECOND_GENERATION_START)
        if len(person.cards) == 1 and person.cards[0].generation == 1 and states == ["active"]:
            assert person.cards[0].valid_until is not None
            assert person.cards[0].valid_until < TODAY
            first_generation_targets += 1
        starts = [card.valid_from for card in person.cards]
        assert starts == sorted(starts)
    assert first_generation_targets > 0
    adults = [p for p in people if age_on(p.birth_date, TODAY) >= 16]
    assert sum(bool(p.cards) for p in adults) > 0.9 * len(adults)


# ---------------------------------------------------------------------------------------------
# Database


@pytest.fixture
def seeded(db: None) -> dict[str, int]:
    return seed_demo(people=PEOPLE, seed=2026)


def test_seed_counts(seeded: dict[str, int]) -> None:
    assert seeded["people"] == PEOPLE == Person.objects.count()
    assert seeded["cards"] == Card.objects.count() > 0
    assert seeded["wanted"] == WantedPerson.objects.count() >= 1
    assert seeded["floating"] == FloatingRegistration.objects.count() >= 1
    assert seeded["users"] == len(DEMO_USERS)
    # The session's test database already holds Jiangxi's tree (conftest.py), so usually 0.
    assert seeded["units"] >= 0
    assert Unit.objects.stations().filter(code__startswith="36").count() == 200
    event = AuditEvent.objects.get(action="demo.seed")
    assert event.object_id == "2026"
    assert event.detail == seeded


def test_stations_have_their_telephone_and_address_but_one_county(seeded: dict[str, int]) -> None:
    stations = Unit.objects.stations().filter(code__startswith="36")
    blank = stations.filter(phone="")
    assert 0 < blank.count() <= 12 and len(set(blank.values_list("region_code", flat=True))) == 1
    donghu = Unit.objects.get(code="360102001")
    assert donghu.phone.startswith("0791-") and donghu.address.startswith("江西省南昌市东湖区")
    assert "公安局" not in donghu.address and "派出所" not in donghu.address


def test_seeded_people_agree_with_their_id_numbers(seeded: dict[str, int]) -> None:
    for person in Person.objects.select_related("registration_unit"):
        info = idnumber.parse(person.id_number)
        assert info.valid, person.id_number
        assert info.birth_date == person.birth_date
        assert info.sex == person.sex_id
        assert person.region_code == person.registration_unit.region_code
        assert person.registration_unit.kind == "station"
        assert person.photo is None


def test_seeded_households_and_minors(seeded: dict[str, int]) -> None:
    households = defaultdict(list)
    for unit_id, household_no, relation in Person.objects.values_list(
        "registration_unit_id", "household_no", "relation_id"
    ):
        households[(unit_id, household_no)].append(relation)
    assert all(relations.count("02") == 1 for relations in households.values())
    today = seed.REFERENCE_DATE
    assert any(age_on(birth, today) < 16 for birth in Person.objects.values_list("birth_date", flat=True))


def test_no_person_has_two_active_cards(seeded: dict[str, int]) -> None:
    active = Person.objects.annotate(active=Count("cards", filter=Q(cards__state="active")))
    assert max(active.values_list("active", flat=True)) == 1
    assert Card.objects.filter(generation=1, state="active").exists()


def test_wanted_and_floating(seeded: dict[str, int]) -> None:
    for entry in WantedPerson.objects.select_related("person"):
        assert idnumber.parse(entry.id_number).valid
        if entry.person is not None:
            assert entry.person.id_number == entry.id_number
            assert entry.person.name == entry.name
        else:
            assert not Person.objects.filter(id_number=entry.id_number).exists()
    for registration in FloatingRegistration.objects.select_related(
        "person__registration_unit", "residence_unit"
    ):
        assert registration.residence_unit.kind == "station"
        assert registration.residence_unit.code[:4] != registration.person.registration_unit.code[:4]


def test_demo_users(seeded: dict[str, int]) -> None:
    for spec in DEMO_USERS:
        user = User.objects.select_related("unit").get(username=spec.username)
        assert user.role == spec.role.value
        assert user.unit is not None
        assert user.unit.code == spec.unit_code
        assert user.last_name == spec.last_name
        assert not user.is_superuser
        assert user.is_staff == (spec.username == "admin")
    assert User.objects.get(username="clerk_ganzhou").unit_code == "360702001"
    assert User.objects.get(username="clerk").check_password(DEMO_PASSWORD)


def test_totp_devices(seeded: dict[str, int]) -> None:
    assert bytes.fromhex(DEMO_TOTP_KEY_HEX) == b"12345678901234567890"
    assert base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY_HEX)).decode() == DEMO_TOTP_BASE32
    for username in ("admin", "auditor"):
        device = TOTPDevice.objects.get(user__username=username)
        assert device.confirmed
        assert device.key == DEMO_TOTP_KEY_HEX
        assert device.verify_token(totp(device.bin_key))
    assert not TOTPDevice.objects.filter(user__username="clerk").exists()


def test_seed_again_adds_nothing(seeded: dict[str, int]) -> None:
    ids = sorted(Person.objects.values_list("id_number", flat=True))
    again = seed_demo(people=PEOPLE, seed=2026)
    assert again == {
        "units": 0,
        "users": 0,
        "liaisons": 0,
        "people": 0,
        "cards": 0,
        "wanted": 0,
        "floating": 0,
    }
    assert sorted(Person.objects.values_list("id_number", flat=True)) == ids
    assert TOTPDevice.objects.filter(user__username="admin").count() == 1


@pytest.mark.django_db
def test_command_prints_counts_and_makes_the_package_keys(production_dirs: None) -> None:
    out = io.StringIO()
    call_command("demo", "seed", "--people", "120", "--seed", "5", stdout=out)
    counts = json.loads(out.getvalue())
    assert counts["people"] == 120
    assert counts["wanted"] == 1
    assert set(counts) == {
        "units",
        "users",
        "liaisons",
        "people",
        "cards",
        "wanted",
        "floating",
        "applications",
        "ecerts",
        "keys",
    }
    # Every card the history handed over for good (本人领取, 核验) has its 电子证照.
    handed = Application.objects.filter(status__in=("handed_over", "verified")).values("number")
    assert counts["ecerts"] > 0
    assert counts["ecerts"] == Card.objects.filter(state="active", application_number__in=handed).count()
    # The dashboards' history by default, and three items of 城东派出所's review, one past its
    # deadline, one due today and one due next (the demo reviewer's 审核期限提醒).
    assert counts["applications"] == 3003
    days = due_days()
    waiting = Application.objects.filter(review_unit__code="360102002", status__in=IN_REVIEW_STATUSES)
    assert {"overdue", "due_today", "at_risk"} <= {due_state(a, days) for a in waiting}
    # The demo can package at once: the system key, and each centre's key file for opening.
    assert set(counts["keys"]) == {"360000901", "360700901"}
    for code, path in counts["keys"].items():
        assert read_centre_key_file(Path(path)).centre == code
    again = io.StringIO()
    call_command("demo", "seed", "--people", "120", "--seed", "5", stdout=again)
    assert json.loads(again.getvalue())["keys"] == counts["keys"]
    assert CentreKey.objects.filter(active=True).count() == 2  # nothing regenerated


@pytest.mark.django_db
def test_refuses_production() -> None:
    with override_settings(PRODUCTION=True), pytest.raises(DemoRefused):
        seed_demo(people=10, seed=1)
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_another_province_in_miniature_has_a_resident_and_her_reviewer() -> None:
    out = io.StringIO()
    call_command("demo", "province", "44", stdout=out)
    seeded = json.loads(out.getvalue())
    station = Unit.objects.get(code=seeded["station"])
    assert station.code.startswith("44") and station.kind == Unit.Kind.STATION
    resident = Person.objects.get(id_number=seeded["resident"])
    assert (resident.name, resident.registration_unit_id, resident.cards.count()) == ("林嘉怡", station.pk, 0)
    assert idnumber.sex_of(resident.id_number) == resident.sex_id == "2"
    reviewer = User.objects.get(username="reviewer_44")
    assert (reviewer.role, reviewer.unit_id) == ("reviewer", station.pk)
    assert reviewer.check_password(DEMO_PASSWORD)
    call_command("demo", "province", "44", stdout=io.StringIO())  # again: nothing new
    assert Person.objects.filter(registration_unit__code__startswith="44").count() == 1
    assert User.objects.filter(username="reviewer_44").count() == 1
