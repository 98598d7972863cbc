"""Counter actions on a real database: eligibility, materials, photos, fingers, 受理号, routing."""

from __future__ import annotations

import datetime
import io
import math
import threading
from decimal import Decimal

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from tongban.audit.actions import AuditAction, EventAction
from tongban.audit.models import AuditEvent
from tongban.biometrics.abis import face_vector
from tongban.biometrics.engine import get_abis, get_sdk
from tongban.biometrics.interfaces import Gallery, Modality, Sample, Template
from tongban.biometrics.models import BiometricTemplate
from tongban.biometrics.photo import chip_photo
from tongban.biometrics.services import person_ref, register_photos_enrol, register_photos_import
from tongban.core.crypto import sm3_hex
from tongban.core.errors import ServiceError
from tongban.finance.models import Payment
from tongban.intake import capture, rules, selectors, services, tasks
from tongban.intake.models import Application, Fingerprint, ReviewChain
from tongban.production.package import CardImages
from tongban.registry.models import CalendarDay, CalendarYear, Card, Unit, WantedPerson
from tongban.testing.applications import NO_FINGERS
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station

pytestmark = pytest.mark.django_db

AVAILABLE_APPS = [app for app in settings.INSTALLED_APPS if app != "tongban.audit"]


def minor(**kwargs):
    today = timezone.localdate()
    return PersonFactory.create(birth_date=today.replace(year=today.year - 10), **kwargs)


def group_photo(standard_photo: bytes) -> bytes:
    """Two faces side by side: the applicant with the guardian (同框)."""
    face = Image.open(io.BytesIO(standard_photo))
    canvas = Image.new("RGB", (face.width * 2 + 40, face.height), "white")
    canvas.paste(face, (0, 0))
    canvas.paste(face, (face.width + 40, 0))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=92)
    return out.getvalue()


# --- starting -------------------------------------------------------------------------------


def test_start_prefills_from_the_register_and_computes_fee_and_validity(personas):
    person = PersonFactory.create(birth_date=datetime.date(2005, 3, 1))
    application = services.application_start(
        actor=personas.ganzhou_clerk,
        person=person,
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    assert application.status == Application.Status.DRAFT
    assert (application.name, application.household_address) == (person.name, person.address)
    assert application.cross_region  # 章贡区 accepts for 东湖区
    assert application.fee_amount == 0 and application.validity == "10"
    assert application.household_unit == person.registration_unit


@pytest.mark.parametrize(
    ("kind", "reason", "fee"),
    [
        (rules.ApplicationType.RENEWAL, "21", Decimal("20")),
        (rules.ApplicationType.RENEWAL, "23", Decimal("40")),
        (rules.ApplicationType.REPLACEMENT, "31", Decimal("40")),
    ],
)
def test_renewal_and_replacement_fees(personas, kind, reason, fee):
    card = CardFactory.create()
    application = services.application_start(
        actor=personas.nanchang_clerk, person=card.person, application_type=kind, reason_code=reason
    )
    assert application.fee_amount == fee
    assert not application.cross_region


def test_fee_table_is_configuration(personas, settings):
    settings.FEES = rules.fee_table({"renewal": "25"})
    card = CardFactory.create()
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=card.person,
        application_type=rules.ApplicationType.RENEWAL,
        reason_code="21",
    )
    assert application.fee_amount == Decimal("25")


@pytest.mark.parametrize(
    ("setup", "kind", "reason", "message"),
    [
        ("card", rules.ApplicationType.FIRST, "12", "已申领过居民身份证"),
        ("none", rules.ApplicationType.RENEWAL, "21", "从未申领过居民身份证"),
        ("deceased", rules.ApplicationType.FIRST, "12", "已死亡"),
        ("cancelled", rules.ApplicationType.FIRST, "12", "户口已注销"),
        ("none", rules.ApplicationType.FIRST, "21", "不属于首次申领"),
    ],
)
def test_start_refusals_change_nothing(personas, setup, kind, reason, message):
    person = PersonFactory.create(
        status={"deceased": "deceased", "cancelled": "cancelled"}.get(setup, "normal")
    )
    if setup == "card":
        CardFactory.create(person=person)
    with pytest.raises(ServiceError) as refused:
        services.application_start(
            actor=personas.nanchang_clerk, person=person, application_type=kind, reason_code=reason
        )
    assert message in refused.value.message
    assert not Application.objects.exists()


