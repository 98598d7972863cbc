"""The 挂失招领 pages and API: the same services behind both, masked lists, audited records."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.cardloss.models import FoundCard, LossReport
from tongban.core.masking import mask_id_number
from tongban.registry.models import Card, Person
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import api_client, login


@pytest.fixture
def holder() -> Person:
    person = PersonFactory.create()
    CardFactory.create(person=person, card_serial="CS-PAGE", valid_until=datetime.date(2040, 1, 1))
    return person


def test_a_clerk_reports_a_loss_on_the_page(personas, holder):
    client = login(Client(), personas.ganzhou_clerk)
    url = reverse("cardloss:report_new")
    found = client.post(url, {"id_number": holder.id_number})
    assert found.status_code == 200 and holder.name in found.content.decode()
    assert AuditEvent.objects.filter(action="person.view", object_id=str(holder.pk)).exists()
    fields = {"id_number": holder.id_number, "channel": "phone", "phone": "13907910000"}
    asked = client.post(url, fields)  # a browser without JavaScript is asked first
    assert asked.status_code == 200 and "确定登记挂失" in asked.content.decode()
    assert holder.cards.get().state == Card.State.ACTIVE
    refused = client.post(url, {**fields, "confirmed": "1"})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "请填写核实情况" in page and 'value="13907910000"' in page  # kept what was typed
    done = client.post(url, {**fields, "verification": "核对住址", "confirmed": "1"})
    report = LossReport.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("cardloss:report_detail", args=[report.pk])
    assert holder.cards.get().state == Card.State.LOST
    listing = client.get(reverse("cardloss:reports")).content.decode()
    assert mask_id_number(holder.id_number) in listing and holder.id_number not in listing
    detail = client.get(done["Location"]).content.decode()
    assert holder.id_number in detail and "已挂失" in detail and "撤销挂失" in detail
    assert AuditEvent.objects.filter(action="cardloss.view", object_id=str(report.pk)).exists()
    restored = client.post(
        reverse("cardloss:report_restore", args=[report.pk]), {"reason": "证件找到", "confirmed": "1"}
    )
    assert restored.status_code == 302 and holder.cards.get().state == Card.State.ACTIVE


def test_the_nav_links_the_pages_for_station_staff_and_supervisors(personas):
    for persona in (personas.nanchang_clerk, personas.nanchang_distributor, personas.donghu_supervisor):
        page = login(Client(), persona).get(reverse("cardloss:reports")).content.decode()
        assert 'href="/cardloss/"' in page
    page = login(Client(), personas.finance).get("/").content.decode()
    assert 'href="/cardloss/"' not in page


def test_the_api_reports_registers_and_collects(personas, holder):
    api = api_client(personas.nanchang_clerk)
    answer = api.post(
        "/api/v1/cardloss/reports",
        {"id_number": holder.id_number, "channel": "in_person", "phone": "13907910000"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["id_number"] == holder.id_number and body["card"]["state_label"] == "已挂失"
    again = api.post(
        "/api/v1/cardloss/reports",
        {"id_number": holder.id_number, "channel": "in_person", "phone": "13907910000"},
        format="json",
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_reported")
    rows = api.get("/api/v1/cardloss/reports").json()
    assert [row["id_number"] for row in rows["results"]] == [mask_id_number(holder.id_number)]
    found = api.post(
        "/api/v1/cardloss/found",
        {
            "id_number": holder.id_number,
            "name": holder.name,
            "found_place": "八一广场",
            "found_on": str(timezone.localdate()),
            "handed_in_by": "王师傅",
        },
        format="json",
    )
    assert found.status_code == 201 and found.json()["owner_notified"] is True
    pk = found.json()["id"]
    waiting = api.get("/api/v1/cardloss/found?view=waiting").json()["results"]
    assert [row["id"] for row in waiting] == [pk]
    collected = api.post(
        f"/api/v1/cardloss/found/{pk}/collect",
        {"collector_name": holder.name, "collector_id_number": holder.id_number, "identity_checked": True},
        format="json",
    )
    assert collected.status_code == 200 and collected.json()["status"] == FoundCard.Status.RETURNED
    assert holder.cards.get().state == Card.State.ACTIVE
    destroy = api.post(f"/api/v1/cardloss/found/{pk}/destroy", {"witness": "李警官"}, format="json")
    assert (destroy.status_code, destroy.json()["code"]) == (409, "not_waiting")


def test_other_cities_get_404_and_supervisors_only_read(personas, holder):
    api = api_client(personas.nanchang_clerk)
    answer = api.post(
        "/api/v1/cardloss/reports",
        {"id_number": holder.id_number, "channel": "in_person", "phone": "13907910000"},
        format="json",
    )
    pk = answer.json()["id"]
    foreign = api_client(personas.ganzhou_clerk)
    assert foreign.get(f"/api/v1/cardloss/reports/{pk}").status_code == 404
    assert (
        foreign.post(f"/api/v1/cardloss/reports/{pk}/restore", {"reason": "误报"}, format="json").status_code
        == 404
    )
    assert foreign.get("/api/v1/cardloss/reports").json()["results"] == []
    supervisor = api_client(personas.donghu_supervisor)
    assert supervisor.get(f"/api/v1/cardloss/reports/{pk}").status_code == 200
    refused = supervisor.post(f"/api/v1/cardloss/reports/{pk}/restore", {"reason": "误报"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


def test_a_found_card_on_the_pages_registered_then_destroyed(personas, holder, settings):
    settings.FOUND_CARD_KEEP_DAYS = 1
    client = login(Client(), personas.nanchang_clerk)
    fields = {
        "id_number": holder.id_number,
        "name": holder.name,
        "found_place": "八一广场",
        "found_on": str(timezone.localdate() + datetime.timedelta(days=1)),
        "handed_in_by": "王师傅",
    }
    refused = client.post(reverse("cardloss:found_new"), fields)
    assert refused.status_code == 400 and "不能晚于今天" in refused.content.decode()
    done = client.post(reverse("cardloss:found_new"), {**fields, "found_on": str(timezone.localdate())})
    found = FoundCard.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("cardloss:found_detail", args=[found.pk])
    detail = client.get(done["Location"]).content.decode()
    assert "失主领取" in detail and "期满销毁" not in detail  # not due yet
    FoundCard.objects.filter(pk=found.pk).update(keep_until=timezone.localdate() - datetime.timedelta(days=1))
    due = client.get(reverse("cardloss:found_list") + "?view=due").content.decode()
    assert mask_id_number(holder.id_number) in due and holder.id_number not in due
    url = reverse("cardloss:found_destroy", args=[found.pk])
    assert client.post(url, {}).status_code == 400
    asked = client.post(url, {"witness": "李警官"})
    assert asked.status_code == 200 and "销毁后不可恢复" in asked.content.decode()
    destroyed = client.post(url, {"witness": "李警官", "confirmed": "1"})
    assert destroyed.status_code == 302
    found.refresh_from_db()
    assert (found.status, found.witness, found.closed_by) == (
        FoundCard.Status.DESTROYED,
        "李警官",
        personas.nanchang_clerk,
    )
