"""Suspected double registrations (一人多户): by name + birth date + sex, and by face through the
real engine (dlib embeddings of real photos, 1:N in the built-in ABIS)."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageEnhance
from skimage import data as skimage_data

from tongban.biometrics.abis import FACE_FORMAT
from tongban.biometrics.engine import get_abis
from tongban.biometrics.interfaces import Gallery, Modality, Template
from tongban.biometrics.photo import conform_photo
from tongban.biometrics.vector_index import normalise
from tongban.dataquality import scan
from tongban.dataquality.models import Case, ScanRun
from tongban.dataquality.tests.planted import TODAY
from tongban.registry.models import Person, Unit
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def gallery_dir(settings: Any, tmp_path: Path) -> None:
    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "abis"}


def _scan(kinds: list[str], unit: str = "36", **kwargs: Any) -> ScanRun:
    run = scan.run_start(unit=Unit.objects.get(code=unit), kinds=kinds)
    return scan.run_scan(run, today=TODAY, **kwargs)


def _person(name: str, birth: datetime.date, station: str, household: str, seq: int, **kw: Any) -> Person:
    from tongban.core import idnumber

    unit = Unit.objects.get(code=station)
    return PersonFactory.create(
        name=name,
        birth_date=birth,
        registration_unit=unit,
        household_no=household,
        id_number=idnumber.build(unit.region_code, birth, seq),
        **kw,
    )


def test_same_name_birth_and_sex_in_two_households_is_a_suspected_double() -> None:
    birth = datetime.date(1970, 3, 3)
    a = _person("李四", birth, "360102001", "H1", 11)
    b = _person("李四", birth, "360702001", "H9", 13)
    _person("李四", birth, "360102001", "H1", 15, status=Person.Status.NORMAL)  # same household as a
    _person("李四", datetime.date(1970, 3, 4), "360102002", "H2", 17)  # another day: someone else
    _person("李四", birth, "360102002", "H3", 20, sex_id="2")  # a woman: someone else
    _person("李四", birth, "360102002", "H4", 19, status=Person.Status.CANCELLED)  # closed record
    clean = [_person(f"王{i}", birth, "360102002", f"HC{i}", 31 + 2 * i) for i in range(5)]

    run = _scan([Case.Kind.DOUBLE_BY_NAME])
    case = Case.objects.get(kind=Case.Kind.DOUBLE_BY_NAME)
    members = set(case.links.values_list("person_id", flat=True))
    assert {a.pk, b.pk} <= members and len(members) == 3  # a, b and a's household member
    assert not members & {p.pk for p in clean}
    assert case.unit.code == "36"  # Nanchang and Ganzhou: the province coordinates
    assert run.found["double_by_name"] == 1
    # A re-scan keeps one case.
    _scan([Case.Kind.DOUBLE_BY_NAME])
    assert Case.objects.filter(kind=Case.Kind.DOUBLE_BY_NAME).count() == 1
    # A Donghu-only scan still reports it: one holder is in Donghu.
    Case.objects.all().delete()
    _scan([Case.Kind.DOUBLE_BY_NAME], unit="360702")
    assert Case.objects.filter(kind=Case.Kind.DOUBLE_BY_NAME).count() == 1


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.fixture(scope="module")
def astronaut_twice() -> tuple[bytes, bytes]:
    """Two register photos of one real person (Eileen Collins): as taken, and another sitting
    (lighter, shifted) conformed to GA 461 again."""
    image = Image.fromarray(skimage_data.astronaut())
    width, height = image.size
    other = ImageEnhance.Brightness(image).enhance(1.3).crop((20, 10, width, height))
    return conform_photo(_jpeg(image)), conform_photo(_jpeg(other))


def _random_templates(people: list[Person]) -> None:
    """Other people's faces in the gallery, as templates (the engine's own format)."""
    rng = np.random.default_rng(7)
    vectors = normalise(rng.standard_normal((len(people), 128), dtype=np.float32))
    abis = get_abis()
    for person, vector in zip(people, vectors, strict=True):
        abis.insert(
            f"person:{person.pk}",
            Template(Modality.FACE, FACE_FORMAT, np.asarray(vector, dtype="<f4").tobytes()),
            Gallery.PERMANENT,
        )


def test_face_only_double_is_found_through_the_engine(
    astronaut_twice: tuple[bytes, bytes], personas: Personas
) -> None:
    first, second = astronaut_twice
    # Different names, birth dates and households: only the face links them.
    a = _person("张三", datetime.date(1965, 6, 1), "360102001", "HA", 11, photo=first)
    b = _person("章珊", datetime.date(1966, 7, 2), "360702001", "HB", 13, photo=second)
    others = [
        _person(f"赵{i}", datetime.date(1980, 1, 1 + i), "360102002", f"HO{i}", 21 + 2 * i) for i in range(30)
    ]
    _random_templates(others)

    run = _scan([Case.Kind.DOUBLE_BY_FACE])
    assert run.found == {"double_by_face": 1}  # met from both sides, counted once
    cases = list(Case.objects.filter(kind=Case.Kind.DOUBLE_BY_FACE))
    assert len(cases) == 1
    assert set(cases[0].links.values_list("person_id", flat=True)) == {a.pk, b.pk}
    assert cases[0].evidence["score"] >= 0.92
    page = login(Client(), personas.province_supervisor).get(
        reverse("dataquality:case_detail", args=[cases[0].pk])
    )
    assert page.status_code == 200 and "人像相似度" in page.content.decode()
    assert not Case.objects.exclude(kind=Case.Kind.DOUBLE_BY_FACE).exists()
    # Both photos were enrolled into the permanent gallery; everyone with a face was searched.
    assert run.stats["face_searches"] == 32 and run.stats["face_search_seconds"] >= 0
    assert get_abis().count(Gallery.PERMANENT) == 32
    # A re-scan finds the pair again without a second case.
    _scan([Case.Kind.DOUBLE_BY_FACE])
    assert Case.objects.filter(kind=Case.Kind.DOUBLE_BY_FACE).count() == 1


def test_the_same_face_within_one_household_is_not_a_double(astronaut_twice: tuple[bytes, bytes]) -> None:
    first, second = astronaut_twice
    _person("孪生甲", datetime.date(1990, 1, 1), "360102001", "HT", 11, photo=first)
    _person("孪生乙", datetime.date(1990, 1, 1), "360102001", "HT", 13, photo=second)
    _scan([Case.Kind.DOUBLE_BY_FACE])
    assert not Case.objects.exists()


def test_the_face_stage_resumes_by_chunks(astronaut_twice: tuple[bytes, bytes], monkeypatch: Any) -> None:
    first, second = astronaut_twice
    monkeypatch.setattr(scan, "FACE_RANGE", 1)
    a = _person("张三", datetime.date(1965, 6, 1), "360102001", "HA", 11, photo=first)
    b = _person("章珊", datetime.date(1966, 7, 2), "360702001", "HB", 13, photo=second)
    assert b.pk == a.pk + 1
    run = scan.run_start(unit=Unit.objects.get(code="36"), kinds=[Case.Kind.DOUBLE_BY_FACE])
    scan.run_scan(run, today=TODAY, stop_after_chunks=1)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.STOPPED and run.stage == "faces" and run.checkpoint > 0
    scan.run_scan(run, today=TODAY)
    assert run.status == ScanRun.Status.DONE
    assert run.stats["face_searches"] == 2
    assert Case.objects.filter(kind=Case.Kind.DOUBLE_BY_FACE).count() == 1
    assert run.found == {"double_by_face": 1}


def test_one_scan_finds_every_planted_problem_and_flags_no_clean_person(
    astronaut_twice: tuple[bytes, bytes],
) -> None:
    from tongban.dataquality.tests.planted import plant

    planted = plant()
    first, second = astronaut_twice
    face_a = _person("张三", datetime.date(1965, 6, 1), "360102001", "HA", 11, photo=first)
    face_b = _person("章珊", datetime.date(1966, 7, 2), "360702001", "HB", 13, photo=second)
    name_a = _person("李四", datetime.date(1970, 3, 3), "360102001", "HN1", 15)
    name_b = _person("李四", datetime.date(1970, 3, 3), "360702001", "HN2", 17)
    _random_templates(planted.clean)  # the clean people have faces too, all different

    run = _scan(list(scan.DEFAULT_KINDS))
    assert run.status == ScanRun.Status.DONE

    def members(kind: str) -> set[int]:
        return set(Case.objects.filter(kind=kind).values_list("links__person_id", flat=True))

    assert members(Case.Kind.DUPLICATE_NUMBER) == {p.pk for ps in planted.duplicates.values() for p in ps}
    assert members(Case.Kind.WRONG_NUMBER) == planted.wrong_people()
    assert members(Case.Kind.DOUBLE_BY_NAME) == {name_a.pk, name_b.pk}
    assert members(Case.Kind.DOUBLE_BY_FACE) == {face_a.pk, face_b.pk}
    flagged = set(Case.objects.values_list("links__person_id", flat=True))
    assert not flagged & {p.pk for p in planted.clean}


def test_register_photos_loaded_from_files_reveal_a_face_only_double(
    astronaut_twice: tuple[bytes, bytes], tmp_path: Path
) -> None:
    """The way a register's photos come in (`tongban biometrics import-photos`), then the scan."""
    first, second = astronaut_twice
    a = _person("张三", datetime.date(1965, 6, 1), "360102001", "HA", 11)
    b = _person("章珊", datetime.date(1966, 7, 2), "360702001", "HB", 13)
    # 重号 with a: the same number, another person; the file names him by name and birth date too.
    twin = _person("张山", datetime.date(1965, 6, 1), "360102002", "HC", 11)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.jpg").write_bytes(first)
    (tmp_path / "photos" / "b.png").write_bytes(_png(second))
    (tmp_path / "photos" / "broken.jpg").write_bytes(first[:200])
    rows = [
        "id_number,name,birth_date,photo",
        f"{a.id_number},张三,1965-06-01,photos/a.jpg",
        f"{b.id_number},章珊,1966-07-02,photos/b.png",
        f"{twin.id_number},张山,1965-06-01,photos/broken.jpg",
        f"{a.id_number},李四,1965-06-01,photos/a.jpg",
        f"{b.id_number},章珊,1966-07-02,../outside.jpg",
    ]
    listing = tmp_path / "photos.csv"
    listing.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = io.StringIO()
    call_command("biometrics", "import-photos", str(listing), stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue()) == {"loaded": 2, "rejected": 3}
    report = (tmp_path / "photos.rejected.csv").read_text(encoding="utf-8-sig")
    assert "corrupt_image" in report and "unknown_person" in report and "photo_missing" in report
    a.refresh_from_db()
    twin.refresh_from_db()
    assert a.photo is not None and twin.photo is None

    run = _scan([Case.Kind.DOUBLE_BY_FACE])
    assert run.found == {"double_by_face": 1}
    case = Case.objects.get(kind=Case.Kind.DOUBLE_BY_FACE)
    assert set(case.links.values_list("person_id", flat=True)) == {a.pk, b.pk}


def _png(jpeg: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(out, "PNG")
    return out.getvalue()
