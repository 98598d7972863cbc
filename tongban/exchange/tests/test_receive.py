"""Receiving (docs/exchange.md "Receiving"): every refusal, with its code and nothing applied,
recorded and audited; a duplicate answered as the first time; a handler's refusal rolled back."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client

from tongban.audit.models import AuditEvent
from tongban.core.crypto import SM2KeyPair, sm2_generate
from tongban.core.errors import ServiceError
from tongban.exchange import protocol
from tongban.exchange.handlers import HANDLERS, Incoming
from tongban.exchange.models import InboundMessage, Peer
from tongban.exchange.services import message_receive, peer_update
from tongban.exchange.tests.conftest import envelope, raw

pytestmark = pytest.mark.django_db

WITHDRAWN = {
    "number": "4401060012026120700001",
    "withdrawn_at": "2026-12-07T10:00:00+08:00",
    "reason": "本人申请",
}


def refused_with(receipt: Any, code: str, status: int) -> InboundMessage:
    assert receipt.status == status, receipt.document
    assert receipt.document["code"] == code
    row = InboundMessage.objects.get(pk=receipt.row.pk)
    assert row.outcome == "refused" and row.code == code and row.message == receipt.document["message"]
    assert not InboundMessage.objects.filter(outcome="accepted").exists()  # nothing applied
    assert AuditEvent.objects.filter(action="exchange.message_received", detail__code=code).exists()
    return row


def test_a_ping_is_accepted_and_answered_with_our_signature(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    message = envelope(guangdong_key, ours)
    receipt = message_receive(raw(message))
    assert receipt.status == 200
    answer = protocol.answer_check(receipt.document, message_id=message["id"], peer_public=ours.public)
    assert answer["province"] == "36" and answer["name"] == "江西省"
    row = InboundMessage.objects.get()
    assert (row.sender, row.message_id, row.kind, row.outcome, row.verified) == (
        "44",
        message["id"],
        protocol.PING,
        "accepted",
        True,
    )
    assert row.peer == guangdong and len(row.digest) == 64 and row.size == len(raw(message))
    assert AuditEvent.objects.filter(action="exchange.message_received", object_id=message["id"]).exists()


def test_the_same_message_again_is_answered_as_before_and_applied_once(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def count(incoming: Incoming) -> dict[str, Any]:
        calls.append(incoming.message_id)
        return {"n": len(calls)}

    monkeypatch.setitem(HANDLERS, protocol.PING, count)
    message = raw(envelope(guangdong_key, ours))
    first, second = message_receive(message), message_receive(message)
    assert first.status == second.status == 200
    assert first.document == second.document and second.row is None
    assert len(calls) == 1 and InboundMessage.objects.count() == 1


def test_another_message_under_an_accepted_id_is_replayed(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    message = envelope(guangdong_key, ours)
    assert message_receive(raw(message)).status == 200
    replay = protocol.sign({**message, "body": {"note": "另一条"}}, guangdong_key)
    row = InboundMessage.objects.get(pk=message_receive(raw(replay)).row.pk)  # type: ignore[union-attr]
    assert (row.outcome, row.code, row.verified) == ("refused", "replayed", True)
    assert InboundMessage.objects.filter(outcome="accepted").count() == 1


def test_a_refused_message_may_be_sent_again(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    stale = envelope(guangdong_key, ours, sent_at="2020-01-01T00:00:00+00:00")
    assert message_receive(raw(stale)).document["code"] == "stale_message"
    again = protocol.envelope_resign(stale, guangdong_key)
    assert message_receive(raw(again)).status == 200


def test_a_body_that_is_no_envelope_keeps_its_digest_only(guangdong: Peer) -> None:
    row = refused_with(message_receive(b"{not json"), "bad_envelope", 400)
    assert (row.sender, row.message_id, row.kind, row.verified) == ("", "", "", False)
    assert len(row.digest) == 64 and row.size == 9


def test_a_message_for_another_province_is_refused(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    message = protocol.envelope_build(
        kind=protocol.PING,
        sender="44",
        receiver="45",
        body={},
        key=guangdong_key,
        receiver_public=ours.public,
    )
    refused_with(message_receive(raw(message)), "wrong_receiver", 400)


def test_a_sender_outside_the_directory_or_suspended_is_unknown(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    stranger = protocol.envelope_build(
        kind=protocol.PING,
        sender="45",
        receiver="36",
        body={},
        key=guangdong_key,
        receiver_public=ours.public,
    )
    refused_with(message_receive(raw(stranger)), "unknown_sender", 403)
    peer_update(actor=None, peer=guangdong, active=False)
    row = refused_with(message_receive(raw(envelope(guangdong_key, ours))), "unknown_sender", 403)
    assert row.sender == "44" and row.peer is None


def test_a_message_signed_by_another_key_is_refused(ours: SM2KeyPair, guangdong: Peer) -> None:
    forged = envelope(sm2_generate(), ours)
    row = refused_with(message_receive(raw(forged)), "bad_signature", 400)
    assert row.peer == guangdong and not row.verified
    altered = {**envelope(sm2_generate(), ours), "body": {"note": "改过"}}
    refused_with(message_receive(raw(altered)), "bad_signature", 400)


def test_a_forgery_does_not_block_the_real_message(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    real = envelope(guangdong_key, ours)
    forged = protocol.sign({**real, "body": {"note": "伪造"}}, sm2_generate())
    assert message_receive(raw(forged)).document["code"] == "bad_signature"
    assert message_receive(raw(real)).status == 200


@pytest.mark.parametrize("hours", [-25, 25])
def test_a_message_outside_the_window_is_stale(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, hours: int
) -> None:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours)
    message = envelope(guangdong_key, ours, sent_at=moment.isoformat())
    row = refused_with(message_receive(raw(message)), "stale_message", 400)
    assert row.verified


def test_the_window_is_configurable(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, settings: Any
) -> None:
    settings.EXCHANGE_WINDOW_HOURS = 1
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)
    refused_with(
        message_receive(raw(envelope(guangdong_key, ours, sent_at=moment.isoformat()))), "stale_message", 400
    )


def test_a_kind_without_a_handler_is_unsupported(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(HANDLERS, "application.withdrawn")  # declared, its handler not yet written
    declared = envelope(guangdong_key, ours, "application.withdrawn", WITHDRAWN)
    refused_with(message_receive(raw(declared)), "unsupported_kind", 400)
    unknown = envelope(guangdong_key, ours, kind="card.lost")  # signed after building a ping
    refused_with(message_receive(raw(unknown)), "unsupported_kind", 400)


def test_a_body_off_its_schema_is_refused(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair
) -> None:
    message = envelope(guangdong_key, ours, body={"note": "好"})
    broken = protocol.sign({**message, "body": {"note": 1, "extra": True}}, guangdong_key)
    row = refused_with(message_receive(raw(broken)), "bad_schema", 400)
    assert "extra" in row.message


def test_a_sealed_body_that_does_not_open_is_undecryptable(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(HANDLERS, "application.withdrawn", lambda incoming: {})
    monkeypatch.setitem(
        protocol.KINDS,
        "application.withdrawn",
        protocol.Kind("撤销申请", True, protocol.KINDS["application.withdrawn"].schema),
    )
    elsewhere = sm2_generate()  # sealed for another province's key
    message = envelope(guangdong_key, elsewhere, "application.withdrawn", WITHDRAWN)
    refused_with(message_receive(raw(message)), "undecryptable", 400)


def test_a_message_over_the_limit_is_refused(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, settings: Any
) -> None:
    settings.EXCHANGE_MAX_BYTES = 200
    row = refused_with(message_receive(raw(envelope(guangdong_key, ours))), "too_large", 413)
    assert row.message_id == ""  # not even read


def test_a_handler_s_refusal_is_passed_on_and_rolls_back_what_it_did(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(incoming: Incoming) -> dict[str, Any]:
        Peer.objects.filter(pk=incoming.peer.pk).update(name="改过")  # half-applied work
        raise ServiceError("person_unknown", "本省户籍中没有此人。", status=404)

    monkeypatch.setitem(HANDLERS, "application.withdrawn", refuse)
    message = envelope(guangdong_key, ours, "application.withdrawn", WITHDRAWN)
    row = refused_with(message_receive(raw(message)), "person_unknown", 404)
    assert row.verified and Peer.objects.get().name == "广东省"
    monkeypatch.setitem(HANDLERS, "application.withdrawn", lambda incoming: {"withdrawn": True})
    assert message_receive(raw(message)).status == 200  # refused applied nothing: it may come again


def test_the_endpoint_needs_no_login_and_refuses_an_oversize_body_unread(
    ours: SM2KeyPair, guangdong: Peer, guangdong_key: SM2KeyPair, settings: Any
) -> None:
    client = Client(enforce_csrf_checks=True)  # no session, no token, no CSRF token
    answer = client.post(
        "/api/v1/exchange/messages", raw(envelope(guangdong_key, ours)), content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["outcome"] == "accepted"
    settings.EXCHANGE_MAX_BYTES = 1000
    answer = client.post("/api/v1/exchange/messages", b"x" * 5000, content_type="application/json")
    assert answer.status_code == 413 and answer.json()["code"] == "too_large"
    assert InboundMessage.objects.get(outcome="refused").size == 1001  # read no further than the limit