def test_a_14_year_old_is_refused_under_12_at_the_field(personas):
    today = timezone.localdate()
    person = PersonFactory.create(birth_date=today.replace(year=today.year - 14))
    with pytest.raises(ServiceError) as refused:
        services.application_start(
            actor=personas.nanchang_clerk,
            person=person,
            application_type=rules.ApplicationType.FIRST,
            reason_code="12",
        )
    assert refused.value.code == "reason_age_mismatch"
    assert "11 未满16周岁申领" in refused.value.fields["reason"]
    assert not Application.objects.exists()
    draft = services.application_start(
        actor=personas.nanchang_clerk,
        person=person,
        application_type=rules.ApplicationType.FIRST,
        reason_code="11",
    )
    assert draft.reason_id == "11"


def test_an_adult_is_refused_under_11(personas):
    with pytest.raises(ServiceError) as refused:
        services.application_start(
            actor=personas.nanchang_clerk,
            person=PersonFactory.create(),
            application_type=rules.ApplicationType.FIRST,
            reason_code="11",
        )
    assert refused.value.code == "reason_age_mismatch" and "12 年满16周岁申领" in refused.value.message


def test_the_entered_birth_date_decides_when_the_register_differs(personas):
    """The one-call API passes what the clerk typed: the age is the card's, not the register's."""
    today = timezone.localdate()
    person = PersonFactory.create(birth_date=today.replace(year=today.year - 20))
    draft = services.application_start(
        actor=personas.nanchang_clerk,
        person=person,
        application_type=rules.ApplicationType.FIRST,
        reason_code="11",
        birth_date=today.replace(year=today.year - 15),
    )
    assert draft.reason_id == "11"


def test_a_cross_region_first_application_takes_only_11_or_12(personas):
    person = PersonFactory.create()  # registered in Nanchang
    with pytest.raises(ServiceError) as refused:
        services.application_start(
            actor=personas.ganzhou_clerk,
            person=person,
            application_type=rules.ApplicationType.FIRST,
            reason_code="14",
        )
    assert refused.value.code == "bad_reason" and "全省通办" in refused.value.fields["reason"]
    local = services.application_start(
        actor=personas.nanchang_clerk,
        person=person,
        application_type=rules.ApplicationType.FIRST,
        reason_code="14",
    )
    assert local.reason_id == "14" and not local.cross_region


def test_a_birth_date_that_contradicts_the_reason_is_refused_and_changes_nothing(personas):
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    today = timezone.localdate()
    with pytest.raises(ServiceError) as refused:
        services.application_update(
            actor=personas.nanchang_clerk,
            application=application,
            changes={"birth_date": today.replace(year=today.year - 14), "phone": "13800138000"},
        )
    assert refused.value.code == "reason_age_mismatch" and set(refused.value.fields) == {"birth_date"}
    application.refresh_from_db()
    assert application.birth_date == datetime.date(1990, 5, 17) and application.phone == ""
    # Both together are consistent: the reason follows the corrected birth date.
    services.application_update(
        actor=personas.nanchang_clerk,
        application=application,
        changes={"birth_date": today.replace(year=today.year - 14), "reason": "11"},
    )
    application.refresh_from_db()
    assert (application.reason_id, application.validity) == ("11", "5")


def test_a_reason_of_another_type_cannot_be_set_on_a_draft(personas):
    person = PersonFactory.create()
    CardFactory.create(person=person)
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=person,
        application_type=rules.ApplicationType.RENEWAL,
        reason_code="21",
    )
    with pytest.raises(ServiceError) as refused:
        services.application_update(
            actor=personas.nanchang_clerk, application=application, changes={"reason": "31"}
        )
    assert refused.value.code == "bad_reason" and "reason" in refused.value.fields
    services.application_update(
        actor=personas.nanchang_clerk, application=application, changes={"reason": "23"}
    )
    application.refresh_from_db()
    assert (application.reason_id, application.fee_item, application.fee_amount) == (
        "23",
        "damaged",
        Decimal("40"),
    )


