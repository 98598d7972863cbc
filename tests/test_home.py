"""The workspace home page opens for every role and shows each role its own work."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db

CARDS = {
    "nanchang_clerk": ["新建受理", "不予签发待告知", "核验发放"],
    "nanchang_reviewer": ["审核签发待办", "已超期"],
    "centre_operator": ["待调度的已签发申领", "上传制证回馈"],
    "nanchang_distributor": ["待领取", "待核验"],
}


ROLES = [*CARDS, "province_supervisor", "finance", "auditor", "admin"]


@pytest.mark.parametrize("who", ROLES)
def test_home_page_per_role(client, personas, who):
    login(client, personas.all()[who])
    page = client.get("/")
    assert page.status_code == 200
    text = page.content.decode()
    for label in CARDS.get(who, []):
        assert label in text, label
    if who != "centre_operator":
        assert "待调度的已签发申领" not in text


def test_administrators_are_told_when_audit_rows_wait_for_the_sealer_too_long(client, personas):
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    AuditEvent.objects.create(at=an_hour_ago, actor_username="cli", action="demo.seed")
    for who, told in (("admin", True), ("auditor", True), ("nanchang_clerk", False)):
        login(client, personas.all()[who])
        assert ("条审计记录超过规定时间仍未封存" in client.get("/").content.decode()) is told, who
