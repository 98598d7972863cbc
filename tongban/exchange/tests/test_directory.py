"""The exchange key and the directory (交换目录): made and read as the other keys are, kept by the
provincial department's administrators only, from the page, the API and the command line."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tongban.audit.models import AuditEvent
from tongban.core.crypto import SM2KeyPair, sm2_generate, sm2_public_pem
from tongban.core.errors import ServiceError
from tongban.exchange import services
from tongban.exchange.models import InboundMessage, Peer
from tongban.exchange.tests.conftest import envelope, raw
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db


def test_the_key_is_made_on_first_use_and_encrypted_at_rest(production_dirs: None, settings: Any) -> None:
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_PASSPHRASE": "口令-测试"}
    pair = services.exchange_key()
    data = json.loads(services.exchange_key_path().read_text())
    assert data["kind"] == "tongban.exchange-key/1" and "private_key" not in data
    assert "sealed_private_key" in data and data["public_key"] == pair.public
    assert oct(services.exchange_key_path().stat().st_mode & 0o777) == "0o600"
    assert services.exchange_key() == pair  # read back, not made again
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_PASSPHRASE": "另一个口令"}
    with pytest.raises(ServiceError) as refused:
        services.exchange_key()
    assert refused.value.code == "bad_exchange_key"


def test_keygen_refuses_to_replace_a_key_without_force(ours: SM2KeyPair) -> None:
    with pytest.raises(ServiceError) as refused:
        services.exchange_key_generate()
    assert refused.value.code == "key_exists"
    assert services.exchange_key_generate(force=True) != ours
    assert AuditEvent.objects.filter(action="exchange.key_generated").count() == 2


def test_the_commands_print_the_key_and_add_a_peer_from_a_pem_file(ours: SM2KeyPair, tmp_path: Path) -> None:
    out = StringIO()
    call_command("exchange", "key", stdout=out)
    printed = out.getvalue()
    assert ours.public in printed and ours.fingerprint in printed and "BEGIN PUBLIC KEY" in printed
    theirs = sm2_generate()
    pem = tmp_path / "gd.pem"
    pem.write_text(sm2_public_pem(theirs.public))
    call_command(
        "exchange", "peer", "add", "--prefix", "44", "--name", "广东省", "--endpoint", "http://gd.example/",
        "--public-key", str(pem), stdout=StringIO(),
    )  # fmt: skip
    peer = Peer.objects.get()
    assert (peer.prefix, peer.endpoint, peer.public_key) == ("44", "http://gd.example", theirs.public)
    assert peer.fingerprint == theirs.fingerprint
    call_command("exchange", "peer", "suspend", "44", stdout=StringIO())
    assert not Peer.objects.get().active


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"prefix": "36"}, "invalid"),
        ({"prefix": "4"}, "invalid"),
        ({"endpoint": "gd.example"}, "invalid"),
        ({"public_key": "04" + "ab" * 64}, "invalid_public_key"),
        ({"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}, "invalid_public_key"),
        ({}, "peer_exists"),
    ],
)
def test_a_peer_is_checked_before_it_is_added(guangdong: Peer, fields: dict[str, str], code: str) -> None:
    values = {
        "prefix": "44",
        "name": "广东省",
        "endpoint": "http://gd.example",
        "public_key": sm2_generate().public,
    }
    with pytest.raises(ServiceError) as refused:
        services.peer_add(actor=None, **{**values, **fields})
    assert refused.value.code == code


def test_the_peer_of_an_id_number_is_the_active_one_of_its_region(guangdong: Peer) -> None:
    assert services.peer_for_id_number("440106199001011234") == guangdong
    assert services.peer_for_id_number("360102199001011234") is None
    services.peer_update(actor=None, peer=guangdong, active=False)
    assert services.peer_for_id_number("440106199001011234") is None


def test_only_the_province_s_administrators_keep_the_directory(ours: SM2KeyPair, personas: Personas) -> None:
    body = {
        "prefix": "44",
        "name": "广东省",
        "endpoint": "http://gd.example",
        "public_key": sm2_generate().public,
    }
    assert (
        api_client(personas.province_supervisor)
        .post("/api/v1/exchange/peers", body, format="json")
        .status_code
        == 403
    )
    answer = api_client(personas.admin).post("/api/v1/exchange/peers", body, format="json")
    assert answer.status_code == 201 and answer.json()["prefix"] == "44"
    peer = Peer.objects.get()
    listed = api_client(personas.province_supervisor).get("/api/v1/exchange/peers").json()
    assert [row["prefix"] for row in listed] == ["44"]
    assert (
        api_client(personas.nanchang_supervisor).get("/api/v1/exchange/peers").json() == []
    )  # not the province's
    assert (
        api_client(personas.nanchang_supervisor).get(f"/api/v1/exchange/peers/{peer.pk}").status_code == 404
    )
    suspended = api_client(personas.admin).patch(
        f"/api/v1/exchange/peers/{peer.pk}", {"active": False}, format="json"
    )
    assert suspended.status_code == 200 and suspended.json()["active"] is False
    assert AuditEvent.objects.filter(
        action="exchange.peer_updated", actor_username=personas.admin.username
    ).exists()


def test_the_page_adds_a_peer_and_keeps_what_was_typed_on_an_error(
    ours: SM2KeyPair, personas: Personas
) -> None:
    page = login(Client(), personas.admin)
    typed = {"region": "44", "name": "广东省", "endpoint": "http://gd.example", "public_key": "不是公钥"}
    answer = page.post("/exchange/peers/", typed)
    text = answer.content.decode()
    assert answer.status_code == 400 and "公钥无效" in text and "http://gd.example" in text
    typed["public_key"] = sm2_generate().public
    assert page.post("/exchange/peers/", typed).status_code == 302
    assert Peer.objects.get().name == "广东省"
    shown = page.get("/exchange/peers/").content.decode()
    assert ours.fingerprint in shown  # our key, for the peer's operator
    assert login(Client(), personas.nanchang_supervisor).get("/exchange/").status_code == 404


def test_the_list_shows_a_refusal_s_code_and_reason_and_no_body(
    ours: SM2KeyPair, guangdong: Peer, personas: Personas
) -> None:
    forged = envelope(sm2_generate(), ours, body={"note": "机密的内容"})
    services.message_receive(raw(forged))
    assert InboundMessage.objects.get().code == "bad_signature"
    text = login(Client(), personas.province_supervisor).get("/exchange/?direction=in").content.decode()
    assert "bad_signature" in text and "签名无法用交换目录中" in text and forged["id"][:10] in text
    assert "机密的内容" not in text
    answer = api_client(personas.province_supervisor).get("/api/v1/exchange/inbound?status=refused").json()
    assert [row["code"] for row in answer["results"]] == ["bad_signature"]
