"""跨省通办 end to end between two provinces' systems on loopback (docs/exchange.md "Applications"):
江西 (36, the demo) accepts applications of 林嘉怡, a resident of 广东 (44, `tongban demo province
44`), through the HTTP API; `tongban exchange deliver` carries each side's messages. The first is
refused in 广东 and comes back to 江西's counter as 不予签发 with 广东's reason; the second is issued
in 广东, made, shipped and handed over in 江西, and 广东's copy ends 已领取 with the card in its
register. Before that, the link itself, as two operators set it up (docs/exchange.md "Key exchange"):
each told of the other with `tongban exchange peer add` (the hex key one way, the PEM the other),
each pinging the other, and forged messages refused and recorded.

One pair of servers for all of it: starting a system takes a good part of this test's time."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django_otp.oath import totp

from tongban.core.crypto import sm2_generate
from tongban.demo.seed import DEMO_PASSWORD, DEMO_TOTP_KEY_HEX
from tongban.exchange import protocol
from tongban.testing.processes import Command, WebServer, free_port

START = 90  # seconds for a server to come up on a busy machine


def run(args: list[str], env: dict[str, str], log: Path) -> tuple[int, str]:
    command = Command(args, env, log)
    code = command.process.wait(timeout=300)
    return code, command.output()


def post(url: str, document: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(  # noqa: S310 (our own server on loopback)
        url + "/api/v1/exchange/messages",
        data=json.dumps(document, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def inbound(database: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT sender, kind, outcome, code FROM exchange_inboundmessage ORDER BY id"
        ).fetchall()
    return [tuple(row) for row in rows]


@dataclass(frozen=True)
class Side:
    """One province's deployment: its folder (database, keys, queue), port and environment."""

    folder: Path
    port: int
    code: str
    name: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.folder / "db.sqlite3"

    @property
    def env(self) -> dict[str, str]:
        return {
            "TONGBAN_DATABASE_URL": f"sqlite:///{self.db}",
            "TONGBAN_KEYS_DIR": str(self.folder / "keys"),
            "TONGBAN_KEYS_PASSPHRASE": f"口令-{self.code}",
            "TONGBAN_JOBS_QUEUE_FILE": str(self.folder / "queue.sqlite3"),
            "TONGBAN_REDIS_URL": "",
            "TONGBAN_PROVINCE_CODE": self.code,
            "TONGBAN_PROVINCE_NAME": self.name,
        }


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
    pem = tmp_path / "jiangxi.pem"  # 江西's operator sends the PEM; 广东's the hex
    for side in (a, b):
        code, output = run(["exchange", "key"], side.env, log)
        assert code == 0, output
        keys[side.code] = json.loads(output.split("-----BEGIN")[0])
        if side is a:
            pem.write_text("-----BEGIN" + output.split("-----BEGIN", 1)[1])
    assert keys["36"]["public_key"] != keys["44"]["public_key"]
    for side, other, key in ((a, b, keys["44"]["public_key"]), (b, a, str(pem))):
        code, output = run(
            ["exchange", "peer", "add", "--prefix", other.code, "--name", other.name,
             "--endpoint", other.url, "--public-key", key],
            side.env,
            log,
        )  # fmt: skip
        assert code == 0, output
        # What the operators compare by phone.
        assert json.loads(output)["fingerprint"] == keys[other.code]["fingerprint"]

    servers = [WebServer(side.env, side.folder / "web.log", port=side.port) for side in (a, b)]
    try:
        deadline = time.monotonic() + START
        for server in servers:
            while not server.ready():
                assert server.alive(), server.output()
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)

        # The link: each pings the other; a message signed by a third key, and one from a province
        # not in the directory, are refused and kept on 广东's list.
        code, output = run(["exchange", "ping", "44"], a.env, log)
        assert code == 0, output
        result = json.loads(output)
        assert result["status"] == "delivered" and result["answer"]["name"] == "广东省"
        code, output = run(["exchange", "ping", "36"], b.env, log)
        assert code == 0, output
        assert json.loads(output)["answer"]["name"] == "江西省"
        third = sm2_generate()
        for sender, expected in (("36", (400, "bad_signature")), ("45", (403, "unknown_sender"))):
            forged = protocol.envelope_build(
                kind=protocol.PING,
                sender=sender,
                receiver="44",
                body={},
                key=third,
                receiver_public=keys["44"]["public_key"],
            )
            status, answer = post(b.url, forged)
            assert (status, answer["code"]) == expected, answer
        assert inbound(b.db) == [
            ("36", protocol.PING, "accepted", ""),
            ("36", protocol.PING, "refused", "bad_signature"),
            ("45", protocol.PING, "refused", "unknown_sender"),
        ]
        assert inbound(a.db) == [("44", protocol.PING, "accepted", "")]

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
