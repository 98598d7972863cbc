"""Distribution rules in the admin: a rule sending cards through county bureaus where nobody can
sign for and forward them is refused with those bureaus, unless confirmed with a reason."""

from __future__ import annotations

import pytest

from tongban.audit.models import AuditEvent
from tongban.handover.models import DistributionRule
from tongban.testing.personas import login
from tongban.testing.staffing import staff

pytestmark = pytest.mark.django_db

URL = "/admin/handover/distributionrule/add/"
DONGHU_QC = {"region_prefix": "360102", "route": "county", "note": "东湖区质检"}


def test_county_route_is_refused_without_staff_at_the_bureau(client, personas):
    # A reviewer or a supervisor at the bureau does not sign for cards; nor does a distributor
    # of the city bureau above it (shipments are received by the destination unit itself).
    staff("reviewer", "360102")
    staff("distributor", "3601")
    login(client, personas.admin)
    response = client.post(URL, DONGHU_QC)
    assert response.status_code == 200
    text = response.content.decode()
    assert "下列单位的待办将无人办理" in text and "南昌市公安局东湖分局（360102）" in text
    assert "分（县）局质检分发" in text
    assert not DistributionRule.objects.exists()


def test_staffed_bureau_and_direct_routes_pass(client, personas):
    login(client, personas.admin)
    assert client.post(URL, {**DONGHU_QC, "route": "direct"}).status_code == 302
    DistributionRule.objects.all().delete()
    staff("distributor", "360102")
    assert client.post(URL, DONGHU_QC).status_code == 302
    assert DistributionRule.objects.get(region_prefix="360102").route == "county"
    assert not AuditEvent.objects.filter(action="staffing.override").exists()


def test_a_longer_rule_takes_its_stations_out_of_the_check(client, personas):
    # 3601 through the counties: every Nanchang bureau but 东湖, whose stations a direct 360102
    # rule keeps, needs staff.
    DistributionRule.objects.create(region_prefix="360102", route="direct")
    login(client, personas.admin)
    text = client.post(URL, {"region_prefix": "3601", "route": "county"}).content.decode()
    assert "南昌市公安局西湖分局（360103）" in text and "进贤县公安局（360124）" in text
    assert "南昌市公安局东湖分局（360102）" not in text


def test_override_with_a_reason_is_saved_and_audited(client, personas):
    login(client, personas.admin)
    response = client.post(URL, {**DONGHU_QC, "override_unstaffed": "on", "override_reason": " "})
    assert response.status_code == 200 and "请填写原因" in response.content.decode()
    response = client.post(
        URL, {**DONGHU_QC, "override_unstaffed": "on", "override_reason": "分局内勤兼管，账号办理中"}
    )
    assert response.status_code == 302
    rule = DistributionRule.objects.get(region_prefix="360102")
    event = AuditEvent.objects.get(action="staffing.override")
    assert (event.object_type, event.object_id) == ("handover.distributionrule", str(rule.pk))
    assert event.detail == {
        "units": ["360102"],
        "steps": ["分（县）局质检分发"],
        "reason": "分局内勤兼管，账号办理中",
    }