def test_acceptance_checks_the_reason_again_on_the_day(personas, standard_photo):
    """A draft opened at 15 under 11 and accepted after the 16th birthday is refused."""
    today = timezone.localdate()
    person = PersonFactory.create(birth_date=today.replace(year=today.year - 20))
    clerk = personas.nanchang_clerk
    application = services.application_start(
        actor=clerk, person=person, application_type=rules.ApplicationType.FIRST, reason_code="12"
    )
    services.application_update(
        actor=clerk,
        application=application,
        changes={
            "phone": "13800138000",
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": True,
        },
    )
    capture.application_photo_attach(actor=clerk, application=application, image=standard_photo)
    capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
    Application.objects.filter(pk=application.pk).update(reason_id="11")  # as the draft stood
    assert "reason" in selectors.counter_state(Application.objects.get(pk=application.pk)).problems
    with pytest.raises(ServiceError) as refused:
        services.application_accept(actor=clerk, application=application)
    assert refused.value.code == "reason_age_mismatch" and "reason" in refused.value.fields
    assert Application.objects.get(pk=application.pk).status == Application.Status.DRAFT


def test_only_station_clerks_accept(personas):
    person = PersonFactory.create()
    for user in (personas.nanchang_reviewer, personas.donghu_supervisor, personas.centre_operator):
        with pytest.raises(ServiceError):
            services.application_start(
                actor=user, person=person, application_type=rules.ApplicationType.FIRST, reason_code="12"
            )


def test_a_wanted_person_is_flagged_for_the_reviewer_only(personas, accept):
    person = PersonFactory.create()
    WantedPerson.objects.create(
        id_number=person.id_number, person=person, name=person.name, case_number="A1", listed_on="2026-01-01"
    )
    application = accept(personas.ganzhou_clerk, person)
    assert application.flags == ["wanted"]
    assert selectors.counter_face_hits(application) == []  # nothing at the counter says so
    assert "wanted" not in str(application.events.values_list("detail", flat=True))


# --- the draft ------------------------------------------------------------------------------


def test_update_checks_every_field_and_keeps_nothing_on_error(personas):
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    with pytest.raises(ServiceError) as refused:
        services.application_update(
            actor=personas.nanchang_clerk,
            application=application,
            changes={"phone": "123", "guardian_id_number": "360102199001011234", "materials_shown": ["x"]},
        )
    assert set(refused.value.fields) == {"phone", "guardian_id_number", "materials_shown"}
    application.refresh_from_db()
    assert application.phone == ""


