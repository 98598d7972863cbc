"""The demo staffs its own configuration (README's accounts are enough to finish the
walkthrough), lists every account in README, and its data looks real: names fit the recorded
sex, addresses name places, not police units."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from tongban.accounts import staffing
from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.campaigns import services as campaign_services
from tongban.campaigns.models import Campaign, CampaignConfiguration
from tongban.demo import history, seed
from tongban.demo.campaign import DEMO_NAME
from tongban.demo.seed import DEMO_USERS, seed_demo
from tongban.intake.models import Application, ReviewChain
from tongban.intake.services import review_chain_for
from tongban.production import services as production_services
from tongban.registry.models import FloatingRegistration, Person, Unit

pytestmark = pytest.mark.django_db
README = Path(settings.BASE_DIR).parent / "README.md"
MALE = set(seed.MALE_GIVEN + history.GIVEN_MALE)
FEMALE = set(seed.FEMALE_GIVEN + history.GIVEN_FEMALE)


@pytest.fixture
def seeded(db: None, standard_photo: bytes) -> None:
    seed_demo(people=400, seed=2026, applications=300, history_photo=standard_photo)


def test_demo_configuration_passes_the_staffing_check(seeded: None) -> None:
    campaign = Campaign.objects.get(name=DEMO_NAME)
    config = CampaignConfiguration.objects.get(campaign=campaign)
    assert campaign.status == Campaign.Status.ACTIVE and config.in_force
    assert campaign_services.unstaffed_gaps(campaign, config.review_steps, config.county_quality_check) == []
    assert config.unstaffed_override is None
    assert not AuditEvent.objects.filter(action="staffing.override").exists()
    chain = ReviewChain.objects.get(region_prefix="3601")
    assert (
        staffing.review_chain_gaps(
            prefix="3601", steps=[(step.level, step.title) for step in chain.steps.all()]
        )
        == []
    )


def test_walkthrough_lands_where_a_readme_account_works(seeded: None) -> None:
    # README's applicants are registered at 城东派出所; the clerk accepts at 城关派出所.
    steps = review_chain_for(Unit.objects.get(code="360102002"))
    assert [step["unit_name"] for step in steps] == [
        "东湖区城东派出所",
        "南昌市公安局东湖分局",
        "南昌市公安局",
    ]
    units = {user.unit_code: user.username for user in DEMO_USERS}
    by_unit: dict[str, set[str]] = {}
    for user in DEMO_USERS:
        by_unit.setdefault(user.unit_code, set()).add(user.username)
    assert by_unit["360102002"] >= {"reviewer"}
    assert by_unit["360102"] >= {"reviewer_donghu", "distributor_donghu", "supervisor_donghu"}
    assert by_unit["3601"] >= {"reviewer_nanchang"}
    assert by_unit["360102001"] == {"clerk", "distributor"}
    assert units["360700901"] == "centre_operator_ganzhou"
    seen = staffing.Staffing()
    for code, need in (
        ("360102002", staffing.REVIEW),
        ("360102", staffing.REVIEW),
        ("3601", staffing.REVIEW),
        ("360102", staffing.FORWARD),
        ("360102001", staffing.RECEIVE),
        ("360102001", staffing.HANDOVER),
        ("360102001", staffing.VERIFY),
        ("360102001", staffing.COUNTER),
        ("360000901", staffing.PRODUCE),
        ("360000901", staffing.SHIP),
        ("360700901", staffing.PRODUCE),
        ("360702001", staffing.RECEIVE),
    ):
        assert seen.can_work(Unit.objects.get(code=code).path, need), (code, need.work)


def test_readme_lists_every_demo_account() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Demo accounts", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\S+) \| .*\((\d+)\) ?.*\|$", section, flags=re.MULTILINE)
    listed = {username: (label, code) for username, label, code in rows}
    assert set(listed) == {user.username for user in DEMO_USERS}
    for user in DEMO_USERS:
        assert listed[user.username] == (user.role.label, user.unit_code), user.username


def test_names_fit_the_recorded_sex(seeded: None) -> None:
    rows = list(Person.objects.values_list("name", "sex_id"))
    assert len(rows) >= 700  # the register and the history's applicants
    for name, sex in rows:
        given = set(name[1:])
        assert given and given <= (MALE if sex == "1" else FEMALE), (name, sex)
    assert MALE.isdisjoint(FEMALE)
    for name, sex in Application.objects.values_list("name", "sex_id"):
        assert set(name[1:]) <= (MALE if sex == "1" else FEMALE), (name, sex)


def test_addresses_name_places_not_police_units(seeded: None) -> None:
    addresses = list(Person.objects.values_list("address", flat=True))
    addresses += list(FloatingRegistration.objects.values_list("address", flat=True))
    for household, residence in Application.objects.values_list("household_address", "residence_address"):
        addresses += [household, residence]
    assert len(addresses) > 1000
    for address in addresses:
        assert address.startswith("江西省") and address.endswith("室"), address
        assert not any(word in address for word in ("公安局", "分局", "派出所")), address
    assert Application.objects.filter(household_address__startswith="江西省南昌市").exists()
    # Cards sent by post name the applicant, a phone and where they live.
    posted = Application.objects.filter(collection=Application.Collection.POST)
    assert posted.exists()
    for name, recipient, phone, postal_phone, address, residence in posted.values_list(
        "name", "postal_recipient", "phone", "postal_phone", "postal_address", "residence_address"
    ):
        assert (recipient, postal_phone, address) == (name, phone, residence)


def test_generated_applications_can_be_packaged(
    seeded: None, centre_keys: dict[str, Path], standard_photo: bytes
) -> None:
    # README: 组成批次 takes every acceptance unit by default, generated applications included.
    assert all(photo == standard_photo for photo in Application.objects.values_list("photo", flat=True))
    operator = User.objects.get(username="centre_operator")
    batch = production_services.batch_create(actor=operator, centre=Unit.objects.get(code="360000901"))
    assert batch.items.count() > 1
    packaged = production_services.batch_package(actor=operator, batch=batch)
    assert packaged.package_sm3
