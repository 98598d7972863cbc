"""`tongban users import`: encodings, headers, every rejection reason, idempotence, the summary
line, the report and the activation-code file."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import Client

from tongban.accounts.importer import UserImportError, decode, import_users
from tongban.accounts.models import User
from tongban.audit.models import AuditEvent
from tongban.testing.factories import UserFactory
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db

HEADER = "username,name,role,unit,phone"
GOOD = [
    "wangxy,王晓燕,clerk,360102001,13907910001",
    "lijg,李建国,审核签发员,360102,0791-86201234",
    "ZhangWei,张伟,centre_operator,360000901,",
]


def write(
    tmp_path: Path, *rows: str, header: str = HEADER, encoding: str = "utf-8", name: str = "staff.csv"
) -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(encoding))
    return path


def run(tmp_path: Path, path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, int]:
    call_command("users", "import", str(path), *extra)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, out
    return json.loads(out[0])


def report(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_creates_accounts_and_hands_out_codes_in_a_private_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, *GOOD)
    codes = tmp_path / "codes.csv"
    counts = run(tmp_path, path, capsys, "--codes", str(codes))
    assert counts == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert list(counts) == ["created", "updated", "unchanged", "rejected"]
    clerk = User.objects.get(username="wangxy")
    assert (clerk.last_name, clerk.first_name, clerk.role, clerk.unit_code, clerk.phone) == (
        "王",
        "晓燕",
        "clerk",
        "360102001",
        "13907910001",
    )
    assert User.objects.get(username="lijg").role == "reviewer"  # by its Chinese name
    assert User.objects.filter(username="zhangwei").exists()  # stored in lower case
    for user in User.objects.filter(username__in=["wangxy", "lijg", "zhangwei"]):
        assert user.must_set_password and not user.has_usable_password()
        assert user.activation_expires is not None
    assert stat.S_IMODE(codes.stat().st_mode) == 0o600
    with codes.open(encoding="utf-8-sig", newline="") as handle:
        handed = list(csv.DictReader(handle))
    assert [row["用户名"] for row in handed] == ["wangxy", "lijg", "zhangwei"]
    assert handed[0]["单位名称"] == "东湖区城关派出所" and handed[0]["角色"] == "受理员"
    # The code in the file signs the account in (and only that account).
    assert authenticate(None, username="wangxy", password=handed[0]["激活码"]) == clerk
    assert authenticate(None, username="lijg", password=handed[0]["激活码"]) is None
    assert report(tmp_path / "staff.rejected.csv") == []


def test_second_run_of_the_same_file_changes_nothing_and_writes_no_audit_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, *GOOD)
    run(tmp_path, path, capsys, "--codes", str(tmp_path / "c1.csv"))
    created = AuditEvent.objects.filter(action="user.created")
    assert created.count() == 3
    assert created.first().detail["source"] == "import"  # type: ignore[union-attr]
    events = AuditEvent.objects.count()
    hashes = dict(User.objects.values_list("username", "activation_code_hash"))
    counts = run(tmp_path, path, capsys, "--codes", str(tmp_path / "c2.csv"))
    assert counts == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}
    assert AuditEvent.objects.count() == events
    assert dict(User.objects.values_list("username", "activation_code_hash")) == hashes
    assert not (tmp_path / "c2.csv").exists()  # no new account, no codes file


def test_changed_rows_update_their_accounts_with_one_audit_row_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], personas: Personas
) -> None:
    run(tmp_path, write(tmp_path, *GOOD), capsys, "--codes", str(tmp_path / "c1.csv"))
    rows = [
        "wangxy,王晓燕,distributor,360102001,13907910001",  # role
        "lijg,李建国,reviewer,360102002,0791-86201234",  # unit
        "zhangwei,张伟,centre_operator,360000901,13807910002",  # phone
        "nanchang_clerk,刘芳,clerk,360102001,",  # an existing account renamed
        "newcomer,赵刚,supervisor,3601,",
    ]
    counts = run(tmp_path, write(tmp_path, *rows, name="v2.csv"), capsys, "--codes", str(tmp_path / "c2.csv"))
    assert counts == {"created": 1, "updated": 4, "unchanged": 0, "rejected": 0}
    assert User.objects.get(username="wangxy").role == "distributor"
    assert User.objects.get(username="lijg").unit_code == "360102002"
    renamed = User.objects.get(username="nanchang_clerk")
    assert renamed.get_full_name() == "刘芳" and renamed.has_usable_password()  # password kept
    updates = AuditEvent.objects.filter(action="user.updated")
    assert updates.count() == 4
    change = updates.get(object_id=str(User.objects.get(username="zhangwei").pk)).detail["changes"]
    assert change == {"phone": ["", "138****0002"]}  # phones masked in the trail
    assert AuditEvent.objects.filter(action="user.created").count() == 4


def test_utf8_with_bom_gb18030_and_chinese_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "用户名,姓名,角色,单位,电话"
    bom = write(
        tmp_path, "ouyang,欧阳修,受理员,360102001,", header=header, encoding="utf-8-sig", name="bom.csv"
    )
    gb = write(
        tmp_path, "maimaiti,买买提·艾力,受理员,360702001,", header=header, encoding="gb18030", name="gb.csv"
    )
    assert decode(bom.read_bytes())[1] == "utf-8-sig"
    assert decode(gb.read_bytes())[1] == "gb18030"
    assert decode(write(tmp_path, *GOOD, name="plain.csv").read_bytes())[1] == "utf-8"
    assert run(tmp_path, bom, capsys, "--codes", str(tmp_path / "c1.csv"))["created"] == 1
    assert run(tmp_path, gb, capsys, "--codes", str(tmp_path / "c2.csv"))["created"] == 1
    assert User.objects.get(username="ouyang").last_name == "欧阳"
    assert User.objects.get(username="maimaiti").get_full_name() == "买买提·艾力"
    # Forced encodings: a GB18030 file read as UTF-8 is refused whole, as GB18030 it imports.
    gb2 = write(tmp_path, "hanwen,韩文,受理员,360702001,", header=header, encoding="gb18030", name="gb2.csv")
    with pytest.raises(CommandError, match="不是 UTF-8"):
        call_command("users", "import", str(gb2), "--encoding", "utf-8")
    assert not User.objects.filter(username="hanwen").exists()
    assert (
        run(tmp_path, gb2, capsys, "--encoding", "gb18030", "--codes", str(tmp_path / "c3.csv"))["created"]
        == 1
    )


def test_undecodable_file_is_refused() -> None:
    with pytest.raises(UserImportError, match="GB18030"):
        decode(b"username\n\x81\x20", "auto")


@pytest.mark.parametrize(
    ("line", "code", "message"),
    [
        ("liuf,刘芳,警长,360102001,", "unknown_role", "角色“警长”不存在"),
        ("liuf,刘芳,clerk,369999001,", "unknown_unit", "机构代码“369999001”不存在"),
        ("liuf,刘芳,clerk,,", "unknown_unit", "机构代码（空）不存在"),
        ("liuf,刘芳,clerk,360102001,1234567", "bad_phone", "格式不正确"),
        ("liuf,,clerk,360102001,", "empty_name", "姓名不能为空"),
        ("liuf,刘芳8,clerk,360102001,", "bad_name", "不符合要求"),
        ("liuf,刘芳,clerk,360102,", "role_unit_mismatch", "受理员不能设在县（市、区）公安局"),
        ("liuf,刘芳,centre_operator,360102001,", "role_unit_mismatch", "只能设在：制证中心"),
        ("liuf,刘芳,admin,360102001,", "role_unit_mismatch", "系统管理员不能设在派出所"),
        ("刘芳,刘芳,clerk,360102001,", "bad_username", "用户名“刘芳”不符合要求"),
        ("liuf,刘芳,clerk,360102001,,extra", "bad_row", "列数多于表头"),
    ],
)
def test_each_rejection_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, code: str, message: str
) -> None:
    path = write(tmp_path, GOOD[0], line)
    counts = run(tmp_path, path, capsys, "--codes", str(tmp_path / "c.csv"))
    assert counts == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    rejected = report(tmp_path / "staff.rejected.csv")
    assert len(rejected) == 1
    assert rejected[0]["line"] == "3" and rejected[0]["reason_code"] == code
    assert message in rejected[0]["reason"]
    assert rejected[0]["username"] == line.split(",")[0]
    assert not User.objects.filter(username="liuf").exists()


def test_several_reasons_of_one_row_are_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "liuf,,警长,999,12")
    result = import_users(path)
    assert result.rejected == 1
    assert result.rejections[0].code == "empty_name,unknown_role,bad_phone,unknown_unit"


def test_a_username_twice_in_the_file_rejects_every_such_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD[0], "liuf,刘芳,clerk,360102001,", "LiuF,刘芳,distributor,360102001,")
    counts = run(tmp_path, path, capsys, "--codes", str(tmp_path / "c.csv"))
    assert counts == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    rejected = report(tmp_path / "staff.rejected.csv")
    assert [(r["line"], r["reason_code"]) for r in rejected] == [
        ("3", "duplicate_username"),
        ("4", "duplicate_username"),
    ]
    assert "第 3、4 行" in rejected[0]["reason"]
    assert not User.objects.filter(username="liuf").exists()


def test_a_deactivated_account_is_not_revived_by_an_import(tmp_path: Path) -> None:
    UserFactory.create(username="liuf", is_active=False)
    result = import_users(write(tmp_path, "liuf,刘芳,clerk,360102001,"))
    assert result.counts() == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 1}
    assert result.rejections[0].code == "account_inactive"
    assert not User.objects.get(username="liuf").is_active


def test_an_existing_username_in_other_case_is_the_same_account(tmp_path: Path) -> None:
    UserFactory.create(username="WangXY", last_name="王", first_name="晓燕", phone="")
    result = import_users(write(tmp_path, "wangxy,王晓燕,reviewer,360102001,"))
    assert result.counts()["updated"] == 1
    assert User.objects.filter(username__iexact="wangxy").count() == 1


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("username,name,role,unit", "缺少列：phone"),
        ("username,name,role,unit,phone,email", "无法识别的列：email"),
        ("username,name,role,unit,phone,电话", "列重复：phone"),
    ],
)
def test_a_file_with_wrong_columns_is_refused_whole(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, "liuf,刘芳,clerk,360102001,", header=header)
    codes = tmp_path / "c.csv"
    with pytest.raises(CommandError, match=message):
        call_command("users", "import", str(path), "--codes", str(codes))
    assert not User.objects.filter(username="liuf").exists()
    assert not codes.exists()


def test_an_existing_codes_file_is_never_overwritten(tmp_path: Path) -> None:
    codes = tmp_path / "c.csv"
    codes.write_text("keep")
    with pytest.raises(CommandError, match="不会覆盖"):
        call_command("users", "import", str(write(tmp_path, *GOOD)), "--codes", str(codes))
    assert codes.read_text() == "keep" and not User.objects.filter(username="wangxy").exists()


def test_default_report_and_codes_paths_and_an_empty_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = run(tmp_path, write(tmp_path, *GOOD), capsys)
    assert counts["created"] == 3
    assert (tmp_path / "staff.rejected.csv").exists()
    [codes] = list(tmp_path.glob("staff.codes-*.csv"))
    assert stat.S_IMODE(codes.stat().st_mode) == 0o600
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="文件为空"):
        call_command("users", "import", str(empty))


def test_an_imported_account_signs_in_with_its_code_and_must_set_a_password(tmp_path: Path) -> None:
    codes: list[str] = []
    import_users(write(tmp_path, GOOD[0]), on_codes=lambda issued: codes.extend(c.code for c in issued))
    client = Client()
    response = client.post("/accounts/login/", {"username": "wangxy", "password": codes[0]})
    assert response["Location"].startswith("/accounts/password/set/")
    assert client.get("/applications/")["Location"].startswith("/accounts/password/set/")


def test_a_change_hidden_by_the_mask_is_still_an_update(tmp_path: Path) -> None:
    import_users(write(tmp_path, "wangxy,王晓燕,clerk,360102001,13907910001"))
    # Same first three and last four digits: the masked phones agree, the phones do not.
    result = import_users(write(tmp_path, "wangxy,王小燕,clerk,360102001,13917910001", name="v2.csv"))
    assert result.counts()["updated"] == 1
    user = User.objects.get(username="wangxy")
    assert (user.phone, user.get_full_name()) == ("13917910001", "王小燕")
    event = AuditEvent.objects.filter(action="user.updated").latest("id")
    assert event.detail["changes"] == {"name": ["王*燕", "王*燕"], "phone": ["139****0001", "139****0001"]}