def test_acceptance_waits_for_every_requirement(personas, standard_photo):
    clerk = personas.nanchang_clerk
    application = services.application_start(
        actor=clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    with pytest.raises(ServiceError) as refused:
        services.application_accept(actor=clerk, application=application)
    assert set(refused.value.fields) == {"materials", "photo", "fingers", "phone"}
    services.application_update(
        actor=clerk,
        application=application,
        changes={"phone": "13800138000", "materials_shown": ["household_book", "study_proof"]},
    )
    capture.application_photo_attach(actor=clerk, application=application, image=standard_photo)
    capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
    with pytest.raises(ServiceError) as refused:
        services.application_accept(actor=clerk, application=application)
    assert "签署《告知承诺书》" in refused.value.fields["materials"]
    services.application_update(actor=clerk, application=application, changes={"pledge_signed": True})
    accepted = services.application_accept(actor=clerk, application=application)
    assert accepted.status == Application.Status.PENDING_REVIEW


def test_accept_at_once_leaves_no_draft_behind_a_refusal(personas, standard_photo):
    """The one-call acceptance (the API's, a command's or a job's): all or nothing."""
    clerk, person = personas.nanchang_clerk, PersonFactory.create()
    at_once = {
        "actor": clerk,
        "person": person,
        "application_type": rules.ApplicationType.FIRST,
        "reason_code": "12",
        "photo": standard_photo,
        "fingers": NO_FINGERS,
    }
    with pytest.raises(ServiceError) as refused:
        services.application_accept_at_once(**at_once, changes={"phone": "13800138000"})
    assert refused.value.code == "incomplete"
    assert not Application.objects.filter(person=person).exists()
    shown = {"materials_shown": ["household_book", "study_proof"], "pledge_signed": True}
    accepted = services.application_accept_at_once(**at_once, changes={"phone": "13800138000", **shown})
    assert accepted.status == Application.Status.PENDING_REVIEW and accepted.number
    assert list(accepted.events.values_list("action", flat=True)) == [
        "created",
        "updated",
        "photo_checked",
        "fingers_recorded",
        "accepted",
        "routed",
    ]


def test_an_outermost_action_refuses_to_run_inside_another_transaction(personas):
    """Outermost services are durable: nesting one in a transaction fails loudly, changing nothing."""
    person = PersonFactory.create()
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.application_start(
            actor=personas.nanchang_clerk,
            person=person,
            application_type=rules.ApplicationType.FIRST,
            reason_code="12",
        )
    assert not Application.objects.filter(person=person).exists()


def test_a_bad_photo_is_refused_in_plain_chinese_and_not_kept(personas):
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    blank = io.BytesIO()
    Image.new("RGB", (358, 441), "white").save(blank, "JPEG")
    outcome = capture.application_photo_attach(
        actor=personas.nanchang_clerk, application=application, image=blank.getvalue()
    )
    assert not outcome.passed
    assert any("人脸" in message for message in outcome.messages)
    application.refresh_from_db()
    assert (
        application.photo is None and application.card_images is None and application.card_images_key is None
    )
    assert application.photo_report["passed"] is False


def _card_images(application: Application) -> CardImages:
    return CardImages.from_record(bytes(application.card_images or b""), application.card_images_key or b"")


def test_a_kept_photo_comes_with_its_production_segment(personas, standard_photo):
    """The counter derives the 102×126 copy for the card's chip once, when it keeps the photo,
    and encrypts the two for production: a batch copies them instead of scaling, digesting and
    encrypting every photo again."""
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    capture.application_photo_attach(
        actor=personas.nanchang_clerk, application=application, image=standard_photo
    )
    application.refresh_from_db()
    images = _card_images(application)
    photo, chip = images.open()
    assert photo == bytes(application.photo or b"") and chip == chip_photo(photo)
    assert Image.open(io.BytesIO(chip)).size == (102, 126)
    assert (images.photo_sm3, images.chip_sm3) == (sm3_hex(photo), sm3_hex(chip))
    assert photo not in bytes(application.card_images or b"")  # ciphertext
    with connection.cursor() as cursor:  # its key sealed at rest like the photo
        cursor.execute("SELECT card_images_key FROM intake_application WHERE id = %s", [application.pk])
        assert images.key not in bytes(cursor.fetchone()[0])


def test_the_card_images_backfill(personas, accept, standard_photo):
    """`tongban applications card-images` makes the segment of the applications still to be
    packaged that were kept without one: the chip copy the counter makes, each audited, once."""
    clerk = personas.nanchang_clerk
    draft = _draft(clerk, standard_photo, idle_days=0)
    accepted = accept(clerk, PersonFactory.create())
    finished = accept(clerk, PersonFactory.create())
    odd = accept(clerk, PersonFactory.create())
    small = io.BytesIO()
    Image.new("RGB", (100, 120), "white").save(small, "JPEG")
    Application.objects.filter(pk=odd.pk).update(photo=small.getvalue())
    Application.objects.filter(pk=finished.pk).update(status=Application.Status.VERIFIED)
    Application.objects.update(card_images=None, card_images_key=None)  # rows from before
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    report = capture.card_images_backfill(actor=None)
    assert (report.made, report.failed) == (2, [odd.number])
    for application in Application.objects.filter(pk__in=[draft.pk, accepted.pk]):
        assert _card_images(application).open() == (standard_photo, chip_photo(standard_photo))
    assert Application.objects.get(pk=finished.pk).card_images is None  # never packaged again
    assert Application.objects.get(pk=odd.pk).card_images is None
    rows = AuditEvent.objects.filter(pk__gt=before).order_by("object_id")
    assert [(r.action, r.object_id) for r in rows] == sorted(
        ("application.card_images_made", str(pk)) for pk in (draft.pk, accepted.pk)
    )
    again = capture.card_images_backfill(actor=None)
    assert (again.made, again.failed) == (0, [odd.number])


def test_fingers_follow_the_capture_order(personas):
    application = services.application_start(
        actor=personas.nanchang_clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    skipped = [capture.FingerCapture("12", rules.FingerOutcome.NOT_REGISTERED, reason="伤")]
    with pytest.raises(ServiceError) as refused:
        capture.application_fingers_record(
            actor=personas.nanchang_clerk, application=application, captures=skipped
        )
    assert refused.value.code == "finger_order"
    plan = capture.application_fingers_record(
        actor=personas.nanchang_clerk,
        application=application,
        captures=[capture.FingerCapture("11", rules.FingerOutcome.FAILED, reason="无法提取特征")],
    )
    assert plan.next_positions == ("12", "16")
    with pytest.raises(ServiceError):  # 未注册 needs a reason
        capture.application_fingers_record(
            actor=personas.nanchang_clerk,
            application=application,
            captures=[capture.FingerCapture("12", rules.FingerOutcome.NOT_REGISTERED)],
        )


@pytest.mark.parametrize(
    ("case", "materials"),
    [
        (rules.GuardianshipCase.SAME_HOUSEHOLD, ["household_book"]),
        (rules.GuardianshipCase.BIRTH_CERTIFICATE, ["household_book", "birth_certificate"]),
        (
            rules.GuardianshipCase.BIRTH_CERTIFICATE_AND_MARRIAGE,
            ["household_book", "birth_certificate", "marriage_certificate"],
        ),
    ],
)
def test_minor_with_each_guardianship_case(personas, standard_photo, case, materials):
    clerk = personas.ganzhou_clerk
    application = services.application_start(
        actor=clerk, person=minor(), application_type=rules.ApplicationType.FIRST, reason_code="11"
    )
    assert application.validity == "5"
    changes = {
        "phone": "13800138000",
        "guardianship": case.value,
        "guardian_name": "监护人",
        "guardian_id_number": PersonFactory.create().id_number,
        "guardian_relation": "父亲",
        "materials_shown": [*materials[:-1], "guardian_id_card", "applicant_study_proof"],
        "pledge_signed": True,
    }
    services.application_update(actor=clerk, application=application, changes=changes)
    capture.application_photo_attach(actor=clerk, application=application, image=standard_photo)
    capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
    application.refresh_from_db()
    problems = services.acceptance_problems(application)
    assert set(problems) == {"materials", "guardian_photo"}
    missing_label = {"household_book": "居民户口簿", "birth_certificate": "出生医学证明"}.get(
        materials[-1], "父（母）结婚证或收养登记证"
    )
    assert missing_label in problems["materials"]
    services.application_update(
        actor=clerk,
        application=application,
        changes={"materials_shown": [*materials, "guardian_id_card", "applicant_study_proof"]},
    )
    outcome = capture.application_guardian_photo_attach(
        actor=clerk, application=application, image=group_photo(standard_photo)
    )
    assert outcome.passed, outcome.messages
    accepted = services.application_accept(actor=clerk, application=application)
    assert accepted.status == Application.Status.PENDING_REVIEW


# --- acceptance, routing, withdrawal --------------------------------------------------------


def test_acceptance_number_routing_and_gallery(personas, accept):
    person = PersonFactory.create()
    application = accept(personas.ganzhou_clerk, person)
    today = timezone.localdate()
    assert application.number == f"360702001{today:%Y%m%d}00001"
    assert rules.is_acceptance_number(application.number)
    assert application.review_unit == person.registration_unit
    assert application.review_chain[0]["title"] == "审核签发"
    assert application.review_due is not None and application.review_due > today
    assert list(application.events.values_list("action", flat=True))[-2:] == ["accepted", "routed"]
    assert get_abis().count(Gallery.APPLICATIONS) >= 1
    assert AuditEvent.objects.filter(action="application.accepted", object_id=str(application.pk)).exists()
    second = accept(personas.ganzhou_clerk, PersonFactory.create())
    assert second.number.endswith("00002")


def test_the_station_counters_are_taken_last(personas, standard_photo):
    """Every clerk of a station updates its 受理号 and 票据号 counter rows, and each is held from
    its upsert to the commit: after them the acceptance only writes its own rows."""
    clerk = personas.ganzhou_clerk
    person = PersonFactory.create()
    CardFactory.create(person=person)
    application = services.application_start(
        actor=clerk, person=person, application_type=rules.ApplicationType.REPLACEMENT, reason_code="31"
    )
    services.application_update(
        actor=clerk,
        application=application,
        changes={
            "phone": "13800138000",
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": True,
        },
    )
    photo = capture.application_photo_attach(actor=clerk, application=application, image=standard_photo)
    assert photo.passed, photo.messages
    capture.application_fingers_record(actor=clerk, application=application, captures=NO_FINGERS)
    with CaptureQueriesContext(connection) as queries:
        services.application_accept(actor=clerk, application=application)
    statements = [query["sql"] for query in queries.captured_queries]
    first = next(i for i, sql in enumerate(statements) if "intake_acceptancecounter" in sql)
    written = {
        "finance_receiptcounter",
        "finance_payment",
        "intake_application",
        "intake_applicationevent",
        "notifications_message",
    }
    after = [
        sql
        for sql in statements[first + 1 :]
        if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "COMMIT"))
        and not any(f'"{table}"' in sql or f" {table} " in sql for table in written | {"audit_auditevent"})
    ]
    assert after == []
    assert all(not sql.startswith("SELECT") or "finance_payment" in sql for sql in statements[first + 1 :])


