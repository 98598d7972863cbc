"""The review chain is configuration: administrators edit it in the admin, audited; a chain whose
steps land on units where nobody can 审核签发 is refused unless confirmed with a reason."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.intake.models import ReviewChain
from tongban.testing.personas import login
from tongban.testing.staffing import staff

pytestmark = pytest.mark.django_db

TWO_STEPS = {
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
}


def test_admin_configures_a_two_step_chain(client, personas):
    staff("reviewer", "360102")  # reaches both stations of 东湖 and the bureau itself
    login(client, personas.admin)
    response = client.post("/admin/intake/reviewchain/add/", TWO_STEPS)
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


def test_a_chain_landing_where_nobody_reviews_is_refused_with_the_units(client, personas):
    # The persona reviewer works at 城东派出所 only: 城关派出所 and the 东湖分局 have nobody.
    login(client, personas.admin)
    response = client.post("/admin/intake/reviewchain/add/", TWO_STEPS)
    assert response.status_code == 200
    text = response.content.decode()
    assert "下列单位的待办将无人办理" in text
    assert "东湖区城关派出所（360102001）" in text and "南昌市公安局东湖分局（360102）" in text
    assert "东湖区城东派出所（360102002）" not in text  # its reviewer can
    assert not ReviewChain.objects.filter(region_prefix="360102").exists()
    assert not AuditEvent.objects.filter(
        action__startswith="admin.", object_type="intake.reviewchain"
    ).exists()

    # Ticking the override without a reason is refused too.
    response = client.post("/admin/intake/reviewchain/add/", {**TWO_STEPS, "override_unstaffed": "on"})
    assert response.status_code == 200 and "须填写原因" in response.content.decode()
    assert not ReviewChain.objects.filter(region_prefix="360102").exists()


def test_a_confirmed_override_saves_and_is_audited(client, personas):
    login(client, personas.admin)
    response = client.post(
        "/admin/intake/reviewchain/add/",
        {**TWO_STEPS, "override_unstaffed": "on", "override_reason": "东湖分局审核员下周到岗"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    chain = ReviewChain.objects.get(region_prefix="360102")
    event = AuditEvent.objects.get(action="staffing.override", object_type="intake.reviewchain")
    assert event.object_id == str(chain.pk) and event.actor_username == personas.admin.username
    assert event.detail["reason"] == "东湖分局审核员下周到岗"
    assert event.detail["units"] == ["360102", "360102001"]


def test_an_inactive_reviewer_does_not_count(client, personas):
    (reviewer,) = staff("reviewer", "360102")
    reviewer.is_active = False
    reviewer.save()
    login(client, personas.admin)
    response = client.post("/admin/intake/reviewchain/add/", TWO_STEPS)
    assert response.status_code == 200 and "南昌市公安局东湖分局（360102）" in response.content.decode()
