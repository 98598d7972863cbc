"""跨省通办 end to end between two provinces' systems on loopback (docs/exchange.md "Applications"):
江西 (36, the demo) accepts applications of 林嘉怡, a resident of 广东 (44, `tongban demo province
44`), through the HTTP API; `tongban exchange deliver` carries each side's messages. The first is
refused in 广东 and comes back to 江西's counter as 不予签发 with 广东's reason; the second is issued
in 广东, made, shipped and handed over in 江西, and 广东's copy ends 已领取 with the card in its
register."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from django_otp.oath import totp

from tongban.demo.seed import DEMO_PASSWORD, DEMO_TOTP_KEY_HEX
from tongban.exchange.tests.test_two_instances import START, Side, run
from tongban.testing.processes import WebServer, free_port

FINGERS = [
    {"position": position, "result": "not_registered", "reason": "手指受伤"}
    for position in ("11", "16", "12", "17", "13", "18", "14", "19", "15", "20")
]


class Api:
    """One account's token client of one side's HTTP API."""

    def __init__(self, side: Side, username: str) -> None:
        self.url = side.url + "/api/v1"
        self.token = ""
        body: dict[str, str] = {"username": username, "password": DEMO_PASSWORD}
        status, answer = self.call("POST", "/auth/token", body)
        if status == 401 and answer.get("code") == "second_factor_required":
            body["otp"] = f"{totp(bytes.fromhex(DEMO_TOTP_KEY_HEX)):06d}"
            status, answer = self.call("POST", "/auth/token", body)
        assert status == 200, (username, answer)
        self.token = answer["token"]

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Token " + self.token
        request = urllib.request.Request(  # noqa: S310 (our own server on loopback)
            self.url + path,
            data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, answer = self.call(method, path, body)
        assert got == status, (method, path, got, answer)
        return answer


def row(database: Path, sql: str, *args: str) -> tuple[Any, ...]:
    with sqlite3.connect(database) as db:
        found = db.execute(sql, args).fetchone()
    assert found is not None, sql
    return tuple(found)


def deliver(side: Side, log: Path) -> None:
    code, output = run(["exchange", "deliver"], side.env, log)
    assert code == 0, output
    with sqlite3.connect(side.db) as db:
        left = db.execute(
            "SELECT kind, status, last_code, last_error FROM exchange_outboundmessage"
            " WHERE status != 'delivered'"
        ).fetchall()
    assert left == [], left


def test_an_application_goes_to_the_household_province_and_its_card_comes_home(tmp_path: Path) -> None:
    a = Side(tmp_path / "a", free_port(), "36", "江西省")
    b = Side(tmp_path / "b", free_port(), "44", "广东省")
    a.folder.mkdir()
    b.folder.mkdir()
    log = tmp_path / "commands.log"
    code, output = run(["migrate", "-v0"], a.env, log)
    assert code == 0, output
    shutil.copy(a.db, b.db)
    code, output = run(["demo", "seed", "--people", "0", "--applications", "0"], a.env, log)
    assert code == 0, output
    code, output = run(["demo", "province", "44"], b.env, log)
    assert code == 0, output
    resident = json.loads(output)["resident"]
    code, output = run(["demo", "photo", str(tmp_path / "photo.jpg")], a.env, log)
    assert code == 0, output
    photo = base64.b64encode((tmp_path / "photo.jpg").read_bytes()).decode()
    keys = {}
    for side in (a, b):
        code, output = run(["exchange", "key"], side.env, log)
        assert code == 0, output
        keys[side.code] = json.loads(output.split("-----BEGIN")[0])["public_key"]
    for side, other in ((a, b), (b, a)):
        code, output = run(
            ["exchange", "peer", "add", "--prefix", other.code, "--name", other.name,
             "--endpoint", other.url, "--public-key", keys[other.code]],
            side.env,
            log,
        )  # fmt: skip
        assert code == 0, output

    servers = [WebServer(side.env, side.folder / "web.log", port=side.port) for side in (a, b)]
    try:
        deadline = time.monotonic() + START
        for server in servers:
            while not server.ready():
                assert server.alive(), server.output()
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)
        clerk, reviewer = Api(a, "clerk"), Api(b, "reviewer_44")

        # 江西's counter registers the guest (the peer made 广东's unit) and accepts.
        guest = clerk.ok(
            "POST",
            "/people/guests",
            {
                "id_number": resident,
                "name": "林嘉怡",
                "sex": "2",
                "ethnicity": "01",
                "birth_date": "1995-08-16",
                "address": "广东省广州市越秀区人民路1号",
                "region_code": resident[:6],
            },
            201,
        )
        assert guest["registration_unit"]["code"] == "44"
        application = {
            "id_number": resident,
            "type": "first",
            "reason": "12",
            "phone": "13807910001",
            "photo": photo,
            "fingers": FINGERS,
            "materials_shown": ["household_book", "residence_proof"],
            "pledge_signed": True,
        }

        # The first: refused in 广东, 不予签发 at 江西's counter with 广东's reason.
        refused = clerk.ok("POST", "/applications", application, 201)["number"]
        deliver(a, log)
        queue = reviewer.ok("GET", "/review/queue")
        (item,) = [item for item in queue["results"] if item["number"] == refused]
        assert (item["exchange"], item["remote_province"]) == ("in", "36"), item
        reviewer.ok("POST", f"/applications/{refused}/review/take")
        decision = {"step": 1, "decision": "refuse", "refusal_reason": "99", "reason": "人像比对不一致"}
        reviewer.ok("POST", f"/applications/{refused}/review/decide", decision)
        deliver(b, log)
        answer = clerk.ok("GET", f"/applications/{refused}")
        assert answer["status"] == "rejected" and "人像比对不一致" in json.dumps(answer, ensure_ascii=False)

        # The second: issued in 广东, made and handed over in 江西, the card in 广东's register.
        number = clerk.ok("POST", "/applications", application, 201)["number"]
        deliver(a, log)
        reviewer.ok("POST", f"/applications/{number}/review/take")
        decision = {"step": 1, "decision": "issue", "reason": "信息核对无误"}
        issued = reviewer.ok("POST", f"/applications/{number}/review/decide", decision)
        assert issued["status"] == "issued"
        authority = row(b.db, "SELECT issuing_authority FROM intake_application WHERE number = ?", number)[0]
        assert authority.startswith("广州市公安局")
        deliver(b, log)
        answer = clerk.ok("GET", f"/applications/{number}")
        assert answer["status"] == "issued" and authority in json.dumps(answer, ensure_ascii=False)

        centre = Api(a, "centre_operator")
        queue = centre.ok("GET", "/production/queue")
        assert {"code": "360102001", "count": 1} in [
            {"code": u["code"], "count": u["count"]} for u in queue["units"]
        ]
        batch = centre.ok("POST", "/production/batches", {"acceptance_unit": "360102001"}, 201)
        assert [item["number"] for item in batch["items"]] == [number]
        centre.ok("POST", f"/production/batches/{batch['id']}/package")
        serial = "JX2026000777"
        line = {
            "batch": batch["number"],
            "number": number,
            "result": "produced",
            "card_serial": serial,
        }
        report = centre.ok("POST", "/production/feedback", {"lines": [line]})
        assert report["counts"]["applied"] == 1, report
        shipments = centre.ok("POST", "/shipments", {"applications": [number]}, 201)
        (shipment,) = shipments["results"] if isinstance(shipments, dict) else shipments
        county = Api(a, "distributor_donghu")
        county.ok("POST", f"/shipments/{shipment['id']}/receive", {})
        forwarded = county.ok("POST", "/shipments/forward", {}, 201)
        (onward,) = forwarded["results"] if isinstance(forwarded, dict) else forwarded
        station = Api(a, "distributor")
        station.ok("POST", f"/shipments/{onward['id']}/receive", {})
        handed = station.ok(
            "POST", f"/applications/{number}/handover", {"way": "in_person", "paper_signed": True}, 201
        )
        assert handed["application"]["status"] == "handed_over"
        deliver(a, log)

        assert row(b.db, "SELECT status FROM intake_application WHERE number = ?", number) == ("handed_over",)
        card = row(
            b.db,
            "SELECT c.state, c.issuing_authority FROM registry_card c JOIN registry_person p"
            " ON p.id = c.person_id WHERE c.card_serial = ? AND p.id_number = ?",
            serial,
            resident,
        )
        assert card == ("active", authority)
    finally:
        for server in servers:
            server.stop()
