"""The counter pages end to end through the Django test client."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from tongban.finance.models import Payment
from tongban.intake.models import Application
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import login

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
