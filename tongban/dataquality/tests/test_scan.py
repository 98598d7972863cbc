from __future__ import annotations

import datetime
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tongban.dataquality import scan
from tongban.dataquality.models import Case, ScanRun
from tongban.dataquality.tests.planted import TODAY, plant
from tongban.registry.models import Unit

pytestmark = pytest.mark.django_db

KINDS = list(scan.NUMBER_KINDS)


def _province() -> Unit:
    return Unit.objects.get(code="36")


def _flagged(kind: str) -> dict[str, Case]:
    return {c.key: c for c in Case.objects.filter(kind=kind).prefetch_related("links")}


def _run(unit: Unit, **kwargs: object) -> ScanRun:
    run = scan.run_start(unit=unit, kinds=KINDS)
    return scan.run_scan(run, today=TODAY, **kwargs)  # type: ignore[arg-type]


def test_every_planted_case_is_found_and_no_clean_person_flagged() -> None:
    planted = plant()
    run = _run(_province())
    assert run.status == ScanRun.Status.DONE
    assert run.processed_rows == run.total_rows == len(planted.clean) + 5 + len(planted.wrong)

    duplicates = _flagged(Case.Kind.DUPLICATE_NUMBER)
    assert set(duplicates) == {f"number:{n}" for n in planted.duplicates}
    for number, people in planted.duplicates.items():
        case = duplicates[f"number:{number}"]
        assert {link.person_id for link in case.links.all()} == {p.pk for p in people}
        assert case.id_number == number
        assert [p["person_id"] for p in case.evidence["people"]] == sorted(p.pk for p in people)
    # One station: that station is responsible; Ganzhou and Nanchang: the province.
    two, three = (duplicates[f"number:{n}"] for n in planted.duplicates)
    assert two.unit.code == "360102001"
    assert three.unit.code == "36"

    wrong = _flagged(Case.Kind.WRONG_NUMBER)
    assert set(wrong) == {f"person:{pk}" for pk in planted.wrong}
    for pk, codes in planted.wrong.items():
        case = wrong[f"person:{pk}"]
        found = {e["code"] for e in case.evidence["errors"]}
        assert codes <= found, (case.evidence, codes)
        assert case.unit_id == case.links.get().person.registration_unit_id
    clean = {p.pk for p in planted.clean}
    assert not clean & set(Case.objects.values_list("links__person_id", flat=True))
    assert run.found == {"duplicate_number": 2, "wrong_number": len(planted.wrong)}


def test_a_subtree_scan_sees_its_own_people_and_their_shared_numbers() -> None:
    planted = plant()
    _run(Unit.objects.get(code="360702"))
    ganzhou = Unit.objects.get(code="360702001")
    wrong_here = {pk for pk in planted.wrong if _station_of(pk) == ganzhou.pk}
    assert {int(k.split(":")[1]) for k in _flagged(Case.Kind.WRONG_NUMBER)} == wrong_here
    # The three-way 重号 has a holder in Ganzhou, so it is found; the Donghu pair is not.
    assert set(_flagged(Case.Kind.DUPLICATE_NUMBER)) == {f"number:{list(planted.duplicates)[1]}"}


def _station_of(pk: int) -> int:
    from tongban.registry.models import Person

    return Person.objects.get(pk=pk).registration_unit_id


def test_a_stopped_scan_resumes_from_its_checkpoint_and_finds_the_same() -> None:
    planted = plant()
    run = scan.run_start(unit=_province(), kinds=KINDS)
    scan.run_scan(run, today=TODAY, chunk_rows=10, stop_after_chunks=2)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.STOPPED
    assert run.stage == "numbers"
    assert 0 < run.processed_rows < run.total_rows
    assert run.checkpoint > 0
    before = run.processed_rows
    seen: list[int] = []
    scan.run_scan(run, today=TODAY, chunk_rows=10, progress=seen.append)
    run.refresh_from_db()
    assert run.status == ScanRun.Status.DONE
    assert run.processed_rows == run.total_rows
    assert sum(seen) == run.total_rows - before  # the resumed part scanned only the rest
    assert set(_flagged(Case.Kind.WRONG_NUMBER)) == {f"person:{pk}" for pk in planted.wrong}
    assert Case.objects.filter(kind=Case.Kind.DUPLICATE_NUMBER).count() == 2


def test_rescans_update_cases_instead_of_duplicating_and_respect_decisions() -> None:
    plant()
    _run(_province())
    total = Case.objects.count()
    false_alarm, fixed = Case.objects.filter(kind=Case.Kind.WRONG_NUMBER)[:2]
    Case.objects.filter(pk=false_alarm.pk).update(status=Case.Status.FALSE_POSITIVE, decision="核实无误")
    Case.objects.filter(pk=fixed.pk).update(status=Case.Status.RESOLVED, decision="已申请更正")
    second = _run(_province())
    assert Case.objects.count() == total
    false_alarm.refresh_from_db()
    fixed.refresh_from_db()
    assert false_alarm.status == Case.Status.FALSE_POSITIVE  # a 误报 stays closed
    assert fixed.status == Case.Status.OPEN  # still wrong: opened again, with a note
    assert "reopened" in fixed.evidence
    assert fixed.last_run_id == second.pk
    assert fixed.first_run_id != second.pk


def test_region_table_is_filled_from_gbt2260() -> None:
    from tongban.dataquality.models import RegionValidity

    scan.ensure_region_table()
    assert RegionValidity.objects.get(code="360105").last_year == 2019
    assert RegionValidity.objects.get(code="360112").last_year is None
    count = RegionValidity.objects.count()
    scan.ensure_region_table()
    assert RegionValidity.objects.count() == count


def test_command_scans_resumes_and_prints_one_json_line(settings: Any, tmp_path: Path) -> None:
    settings.BIOMETRICS = {**settings.BIOMETRICS, "INDEX_DIR": tmp_path / "abis"}
    planted = plant()
    out = StringIO()
    call_command("dataquality", "scan", "--unit", "36", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue())
    assert result["status"] == "done"
    # The command scans as of today: the planted "future" birth (2026-01-01) may be past by now.
    future_is_past = timezone.localdate() >= datetime.date(2026, 1, 1)
    assert result["found"] == {
        "duplicate_number": 2,
        "wrong_number": len(planted.wrong) - future_is_past,
        "double_by_name": 0,
        "double_by_face": 0,
    }
    again = StringIO()
    call_command("dataquality", "scan", stdout=again, stderr=StringIO())
    assert json.loads(again.getvalue())["run"] != result["run"]  # a finished run is not resumed
