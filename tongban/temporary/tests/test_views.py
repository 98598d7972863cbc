"""The pages of 临时居民身份证: the counter, the county bureau's queue, the card with its actions,
the printed PDF, the 登记簿 with its export, and the person page's card history."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from tongban.audit.models import AuditEvent
from tongban.temporary.models import TemporaryCard
from tongban.testing.personas import login

pytestmark = pytest.mark.django_db


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_counter_issue_print_and_hand_out(personas, applied, person, county_reviewer):
    clerk = login(Client(), personas.nanchang_clerk)
    assert "临时身份证" in clerk.get("/").content.decode()  # the nav link
    page = clerk.get("/temporary/new/")
    assert page.status_code == 200 and "受理临时居民身份证" in page.content.decode()
    waived = clerk.post("/temporary/new/", {"id_number": person.id_number, "waived": "on"})
    assert waived.status_code == 400
    text = waived.content.decode()
    assert "减免工本费须登记减免依据" in text and person.id_number in text  # what was typed stays
    done = clerk.post("/temporary/new/", {"id_number": person.id_number, "phone": "13900139000"})
    assert done.status_code == 302
    card = TemporaryCard.objects.get()
    assert done["Location"] == f"/temporary/{card.pk}/"
    detail = clerk.get(done["Location"]).content.decode()
    assert "待签发" in detail and person.name in detail and card.receipt_number in detail
    assert AuditEvent.objects.filter(action="temporary.view", object_id=str(card.pk)).exists()
    # Nothing for the clerk to issue.
    assert clerk.post(f"/temporary/{card.pk}/", {"do": "issue"}).status_code == 404

    reviewer = login(Client(), county_reviewer)
    queue = reviewer.get("/temporary/queue/").content.decode()
    assert card.number in queue and f"{card.due:%Y-%m-%d}" in queue
    issued = reviewer.post(f"/temporary/{card.pk}/", {"do": "issue"})
    assert issued.status_code == 302 and "已签发" in reviewer.get(issued["Location"]).content.decode()
    card.refresh_from_db()
    assert card.state == TemporaryCard.State.ISSUED
    assert card.number not in reviewer.get("/temporary/queue/").content.decode()

    printed = clerk.post(f"/temporary/{card.pk}/print/")
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    text = _text(printed.content)
    assert person.name in text and person.id_number in text and card.number in text
    assert "南昌市公安局东湖分局" in text and card.validity_label in text
    assert clerk.post(f"/temporary/{card.pk}/", {"do": "hand_out"}).status_code == 302
    detail = clerk.get(f"/temporary/{card.pk}/").content.decode()
    assert "已发放（有效）" in detail and "发放" in detail

    # The person page lists it beside the formal cards.
    record = clerk.get(f"/people/{person.pk}/").content.decode()
    assert "临时居民身份证" in record and card.number in record and "已发放（有效）" in record


def test_overdue_issue_is_highlighted(personas, applied, person, county_reviewer):
    clerk = login(Client(), personas.nanchang_clerk)
    clerk.post("/temporary/new/", {"id_number": person.id_number})
    TemporaryCard.objects.update(due=timezone.localdate() - datetime.timedelta(days=7))
    queue = login(Client(), county_reviewer).get("/temporary/queue/").content.decode()
    assert "已超期" in queue and "due-overdue" in queue


def test_refusal_and_void_are_confirmed_and_need_a_reason(personas, applied, person, county_reviewer):
    clerk = login(Client(), personas.nanchang_clerk)
    clerk.post("/temporary/new/", {"id_number": person.id_number})
    card = TemporaryCard.objects.get()
    reviewer = login(Client(), county_reviewer)
    asked = reviewer.post(f"/temporary/{card.pk}/", {"do": "refuse", "reason": "身份存疑"})
    assert asked.status_code == 200 and "确定不予签发" in asked.content.decode()
    blank = reviewer.post(f"/temporary/{card.pk}/", {"do": "refuse", "reason": "", "confirmed": "1"})
    assert blank.status_code == 400 and "请填写不予签发原因" in blank.content.decode()
    refused = reviewer.post(
        f"/temporary/{card.pk}/", {"do": "refuse", "reason": "身份存疑", "confirmed": "1"}
    )
    assert refused.status_code == 302
    assert TemporaryCard.objects.get().state == TemporaryCard.State.REFUSED
    assert (
        clerk.post(f"/temporary/{card.pk}/", {"do": "void", "reason": "x", "confirmed": "1"}).status_code
        == 400
    )


def test_register_filters_and_export(personas, applied, person):
    clerk = login(Client(), personas.nanchang_clerk)
    clerk.post("/temporary/new/", {"id_number": person.id_number})
    card = TemporaryCard.objects.get()
    listed = clerk.get("/temporary/").content.decode()
    assert card.number in listed and person.id_number not in listed  # masked
    assert card.number not in clerk.get("/temporary/?state=returned").content.decode()
    assert card.number in clerk.get("/temporary/?state=pending&unit=360102001").content.decode()
    assert clerk.get("/temporary/?unit=360702001").status_code == 404  # another city's station
    exported = clerk.get("/temporary/?state=pending&export=xlsx")
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row[0] == "临时证号")
    assert list(rows[header + 1][:3]) == [card.number, person.name, person.id_number]
    assert AuditEvent.objects.filter(action="temporary.export").exists()


@pytest.mark.parametrize("who", ["ganzhou_clerk", "finance", "centre_operator"])
def test_pages_are_not_found_for_others(personas, applied, person, who):
    login(Client(), personas.nanchang_clerk).post("/temporary/new/", {"id_number": person.id_number})
    card = TemporaryCard.objects.get()
    other = login(Client(), getattr(personas, who))
    assert other.get(f"/temporary/{card.pk}/").status_code == 404
    assert other.post(f"/temporary/{card.pk}/print/").status_code == 404
