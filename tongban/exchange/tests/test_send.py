"""The outbox against a real HTTP server on loopback playing 广东省's system: delivered with a
signed answer, tried again after a 5xx or a dead receiver (the same bytes), 被拒收 with the
receiver's code, 失败 after the limit, and 重发 signed anew."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tongban.audit.models import AuditEvent
from tongban.core.crypto import SM2KeyPair, sm2_generate
from tongban.core.errors import ServiceError
from tongban.exchange import protocol
from tongban.exchange.models import OutboundMessage, Peer
from tongban.exchange.services import (
    message_deliver,
    message_retry,
    message_send,
    messages_deliver_due,
    peer_add,
    peer_update,
    ping_now,
)
from tongban.testing.personas import Personas, api_client, login

pytestmark = pytest.mark.django_db
Status = OutboundMessage.Status


class Guangdong(ThreadingHTTPServer):
    """广东省's endpoint: checks our signature with `ours`, then answers as `replies` says, one
    reply a request (the last one again when they run out): "ok" (a signed acknowledgement),
    "forged" (an acknowledgement signed by another key), a status number (an error page), or a
    (status, code) refusal."""

    daemon_threads = True

    def __init__(self, key: SM2KeyPair, ours: SM2KeyPair) -> None:
        super().__init__(("127.0.0.1", 0), _Request)
        self.key, self.ours = key, ours
        self.replies: list[Any] = ["ok"]
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _Request(BaseHTTPRequestHandler):
    server: Guangdong

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.bodies.append(raw)
            reply = self.server.replies.pop(0) if len(self.server.replies) > 1 else self.server.replies[0]
        envelope = json.loads(raw)
        assert self.path == "/api/v1/exchange/messages"
        assert protocol.signature_valid(envelope, self.server.ours.public)
        if reply in ("ok", "forged"):
            key = self.server.key if reply == "ok" else sm2_generate()
            self._send(200, protocol.answer_build(envelope=envelope, answer={"pong": True}, key=key))
        elif isinstance(reply, tuple):
            self._send(reply[0], {"code": reply[1], "message": "本省不受理该消息。", "fields": {}})
        else:
            self.send_response(reply)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _send(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server(ours: SM2KeyPair, guangdong_key: SM2KeyPair) -> Iterator[Guangdong]:
    server = Guangdong(guangdong_key, ours)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def peer(server: Guangdong, guangdong_key: SM2KeyPair) -> Peer:
    return peer_add(
        actor=None, prefix="44", name="广东省", endpoint=server.url, public_key=guangdong_key.public
    )


def send(peer: Peer) -> OutboundMessage:
    return message_send(kind=protocol.PING, to=peer, body={"note": "测试"}, actor=None)


def due_now(message: OutboundMessage) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def test_a_message_is_delivered_and_its_signed_answer_kept(server: Guangdong, peer: Peer) -> None:
    message = send(peer)
    assert message.status == Status.PENDING and message.size == len(message.envelope.encode())
    delivered = message_deliver(message.pk)
    assert delivered is not None and delivered.status == Status.DELIVERED
    assert delivered.answer == {"pong": True} and delivered.sent_at is not None and delivered.attempts == 1
    assert server.bodies == [message.envelope.encode()]
    assert message_deliver(message.pk) is None  # delivered: nothing to send again
    assert AuditEvent.objects.filter(
        action="exchange.message_sent", object_id=str(message.message_id)
    ).exists()
    assert AuditEvent.objects.filter(action="exchange.message_delivery", detail__status="delivered").exists()


def test_a_5xx_is_tried_again_later_with_the_same_bytes(server: Guangdong, peer: Peer) -> None:
    server.replies = [503, "ok"]
    message = send(peer)
    first = message_deliver(message.pk)
    assert first is not None and first.status == Status.PENDING and first.attempts == 1
    assert "503" in first.last_error and first.next_attempt_at > timezone.now()
    assert messages_deliver_due() == 0  # not yet due: the pause
    due_now(message)
    assert messages_deliver_due() == 1
    message.refresh_from_db()
    assert message.status == Status.DELIVERED and message.attempts == 2
    assert server.bodies[0] == server.bodies[1]


def test_an_answer_not_signed_by_the_peer_is_not_taken_for_delivery(server: Guangdong, peer: Peer) -> None:
    server.replies = ["forged"]
    message = message_deliver(send(peer).pk)
    assert message is not None and message.status == Status.PENDING and message.last_code == "bad_answer"


def test_a_coded_refusal_is_final_until_an_operator_sends_it_again(
    server: Guangdong, peer: Peer, personas: Personas
) -> None:
    server.replies = [(400, "stale_message"), "ok"]
    message = message_deliver(send(peer).pk)
    assert message is not None and message.status == Status.REFUSED
    assert (message.last_code, message.last_error) == ("stale_message", "本省不受理该消息。")
    assert messages_deliver_due() == 0
    with pytest.raises(ServiceError) as refused:
        message_retry(actor=personas.province_supervisor, message=message)
    assert refused.value.code == "permission_denied"
    again = message_retry(actor=personas.admin, message=message)
    assert again.status == Status.PENDING and again.attempts == 0 and again.last_code == ""
    before, after = json.loads(message.envelope), json.loads(again.envelope)
    assert after["id"] == before["id"] and after["signature"] != before["signature"]
    delivered = message_deliver(message.pk)
    assert delivered is not None and delivered.status == Status.DELIVERED
    assert AuditEvent.objects.filter(action="exchange.message_retry").exists()
    with pytest.raises(ServiceError) as refused:
        message_retry(actor=personas.admin, message=delivered)
    assert refused.value.code == "not_retryable"


def test_a_dead_receiver_is_tried_until_the_limit_then_failed(
    server: Guangdong, peer: Peer, settings: Any, guangdong_key: SM2KeyPair, ours: SM2KeyPair
) -> None:
    settings.EXCHANGE_MAX_ATTEMPTS = 3
    server.shutdown()
    server.server_close()  # the receiver is gone: connection refused
    message = send(peer)
    for attempt in range(1, 4):
        due_now(message)
        tried = message_deliver(message.pk)
        assert tried is not None and tried.attempts == attempt and "无法连接" in tried.last_error
    message.refresh_from_db()
    assert message.status == Status.FAILED
    revived = Guangdong(guangdong_key, ours)  # it comes back at another address
    threading.Thread(target=revived.serve_forever, daemon=True).start()
    try:
        peer_update(actor=None, peer=peer, endpoint=revived.url)
        message_retry(actor=None, message=message)
        delivered = message_deliver(message.pk)
        assert delivered is not None and delivered.status == Status.DELIVERED
    finally:
        revived.shutdown()
        revived.server_close()


def test_a_message_held_by_a_worker_is_left_until_its_lease_runs_out(server: Guangdong, peer: Peer) -> None:
    message = send(peer)
    later = timezone.now() + datetime.timedelta(minutes=1)
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, lease_until=later)
    assert message_deliver(message.pk) is None
    OutboundMessage.objects.filter(pk=message.pk).update(
        lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    delivered = message_deliver(message.pk)
    assert delivered is not None and delivered.status == Status.DELIVERED


def test_nothing_is_sent_to_a_suspended_peer(server: Guangdong, peer: Peer) -> None:
    queued = send(peer)
    suspended = peer_update(actor=None, peer=peer, active=False)
    with pytest.raises(ServiceError) as refused:
        send(suspended)
    assert refused.value.code == "peer_inactive"
    waiting = message_deliver(queued.pk)
    assert waiting is not None and waiting.status == Status.PENDING and "已停用" in waiting.last_error
    assert server.bodies == []


def test_a_ping_waits_for_its_answer(server: Guangdong, peer: Peer, personas: Personas) -> None:
    message = ping_now(actor=personas.admin, peer=peer)
    assert message.status == Status.DELIVERED and message.created_by == personas.admin
    with pytest.raises(ServiceError) as refused:
        ping_now(actor=personas.nanchang_supervisor, peer=peer)
    assert refused.value.code == "permission_denied"


def test_the_page_and_the_api_ping_and_send_again(server: Guangdong, peer: Peer, personas: Personas) -> None:
    page = login(Client(), personas.admin)
    answer = page.post(f"/exchange/peers/{peer.pk}/ping/", follow=True)
    assert "连通检查成功" in answer.content.decode()
    server.replies = [(400, "unsupported_kind")]
    refused = message_deliver(send(peer).pk)
    assert refused is not None and refused.status == Status.REFUSED
    listed = page.get("/exchange/?direction=out&status=refused").content.decode()
    assert "unsupported_kind" in listed and "本省不受理该消息。" in listed and "重发" in listed
    server.replies = ["ok"]
    assert page.post(f"/exchange/messages/{refused.pk}/retry/").status_code == 302
    refused.refresh_from_db()
    assert refused.status == Status.PENDING
    api = api_client(personas.admin)
    again = api.post(f"/api/v1/exchange/outbound/{refused.pk}/retry")
    assert again.status_code == 409 and again.json()["code"] == "not_retryable"
    pinged = api.post(f"/api/v1/exchange/peers/{peer.pk}/ping")
    assert pinged.status_code == 200 and pinged.json()["status"] == "delivered"
    supervisor = api_client(personas.province_supervisor)
    assert supervisor.post(f"/api/v1/exchange/peers/{peer.pk}/ping").status_code == 403
    rows = supervisor.get("/api/v1/exchange/outbound?status=delivered").json()["results"]
    assert len(rows) == 2 and {row["kind"] for row in rows} == {protocol.PING}
