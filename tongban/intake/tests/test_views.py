"""The counter pages end to end through the Django test client."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from tongban.audit.models import AuditEvent
from tongban.core import idnumber
from tongban.finance.models import Payment
from tongban.intake import rules
from tongban.intake.models import Application
from tongban.registry.models import Unit
from tongban.testing.factories import CardFactory, PersonFactory
from tongban.testing.personas import api_client, login

pytestmark = pytest.mark.django_db


def test_clerk_takes_a_first_application_from_start_to_acceptance(client, personas, standard_photo):
    person = PersonFactory.create()
    login(client, personas.ganzhou_clerk)
    response = client.post(
        reverse("intake:start"), {"id_number": person.id_number, "type": "first", "reason": "12"}
    )
    application = Application.objects.get(person=person)
    assert response.status_code == 302
    page = client.get(reverse("intake:detail", args=[application.pk]))
    assert page.status_code == 200
    assert "尚不能受理" in page.content.decode()
    assert "异地受理" in page.content.decode()
    # A date input takes ISO dates only: the register's birth date must show in it.
    assert f'value="{person.birth_date.isoformat()}"' in page.content.decode()

    details = {
        "name": person.name,
        "sex": person.sex_id,
        "ethnicity": person.ethnicity_id,
        "birth_date": person.birth_date.isoformat(),
        "household_address": person.address,
        "residence_address": "江西省赣州市章贡区红旗大道1号",
        "phone": "13800138000",
        "collection": "station",
        "materials_shown": ["household_book", "employment_proof"],
        "pledge_signed": "on",
    }
    bad = client.post(reverse("intake:save_details", args=[application.pk]), {**details, "phone": "12"})
    assert bad.status_code == 400
    assert "电话号码格式不正确" in bad.content.decode()
    assert "红旗大道1号" in bad.content.decode()  # what was typed is still there
    assert client.post(reverse("intake:save_details", args=[application.pk]), details).status_code == 302

    photo = io.BytesIO(standard_photo)
    photo.name = "photo.jpg"
    client.post(reverse("intake:upload_photo", args=[application.pk]), {"photo-image": photo})
    for position in ("11", "12", "13", "14", "15", "16", "17", "18", "19", "20"):
        client.post(
            reverse("intake:record_finger", args=[application.pk]),
            {"finger-position": position, "finger-outcome": "not_registered", "finger-reason": "双手残疾"},
        )
    page = client.get(reverse("intake:detail", args=[application.pk])).content.decode()
    assert "尚不能受理" not in page, page
    response = client.post(reverse("intake:accept", args=[application.pk]), follow=True)
    application.refresh_from_db()
    assert application.status == Application.Status.PENDING_REVIEW
    assert application.number in response.content.decode()
    for kind in ("form", "pledge", "receipt"):
        pdf = client.get(reverse("intake:document", args=[application.pk, kind]))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # The record links the fee's 票据 for reprinting at the counter.
    payment = Payment.objects.get(application_number=application.number)
    receipt_url = reverse("finance:receipt", args=[payment.receipt_number])
    assert receipt_url in response.content.decode()
    assert client.get(receipt_url).content.startswith(b"%PDF")
    assert (
        client.get(reverse("intake:counter") + "?view=in_review").content.decode().count(application.number)
    )


def test_refused_start_says_why(client, personas):
    person = PersonFactory.create()
    person.cards.create(issuing_authority="东湖分局", valid_from="2015-01-01")
    login(client, personas.nanchang_clerk)
    response = client.post(
        reverse("intake:start"), {"id_number": person.id_number, "type": "first", "reason": "12"}
    )
    assert response.status_code == 200
    assert "已申领过居民身份证" in response.content.decode()
    assert not Application.objects.exists()


def test_reviewer_issues_from_the_queue(client, personas, accept, household_reviewer):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    login(client, household_reviewer)
    queue = client.get(reverse("review:queue")).content.decode()
    assert application.number in queue
    page = client.get(reverse("review:item", args=[application.pk])).content.decode()
    assert "信息比对" in page and "人像比对" in page
    client.post(reverse("review:take", args=[application.pk]))
    client.post(
        reverse("review:decide", args=[application.pk]), {"step": 1, "decision": "issue", "reason": ""}
    )
    application.refresh_from_db()
    assert application.status == Application.Status.ISSUED
    assert application.valid_from is not None


def test_other_units_see_nothing(client, personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    for user in (personas.centre_operator, personas.finance, personas.nanchang_reviewer):
        client.logout()
        login(client, user)
        assert client.get(reverse("intake:detail", args=[application.pk])).status_code == 404
        assert client.get(reverse("review:item", args=[application.pk])).status_code == 404


# --- 新建受理: reasons of the chosen type, the age rule at the field, the proposal ---------------


def _reason_options(html: str) -> list[str]:
    block = html[html.index('id="reason-field"') :]
    block = block[: block.index("</select>")]
    return re.findall(r'<option value="(\d+)"', block)


def test_the_reason_list_offers_only_the_chosen_types_reasons(client, personas):
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("intake:start")).content.decode()
    assert _reason_options(page) == ["11", "12", "13", "14", "15", "19"]
    # Without JavaScript: the refresh button lists the renewal reasons, keeping what was typed.
    refreshed = client.post(
        reverse("intake:start"), {"action": "refresh", "id_number": "3601", "type": "renewal", "reason": "12"}
    ).content.decode()
    assert _reason_options(refreshed) == ["21", "22", "23", "24", "29"]
    assert 'value="3601"' in refreshed and "error" not in refreshed.split('id="reason-field"')[1][:400]
    # With HTMX: only the reason field comes back, and nothing when the type did not change.
    fragment = client.post(
        reverse("intake:start"),
        {"action": "refresh", "type": "replacement", "shown_type": "first"},
        HTTP_HX_REQUEST="true",
    )
    assert _reason_options(fragment.content.decode()) == ["31", "32", "39"]
    assert "<html" not in fragment.content.decode()
    same = client.post(
        reverse("intake:start"),
        {"action": "refresh", "type": "first", "shown_type": "first"},
        HTTP_HX_REQUEST="true",
    )
    assert same.status_code == 204


def test_a_reason_of_another_type_is_refused_at_the_field(client, personas):
    person = PersonFactory.create()
    login(client, personas.nanchang_clerk)
    page = client.post(
        reverse("intake:start"), {"id_number": person.id_number, "type": "first", "reason": "21"}
    ).content.decode()
    field = page[page.index('id="reason-field"') :]
    assert "不是首次申领的申领原因" in field[: field.index("</div>")]
    assert not Application.objects.exists()


def test_a_14_year_old_under_12_is_refused_at_the_reason_field(client, personas):
    today = timezone.localdate()
    child = PersonFactory.create(birth_date=today.replace(year=today.year - 14))
    login(client, personas.nanchang_clerk)
    page = client.post(
        reverse("intake:start"), {"id_number": child.id_number, "type": "first", "reason": "12"}
    ).content.decode()
    field = page[page.index('id="reason-field"') :]
    assert "11 未满16周岁申领" in field[: field.index("</div>")]
    assert not Application.objects.exists()


def test_lookup_shows_the_expired_card_and_proposes_renewal_21(client, personas):
    person = PersonFactory.create(name="到期人")
    CardFactory.create(
        person=person, valid_from=datetime.date(2006, 3, 1), valid_until=datetime.date(2016, 3, 1)
    )
    login(client, personas.nanchang_clerk)
    page = client.post(
        reverse("intake:start"),
        {"action": "lookup", "id_number": person.id_number, "type": "first", "reason": ""},
    ).content.decode()
    assert "到期人" in page and "已过期" in page and "21 有效期满换领" in page
    assert re.search(r'<option value="renewal" selected>', page)
    assert re.search(r'<option value="21" selected>', page)
    assert AuditEvent.objects.filter(action="person.view", object_id=str(person.pk)).exists()
    # The summary alone (HTMX, on the number's change) leaves the choices as they are.
    summary = client.post(
        reverse("intake:start"),
        {"action": "summary", "id_number": person.id_number, "type": "first", "reason": ""},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "已过期" in summary and "<select" not in summary


def test_lookup_proposes_11_for_a_child_who_never_had_a_card(client, personas):
    today = timezone.localdate()
    child = PersonFactory.create(birth_date=today.replace(year=today.year - 9))
    login(client, personas.nanchang_clerk)
    page = client.post(
        reverse("intake:start"),
        {"action": "lookup", "id_number": child.id_number, "type": "first", "reason": "12"},
    ).content.decode()
    assert "从未申领过居民身份证" in page and re.search(r'<option value="11" selected>', page)


def test_an_unknown_number_is_said_at_the_field(client, personas):
    login(client, personas.nanchang_clerk)
    number = idnumber.build("360102", datetime.date(1991, 1, 1), 77)
    page = client.post(
        reverse("intake:start"), {"action": "lookup", "id_number": number, "type": "first"}
    ).content.decode()
    assert "人口信息中没有该公民身份号码" in page


def _pdf_text(content: bytes) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def test_the_printed_form_fits_the_application_and_says_no_raw_codes(client, personas, accept):
    """A local renewal of an expired card prints the 申领登记表 with reason 21, the unit's own
    telephone and address, names rather than account names or codes."""
    clerk = personas.nanchang_clerk
    Unit.objects.filter(pk=clerk.unit_id).update(phone="0791-86200001", address="江西省南昌市东湖区中山路1号")
    person = PersonFactory.create()
    CardFactory.create(
        person=person, valid_from=datetime.date(2006, 3, 1), valid_until=datetime.date(2016, 3, 1)
    )
    application = accept(clerk, person, rules.ApplicationType.RENEWAL)
    login(client, clerk)
    form = _pdf_text(client.get(reverse("intake:document", args=[application.pk, "form"])).content)
    assert "居民身份证申领登记表" in form[:40] and "异地受理登记表" not in form
    assert "21有效期满换领" in form and "0791-86200001" in form and "中山路1号" in form
    receipt = _pdf_text(client.get(reverse("intake:document", args=[application.pk, "receipt"])).content)
    assert "《居民身份证申领登记表》" in receipt and "0791-86200001" in receipt
    for text in (form, receipt):
        assert clerk.username not in text and "household_book" not in text and "renewal" not in text
    # The same person accepted in Ganzhou for a first application would have the 异地 form.
    cross = accept(personas.ganzhou_clerk, PersonFactory.create())
    login(client, personas.ganzhou_clerk)
    form = _pdf_text(client.get(reverse("intake:document", args=[cross.pk, "form"])).content)
    assert "居民身份证异地受理登记表" in form[:40] and "电话" not in form.split("受理单位")[1][:40]


def test_a_provisional_deadline_says_so_on_the_counter_and_in_the_api(client, personas, accept):
    """暂估: counted over a year whose holiday arrangement is not entered."""
    application = accept(personas.nanchang_clerk, PersonFactory.create())
    Application.objects.filter(pk=application.pk).update(review_due_provisional=True)
    login(client, personas.nanchang_clerk)
    page = client.get(reverse("intake:counter") + "?view=in_review").content.decode()
    assert "（暂估）" in page
    rows = api_client(personas.nanchang_clerk).get("/api/v1/applications?view=in_review").json()["results"]
    assert rows[0]["review_due_provisional"] is True