def test_deadline_counts_working_days_across_national_day(personas, accept, monkeypatch):
    arrival = datetime.datetime(2026, 9, 30, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    monkeypatch.setattr(timezone, "now", lambda: arrival)
    application = accept(personas.ganzhou_clerk, PersonFactory.create(birth_date=datetime.date(1990, 1, 1)))
    # Oct 1–7 holidays; working days Oct 8, 9, 10 (调休 Saturday), 12, 13.
    assert application.review_due == datetime.date(2026, 10, 13)
    assert not application.review_due_provisional
    assert application.number[9:17] == "20260930"


def test_deadline_into_a_year_without_calendar_is_provisional(personas, accept, monkeypatch):
    arrival = datetime.datetime(2026, 12, 29, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    monkeypatch.setattr(timezone, "now", lambda: arrival)
    application = accept(personas.ganzhou_clerk, PersonFactory.create(birth_date=datetime.date(1990, 1, 1)))
    # Dec 30, 31, then 2027 weekends only: Jan 1 (Fri), Jan 4, Jan 5.
    assert application.review_due == datetime.date(2027, 1, 5)
    assert application.review_due_provisional


def test_configured_chain_routes_to_the_county(personas, accept):
    chain = ReviewChain.objects.create(name="东湖区两级审核", region_prefix="360102")
    chain.steps.create(order=1, level="station", title="审核")
    chain.steps.create(order=2, level="county", title="签发")
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    assert [step["title"] for step in application.review_chain] == ["审核", "签发"]
    assert application.review_chain[1]["unit"] == Unit.objects.get(code="360102").pk


def test_one_open_application_per_person(personas, accept):
    person = PersonFactory.create()
    first = accept(personas.ganzhou_clerk, person)
    with pytest.raises(ServiceError) as refused:
        services.application_start(
            actor=personas.nanchang_clerk,
            person=person,
            application_type=rules.ApplicationType.FIRST,
            reason_code="12",
        )
    assert first.number in refused.value.message


@pytest.mark.usefixtures("outbox")
def test_withdraw_before_issue_only_at_the_acceptance_station(personas, accept):
    application = accept(personas.ganzhou_clerk, PersonFactory.create())
    with pytest.raises(ServiceError):
        services.application_withdraw(actor=personas.nanchang_clerk, application=application, reason="x")
    with pytest.raises(ServiceError):
        services.application_withdraw(actor=personas.ganzhou_clerk, application=application, reason=" ")
    services.application_withdraw(actor=personas.ganzhou_clerk, application=application, reason="申请人放弃")
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    with pytest.raises(ServiceError) as refused:
        services.application_withdraw(actor=personas.ganzhou_clerk, application=application, reason="again")
    assert refused.value.status == 409


# --- stale drafts ---------------------------------------------------------------------------


def _draft(clerk, standard_photo, *, idle_days):
    """A draft with a photo, a 同框 photo and a finger template, last changed `idle_days` ago."""
    draft = services.application_start(
        actor=clerk,
        person=PersonFactory.create(),
        application_type=rules.ApplicationType.FIRST,
        reason_code="12",
    )
    capture.application_photo_attach(actor=clerk, application=draft, image=standard_photo)
    Fingerprint.objects.create(
        application=draft, position="11", result="registered", format="test", template=b"minutiae"
    )
    then = timezone.now() - datetime.timedelta(days=idle_days)
    Application.objects.filter(pk=draft.pk).update(
        guardian_photo=b"photo", updated_at=then, last_event_at=then
    )
    return draft


def test_stale_drafts_are_abandoned_by_the_system_and_their_biometrics_deleted(
    personas, accept, standard_photo, settings
):
    settings.DRAFT_MAX_AGE_DAYS = 30
    clerk = personas.ganzhou_clerk
    stale = _draft(clerk, standard_photo, idle_days=31)
    recent = _draft(clerk, standard_photo, idle_days=29)
    fingers_today = _draft(clerk, standard_photo, idle_days=31)  # …but a finger recorded just now
    capture.application_fingers_record(actor=clerk, application=fingers_today, captures=NO_FINGERS[:1])
    accepted = accept(clerk, PersonFactory.create())
    long_ago = timezone.now() - datetime.timedelta(days=90)
    Application.objects.filter(pk=accepted.pk).update(updated_at=long_ago, last_event_at=long_ago)
    audit_rows_before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    assert services.drafts_abandon_stale() == 1
    closed = Application.objects.get(pk=stale.pk)
    assert closed.status == Application.Status.WITHDRAWN and closed.closed_at is not None
    assert (closed.photo, closed.card_images, closed.card_images_key, closed.guardian_photo) == (
        None,
        None,
        None,
        None,
    )
    assert closed.face_hits == {}
    assert not Fingerprint.objects.filter(application=stale).exists()
    # Gone from the table itself, not only from what the model reads back.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT photo, card_images, card_images_key, guardian_photo FROM intake_application"
            " WHERE id = %s",
            [stale.pk],
        )
        assert cursor.fetchone() == (None, None, None, None)
        cursor.execute("SELECT COUNT(*) FROM intake_fingerprint WHERE application_id = %s", [stale.pk])
        assert cursor.fetchone() == (0,)
    assert not BiometricTemplate.objects.filter(ref_id=capture.application_ref(stale)).exists()
    event = closed.events.get(action=EventAction.ABANDONED)
    assert (event.actor, event.note) == (None, "草稿超过 30 天无人办理，系统自动放弃受理")
    assert event.detail == {"fingerprints_deleted": 1}
    [row] = AuditEvent.objects.filter(pk__gt=audit_rows_before, object_type="intake.application")
    assert (row.action, row.actor_id, row.object_id) == ("application.abandoned", None, str(stale.pk))
    # Nothing else touched: the recent drafts keep their biometrics, the accepted one is as it was.
    for kept in (recent, fingers_today):
        kept = Application.objects.get(pk=kept.pk)
        assert kept.status == Application.Status.DRAFT and kept.photo is not None
        assert Fingerprint.objects.filter(application=kept, position="11").exists()
    assert Application.objects.get(pk=accepted.pk).status == Application.Status.PENDING_REVIEW
    assert services.drafts_abandon_stale() == 0  # again: nothing more


def test_the_schedule_calls_the_service(personas, standard_photo, settings):
    settings.DRAFT_MAX_AGE_DAYS = 30
    draft = _draft(personas.ganzhou_clerk, standard_photo, idle_days=40)
    tasks.stale_drafts()
    assert Application.objects.get(pk=draft.pk).status == Application.Status.WITHDRAWN


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, available_apps=AVAILABLE_APPS)
def test_concurrent_acceptances_get_distinct_numbers(reference_data, standard_photo):
    """100 drafts accepted at once by four clerks of one station: 100 distinct 受理号."""
    clerks = [UserFactory.create(role="clerk", unit=station("360702001")) for _ in range(4)]
    drafts = []
    for n in range(100):
        application = services.application_start(
            actor=clerks[n % 4],
            person=PersonFactory.create(),
            application_type=rules.ApplicationType.FIRST,
            reason_code="12",
        )
        services.application_update(
            actor=clerks[n % 4],
            application=application,
            changes={
                "phone": "13800138000",
                "materials_shown": ["household_book", "residence_proof"],
                "pledge_signed": True,
            },
        )
        capture.application_fingers_record(actor=clerks[n % 4], application=application, captures=NO_FINGERS)
        drafts.append(application)
    # The photo check is not what this test is about: every draft gets the checked photo directly.
    Application.objects.update(photo=standard_photo, photo_report={"passed": True})
    errors: list[BaseException] = []

    def clerk_work(k: int) -> None:
        try:
            for application in drafts[k::4]:
                services.application_accept(actor=clerks[k], application=application)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk_work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = list(Application.objects.values_list("number", flat=True))
    assert len(numbers) == 100 and len(set(numbers)) == 100
    assert all(rules.is_acceptance_number(number or "") for number in numbers)
    # Each acceptance charged its fee with a receipt number of its own (票据号).
    receipts = list(Payment.objects.values_list("receipt_number", flat=True))
    assert len(receipts) == 100 and len(set(receipts)) == 100


