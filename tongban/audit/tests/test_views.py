"""The auditors' page reads in Chinese: action names, people's names, unit names, records."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tongban.audit.actions import AuditAction, EventAction
from tongban.audit.sealer import seal_all
from tongban.audit.services import record
from tongban.audit.tests.conftest import drop_guards
from tongban.core.crypto import SM2KeyPair
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db


def _name(user: Any, family: str, given: str) -> None:
    user.last_name, user.first_name = family, given
    user.save(update_fields=["last_name", "first_name"])


def _cells(html: str) -> list[list[str]]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_rows_name_the_action_the_person_the_unit_and_the_record(client: Client, personas: Personas) -> None:
    _name(personas.nanchang_clerk, "张", "受理")
    record(
        actor=personas.nanchang_clerk,
        action=AuditAction.APPLICATION_ACCEPTED,
        object_type="intake.application",
        object_id=7,
        detail={"number": "3601020012026112300001", "status": "accepted"},
    )
    record(
        actor=personas.nanchang_clerk,
        action=AuditAction.PERSON_VIEW,
        object_type="registry.person",
        object_id=42,
    )
    record(actor=None, action=AuditAction.REGISTRY_IMPORT, object_type="file", object_id="people.csv")
    html = login(client, personas.auditor).get("/audit/").content.decode()
    rows = _cells(html)
    imported, viewed, accepted = rows[0], rows[1], rows[2]
    assert accepted[2:6] == [
        "张受理",
        "东湖区城关派出所",
        EventAction.ACCEPTED.label,
        "申领 3601020012026112300001",
    ]
    assert viewed[2:6] == ["张受理", "东湖区城关派出所", "查看人员完整信息", "人员 #42"]
    assert imported[2:6] == ["命令行", "", "导入人口信息", "文件 #people.csv"]
    record(
        actor=personas.nanchang_clerk,
        action=AuditAction.AUTH_LOGIN,
        object_type="user",
        object_id=personas.nanchang_clerk.pk,
    )
    record(actor=None, action=AuditAction.UNIT_LOAD_PROVINCE, object_type="unit", object_id="36")
    loaded, login_row = _cells(client.get("/audit/").content.decode())[:2]
    assert loaded[5] == "机构 江西省公安厅" and login_row[5] == "用户 张受理"
    # No code and no login name reaches a cell.
    table = html.split("<tbody>", 1)[1]
    for raw in ("application.accepted", "person.view", "nanchang_clerk", "<td>360102001</td>", "intake."):
        assert raw not in table


def test_filter_by_group_action_and_name(client: Client, personas: Personas) -> None:
    _name(personas.nanchang_clerk, "张", "受理")
    record(
        actor=personas.nanchang_clerk,
        action=AuditAction.PERSON_VIEW,
        object_type="registry.person",
        object_id=1,
    )
    record(actor=personas.ganzhou_clerk, action=AuditAction.AUTH_LOGOUT, object_type="user", object_id=2)
    login(client, personas.auditor)
    by_action = _cells(client.get("/audit/", {"action": "person.view"}).content.decode())
    assert [r[4] for r in by_action] == ["查看人员完整信息"]
    by_group = _cells(client.get("/audit/", {"action": "登录与口令"}).content.decode())
    assert {r[4] for r in by_group} == {"退出"}
    by_name = _cells(client.get("/audit/", {"user": "张受理"}).content.decode())
    assert [r[4] for r in by_name] == ["查看人员完整信息"]
    by_login = _cells(client.get("/audit/", {"user": "ganzhou_clerk"}).content.decode())
    assert [r[4] for r in by_login] == ["退出"]
    picker = client.get("/audit/").content.decode()
    assert '<optgroup label="申领办理">' in picker and ">签发</option>" in picker


def test_verification_is_told_in_chinese(client: Client, personas: Personas, system_key: SM2KeyPair) -> None:
    events = [
        record(actor=None, action=AuditAction.DEMO_SEED, object_type="demo", object_id=i) for i in range(3)
    ]
    page = login(client, personas.auditor)
    waiting = page.get("/audit/").content.decode()
    assert "待封存" in waiting and "超过规定时间仍未封存" not in waiting
    seal_all()
    html = page.get("/audit/", {"verify": "1"}).content.decode()
    assert "审计日志完整：1 个封存批次的签名有效" in html
    sealed = events[1].__class__.objects.get(pk=events[1].pk)
    drop_guards()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_id = 'forged' WHERE id = %s", [sealed.pk])
    html = page.get("/audit/", {"verify": "1"}).content.decode()
    assert f"审计日志校验未通过：第 {sealed.seq} 条记录的内容与其哈希值不符（已被改动）" in html
    assert "does not match" not in html
