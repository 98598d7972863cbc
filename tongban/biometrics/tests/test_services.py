"""The register's photos into the permanent gallery, then found again from a new photo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tongban.audit.models import AuditEvent
from tongban.biometrics import engine
from tongban.biometrics.interfaces import Gallery, Modality, Sample
from tongban.biometrics.services import person_ref, register_photos_enrol
from tongban.registry.models import Unit
from tongban.testing.factories import PersonFactory, station

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_index_dir(tmp_path: Path) -> Iterator[None]:
    with override_settings(BIOMETRICS={**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "abis"}):
        engine.get_abis.cache_clear()
        engine.get_sdk.cache_clear()
        yield
    engine.get_abis.cache_clear()
    engine.get_sdk.cache_clear()


def test_register_photos_are_enrolled_and_identified(
    astronaut_standard: bytes, astronaut_variants: dict[str, bytes], t1_jpeg: bytes
) -> None:
    astronaut = PersonFactory.create(photo=astronaut_standard)
    group = PersonFactory.create(photo=t1_jpeg)  # six faces: no usable template
    PersonFactory.create()  # no photo
    elsewhere = PersonFactory.create(photo=astronaut_standard, registration_unit=station("360702001"))

    result = register_photos_enrol(actor=None, unit=Unit.objects.get(code="3601"))
    assert (result.enrolled, result.unusable) == (1, 1)
    abis = engine.get_abis()
    assert abis.count(Gallery.PERMANENT) == 1

    probe = engine.get_sdk(Modality.FACE).extract_template(
        Sample(Modality.FACE, next(iter(astronaut_variants.values())))
    )
    (candidate,) = abis.identify(probe, Gallery.PERMANENT)
    assert candidate.ref_id == person_ref(astronaut.pk)
    assert person_ref(group.pk) not in {
        c.ref_id for c in abis.identify(probe, Gallery.PERMANENT, threshold=-1)
    }

    again = register_photos_enrol(actor=None)  # all units now; re-enrolling replaces, never duplicates
    assert (again.enrolled, again.unusable) == (2, 1)
    assert abis.count(Gallery.PERMANENT) == 2
    assert {c.ref_id for c in abis.identify(probe, Gallery.PERMANENT)} == {
        person_ref(astronaut.pk),
        person_ref(elsewhere.pk),
    }
    assert AuditEvent.objects.filter(action="biometrics.insert").count() == 3


def test_command_prints_counts(astronaut_standard: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    PersonFactory.create(photo=astronaut_standard)
    call_command("biometrics", "enrol-register", "--unit", "360102001")
    assert capsys.readouterr().out.strip() == '{"enrolled": 1, "unusable": 0}'
