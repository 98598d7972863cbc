"""跨省通办 wired (docs/exchange.md "Applications"): what the services make is what the protocol
declares; an application's moves queue their messages in their own transaction; the handlers call
the services for the sending province only. One database: we (36) are both the acceptance province
of a guest of 广东 (44) and the household province of our resident accepted in 广东."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tongban.core import idnumber
from tongban.core.crypto import SM2KeyPair, sm2_generate
from tongban.core.errors import ServiceError
from tongban.exchange import protocol
from tongban.exchange.models import InboundMessage, OutboundMessage, Peer
from tongban.exchange.services import message_receive, peer_add, peer_update
from tongban.exchange.tests.conftest import envelope, raw
from tongban.handover.remote import RemoteStage
from tongban.intake import services as intake
from tongban.intake.models import Application
from tongban.intake.remote import (
    RemoteApplication,
    RemoteDecision,
    RemoteFinger,
    remote_application_of,
    remote_decision_apply,
    remote_decision_of,
)
from tongban.production import services as production
from tongban.production.feedback import FeedbackLine
from tongban.registry.models import Person, Unit
from tongban.registry.services import guest_person_register
from tongban.review import services as review
from tongban.testing.applications import NO_FINGERS
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db

Status = Application.Status
GUEST_NUMBER = idnumber.build("440106", datetime.date(1992, 3, 4), 13)  # 广州市天河区, male
RECEIVED_NUMBER = "4401060012026120700001"


def sent(kind: str) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(kind=kind).order_by("pk"))


def guest(personas: Personas) -> Person:
    return guest_person_register(
        actor=personas.nanchang_clerk,
        id_number=GUEST_NUMBER,
        name="陈志明",
        sex="1",
        ethnicity="01",
        birth_date=datetime.date(1992, 3, 4),
        address="广东省广州市天河区体育西路1号",
        region_code="440106",
    )


@pytest.fixture
def out_application(personas: Personas, guangdong: Peer, accept: Callable[..., Application]) -> Application:
    return accept(personas.nanchang_clerk, guest(personas))


def remote_body(person: Person, photo: bytes, number: str = RECEIVED_NUMBER) -> dict[str, Any]:
    return RemoteApplication(
        number=number,
        type="first",
        reason="12",
        id_number=person.id_number,
        name=person.name,
        sex=person.sex_id,
        ethnicity=person.ethnicity_id,
        birth_date=person.birth_date,
        household_address=person.address,
        residence_address="广东省广州市天河区体育西路1号",
        phone="13800138000",
        collection="station",
        postal_recipient="",
        postal_phone="",
        postal_address="",
        guardianship="",
        guardian_name="",
        guardian_id_number="",
        guardian_relation="",
        guardian_phone="",
        materials_shown=("household_book", "residence_proof"),
        pledge_signed=True,
        validity="20",
        fee_item="first",
        accepted_at=timezone.now(),
        station_code="440106001",
        station_name="天河区城关派出所",
        photo=photo,
        guardian_photo=None,
        fingers=tuple(
            RemoteFinger(position=c.position, result=c.outcome.value, reason=c.reason) for c in NO_FINGERS
        ),
    ).to_dict()


def receive(key: SM2KeyPair, ours: SM2KeyPair, kind: str, body: dict[str, Any]) -> Any:
    return message_receive(raw(envelope(key, ours, kind, body)))


@pytest.fixture
def received(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, person: Person, standard_photo: bytes
) -> Application:
    receipt = receive(guangdong_key, ours, "application.submitted", remote_body(person, standard_photo))
    assert receipt.status == 200, receipt.document
    return Application.objects.get(number=RECEIVED_NUMBER)


# ---------------------------------------------------------------------------------------------
# The schemas are the data classes'


def test_the_protocol_declares_exactly_what_the_services_make(
    out_application: Application, received: Application, household_reviewer: Any
) -> None:
    schema = protocol.KINDS["application.submitted"].schema
    assert set(schema) == {f.name for f in dataclasses.fields(RemoteApplication)}
    assert set(schema["fingers"].fields) == {f.name for f in dataclasses.fields(RemoteFinger)}
    assert set(protocol.KINDS["application.decided"].schema) == {
        f.name for f in dataclasses.fields(RemoteDecision)
    }
    assert tuple(stage.value for stage in RemoteStage) == protocol.PROGRESS_STAGES

    data = remote_application_of(out_application)
    protocol.check_body("application.submitted", json.loads(json.dumps(data.to_dict())))
    assert RemoteApplication.from_dict(data.to_dict()) == data
    issued = remote_decision_of(review.review_approve(actor=household_reviewer, application=received, step=1))
    protocol.check_body("application.decided", issued.to_dict())
    refused = dataclasses.replace(
        issued, issued=False, issuing_authority="", valid_from=None, valid_until=None, refusal_text="不符"
    )
    protocol.check_body("application.decided", refused.to_dict())
    assert RemoteDecision.from_dict(refused.to_dict()) == refused
    with pytest.raises(ServiceError) as broken:
        protocol.check_body("application.decided", {**refused.to_dict(), "refusal_text": ""})
    assert "不予签发须有 refusal_text" in broken.value.message
    # What the listener sent is what was checked.
    (message,) = sent("application.submitted")
    assert message.application_id == out_application.pk and message.peer.prefix == "44"


# ---------------------------------------------------------------------------------------------
# Sending at the moment of the change


def test_an_accepted_guest_application_goes_out_with_the_acceptance(
    personas: Personas, out_application: Application
) -> None:
    (message,) = sent("application.submitted")
    assert message.status == OutboundMessage.Status.PENDING and message.created_by == personas.nanchang_clerk
    assert "陈志明" not in message.envelope  # sealed
    withdrawn = intake.application_withdraw(
        actor=personas.nanchang_clerk, application=out_application, reason="申请人不再办理"
    )
    assert withdrawn.status == Status.WITHDRAWN
    (message,) = sent("application.withdrawn")
    body = json.loads(message.envelope)["body"]
    assert (body["number"], body["reason"]) == (out_application.number, "申请人不再办理")


def test_no_guest_application_while_the_province_is_suspended(
    personas: Personas, guangdong: Peer, accept: Callable[..., Application]
) -> None:
    person = guest(personas)  # the unit stays when the peer is suspended
    peer_update(actor=None, peer=guangdong, active=False)
    assert Unit.objects.get(code="44").kind == Unit.Kind.EXTERNAL
    with pytest.raises(ServiceError) as refused:
        accept(personas.nanchang_clerk, person)
    assert refused.value.code == "province_not_connected" and refused.value.status == 409
    assert not Application.objects.filter(person=person).exists()
    assert not OutboundMessage.objects.exists()


def test_an_ordinary_application_sends_nothing(
    personas: Personas, guangdong: Peer, person: Person, accept: Callable[..., Application]
) -> None:
    application = accept(personas.nanchang_clerk, person)
    assert application.status == Status.PENDING_REVIEW and not OutboundMessage.objects.exists()


def test_a_peer_added_or_renamed_names_its_external_unit(ours: SM2KeyPair) -> None:
    peer = peer_add(
        actor=None,
        prefix="45",
        name="广西壮族自治区",
        endpoint="http://127.0.0.1:9",
        public_key=sm2_generate().public,
    )
    assert Unit.objects.get(code="45").name == "广西壮族自治区"
    peer_update(actor=None, peer=peer, name="广西壮族自治区公安厅")
    assert Unit.objects.get(code="45").name == "广西壮族自治区公安厅"


# ---------------------------------------------------------------------------------------------
# Receiving: each kind calls its service for the sending province only


def test_a_received_application_is_linked_and_answered(
    received: Application, guangdong: Peer, guangdong_key: SM2KeyPair, ours: SM2KeyPair
) -> None:
    assert (received.exchange, received.remote_province, received.status) == (
        "in",
        "44",
        Status.PENDING_REVIEW,
    )
    row = InboundMessage.objects.get(kind="application.submitted")
    assert row.application_id == received.pk
    assert row.answer is not None and row.answer["answer"] == {
        "number": RECEIVED_NUMBER,
        "status": Status.PENDING_REVIEW,
    }
    assert received.events.get(action="remote_received").detail["source"]["peer"] == "44"


def test_a_number_of_another_province_or_a_stranger_s_application_is_refused(
    ours: SM2KeyPair,
    guangdong: Peer,
    guangdong_key: SM2KeyPair,
    person: Person,
    standard_photo: bytes,
    out_application: Application,
) -> None:
    body = remote_body(person, standard_photo, number="4501060012026120700001")
    receipt = receive(guangdong_key, ours, "application.submitted", body)
    assert (receipt.status, receipt.document["code"]) == (400, "bad_message")
    # 广西 decides an application that went to 广东: it knows of none.
    guangxi_key = sm2_generate()
    peer_add(
        actor=None, prefix="45", name="广西", endpoint="http://127.0.0.1:9", public_key=guangxi_key.public
    )
    decision = {
        "number": out_application.number,
        "issued": True,
        "unit_name": "南宁市公安局",
        "decided_at": timezone.now().isoformat(),
        "issuing_authority": "南宁市公安局",
        "validity": "20",
        "valid_from": timezone.localdate().isoformat(),
        "valid_until": None,
        "refusal_code": "",
        "refusal_text": "",
    }
    built = protocol.envelope_build(
        kind="application.decided",
        sender="45",
        receiver="36",
        body=decision,
        key=guangxi_key,
        receiver_public=ours.public,
    )
    receipt = message_receive(raw(built))
    assert (receipt.status, receipt.document["code"]) == (404, "not_found")
    out_application.refresh_from_db()
    assert out_application.status == Status.PENDING_REVIEW
    # 广东's decision is taken; its answer names the application's new status.
    receipt = receive(guangdong_key, ours, "application.decided", {**decision, "unit_name": "广州市公安局"})
    assert receipt.status == 200 and receipt.document["answer"]["status"] == Status.ISSUED
    out_application.refresh_from_db()
    assert (out_application.status, out_application.issuing_authority) == (Status.ISSUED, "南宁市公安局")
    assert not sent("application.decided") and not sent("application.progress")  # never echoed


def test_our_decision_goes_back_and_their_progress_moves_our_copy(
    received: Application, household_reviewer: Any, guangdong_key: SM2KeyPair, ours: SM2KeyPair
) -> None:
    review.review_approve(actor=household_reviewer, application=received, step=1)
    (message,) = sent("application.decided")
    assert message.application_id == received.pk and message.created_by == household_reviewer
    progress = {
        "number": RECEIVED_NUMBER,
        "stage": "produced",
        "at": timezone.now().isoformat(),
        "card_serial": "C0001",
    }
    receipt = receive(guangdong_key, ours, "application.progress", progress)
    assert receipt.status == 200 and receipt.document["answer"]["status"] == Status.PRODUCED
    receipt = receive(guangdong_key, ours, "application.progress", {**progress, "stage": "handed_over"})
    assert receipt.document["answer"]["status"] == Status.HANDED_OVER
    assert received.person.cards.get(card_serial="C0001").state == "active"
    assert len(sent("application.decided")) == 1 and not sent("application.progress")
    receipt = receive(
        guangdong_key,
        ours,
        "application.withdrawn",
        {"number": RECEIVED_NUMBER, "withdrawn_at": timezone.now().isoformat(), "reason": "晚了"},
    )
    assert (receipt.status, receipt.document["code"]) == (409, "not_withdrawable")


def test_our_production_of_a_guest_s_card_goes_back_as_progress(
    personas: Personas, out_application: Application, centre_keys: dict[str, Any]
) -> None:
    decided = RemoteDecision(
        number=str(out_application.number),
        issued=True,
        unit_name="广州市公安局越秀分局",
        decided_at=timezone.now(),
        issuing_authority="广州市公安局越秀分局",
        validity="20",
        valid_from=timezone.localdate(),
        valid_until=timezone.localdate() + datetime.timedelta(days=7305),
    )
    remote_decision_apply(application=out_application, decision=decided, source={"peer": "44"})
    operator = personas.centre_operator
    centre = Unit.objects.get(code="360000901")
    batch = production.batch_create(actor=operator, centre=centre)
    batch = production.batch_package(actor=operator, batch=batch)
    assert sent("application.progress") == []  # batched: nothing the household province follows
    production.feedback_apply(
        actor=operator,
        centre=centre,
        lines=[FeedbackLine(1, batch.number, str(out_application.number), "produced", "JX0001")],
        source="api",
    )
    (message,) = sent("application.progress")
    body = json.loads(message.envelope)["body"]
    assert body == {**body, "number": out_application.number, "stage": "produced", "card_serial": "JX0001"}
    assert message.created_by == operator and message.application_id == out_application.pk
