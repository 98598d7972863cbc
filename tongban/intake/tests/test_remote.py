"""跨省通办 at the service level: guests registered at the counter, their applications waiting at
the other province's unit, the decision coming back (A); applications of our residents accepted
elsewhere, reviewed here and followed to the card in our register (B)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from tongban.accounts.models import User
from tongban.accounts.services import units_assignable
from tongban.core import idnumber
from tongban.core.crypto import sm2_generate
from tongban.core.errors import ServiceError
from tongban.exchange.services import peer_add
from tongban.handover.remote import RemoteStage, remote_progress_apply
from tongban.intake import rules, selectors
from tongban.intake.models import Application
from tongban.intake.remote import (
    RemoteApplication,
    RemoteDecision,
    RemoteFinger,
    remote_application_of,
    remote_application_receive,
    remote_decision_apply,
    remote_decision_of,
    remote_withdraw,
)
from tongban.production.selectors import production_queue
from tongban.registry.models import Card, Person, Unit, routed_stations
from tongban.registry.services import external_unit_for, guest_person_register
from tongban.review import services as review
from tongban.testing.applications import NO_FINGERS
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

GUEST_NUMBER = idnumber.build("440106", datetime.date(1992, 3, 4), 13)  # 广州市天河区, male


@pytest.fixture
def guangdong(production_dirs: None) -> Unit:
    """广东 in our exchange directory (its unit made by it), as in a deployment: what the
    applications' moves send it is queued (tongban/exchange/tests/test_wiring.py reads it)."""
    peer_add(
        actor=None,
        prefix="44",
        name="广东省公安厅",
        endpoint="http://127.0.0.1:9",
        public_key=sm2_generate().public,
    )
    return Unit.objects.get(code="44")


