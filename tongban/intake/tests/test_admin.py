"""The review chain is configuration: administrators edit it in the admin, audited."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.intake.models import ReviewChain
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db


def test_admin_configures_a_two_step_chain(client, personas):
    login(client, personas.admin)
    response = client.post(
        "/admin/intake/reviewchain/add/",
        {
            "name": "东湖区两级审核",
            "region_prefix": "360102",
            "note": "",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-MIN_NUM_FORMS": "1",
            "steps-MAX_NUM_FORMS": "1000",
            "steps-0-order": "1",
            "steps-0-level": "station",
            "steps-0-title": "审核",
            "steps-1-order": "2",
            "steps-1-level": "county",
            "steps-1-title": "签发",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    chain = ReviewChain.objects.get(region_prefix="360102")
    assert [(s.level, s.title) for s in chain.steps.all()] == [("station", "审核"), ("county", "签发")]
    assert AuditEvent.objects.filter(action="admin.create", object_type="intake.reviewchain").exists()
    assert AuditEvent.objects.filter(action="admin.change", detail__fields=["steps"]).exists()


def test_only_administrators_see_the_chain_admin(client, personas):
    for user in (personas.nanchang_clerk, personas.province_supervisor, personas.auditor):
        client.logout()
        user.is_staff = True
        user.save()
        login(client, user)
        assert client.get("/admin/intake/reviewchain/").status_code in {302, 403, 404}
