from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tongban.audit.models import AuditEvent
from tongban.core.errors import ServiceError
from tongban.dataquality import services
from tongban.dataquality.models import Case, ScanRun
from tongban.dataquality.tests.planted import plant
from tongban.jobs.models import JobRun
from tongban.registry.models import Person, Unit
from tongban.testing.personas import Personas, login

pytestmark = pytest.mark.django_db

ALLOWED = {"donghu_supervisor", "nanchang_supervisor", "province_supervisor", "admin", "nanchang_reviewer"}


def test_work_list_is_for_supervisors_and_admins_only(
    client: Client, personas: Personas, scanned: None
) -> None:
    for name, user in personas.all().items():
        login(client, user)
        response = client.get(reverse("dataquality:index"))
        assert response.status_code == (200 if name in ALLOWED else 404), name
        client.logout()


def test_work_list_shows_the_subtree_masked_and_paginates(
    client: Client, personas: Personas, scanned: None
) -> None:
    login(client, personas.donghu_supervisor)
    response = client.get(reverse("dataquality:index"), {"status": ""})
    body = response.content.decode()
    donghu = Case.objects.filter(unit__path__startswith=Unit.objects.get(code="360102").path)
    assert len(response.context["page"].rows) == donghu.count() > 0
    assert not {c.pk for c in response.context["page"].rows} - set(donghu.values_list("pk", flat=True))
    for case in donghu.exclude(id_number=""):
        if len(case.id_number) == 18:
            assert case.id_number not in body  # masked in the list
    # Keyset pagination: the next page starts after the last row shown.
    login(client, personas.province_supervisor)
    first = client.get(reverse("dataquality:index"), {"status": "open"})
    rows = first.context["page"].rows
    assert len(rows) == Case.objects.filter(status="open").count()
    second = client.get(reverse("dataquality:index"), {"status": "open", "after": rows[2].pk})
    assert [c.pk for c in second.context["page"].rows] == [c.pk for c in rows[3:]]


def test_work_list_filters_by_kind_and_unit(client: Client, personas: Personas, scanned: None) -> None:
    login(client, personas.province_supervisor)
    page = client.get(reverse("dataquality:index"), {"kind": "duplicate_number"}).context["page"]
    assert {c.kind for c in page.rows} == {"duplicate_number"}
    page = client.get(reverse("dataquality:index"), {"unit": "360702"}).context["page"]
    assert page.rows and all(c.unit.code.startswith("360702") for c in page.rows)


def test_work_list_query_count_is_pinned(
    client: Client, personas: Personas, scanned: None, django_assert_max_num_queries: object
) -> None:
    login(client, personas.province_supervisor)
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        assert client.get(reverse("dataquality:index"), {"status": ""}).status_code == 200


def test_case_detail_is_audited_and_hidden_from_other_subtrees(
    client: Client, personas: Personas, scanned: None
) -> None:
    ganzhou_case = Case.objects.filter(unit__code="360702001").first()
    assert ganzhou_case is not None
    login(client, personas.donghu_supervisor)
    assert client.get(reverse("dataquality:case_detail", args=[ganzhou_case.pk])).status_code == 404
    login(client, personas.province_supervisor)
    response = client.get(reverse("dataquality:case_detail", args=[ganzhou_case.pk]))
    assert response.status_code == 200
    assert ganzhou_case.links.get().person.name in response.content.decode()
    assert AuditEvent.objects.filter(action="dataquality.case.view", object_id=str(ganzhou_case.pk)).exists()


def test_supervisor_decides_a_case_once_with_a_reason(
    client: Client, personas: Personas, scanned: None
) -> None:
    case = Case.objects.filter(unit__code="360102001", kind="wrong_number").first()
    assert case is not None
    url = reverse("dataquality:case_detail", args=[case.pk])
    login(client, personas.admin)  # may look, may not decide
    assert client.post(url, {"status": "resolved", "decision": "x"}).status_code == 404
    login(client, personas.donghu_supervisor)
    response = client.post(url, {"status": "resolved", "decision": ""})
    assert response.status_code == 200
    assert "处理意见" in response.content.decode()
    response = client.post(url, {"status": "false_positive", "decision": "经核实户口登记表，号码无误"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.decided_by_id) == ("false_positive", personas.donghu_supervisor.pk)
    assert AuditEvent.objects.filter(action="dataquality.case.decide", object_id=str(case.pk)).exists()
    with pytest.raises(ServiceError) as refused:
        services.case_decide(
            actor=personas.nanchang_supervisor, case_id=case.pk, status="resolved", decision="再次处理"
        )
    assert refused.value.code == "already_decided"
    with pytest.raises(ServiceError) as outside:
        services.case_decide(
            actor=personas.donghu_supervisor,
            case_id=Case.objects.filter(unit__code="360702001").values_list("pk", flat=True)[0],
            status="resolved",
            decision="越权",
        )
    assert outside.value.status == 404


def test_a_supervisor_scans_the_own_subtree_from_the_page(
    client: Client, personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    planted = plant()
    url = reverse("dataquality:scan")
    kinds = [Case.Kind.DUPLICATE_NUMBER.value, Case.Kind.WRONG_NUMBER.value]
    login(client, personas.donghu_supervisor)
    page = client.get(reverse("dataquality:index")).content.decode()
    assert 'id="scan-form"' in page and "开始扫描" in page and "后台任务" in page
    with django_capture_on_commit_callbacks(execute=True):  # the worker takes the job on commit
        response = client.post(url, {"unit": "360102", "kinds": kinds})
    job = JobRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("jobs:detail", args=[job.pk])
    shown = client.get(response["Location"]).content.decode()
    assert "数据清理扫描" in shown and "已完成" in shown and "扫描 #" in shown
    run = ScanRun.objects.get()
    assert run.status == ScanRun.Status.DONE and run.unit.code == "360102"
    assert (job.object_type, job.object_id) == ("dataquality.scanrun", str(run.pk))
    # What the page found is what was planted in 东湖分局, and nothing of the other cities.
    donghu = {p.pk for p in Person.objects.filter(registration_unit__path__startswith="36/3601/360102/")}
    wrong_here = {pk for pk in planted.wrong_people() if pk in donghu}
    found = set(Case.objects.filter(kind=Case.Kind.WRONG_NUMBER).values_list("persons__pk", flat=True))
    assert found == wrong_here
    assert AuditEvent.objects.filter(action="dataquality.scan", object_id=str(run.pk)).exists()

    # Outside the subtree or nothing to look for: refused, nothing queued.
    for data in ({"unit": "360702", "kinds": kinds}, {"unit": "360102", "kinds": []}):
        assert client.post(url, data).status_code == 302
    assert JobRun.objects.count() == 1 and ScanRun.objects.count() == 1
    client.logout()

    # Without dataquality.decide: no form and no scan.
    login(client, personas.nanchang_reviewer)
    assert 'id="scan-form"' not in client.get(reverse("dataquality:index")).content.decode()
    assert client.post(url, {"unit": "360102002", "kinds": kinds}).status_code == 404
    assert ScanRun.objects.count() == 1