def register_guest(actor: User, **changes: object) -> Person:
    fields: dict[str, object] = {
        "id_number": GUEST_NUMBER,
        "name": "陈志明",
        "sex": "1",
        "ethnicity": "01",
        "birth_date": datetime.date(1992, 3, 4),
        "address": "广东省广州市天河区体育西路1号",
        "region_code": "440106",
        **changes,
    }
    return guest_person_register(actor=actor, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Units of other provinces


def test_an_external_unit_is_created_once_renamed_and_kept_out_of_our_trees(
    personas: Personas, guangdong: Unit
) -> None:
    assert (guangdong.kind, guangdong.path, guangdong.region_code, guangdong.parent) == (
        Unit.Kind.EXTERNAL,
        "44/",
        "440000",
        None,
    )
    assert external_unit_for(code="44", name="广东省公安厅").pk == guangdong.pk
    renamed = external_unit_for(code="44", name="广东省公安厅户政管理总队")
    assert (renamed.pk, renamed.name) == (guangdong.pk, "广东省公安厅户政管理总队")
    assert not Unit.objects.administrative().filter(pk=guangdong.pk).exists()
    assert not Unit.objects.visible_to(personas.province_supervisor).filter(pk=guangdong.pk).exists()
    assert not units_assignable(None).filter(pk=guangdong.pk).exists()
    assert not units_assignable(personas.admin).filter(pk=guangdong.pk).exists()
    assert all(guangdong.pk not in ids for ids in routed_stations().values())


@pytest.mark.parametrize(
    ("code", "error"), [("36", "own_province"), ("99", "bad_province"), ("4", "bad_province")]
)
def test_an_external_unit_must_be_another_province(personas: Personas, code: str, error: str) -> None:
    with pytest.raises(ServiceError) as refused:
        external_unit_for(code=code, name="某省公安厅")
    assert refused.value.code == error


# ---------------------------------------------------------------------------------------------
# Guests (外省户籍人员)


def test_a_guest_is_registered_at_the_external_unit_and_counts_in_none_of_our_people(
    personas: Personas, guangdong: Unit
) -> None:
    guest = register_guest(personas.nanchang_clerk)
    assert (guest.registration_unit_id, guest.region_code, guest.is_guest) == (guangdong.pk, "440106", True)
    assert not Person.objects.visible_to(personas.province_supervisor).filter(pk=guest.pk).exists()
    assert not Person.objects.residents().filter(pk=guest.pk).exists()
    # The counter finds them by number, as anybody registered anywhere.
    from tongban.registry.selectors import person_lookup

    assert person_lookup(personas.nanchang_clerk, GUEST_NUMBER).pk == guest.pk
    # Again with a corrected address: the same person, updated.
    again = register_guest(personas.nanchang_clerk, address="广东省广州市天河区体育东路2号")
    assert again.pk == guest.pk and again.address == "广东省广州市天河区体育东路2号"
    assert Person.objects.filter(id_number=GUEST_NUMBER).count() == 1


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"id_number": "440106199203040131"}, "invalid_id_number", "id_number"),
        ({"birth_date": datetime.date(1992, 3, 5)}, "invalid", "birth_date"),
        ({"sex": "2"}, "invalid", "sex"),
        ({"region_code": "360102"}, "invalid", "region_code"),
        ({"region_code": "449999"}, "invalid", "region_code"),
        ({"name": " "}, "invalid", "name"),
        ({"ethnicity": "77"}, "invalid", "ethnicity"),
    ],
)
def test_a_guest_registration_is_refused_at_the_field(
    personas: Personas, guangdong: Unit, changes: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        register_guest(personas.nanchang_clerk, **changes)
    assert refused.value.code == code and field in refused.value.fields
    assert not Person.objects.filter(registration_unit=guangdong).exists()


def test_a_guest_of_our_province_an_unconnected_province_or_a_resident_is_refused(
    personas: Personas, guangdong: Unit
) -> None:
    ours = idnumber.build("360102", datetime.date(1992, 3, 4), 13)
    with pytest.raises(ServiceError) as refused:
        register_guest(personas.nanchang_clerk, id_number=ours, region_code="360102")
    assert refused.value.code == "own_province"
    fujian = idnumber.build("350102", datetime.date(1992, 3, 4), 13)
    with pytest.raises(ServiceError) as refused:
        register_guest(personas.nanchang_clerk, id_number=fujian, region_code="350102")
    assert refused.value.code == "province_not_connected"
    resident = PersonFactory.create(id_number=GUEST_NUMBER, birth_date=datetime.date(1992, 3, 4))
    with pytest.raises(ServiceError) as refused:
        register_guest(personas.nanchang_clerk)
    assert refused.value.code == "person_exists"
    assert Person.objects.filter(id_number=GUEST_NUMBER).get().pk == resident.pk


def test_only_a_clerk_registers_guests(personas: Personas, guangdong: Unit) -> None:
    with pytest.raises(ServiceError) as refused:
        register_guest(personas.nanchang_reviewer)
    assert refused.value.code == "permission_denied"


# ---------------------------------------------------------------------------------------------
# A: the application accepted here waits at the household province


@pytest.fixture
def out_application(
    personas: Personas,
    guangdong: Unit,
    accept: Callable[..., Application],
    outbox: list,
    django_capture_on_commit_callbacks,
) -> Application:
    guest = register_guest(personas.nanchang_clerk)
    with django_capture_on_commit_callbacks(execute=True):
        return accept(personas.nanchang_clerk, guest)


def test_a_guest_application_waits_at_the_external_unit_in_no_queue_of_ours(
    personas: Personas, guangdong: Unit, out_application: Application, outbox: list
) -> None:
    application = out_application
    assert application.status == Application.Status.PENDING_REVIEW
    assert (application.exchange, application.remote_province, application.review_unit_id) == (
        "out",
        "44",
        guangdong.pk,
    )
    assert application.review_chain[0]["title"] == "户籍地审核签发"
    assert application.review_due is not None and str(application.number).startswith("360102001")
    assert application.fee_amount == 0  # 首次申领
    for reviewer in (personas.nanchang_reviewer, UserFactory.create(role="reviewer", unit=station("36"))):
        assert (
            not Application.objects.visible_to(reviewer, "review.decide").filter(pk=application.pk).exists()
        )
    assert selectors.counter_applications(personas.nanchang_clerk).filter(pk=application.pk).exists()
    # The applicant hears of it; no unit of ours is told of an arrival.
    assert [n.template for n in outbox] == ["application.accepted"]


def test_a_guest_may_renew_without_a_card_in_our_register(
    personas: Personas, guangdong: Unit, accept: Callable[..., Application]
) -> None:
    guest = register_guest(personas.nanchang_clerk)
    application = accept(personas.nanchang_clerk, guest, rules.ApplicationType.RENEWAL)
    assert application.status == Application.Status.PENDING_REVIEW
    assert rules.CARD_HISTORY_ELSEWHERE in application.flags
    assert application.fee_amount == 20


def test_the_application_goes_out_as_json_and_comes_back_the_same(out_application: Application) -> None:
    data = remote_application_of(out_application)
    assert data.station_code == "360102001" and data.photo == bytes(out_application.photo)
    assert RemoteApplication.from_dict(json.loads(json.dumps(data.to_dict()))) == data
    with pytest.raises(ServiceError) as refused:
        RemoteApplication.from_dict({**data.to_dict(), "accepted_at": "2026-01-01T08:00:00"})
    assert refused.value.code == "bad_message"


def issued(number: str, **changes: object) -> RemoteDecision:
    fields: dict[str, object] = {
        "number": number,
        "issued": True,
        "unit_name": "广州市公安局天河分局",
        "decided_at": timezone.now(),
        "issuing_authority": "广州市公安局天河分局",
        "validity": "20",
        "valid_from": timezone.localdate(),
        "valid_until": timezone.localdate().replace(year=timezone.localdate().year + 20),
        **changes,
    }
    return RemoteDecision(**fields)  # type: ignore[arg-type]


def test_an_issue_from_the_household_province_joins_our_production_queue(
    personas: Personas, out_application: Application
) -> None:
    decision = issued(str(out_application.number))
    assert RemoteDecision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision
    application = remote_decision_apply(
        application=out_application, decision=decision, source={"message": "m1"}
    )
    assert application.status == Application.Status.ISSUED
    assert (application.issuing_authority, application.valid_from) == (
        "广州市公安局天河分局",
        decision.valid_from,
    )
    centre = Unit.objects.get(code="360000901")
    assert production_queue(centre).filter(pk=application.pk).exists()
    event = application.events.get(action="remote_issued")
    assert event.note.startswith("户籍地（广东省）广州市公安局天河分局签发") and event.actor is None
    assert event.detail["source"] == {"message": "m1"}
    # The same decision again: nothing; another one: refused.
    assert (
        remote_decision_apply(application=application, decision=decision).status == Application.Status.ISSUED
    )
    assert application.events.filter(action="remote_issued").count() == 1
    with pytest.raises(ServiceError) as refused:
        remote_decision_apply(
            application=application,
            decision=RemoteDecision(
                number=str(application.number),
                issued=False,
                unit_name="广州市公安局天河分局",
                decided_at=timezone.now(),
                refusal_code="99",
                refusal_text="其他：人像比对不一致",
            ),
        )
    assert refused.value.code == "already_decided"


def test_a_refusal_from_the_household_province_shows_at_our_counter(
    personas: Personas, out_application: Application, outbox: list, django_capture_on_commit_callbacks
) -> None:
    decision = RemoteDecision(
        number=str(out_application.number),
        issued=False,
        unit_name="广州市公安局天河分局",
        decided_at=timezone.now(),
        refusal_code="99",
        refusal_text="其他：人像比对不一致",
    )
    with django_capture_on_commit_callbacks(execute=True):
        application = remote_decision_apply(application=out_application, decision=decision)
    assert application.status == Application.Status.REJECTED
    assert application.refusal_reason == "其他：人像比对不一致" and application.refusal_code_id == "99"
    page = selectors.counter_page(personas.nanchang_clerk, "refused_unnotified")
    assert [row.pk for row in page.rows] == [application.pk]
    assert {n.template for n in outbox} >= {"application.refused.station", "application.refused"}
    assert (
        remote_decision_apply(application=application, decision=decision).status
        == Application.Status.REJECTED
    )
    with pytest.raises(ServiceError) as refused:
        remote_decision_apply(application=application, decision=issued(str(application.number)))
    assert refused.value.code == "already_decided"


# ---------------------------------------------------------------------------------------------
# B: an application of our resident accepted in another province


def remote_data(person: Person, photo: bytes, **changes: object) -> RemoteApplication:
    fields: dict[str, object] = {
        "number": "4401060012026120700001",
        "type": "first",
        "reason": "12",
        "id_number": person.id_number,
        "name": person.name,
        "sex": person.sex_id,
        "ethnicity": person.ethnicity_id,
        "birth_date": person.birth_date,
        "household_address": person.address,
        "residence_address": "广东省广州市天河区体育西路1号",
        "phone": "13800138000",
        "collection": "station",
        "postal_recipient": "",
        "postal_phone": "",
        "postal_address": "",
        "guardianship": "",
        "guardian_name": "",
        "guardian_id_number": "",
        "guardian_relation": "",
        "guardian_phone": "",
        "materials_shown": ("household_book", "residence_proof"),
        "pledge_signed": True,
        "validity": "20",
        "fee_item": "first",
        "accepted_at": timezone.now(),
        "station_code": "440106001",
        "station_name": "天河区城关派出所",
        "photo": photo,
        "guardian_photo": None,
        "fingers": tuple(
            RemoteFinger(position=c.position, result=c.outcome.value, reason=c.reason) for c in NO_FINGERS
        ),
        **changes,
    }
    return RemoteApplication(**fields)  # type: ignore[arg-type]


@pytest.fixture
def received(
    personas: Personas,
    guangdong: Unit,
    person: Person,
    standard_photo: bytes,
    outbox: list,
    django_capture_on_commit_callbacks,
) -> Application:
    with django_capture_on_commit_callbacks(execute=True):
        return remote_application_receive(
            province="44", data=remote_data(person, standard_photo), source={"peer": "44", "message": "m7"}
        )


def test_a_received_application_is_in_the_household_reviewers_queue_with_its_deadline(
    personas: Personas, guangdong: Unit, received: Application, household_reviewer: User, outbox: list
) -> None:
    application = received
    assert application.status == Application.Status.PENDING_REVIEW
    assert (application.exchange, application.remote_province, application.remote_unit_name) == (
        "in",
        "44",
        "天河区城关派出所",
    )
    assert (application.acceptance_unit_id, application.household_unit.code) == (guangdong.pk, "360102001")
    assert application.review_unit is not None and application.review_unit.code == "360102001"
    assert application.review_due is not None
    assert application.created_by is None and application.photo is not None
    assert application.fingerprints.count() == 10
    queue = Application.objects.visible_to(household_reviewer, "review.decide")
    assert queue.filter(pk=application.pk).exists()
    assert [e.action for e in application.events.order_by("pk")][-2:] == ["accepted", "routed"]
    assert "广东省天河区城关派出所受理" in application.events.get(action="accepted").note
    assert [n.unit_code for n in outbox if n.template == "review.arrived"] == ["360102001"]


def test_the_same_message_again_returns_the_application(
    person: Person, standard_photo: bytes, received: Application
) -> None:
    again = remote_application_receive(province="44", data=remote_data(person, standard_photo))
    assert again.pk == received.pk
    number = str(received.number)
    assert selectors.cross_province_application(province="44", number=number, exchange="in").pk == received.pk
    for province, exchange in (("44", "out"), ("45", "in"), ("44", "")):
        with pytest.raises(ServiceError) as missing:
            selectors.cross_province_application(province=province, number=number, exchange=exchange)
        assert missing.value.status == 404
    assert Application.objects.filter(person=person).count() == 1


def test_a_received_application_is_refused_with_nothing_written(
    personas: Personas, guangdong: Unit, person: Person, standard_photo: bytes
) -> None:
    stranger = PersonFactory.build(registration_unit=station())
    cases = [
        (remote_data(stranger, standard_photo), "person_unknown", 404),
        (remote_data(person, standard_photo, name="刘小燕"), "person_mismatch", 409),
        (remote_data(person, standard_photo, birth_date=datetime.date(1990, 5, 18)), "person_mismatch", 409),
        (remote_data(person, standard_photo, number="3601020012026120700001"), "bad_message", 400),
        (remote_data(person, standard_photo, reason="11"), "reason_age_mismatch", 400),
    ]
    for data, code, status in cases:
        with pytest.raises(ServiceError) as refused:
            remote_application_receive(province="44", data=data)
        assert (refused.value.code, refused.value.status) == (code, status)
    CardFactory.create(person=person)
    with pytest.raises(ServiceError) as refused:
        remote_application_receive(province="44", data=remote_data(person, standard_photo))
    assert refused.value.code == "not_eligible"
    assert not Application.objects.exists()


def test_a_received_application_is_refused_while_another_is_open(
    personas: Personas,
    guangdong: Unit,
    person: Person,
    standard_photo: bytes,
    accept: Callable[..., Application],
) -> None:
    accept(personas.nanchang_clerk, person)
    with pytest.raises(ServiceError) as refused:
        remote_application_receive(province="44", data=remote_data(person, standard_photo))
    assert refused.value.code == "application_open"
    assert Application.objects.filter(exchange="in").count() == 0


def test_an_issued_received_application_never_enters_our_production_and_its_card_comes_home(
    received: Application, household_reviewer: User
) -> None:
    application = review.review_approve(actor=household_reviewer, application=received, step=1)
    assert application.status == Application.Status.ISSUED
    for centre in Unit.objects.filter(kind=Unit.Kind.CENTRE):
        assert not production_queue(centre).filter(pk=application.pk).exists()
        assert (
            not Application.objects.visible_to(
                UserFactory.create(role="centre_operator", unit=centre), "production.view"
            )
            .filter(pk=application.pk)
            .exists()
        )
    decision = remote_decision_of(application)
    assert (decision.issued, decision.issuing_authority) == (True, "南昌市公安局东湖分局")
    assert decision.valid_from == application.valid_from

    application = remote_progress_apply(
        application=application, stage=RemoteStage.PRODUCED, card_serial="C0001"
    )
    card = Card.objects.get(card_serial="C0001")
    assert (application.status, card.state, card.person_id) == ("produced", "produced", application.person_id)
    # A late or repeated message changes nothing; a skipped stage is walked through.
    assert remote_progress_apply(application=application, stage=RemoteStage.PRODUCED).status == "produced"
    application = remote_progress_apply(application=application, stage=RemoteStage.HANDED_OVER)
    card.refresh_from_db()
    assert (application.status, card.state) == ("handed_over", "active")
    assert [e.action for e in application.events.order_by("pk")][-4:] == [
        "remote_produced",
        "remote_shipped",
        "remote_at_site",
        "remote_handed_over",
    ]
    assert remote_progress_apply(application=application, stage=RemoteStage.AT_SITE).status == "handed_over"
    assert Card.objects.filter(person_id=application.person_id).count() == 1


def test_a_reprint_at_the_acceptance_province_cancels_the_card_made(
    received: Application, household_reviewer: User
) -> None:
    application = review.review_approve(actor=household_reviewer, application=received, step=1)
    remote_progress_apply(application=application, stage=RemoteStage.SHIPPED, card_serial="C0002")
    application = remote_progress_apply(application=application, stage=RemoteStage.REPRINT)
    assert application.status == "issued"
    assert Card.objects.get(card_serial="C0002").state == "cancelled"
    application = remote_progress_apply(
        application=application, stage=RemoteStage.DELIVERED, card_serial="C0003"
    )
    assert application.status == "pending_verification"
    assert Card.objects.get(card_serial="C0003").state == "active"


def test_a_refusal_here_goes_back_as_a_decision(received: Application, household_reviewer: User) -> None:
    with pytest.raises(ServiceError) as refused:
        remote_decision_of(received)
    assert refused.value.code == "not_decided"
    application = review.review_refuse(
        actor=household_reviewer, application=received, step=1, refusal_reason="99", remark="人像比对不一致"
    )
    decision = remote_decision_of(application)
    assert (decision.issued, decision.refusal_code, decision.refusal_text) == (
        False,
        "99",
        application.refusal_reason,
    )
    with pytest.raises(ServiceError) as late:
        remote_withdraw(application=application, reason="申请人撤销")
    assert late.value.code == "not_withdrawable"


def test_a_withdrawal_at_the_acceptance_province_withdraws_our_copy(
    received: Application, household_reviewer: User, outbox: list, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        application = remote_withdraw(application=received, reason="申请人不再办理", source={"message": "m9"})
    assert application.status == Application.Status.WITHDRAWN
    assert "受理地（广东省）撤销" in application.events.get(action="remote_withdrawn").note
    assert remote_withdraw(application=application, reason="again").status == Application.Status.WITHDRAWN
    assert [n.unit_code for n in outbox if n.template == "review.withdrawn"] == ["360102001"]


# ---------------------------------------------------------------------------------------------
# Pages and API


def test_the_counter_offers_guest_registration_for_a_number_of_a_connected_province(
    personas: Personas, guangdong: Unit, client: Client
) -> None:
    login(client, personas.nanchang_clerk)
    page = client.post("/applications/new/", {"action": "lookup", "id_number": GUEST_NUMBER, "type": "first"})
    text = page.content.decode()
    assert "该号码属广东省" in text and f"/applications/guests/new/?id_number={GUEST_NUMBER}" in text
    fujian = idnumber.build("350102", datetime.date(1992, 3, 4), 13)
    page = client.post("/applications/new/", {"action": "lookup", "id_number": fujian, "type": "first"})
    assert "外省户籍人员登记" not in page.content.decode()

    form = client.get(f"/applications/guests/new/?id_number={GUEST_NUMBER}")
    assert 'value="1992-03-04"' in form.content.decode() and 'value="440106"' in form.content.decode()
    fields = {
        "id_number": GUEST_NUMBER,
        "name": "陈志明",
        "sex": "2",
        "ethnicity": "01",
        "birth_date": "1992-03-04",
        "address": "广东省广州市天河区体育西路1号",
        "region_code": "440106",
    }
    refused = client.post("/applications/guests/new/", fields)
    assert refused.status_code == 200 and "性别与公民身份号码不符" in refused.content.decode()
    assert "体育西路1号" in refused.content.decode()  # what was typed stays
    done = client.post("/applications/guests/new/", {**fields, "sex": "1"})
    assert done.status_code == 302 and done["Location"] == f"/applications/new/?id_number={GUEST_NUMBER}"
    page = client.post("/applications/new/", {"action": "lookup", "id_number": GUEST_NUMBER, "type": "first"})
    assert "外省户籍人员·跨省通办" in page.content.decode()
    assert "证件记录在户籍地" in page.content.decode() and "从未申领过" not in page.content.decode()


def test_the_guest_api_registers_and_refuses(personas: Personas, guangdong: Unit) -> None:
    api = api_client(personas.nanchang_clerk)
    body = {
        "id_number": GUEST_NUMBER,
        "name": "陈志明",
        "sex": "1",
        "ethnicity": "01",
        "birth_date": "1992-03-04",
        "address": "广东省广州市天河区体育西路1号",
        "region_code": "440106",
    }
    created = api.post("/api/v1/people/guests", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["registration_unit"]["kind"] == "external" and created.json()["household"] is None
    ours = idnumber.build("360102", datetime.date(1992, 3, 4), 13)
    refused = api.post("/api/v1/people/guests", {**body, "id_number": ours}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "own_province")
    denied = api_client(personas.nanchang_reviewer).post("/api/v1/people/guests", body, format="json")
    assert denied.status_code == 403


def test_pages_and_api_mark_both_directions(
    personas: Personas,
    out_application: Application,
    received: Application,
    household_reviewer: User,
    client: Client,
) -> None:
    login(client, personas.nanchang_clerk)
    counter = client.get("/applications/?view=in_review").content.decode()
    assert "跨省·广东省" in counter
    detail = client.get(f"/applications/{out_application.pk}/").content.decode()
    assert "跨省受理·外省户籍" in detail and "证件信息由户籍地核验" in detail
    row = api_client(personas.nanchang_clerk).get(f"/api/v1/applications/{out_application.number}").json()
    assert (row["exchange"], row["remote_province"], row["remote_unit_name"]) == ("out", "44", "广东省公安厅")
    queue = api_client(household_reviewer).get("/api/v1/review/queue").json()
    (item,) = queue["results"]
    assert (item["number"], item["exchange"], item["remote_unit_name"]) == (
        received.number,
        "in",
        "天河区城关派出所",
    )
    login(client, household_reviewer)
    page = client.get("/review/").content.decode()
    assert "跨省·广东省" in page
