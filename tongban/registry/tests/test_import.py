import csv
import datetime
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongban.audit.models import AuditEvent
from tongban.core import idnumber
from tongban.registry.csvformat import COLUMNS
from tongban.registry.importer import import_people
from tongban.registry.models import Person
from tongban.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db
HEADER = ",".join(COLUMNS)
TODAY = datetime.date(2026, 11, 22)


def row(
    number: str,
    name: str = "王五",
    sex: str = "1",
    ethnicity: str = "01",
    birth: str = "1990-05-17",
    **kw: str,
) -> str:
    values = {
        "id_number": number,
        "name": name,
        "sex": sex,
        "ethnicity": ethnicity,
        "birth_date": birth,
        "address": kw.get("address", "江西省南昌市东湖区八一大道1号"),
        "household_no": kw.get("household_no", "100001"),
        "relation": kw.get("relation", "02"),
        "registration_unit": kw.get("unit", "360102001"),
    }
    return ",".join(values[c] for c in COLUMNS)


def num(seq: int, birth: datetime.date = datetime.date(1990, 5, 17), region: str = "360102") -> str:
    return idnumber.build(region, birth, seq)


def write(tmp_path: Path, *lines: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_good_rows_import_and_reimport_changes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, row(num(11)), row(num(12), name="李娟", sex="2"), row(num(13), relation=""))
    first = import_people(path, actor=None, today=TODAY)
    assert first.counts() == {"imported": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    person = Person.objects.get(id_number=num(12))
    assert (person.name, person.sex_id, person.registration_unit.code, person.region_code) == (
        "李娟",
        "2",
        "360102001",
        "360102",
    )
    assert Person.objects.get(id_number=num(13)).relation_id is None
    again = import_people(path, actor=None, today=TODAY)
    assert again.counts() == {"imported": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert AuditEvent.objects.filter(action="registry.import").count() == 2


def test_changed_address_and_unit_are_updates(tmp_path: Path) -> None:
    import_people(write(tmp_path, row(num(11))), actor=None, today=TODAY)
    moved = write(
        tmp_path, row(num(11), address="江西省南昌市西湖区中山路9号", unit="360103001"), name="moved.csv"
    )
    result = import_people(moved, actor=None, today=TODAY)
    assert result.counts() == {"imported": 0, "updated": 1, "unchanged": 0, "rejected": 0}
    person = Person.objects.get(id_number=num(11))
    assert (person.registration_unit.code, person.region_code) == ("360103001", "360103")


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (row(num(11)[:17] + ("0" if num(11)[17] != "0" else "1")), "invalid_id_number"),  # wrong check digit
        (row("3601021990051712"), "invalid_id_number"),  # too short
        (row(num(11), birth="1990-05-18"), "birth_date_mismatch"),
        (row(num(11), birth="1990/05/17"), "invalid_birth_date"),
        (row(num(12), sex="1"), "sex_mismatch"),
        (row(num(11), sex="9"), "sex_mismatch"),
        (row(num(11), sex="5"), "unknown_sex"),
        (row(num(11), ethnicity="60"), "unknown_ethnicity"),
        (row(num(11), relation="98"), "unknown_relation"),
        (row(num(11), unit="360102999"), "unknown_unit"),
        (row(num(11), unit="360102"), "unknown_unit"),  # a county bureau, not a station
        (row(num(11), name=""), "missing_field"),
        # 360727 龙南县 was abolished in 2020: nobody born in 2021 carries it.
        (
            row(idnumber.build("360783", datetime.date(2021, 1, 1), 11).replace("360783", "360727", 1)),
            "invalid_id_number",
        ),
    ],
)
def test_bad_rows_are_rejected_with_line_and_reason(tmp_path: Path, line: str, code: str) -> None:
    path = write(tmp_path, row(num(21)), line)
    result = import_people(path, actor=None, today=TODAY)
    assert result.counts() == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    (rejection,) = result.rejections
    assert rejection.line == 3
    assert code in rejection.code.split(",")
    assert rejection.message
    assert Person.objects.count() == 1


def test_one_number_for_two_people_rejects_both_rows(tmp_path: Path) -> None:
    shared = num(31)
    path = write(tmp_path, row(shared, name="张三"), row(num(33)), row(shared, name="张叁"))
    result = import_people(path, actor=None, today=TODAY)
    assert result.counts() == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    assert [(r.line, r.code) for r in result.rejections] == [
        (2, "duplicate_in_file"),
        (4, "duplicate_in_file"),
    ]
    assert "重号" in result.rejections[0].message
    assert not Person.objects.filter(id_number=shared).exists()


def test_identical_repeated_row_is_imported_once(tmp_path: Path) -> None:
    path = write(tmp_path, row(num(41)), row(num(41)))
    assert import_people(path, actor=None, today=TODAY).counts() == {
        "imported": 1,
        "updated": 0,
        "unchanged": 1,
        "rejected": 0,
    }


def test_same_number_registered_to_someone_else_is_a_duplicate(tmp_path: Path) -> None:
    existing = PersonFactory.create(name="赵六", birth_date=datetime.date(1990, 5, 17))
    path = write(tmp_path, row(existing.id_number, name="钱七"), row(num(43)))
    result = import_people(path, actor=None, today=TODAY)
    assert result.counts()["rejected"] == 1
    assert result.rejections[0].code == "duplicate_in_register"
    assert Person.objects.get(pk=existing.pk).name == "赵六"


def test_fifteen_digit_numbers_are_stored_as_eighteen(tmp_path: Path) -> None:
    eighteen = num(51, birth=datetime.date(1975, 3, 9))
    fifteen = eighteen[:6] + eighteen[8:17]
    path = write(tmp_path, row(fifteen.lower(), birth="1975-03-09"))
    assert import_people(path, actor=None, today=TODAY).imported == 1
    assert Person.objects.filter(id_number=eighteen).exists()


def test_command_prints_one_json_line_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, row(num(61)), row("123"), row(num(63), ethnicity="99"))
    call_command("registry", "import", str(path))
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert json.loads(out[0]) == {"imported": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    with (tmp_path / "people.rejected.csv").open(encoding="utf-8-sig") as handle:
        report = list(csv.DictReader(handle))
    assert [r["line"] for r in report] == ["3", "4"]
    assert report[1]["reason_code"] == "unknown_ethnicity"
    assert report[1]["id_number"] == num(63)


def test_file_with_wrong_columns_is_refused_whole(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("id,name\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="缺少列"):
        call_command("registry", "import", str(path))
    assert Person.objects.count() == 0


def test_gb18030_files_import_with_the_encoding_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "gbk.csv"
    path.write_text("\n".join([HEADER, row(num(71), name="欧阳修")]) + "\n", encoding="gb18030")
    with pytest.raises(CommandError, match="编码"):
        call_command("registry", "import", str(path))
    call_command("registry", "import", str(path), "--encoding", "gb18030")
    assert Person.objects.get(id_number=num(71)).name == "欧阳修"
