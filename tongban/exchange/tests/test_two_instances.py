"""Two provinces' systems on loopback, as two operators set them up (docs/exchange.md "Key
exchange"): each its own database and keys folder, each told of the other with `tongban exchange
peer add`; `tongban exchange ping` from 江西 (36) is answered by 广东 (44) and recorded there, and
the other way round; a message signed by a third key is refused and kept on 广东's list."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tongban.core.crypto import sm2_generate
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


def test_two_provinces_ping_each_other_and_refuse_a_forgery(tmp_path: Path) -> None:
    a = Side(tmp_path / "a", free_port(), "36", "江西省")
    b = Side(tmp_path / "b", free_port(), "44", "广东省")
    a.folder.mkdir()
    b.folder.mkdir()
    log = tmp_path / "commands.log"
    code, output = run(["migrate", "-v0"], a.env, log)
    assert code == 0, output
    shutil.copy(a.db, b.db)  # the same empty schema; each its own rows from here on

    keys = {}
    for side in (a, b):
        code, output = run(["exchange", "key"], side.env, log)
        assert code == 0, output
        keys[side.code] = json.loads(output.split("-----BEGIN")[0])
        assert "BEGIN PUBLIC KEY" in output
    assert keys["36"]["public_key"] != keys["44"]["public_key"]
    pem = tmp_path / "jiangxi.pem"  # 江西's operator sends the PEM; 广东's the hex
    pem.write_text("-----BEGIN" + run(["exchange", "key"], a.env, log)[1].split("-----BEGIN")[1])
    for side, other, key in ((a, b, keys["44"]["public_key"]), (b, a, str(pem))):
        code, output = run(
            ["exchange", "peer", "add", "--prefix", other.code, "--name", other.name,
             "--endpoint", other.url, "--public-key", key],
            side.env,
            log,
        )  # fmt: skip
        assert code == 0, output
        added = json.loads(output)
        assert added["fingerprint"] == keys[other.code]["fingerprint"]  # what the operators compare by phone

    servers = [WebServer(side.env, side.folder / "web.log", port=side.port) for side in (a, b)]
    try:
        deadline = time.monotonic() + START
        for server in servers:
            while not server.ready():
                assert server.alive(), server.output()
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)

        code, output = run(["exchange", "ping", "44"], a.env, log)
        assert code == 0, output
        result = json.loads(output)
        assert result["status"] == "delivered" and result["answer"]["name"] == "广东省"
        assert inbound(b.db) == [("36", protocol.PING, "accepted", "")]

        code, output = run(["exchange", "ping", "36"], b.env, log)
        assert code == 0, output
        assert json.loads(output)["answer"]["name"] == "江西省"

        third = sm2_generate()
        forged = protocol.envelope_build(
            kind=protocol.PING,
            sender="36",
            receiver="44",
            body={"note": "伪造"},
            key=third,
            receiver_public=keys["44"]["public_key"],
        )
        status, answer = post(b.url, forged)
        assert (status, answer["code"]) == (400, "bad_signature"), answer
        stranger = protocol.envelope_build(
            kind=protocol.PING,
            sender="45",
            receiver="44",
            body={},
            key=third,
            receiver_public=keys["44"]["public_key"],
        )
        status, answer = post(b.url, stranger)
        assert (status, answer["code"]) == (403, "unknown_sender"), answer
        assert inbound(b.db)[1:] == [
            ("36", protocol.PING, "refused", "bad_signature"),
            ("45", protocol.PING, "refused", "unknown_sender"),
        ]
        # The replies of 广东's ping reached 江西 (and only it).
        assert inbound(a.db) == [("44", protocol.PING, "accepted", "")]
    finally:
        for server in servers:
            server.stop()