def test_provisional_deadlines_are_recounted_once_the_year_is_entered(personas, accept, monkeypatch):
    arrival = datetime.datetime(2026, 12, 29, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    monkeypatch.setattr(timezone, "now", lambda: arrival)
    application = accept(personas.ganzhou_clerk, PersonFactory.create(birth_date=datetime.date(1990, 1, 1)))
    assert application.review_due == datetime.date(2027, 1, 5) and application.review_due_provisional
    monkeypatch.undo()
    # The 2027 arrangement is entered: 1 January is 元旦 and the days after it are ordinary.
    CalendarYear.objects.create(year=2027, source="管理员录入")
    CalendarDay.objects.create(date=datetime.date(2027, 1, 1), is_workday=False, name="元旦")
    call_command("applications", "refresh-deadlines", stdout=io.StringIO())
    application.refresh_from_db()
    # Dec 30, 31, Jan 4, 5, 6 (1 January a holiday, 2–3 a weekend).
    assert (application.review_due, application.review_due_provisional) == (datetime.date(2027, 1, 6), False)
    assert application.events.filter(action="deadline_recounted").count() == 1


def test_a_replacement_invalidates_the_lost_card_at_acceptance(personas, accept):
    card = CardFactory.create()
    accept(personas.nanchang_clerk, card.person, rules.ApplicationType.REPLACEMENT, "31")
    card.refresh_from_db()
    assert card.state == Card.State.LOST  # 已挂失: not valid while the new one is made


# --- the 1:1 with the register photo --------------------------------------------------------


def _face_at(template: Template, cosine: float) -> Template:
    """A face template at exactly `cosine` to `template` (another face, as the engine sees it)."""
    vector = face_vector(template).astype(np.float64)
    other = np.random.default_rng(7).standard_normal(vector.shape)
    other -= other.dot(vector) * vector
    other /= np.linalg.norm(other)
    mixed = cosine * vector + math.sqrt(1 - cosine**2) * other
    return Template(Modality.FACE, template.format, mixed.astype("<f4").tobytes())


def test_the_register_photo_is_compared_through_its_enrolled_template(personas, accept, standard_photo):
    """When the 1:N search does not bring the applicant's own register photo up, the 1:1 with it
    uses the template enrolled from it rather than extracting the photo again."""
    person = PersonFactory.create(photo=standard_photo)
    probe = get_sdk(Modality.FACE).extract_template(Sample(Modality.FACE, standard_photo))
    # What stands enrolled scores 0.5 against the counter's photo: under the engine's threshold,
    # so the search leaves it out, and far from the 1.0 a second extraction would give.
    get_abis().insert(person_ref(person.pk), _face_at(probe, 0.5), Gallery.PERMANENT)
    application = accept(personas.nanchang_clerk, person)
    assert [hit["ref_id"] for hit in application.face_hits["permanent"]] == []
    assert application.face_hits["self"] == [{"ref_id": person_ref(person.pk), "score": 0.5, "self": True}]


def test_without_an_enrolled_template_the_register_photo_is_extracted(personas, accept, standard_photo):
    person = PersonFactory.create(photo=standard_photo)
    application = accept(personas.nanchang_clerk, person)
    [own] = application.face_hits["self"]
    assert own["ref_id"] == person_ref(person.pk) and own["score"] > 0.99


def test_a_replaced_register_photo_takes_its_template_out_of_the_gallery(standard_photo, tmp_path):
    """`tongban biometrics import-photos` replacing a photo drops the template enrolled from the
    old one, so no search meets a face the register no longer holds; the same file again keeps
    the template enrolled from it."""
    person = PersonFactory.create(photo=standard_photo)
    ref = person_ref(person.pk)
    enrolled = BiometricTemplate.objects.filter(ref_id=ref, gallery=Gallery.PERMANENT)
    register_photos_enrol(actor=None)
    assert enrolled.count() == 1
    flipped = io.BytesIO()
    Image.open(io.BytesIO(standard_photo)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(flipped, "JPEG")
    (tmp_path / "face.jpg").write_bytes(flipped.getvalue())
    listing = tmp_path / "photos.csv"
    listing.write_text(
        f"id_number,name,birth_date,photo\n{person.id_number},{person.name},{person.birth_date},face.jpg\n",
        encoding="utf-8",
    )
    assert register_photos_import(path=listing, actor=None).counts() == {"loaded": 1, "rejected": 0}
    assert not enrolled.exists()
    assert AuditEvent.objects.filter(action=AuditAction.BIOMETRICS_DELETE).count() == 1
    register_photos_enrol(actor=None)
    assert register_photos_import(path=listing, actor=None).counts() == {"loaded": 1, "rejected": 0}
    assert enrolled.count() == 1
