"""Distribution and handover through the API: the three handover ways end to end, the county
route with its quality check, missing and damaged cards at receipt, old cards on 换领 and 补领,
overdue verifications, and every persona against every endpoint."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.cardloss.services import loss_report, loss_restore
from tongban.handover.models import DistributionRule, Handover, Shipment, Verification
from tongban.intake.models import Application, ApplicationEvent
from tongban.intake.rules import ApplicationType
from tongban.intake.tests.test_api import NO_FINGERS, accept_by_api, b64
from tongban.notifications import services as notifications
from tongban.registry.calendar import post_verification_deadline
from tongban.registry.models import Card, Person
from tongban.review.services import review_approve
from tongban.testing.factories import CardFactory, PersonFactory, UserFactory, station
from tongban.testing.personas import Personas, api_client

pytestmark = pytest.mark.django_db
Status = Application.Status


def png() -> str:
    out = io.BytesIO()
    Image.new("L", (120, 40), 255).save(out, "PNG")
    return b64(out.getvalue())


def ship(personas: Personas, *numbers: str, **tracking: str) -> list[dict[str, Any]]:
    response = api_client(personas.centre_operator).post(
        "/api/v1/shipments", {"applications": list(numbers), "tracking_numbers": tracking}, format="json"
    )
    assert response.status_code == 201, response.json()
    body: list[dict[str, Any]] = response.json()
    return body


def receive(user: User, shipment: int, **body: Any) -> Any:
    return api_client(user).post(f"/api/v1/shipments/{shipment}/receive", body, format="json")


def hand_over(user: User, number: str, **body: Any) -> Any:
    return api_client(user).post(f"/api/v1/applications/{number}/handover", body, format="json")


def verify(user: User, number: str, **body: Any) -> Any:
    return api_client(user).post(f"/api/v1/applications/{number}/verification", body, format="json")


def at_site(personas: Personas, application: Application) -> None:
    (shipment,) = ship(personas, application.number or "")
    assert receive(personas.nanchang_distributor, shipment["id"]).status_code == 200


def actions(number: str) -> list[str]:
    return list(ApplicationEvent.objects.filter(application__number=number).values_list("action", flat=True))


# ---------------------------------------------------------------------------------------------
# In person


def test_in_person_handover_compares_the_fingerprint(
    personas: Personas,
    person: Person,
    prints: dict[str, bytes],
    produce: Callable[[Application], Application],
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    fingers = [{"position": "11", "result": "registered", "image": b64(prints["p1_1"])}, *NO_FINGERS[5:]]
    body = accept_by_api(api_client(personas.nanchang_clerk), person, fingers=fingers)
    application = produce(Application.objects.get(number=body["number"]))
    number = application.number or ""

    with django_capture_on_commit_callbacks(execute=True):
        (shipment,) = ship(personas, number)
    assert (shipment["method"], shipment["destination"]["code"], shipment["origin"]["code"]) == (
        "unit",
        "360102001",
        "360000901",
    )
    assert Application.objects.get(pk=application.pk).status == Status.SHIPPED
    assert ("shipment.sent", "360102001") in {(n.kind, n.unit_code) for n in outbox}
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        received = receive(personas.nanchang_distributor, shipment["id"], note="完好")
    assert received.status_code == 200 and received.json()["state"] == "received"
    assert received.json()["items"][0]["status"] == "at_site"
    assert [(n.kind, n.phone) for n in outbox] == [("card.ready", "13807910001")]
    assert "领证回执" in outbox[0].message and number in outbox[0].message
    ready = api_client(personas.nanchang_distributor).get("/api/v1/handover/ready").json()["results"]
    assert [row["number"] for row in ready] == [number] and "*" in ready[0]["id_number"]

    # Another finger: refused, the attempt recorded, nothing else changed.
    other = {"position": "11", "image": b64(prints["p2_1"])}
    refused = hand_over(personas.nanchang_distributor, number, way="in_person", finger=other, signature=png())
    assert refused.status_code == 409 and refused.json()["code"] == "finger_mismatch"
    assert refused.json()["fields"]["finger"][0]["code"] == "finger_mismatch"
    assert Application.objects.get(pk=application.pk).status == Status.AT_SITE
    assert actions(number)[-1] == "finger_mismatch" and not Handover.objects.exists()
    no_finger = hand_over(personas.nanchang_distributor, number, way="in_person", paper_signed=True)
    assert no_finger.status_code == 400 and no_finger.json()["code"] == "finger_required"
    unsigned = hand_over(personas.nanchang_distributor, number, way="in_person", finger=other)
    assert unsigned.status_code == 400 and unsigned.json()["code"] == "signature_required"

    same = {"position": "11", "image": b64(prints["p1_2"])}
    done = hand_over(personas.nanchang_distributor, number, way="in_person", finger=same, signature=png())
    assert done.status_code == 201, done.json()
    result = done.json()
    assert (result["way"], result["finger_check"], result["finger_position"]) == (
        "in_person",
        "matched",
        "11",
    )
    assert result["signature_captured"] is True and "signature" not in result
    assert result["application"]["status"] == "handed_over" and result["due"] is None
    assert Card.objects.get(application_number=number).state == Card.State.ACTIVE
    handover = Handover.objects.get(application=application)
    assert bytes(handover.signature or b"").startswith(b"\x89PNG")
    assert actions(number)[-1] == "handed_over"
    again = hand_over(personas.nanchang_distributor, number, way="in_person", finger=same, signature=png())
    assert again.status_code == 409


def test_a_failed_comparison_may_be_overridden_with_a_reason(
    personas: Personas,
    person: Person,
    prints: dict[str, bytes],
    produce: Callable[[Application], Application],
) -> None:
    fingers = [{"position": "11", "result": "registered", "image": b64(prints["p1_1"])}, *NO_FINGERS[5:]]
    application = produce(
        Application.objects.get(
            number=accept_by_api(api_client(personas.nanchang_clerk), person, fingers=fingers)["number"]
        )
    )
    at_site(personas, application)
    other = {"image": b64(prints["p2_1"])}
    response = hand_over(
        personas.nanchang_distributor,
        application.number or "",
        way="in_person",
        finger=other,
        paper_signed=True,
        override_reason="指纹磨损，经人像及户口簿核对确属本人",
    )
    assert response.status_code == 201
    assert response.json()["finger_check"] == "overridden"
    assert "人工核对放行" in response.json()["finger_note"]


def test_without_registered_fingers_the_comparison_is_recorded_as_not_possible(
    personas: Personas, produced: Application
) -> None:
    at_site(personas, produced)
    response = hand_over(
        personas.nanchang_distributor, produced.number or "", way="in_person", paper_signed=True
    )
    assert response.status_code == 201
    body = response.json()
    assert body["finger_check"] == "not_possible" and "未注册" in body["finger_note"]
    assert body["paper_signed"] is True and body["signature_captured"] is False
    bad = Application.objects.get(pk=produced.pk)
    assert bad.status == Status.HANDED_OVER and bad.closed_at is not None


@pytest.mark.parametrize(
    ("kind", "reason", "old_state"),
    [
        (ApplicationType.RENEWAL, "21", Card.State.SUPERSEDED),
        (ApplicationType.REPLACEMENT, "31", Card.State.LOST),
    ],
)
def test_the_old_card_is_invalidated_when_the_new_one_is_handed_over(
    personas: Personas,
    accept: Callable[..., Application],
    produce: Callable[[Application], Application],
    kind: ApplicationType,
    reason: str,
    old_state: str,
) -> None:
    person = PersonFactory.create()
    old = CardFactory.create(person=person, state=Card.State.ACTIVE)
    application = produce(accept(personas.nanchang_clerk, person, kind, reason))
    at_site(personas, application)
    response = hand_over(
        personas.nanchang_distributor, application.number or "", way="in_person", paper_signed=True
    )
    assert response.status_code == 201
    old.refresh_from_db()
    assert old.state == old_state
    assert list(
        Card.objects.filter(person=person, state="active").values_list("application_number", flat=True)
    ) == [application.number]


# ---------------------------------------------------------------------------------------------
# By a relative, then the applicant's verification


def test_proxy_handover_then_verification(
    personas: Personas,
    produced: Application,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    at_site(personas, produced)
    number = produced.number or ""
    distributor = personas.nanchang_distributor
    bad = hand_over(
        distributor, number, way="proxy", relative_name="", relative_id_number="123", paper_signed=True
    )
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"relative_name", "relative_id_number"}
    itself = hand_over(
        distributor,
        number,
        way="proxy",
        relative_name="本人",
        relative_id_number=produced.id_number,
        paper_signed=True,
    )
    assert itself.status_code == 400 and "relative_id_number" in itself.json()["fields"]
    relative = PersonFactory.build(birth_date=datetime.date(1965, 3, 3))
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = hand_over(
            distributor,
            number,
            way="proxy",
            relative_name="刘建国",
            relative_id_number=relative.id_number,
            signature=png(),
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    due = post_verification_deadline(timezone.now()).due
    assert (body["way"], body["finger_check"], body["relative_name"]) == ("proxy", "not_applicable", "刘建国")
    assert body["due"] == due.isoformat() and body["application"]["status"] == "pending_verification"
    assert Card.objects.get(application_number=number).state == Card.State.ACTIVE
    assert [n.kind for n in outbox] == ["verification.due"] and due.strftime("%Y-%m-%d") in outbox[0].message

    listed = api_client(distributor).get("/api/v1/verifications").json()
    assert [row["number"] for row in listed["results"]] == [number]
    assert listed["results"][0]["overdue"] is False and listed["counts"] == {"due": 1, "overdue": 0}
    unchecked = verify(distributor, number, card_checked=False)
    assert unchecked.status_code == 400 and unchecked.json()["code"] == "card_not_checked"
    done = verify(distributor, number, card_checked=True)
    assert done.status_code == 200, done.json()
    assert (
        done.json()["status"] == "verified" and done.json()["verification"]["finger_check"] == "not_possible"
    )
    assert api_client(distributor).get("/api/v1/verifications").json()["results"] == []
    finished = api_client(distributor).get("/api/v1/verifications?view=done").json()["results"]
    assert [row["number"] for row in finished] == [number]
    assert verify(distributor, number, card_checked=True).status_code == 409


def test_a_card_reported_lost_after_a_proxy_handover_is_not_verified(
    personas: Personas, produced: Application
) -> None:
    """挂失申报 between the proxy handover and the applicant's verification: 409 card_lost, until the
    loss is restored (撤销挂失)."""
    at_site(personas, produced)
    number = produced.number or ""
    distributor = personas.nanchang_distributor
    relative = PersonFactory.build(birth_date=datetime.date(1965, 3, 3))
    handed = hand_over(
        distributor,
        number,
        way="proxy",
        relative_name="刘建国",
        relative_id_number=relative.id_number,
        paper_signed=True,
    )
    assert handed.status_code == 201, handed.json()
    report = loss_report(
        actor=personas.ganzhou_clerk, person=produced.person, channel="in_person", phone="13907910000"
    )
    refused = verify(distributor, number, card_checked=True)
    assert (refused.status_code, refused.json()["code"]) == (409, "card_lost")
    loss_restore(actor=personas.ganzhou_clerk, report=report, reason="证件在亲属处，误报")
    assert verify(distributor, number, card_checked=True).status_code == 200


def test_overdue_verifications_are_listed_apart(
    personas: Personas,
    produced: Application,
    accept: Callable[..., Application],
    produce: Callable[..., Application],
) -> None:
    second = produce(accept(personas.nanchang_clerk, PersonFactory.create()))
    relative = PersonFactory.build(birth_date=datetime.date(1960, 1, 1)).id_number
    for application in (produced, second):
        at_site(personas, application)
        response = hand_over(
            personas.nanchang_distributor,
            application.number or "",
            way="proxy",
            relative_name="代领人",
            relative_id_number=relative,
            paper_signed=True,
        )
        assert response.status_code == 201
    Verification.objects.filter(application=produced).update(
        due=timezone.localdate() - datetime.timedelta(days=1)
    )
    api = api_client(personas.nanchang_distributor)
    overdue = api.get("/api/v1/verifications?view=overdue").json()
    assert [row["number"] for row in overdue["results"]] == [produced.number]
    assert overdue["results"][0]["overdue"] is True and overdue["counts"] == {"due": 1, "overdue": 1}
    assert [row["number"] for row in api.get("/api/v1/verifications").json()["results"]] == [second.number]
    # Late is still possible, and recorded as late.
    late = verify(personas.nanchang_distributor, produced.number or "", card_checked=True)
    assert late.status_code == 200
    assert (
        ApplicationEvent.objects.filter(application=produced, action="verified").get().detail["overdue"]
        is True
    )
    bad = api_client(personas.nanchang_distributor).get("/api/v1/verifications?after=yesterday")
    assert bad.status_code == 400


# ---------------------------------------------------------------------------------------------
# By post


def test_postal_delivery_then_verification_at_the_household_police(
    personas: Personas,
    accept: Callable[..., Application],
    produce_issued: Callable[[Application], Application],
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    person = PersonFactory.create(registration_unit=station("360102002"))
    reviewer = UserFactory.create(username="chengdong_reviewer", role="reviewer", unit=station("360102002"))
    application = accept(
        personas.nanchang_clerk,
        person,
        collection="post",
        postal_recipient="刘晓燕",
        postal_phone="13800138001",
        postal_address="江西省南昌市东湖区八一大道1号",
    )
    review_approve(actor=reviewer, application=application, step=1)
    application = produce_issued(application)
    number = application.number or ""
    missing = api_client(personas.centre_operator).post(
        "/api/v1/shipments", {"applications": [number]}, format="json"
    )
    assert missing.status_code == 409 and f"tracking_numbers.{number}" in missing.json()["fields"]
    with django_capture_on_commit_callbacks(execute=True):
        (shipment,) = ship(personas, number, **{number: "EMS1234567890CN"})
    assert shipment["method"] == "post" and shipment["destination"] is None
    assert shipment["items"][0]["tracking_number"] == "EMS1234567890CN"
    assert any(n.kind == "card.posted" and "EMS1234567890CN" in n.message for n in outbox)
    # The station does not receive postal items; a stranger's tracking number is not found.
    assert receive(personas.nanchang_distributor, shipment["id"]).status_code == 404
    unknown = api_client(personas.centre_operator).post(
        "/api/v1/shipments/postal/delivered", {"tracking_number": "EMS0"}, format="json"
    )
    assert unknown.status_code == 404
    delivered = api_client(personas.centre_operator).post(
        "/api/v1/shipments/postal/delivered", {"tracking_number": "EMS1234567890CN"}, format="json"
    )
    assert delivered.status_code == 200 and delivered.json()["status"] == "pending_verification"
    assert Shipment.objects.get(pk=shipment["id"]).state == Shipment.State.DELIVERED
    assert Card.objects.get(application_number=number).state == Card.State.ACTIVE
    handover = Handover.objects.get(application__number=number)
    assert (handover.way, handover.tracking_number) == ("post", "EMS1234567890CN")
    again = api_client(personas.centre_operator).post(
        "/api/v1/shipments/postal/delivered", {"tracking_number": "EMS1234567890CN"}, format="json"
    )
    assert again.status_code == 409
    # The household police (东湖区城东派出所) verifies; the acceptance station could too.
    household = UserFactory.create(
        username="chengdong_distributor", role="distributor", unit=station("360102002")
    )
    rows = api_client(household).get("/api/v1/verifications").json()["results"]
    assert [row["number"] for row in rows] == [number]
    assert verify(household, number, card_checked=True).json()["status"] == "verified"


def test_county_route_quality_check_and_forward(
    personas: Personas,
    produced: Application,
    accept: Callable[..., Application],
    produce: Callable[[Application], Application],
) -> None:
    DistributionRule.objects.create(region_prefix="360102", route="county", note="集中换发")
    second = produce(accept(personas.nanchang_clerk, PersonFactory.create()))
    (shipment,) = ship(personas, produced.number or "", second.number or "")
    assert (shipment["method"], shipment["destination"]["code"]) == ("county", "360102")
    county = UserFactory.create(username="donghu_distributor", role="distributor", unit=station("360102"))
    # Only the destination signs for it.
    assert receive(personas.nanchang_distributor, shipment["id"]).status_code == 404
    checked = receive(county, shipment["id"], damaged=[second.number], notes={second.number: "芯片无法读取"})
    assert checked.status_code == 200
    outcomes = {item["number"]: (item["outcome"], item["status"]) for item in checked.json()["items"]}
    assert outcomes == {produced.number: ("received", "shipped"), second.number: ("damaged", "issued")}
    assert Card.objects.get(application_number=second.number).state == Card.State.CANCELLED
    reprint = ApplicationEvent.objects.get(application=second, action="reprint")
    assert "芯片无法读取" in reprint.note and reprint.to_status == "issued"

    forwarded = api_client(county).post("/api/v1/shipments/forward", {}, format="json")
    assert forwarded.status_code == 201
    (leg,) = forwarded.json()
    assert (leg["method"], leg["origin"]["code"], leg["destination"]["code"]) == (
        "unit",
        "360102",
        "360102001",
    )
    assert [item["number"] for item in leg["items"]] == [produced.number]
    assert actions(produced.number or "")[-1] == "forwarded"
    nothing = api_client(county).post("/api/v1/shipments/forward", {}, format="json")
    assert nothing.status_code == 409
    assert receive(personas.nanchang_distributor, leg["id"]).json()["items"][0]["status"] == "at_site"


def test_missing_and_damaged_cards_go_back_to_reprint(
    personas: Personas,
    produced: Application,
    accept: Callable[..., Application],
    produce: Callable[[Application], Application],
    produce_issued: Callable[[Application], Application],
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    second, third = (produce(accept(personas.nanchang_clerk, PersonFactory.create())) for _ in range(2))
    numbers = [produced.number or "", second.number or "", third.number or ""]
    (shipment,) = ship(personas, *numbers)
    distributor = personas.nanchang_distributor
    stranger = receive(distributor, shipment["id"], missing=["3601020012099010100001"])
    assert stranger.status_code == 400 and "missing" in stranger.json()["fields"]
    both = receive(distributor, shipment["id"], missing=[numbers[0]], damaged=[numbers[0]])
    assert both.status_code == 400 and "damaged" in both.json()["fields"]
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = receive(distributor, shipment["id"], missing=[numbers[1]], damaged=[numbers[2]])
    assert response.status_code == 200
    states = {number: Application.objects.get(number=number).status for number in numbers}
    assert states == {numbers[0]: "at_site", numbers[1]: "issued", numbers[2]: "issued"}
    assert {Card.objects.get(application_number=n).state for n in numbers[1:]} == {Card.State.CANCELLED}
    assert {(n.kind, n.unit_code) for n in outbox if n.kind == "card.reprint"} == {
        ("card.reprint", "360000901")
    }
    assert receive(distributor, shipment["id"]).status_code == 409  # signed for once
    # Reprinted and produced again, the card ships again.
    produce_issued(Application.objects.get(number=numbers[1]))
    (second_shipment,) = ship(personas, numbers[1])
    assert second_shipment["items"][0]["card_serial"]


def test_a_card_is_shipped_once_and_only_by_its_centre(personas: Personas, produced: Application) -> None:
    number = produced.number or ""
    ganzhou = UserFactory.create(username="ganzhou_centre", role="centre_operator", unit=station("360700901"))
    foreign = api_client(ganzhou).post("/api/v1/shipments", {"applications": [number]}, format="json")
    assert foreign.status_code == 404 and foreign.json()["code"] == "not_found"
    ship(personas, number)
    twice = api_client(personas.centre_operator).post(
        "/api/v1/shipments", {"applications": [number]}, format="json"
    )
    assert twice.status_code == 409 and twice.json()["code"] == "cannot_ship"
    empty = api_client(personas.centre_operator).post(
        "/api/v1/shipments", {"applications": []}, format="json"
    )
    assert empty.status_code == 400


# ---------------------------------------------------------------------------------------------
# Every persona against every endpoint


@pytest.mark.parametrize(
    "who",
    [
        "nanchang_clerk",
        "nanchang_reviewer",
        "nanchang_distributor",
        "ganzhou_clerk",
        "donghu_supervisor",
        "nanchang_supervisor",
        "province_supervisor",
        "centre_operator",
        "finance",
        "civil_affairs",
        "campaign_manager",
        "auditor",
        "admin",
    ],
)
def test_personas(personas: Personas, produced: Application, who: str) -> None:
    """A role without the action is refused (403 permission_denied), whatever the record; a
    record outside the caller's jurisdiction is 404; lists are the caller's jurisdiction."""
    (shipment,) = ship(personas, produced.number or "")
    user = personas.all()[who]
    number = produced.number or ""
    watches = user.can("shipment.view") or user.can("shipment.create")
    sees_shipment = who in {
        "nanchang_clerk",
        "nanchang_distributor",
        "donghu_supervisor",
        "nanchang_supervisor",
        "province_supervisor",
        "centre_operator",
    }
    receives = who in {"nanchang_clerk", "nanchang_distributor"}  # the destination station

    def denied(response: Any) -> bool:
        return response.status_code == 403 and response.json()["code"] == "permission_denied"

    listed = api_client(user).get("/api/v1/shipments")
    if watches:
        assert [row["id"] for row in listed.json()["results"]] == ([shipment["id"]] if sees_shipment else [])
        assert api_client(user).get(f"/api/v1/shipments/{shipment['id']}").status_code == (
            200 if sees_shipment else 404
        )
    else:
        assert denied(listed) and denied(api_client(user).get(f"/api/v1/shipments/{shipment['id']}"))
    creates = api_client(user).post("/api/v1/shipments", {"applications": [number]}, format="json")
    delivered = api_client(user).post(
        "/api/v1/shipments/postal/delivered", {"tracking_number": "EMS1"}, format="json"
    )
    if who == "centre_operator":
        assert creates.status_code == 409 and delivered.status_code == 404
    else:
        assert denied(creates) and denied(delivered)
    # Forwarding is a county bureau's: nobody here (a station's staff neither).
    assert denied(api_client(user).post("/api/v1/shipments/forward", {}, format="json"))
    received = receive(user, shipment["id"])
    if receives:
        assert received.status_code == 200
    elif user.can("shipment.receive") and not sees_shipment:
        assert received.status_code == 404  # another city's station
    else:
        assert denied(received)
    ready = api_client(user).get("/api/v1/handover/ready")
    handed = hand_over(user, number, way="in_person", paper_signed=True)
    verified = verify(user, number, card_checked=True)
    verifications = api_client(user).get("/api/v1/verifications")
    if receives:
        assert [row["number"] for row in ready.json()["results"]] == [number]
    elif user.can("handover.perform"):  # another city's station: nothing of ours
        assert ready.json()["results"] == [] and verifications.json()["results"] == []
        assert handed.status_code == 404 and verified.status_code == 404
    else:
        assert denied(ready) and denied(handed) and denied(verified) and denied(verifications)


def test_what_the_api_refuses(personas: Personas, produced: Application) -> None:
    operator = api_client(personas.centre_operator)
    number = produced.number or ""
    short = operator.post("/api/v1/shipments", {"applications": ["123"]}, format="json")
    assert short.status_code == 400 and "applications.0" in short.json()["fields"]
    form = operator.post("/api/v1/shipments", {"applications": [number]})
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    blank = operator.post("/api/v1/shipments/postal/delivered", {"tracking_number": "  "}, format="json")
    assert blank.status_code == 400 and "tracking_number" in blank.json()["fields"]
    unknown = operator.post("/api/v1/shipments/postal/delivered", {"tracking_number": "EMS9"}, format="json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    (shipment,) = ship(personas, number)
    # The centre sees the shipment it sent but does not sign for it.
    signed = receive(personas.centre_operator, shipment["id"])
    assert signed.status_code == 403 and signed.json()["code"] == "permission_denied"
    assert receive(personas.nanchang_distributor, shipment["id"]).status_code == 200
    again = receive(personas.nanchang_distributor, shipment["id"])
    assert again.status_code == 409 and again.json()["code"] == "already_received"
    forward = api_client(personas.nanchang_distributor).post(
        "/api/v1/shipments/forward", {"applications": []}, format="json"
    )
    assert forward.status_code == 400  # an empty selection: leave `applications` out for all
    station = api_client(personas.nanchang_distributor).post("/api/v1/shipments/forward", {}, format="json")
    assert station.status_code == 403 and station.json()["code"] == "permission_denied"
    unchecked = verify(personas.nanchang_distributor, number, card_checked=False)
    assert unchecked.status_code == 400 and unchecked.json()["code"] == "card_not_checked"


def test_an_empty_view_is_the_default(personas: Personas) -> None:
    api = api_client(personas.nanchang_distributor)
    assert api.get("/api/v1/shipments?view=").status_code == 200
    body = api.get("/api/v1/verifications?view=").json()
    assert body["view"] == "due"
    assert api.get("/api/v1/shipments?view=elsewhere").status_code == 400


def test_outsiders_of_another_city_get_404(personas: Personas, produced: Application) -> None:
    (shipment,) = ship(personas, produced.number or "")
    assert receive(personas.nanchang_distributor, shipment["id"]).status_code == 200
    ganzhou = UserFactory.create(
        username="ganzhou_distributor", role="distributor", unit=station("360702001")
    )
    number = produced.number or ""
    assert api_client(ganzhou).get(f"/api/v1/shipments/{shipment['id']}").status_code == 404
    assert hand_over(ganzhou, number, way="in_person", paper_signed=True).status_code == 404
    assert verify(ganzhou, number, card_checked=True).status_code == 404
    assert api_client(ganzhou).get("/api/v1/handover/ready").json()["results"] == []


def test_the_schema_lists_the_endpoints(personas: Personas) -> None:
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    paths = schema.json()["paths"] if schema.status_code == 200 else {}
    for path in (
        "/api/v1/shipments",
        "/api/v1/shipments/{id}/receive",
        "/api/v1/shipments/postal/delivered",
        "/api/v1/applications/{number}/handover",
        "/api/v1/applications/{number}/verification",
        "/api/v1/verifications",
    ):
        assert any(key.startswith(path.split("{")[0]) for key in paths), path
