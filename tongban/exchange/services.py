"""跨省通办's transport (docs/exchange.md): the province's exchange key, the directory of the other
provinces' systems (交换目录), the outbox that sends signed messages to them, and the one entry
point that receives theirs.

Sending follows the notifications outbox: `message_send` writes the message in the caller's
transaction and hands it to the job worker once that commits; `message_deliver` takes it under a
lease and POSTs the envelope, the same bytes at every attempt (the receiver answers a duplicate
as it answered the first). A signed 2xx is 已送达, a coded 4xx 被拒收 (final: the operator reads
the receiver's code and may send it again, signed anew), anything else waits and tries again with
a growing pause, up to EXCHANGE_MAX_ATTEMPTS, then 失败."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta
from http.client import HTTPException
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.crypto import (
    SM2Error,
    SM2KeyPair,
    sm2_fingerprint,
    sm2_generate,
    sm2_public_from_pem,
    sm2_public_key,
    sm2_public_pem,
    sm3_hex,
)
from tongban.core.errors import ServiceError
from tongban.core.keys import KeyLocked, key_file_json, key_file_pair, keys_passphrase, write_key_file
from tongban.core.regions import longest_prefix, name_for
from tongban.exchange import protocol
from tongban.exchange.handlers import HANDLERS, Incoming
from tongban.exchange.models import InboundMessage, OutboundMessage, Peer
from tongban.intake.models import Application
from tongban.registry.models import Unit
from tongban.registry.services import external_unit_for

logger = logging.getLogger("tongban.exchange")

Status = OutboundMessage.Status
Outcome = InboundMessage.Outcome
NOT_FOUND = "未找到。"
PATH = "/api/v1/exchange/messages"

# ---------------------------------------------------------------------------------------------
# The province's exchange key (交换密钥), beside the system key in the keys directory.

EXCHANGE_KEY_FILE = "exchange-sm2.json"
EXCHANGE_KEY_KIND = "tongban.exchange-key/1"


def exchange_key_path() -> Path:
    return Path(str(settings.CARD_PRODUCTION["KEYS_DIR"])) / EXCHANGE_KEY_FILE


def exchange_key_generate(*, force: bool = False) -> SM2KeyPair:
    """The province's SM2 pair for the exchange: signs what we send, opens what is sealed for us.
    Its private half is encrypted with the keys passphrase when one is configured."""
    pair = sm2_generate()
    passphrase = keys_passphrase()
    write_key_file(exchange_key_path(), key_file_json(EXCHANGE_KEY_KIND, pair, passphrase), force=force)
    record(
        actor=None,
        action=AuditAction.EXCHANGE_KEY_GENERATED,
        detail={"fingerprint": pair.fingerprint, "encrypted": bool(passphrase)},
    )
    return pair


def exchange_key() -> SM2KeyPair:
    """The exchange key, made on first use."""
    path = exchange_key_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        try:
            return exchange_key_generate()
        except ServiceError:  # key_exists: another process made it meanwhile
            data = json.loads(path.read_text())
    except ValueError as exc:
        raise ServiceError("bad_exchange_key", f"跨省交换密钥文件 {path} 无效。", status=500) from exc
    try:
        return key_file_pair(data, path)
    except KeyLocked as exc:
        raise ServiceError("bad_exchange_key", str(exc), status=500) from exc
    except (ValueError, KeyError, TypeError, SM2Error) as exc:
        raise ServiceError("bad_exchange_key", f"跨省交换密钥文件 {path} 无效。", status=500) from exc


@dataclass(frozen=True)
class KeyFacts:
    """What the peer's operator needs of our key: who we are, the key (hex and PEM) and the
    fingerprint to check it by over the telephone."""

    province: str
    name: str
    public_key: str
    pem: str
    fingerprint: str


def key_facts() -> KeyFacts:
    pair = exchange_key()
    return KeyFacts(
        province=settings.PROVINCE_CODE,
        name=settings.PROVINCE_NAME,
        public_key=pair.public,
        pem=sm2_public_pem(pair.public),
        fingerprint=pair.fingerprint,
    )


# ---------------------------------------------------------------------------------------------
# The directory (交换目录).


def _manager(actor: User | None) -> None:
    """`actor=None` is the command line. Others keep the directory only at the province."""
    if actor is None:
        return
    if not actor.can("exchange.manage") or actor.unit is None or actor.unit.kind != Unit.Kind.PROVINCE:
        raise ServiceError("permission_denied", "无权维护跨省交换。", status=403)


def public_key_of(text: str) -> str:
    """A peer's public key as an operator hands it over: hex (x‖y, optionally 04-prefixed) or PEM."""
    text = text.strip()
    try:
        return sm2_public_from_pem(text) if text.startswith("-----BEGIN") else sm2_public_key(text)
    except SM2Error as exc:
        message = "公钥无效：应为 SM2 公钥的十六进制（128 位）或 PEM。"
        raise ServiceError("invalid_public_key", message, fields={"public_key": message}) from exc


def _peer_fields(*, prefix: str, name: str, endpoint: str) -> dict[str, str]:
    problems = {}
    if (
        not (len(prefix) == 2 and prefix.isdigit())
        or prefix == settings.PROVINCE_CODE
        or name_for(prefix + "0000") is None  # its 外省公安机关 unit needs a province
    ):
        problems["prefix"] = "应为另一省的两位区划代码（如 44）。"
    if not name.strip():
        problems["name"] = "请填写名称。"
    if not endpoint.startswith(("http://", "https://")):
        problems["endpoint"] = "应为 http:// 或 https:// 开头的地址。"
    if problems:
        raise ServiceError("invalid", "输入有误，请检查标出的字段。", fields=problems)
    return {"prefix": prefix, "name": name.strip(), "endpoint": endpoint.rstrip("/")}


@transaction.atomic(durable=True)
def peer_add(*, actor: User | None, prefix: str, name: str, endpoint: str, public_key: str) -> Peer:
    """添加交换对象: another province's system, the key its operator handed over checked; its
    外省公安机关 unit made (or renamed) so that its residents can be registered as guests."""
    _manager(actor)
    fields = _peer_fields(prefix=prefix, name=name, endpoint=endpoint)
    public = public_key_of(public_key)
    if Peer.objects.select_for_update().filter(prefix=fields["prefix"]).exists():
        message = f"区划代码 {prefix} 已在交换目录中。"
        raise ServiceError("peer_exists", message, status=409, fields={"prefix": message})
    peer = Peer.objects.create(**fields, public_key=public, fingerprint=sm2_fingerprint(public))
    external_unit_for(code=peer.prefix, name=peer.name)  # its residents can now be our guests
    record(
        actor=actor,
        action=AuditAction.EXCHANGE_PEER_ADDED,
        object_type="exchange.peer",
        object_id=peer.prefix,
        detail={"name": peer.name, "endpoint": peer.endpoint, "fingerprint": peer.fingerprint},
    )
    return peer


@transaction.atomic(durable=True)
def peer_update(
    *,
    actor: User | None,
    peer: Peer,
    name: str | None = None,
    endpoint: str | None = None,
    public_key: str | None = None,
    active: bool | None = None,
) -> Peer:
    """修改交换对象: its name, address, key (a new key after the peer rotated it), or 停用/启用
    (a suspended peer's messages are refused `unknown_sender`, and nothing is sent to it)."""
    _manager(actor)
    current = Peer.objects.select_for_update().get(pk=peer.pk)
    before: dict[str, Any] = {"name": current.name, "endpoint": current.endpoint, "active": current.active}
    before["fingerprint"] = current.fingerprint
    fields = _peer_fields(
        prefix=current.prefix,
        name=current.name if name is None else name,
        endpoint=current.endpoint if endpoint is None else endpoint,
    )
    current.name, current.endpoint = fields["name"], fields["endpoint"]
    if public_key is not None:
        current.public_key = public_key_of(public_key)
        current.fingerprint = sm2_fingerprint(current.public_key)
    if active is not None:
        current.active = active  # a suspended peer keeps its unit (and its guests' applications)
    current.save()
    if current.name != before["name"]:
        external_unit_for(code=current.prefix, name=current.name)
    after: dict[str, Any] = {"name": current.name, "endpoint": current.endpoint, "active": current.active}
    after["fingerprint"] = current.fingerprint
    record(
        actor=actor,
        action=AuditAction.EXCHANGE_PEER_UPDATED,
        object_type="exchange.peer",
        object_id=current.prefix,
        detail={"before": before, "after": after},
    )
    return current


def peer_for_id_number(id_number: str) -> Peer | None:
    """The active peer that holds the household register of `id_number`'s region: the longest
    prefix of the directory that starts it (a hub stands in as the row of each province it serves,
    docs/exchange.md)."""
    peers = {peer.prefix: peer for peer in Peer.objects.filter(active=True)}
    return longest_prefix(id_number, peers)


# ---------------------------------------------------------------------------------------------
# Sending (the outbox).


def _endpoint(peer: Peer) -> str:
    return peer.endpoint.rstrip("/") + PATH


def message_send(
    *,
    kind: str,
    to: Peer,
    body: dict[str, Any] | None,
    actor: User | None,
    application: Application | None = None,
) -> OutboundMessage:
    """Queue a message of `kind` to `to`, in the caller's transaction (a rolled-back action sends
    nothing): signed now, a personal body sealed for the peer. Sent once the caller commits."""
    if not to.active:
        raise ServiceError("peer_inactive", f"{to.name}（{to.prefix}）已停用，不能发送。", status=409)
    envelope = protocol.envelope_build(
        kind=kind,
        sender=settings.PROVINCE_CODE,
        receiver=to.prefix,
        body=body,
        key=exchange_key(),
        receiver_public=to.public_key,
    )
    text = json.dumps(envelope, ensure_ascii=False)
    message = OutboundMessage.objects.create(
        message_id=uuid.UUID(envelope["id"]),
        kind=kind,
        peer=to,
        envelope=text,
        size=len(text.encode()),
        created_by=actor,
        application=application,
    )
    record(
        actor=actor,
        action=AuditAction.EXCHANGE_MESSAGE_SENT,
        object_type="exchange.outboundmessage",
        object_id=envelope["id"],
        detail={"kind": kind, "to": to.prefix, "size": message.size},
    )
    _queue(message.pk)
    return message


def _queue(message_pk: int) -> None:
    from tongban.exchange import tasks  # the queue, once there is something to send

    transaction.on_commit(lambda: tasks.deliver(message_pk))


@transaction.atomic(durable=True)
def ping_send(*, actor: User | None, peer: Peer) -> OutboundMessage:
    """连通检查: a ping to `peer`, which answers with its own signed acknowledgement."""
    _manager(actor)
    peer = Peer.objects.select_for_update().get(pk=peer.pk)
    who = actor.username if actor is not None else "命令行"
    return message_send(kind=protocol.PING, to=peer, body={"note": f"{who} 发起的连通检查"}, actor=actor)


@transaction.atomic(durable=True)
def message_retry(*, actor: User | None, message: OutboundMessage) -> OutboundMessage:
    """重发: a refused or failed message again, signed anew at the current time (the same id and
    body), with its attempts counted from zero."""
    _manager(actor)
    current = OutboundMessage.objects.select_for_update().select_related("peer").get(pk=message.pk)
    if not current.retryable:
        raise ServiceError("not_retryable", "只有被拒收或发送失败的消息可以重发。", status=409)
    if not current.peer.active:
        raise ServiceError(
            "peer_inactive", f"{current.peer.name}（{current.peer.prefix}）已停用，不能发送。", status=409
        )
    envelope = protocol.envelope_resign(json.loads(current.envelope), exchange_key())
    current.envelope = json.dumps(envelope, ensure_ascii=False)
    current.size = len(current.envelope.encode())
    current.status, current.attempts, current.next_attempt_at = Status.PENDING, 0, timezone.now()
    current.last_code = current.last_error = ""
    current.save()
    record(
        actor=actor,
        action=AuditAction.EXCHANGE_MESSAGE_RETRY,
        object_type="exchange.outboundmessage",
        object_id=str(current.message_id),
        detail={"kind": current.kind, "to": current.peer.prefix},
    )
    _queue(current.pk)
    return current


def _pause(attempts: int) -> timedelta:
    """After the nth failed attempt: 30 s, 1, 2, 4 … minutes, at most an hour."""
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), timedelta(hours=1))


@dataclass(frozen=True)
class _Answer:
    """What one attempt came to: delivered (with the peer's answer), refused (final), or a
    failure to try again."""

    status: str
    code: str = ""
    error: str = ""
    answer: Any = None


def _post(message: OutboundMessage) -> _Answer:
    if not message.peer.active:  # suspended after the message was queued: it waits (失败 at the limit)
        return _Answer(Status.PENDING, error="交换对象已停用（恢复启用后继续发送）")
    request = urllib.request.Request(  # noqa: S310 (the directory's http/https address)
        _endpoint(message.peer),
        data=message.envelope.encode(),
        headers={"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.EXCHANGE_TIMEOUT) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, HTTPException, OSError) as error:
        return _Answer(Status.PENDING, error=f"对方系统无法连接（{type(error).__name__}）")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        document = None
    if 200 <= status < 300:
        try:
            answer = protocol.answer_check(
                document, message_id=str(message.message_id), peer_public=message.peer.public_key
            )
        except ValueError:
            return _Answer(Status.PENDING, code="bad_answer", error="对方的应答无法用其公钥验证")
        return _Answer(Status.DELIVERED, answer=answer)
    if 400 <= status < 500 and isinstance(document, dict) and isinstance(document.get("code"), str):
        return _Answer(
            Status.REFUSED, code=document["code"][:40], error=str(document.get("message", ""))[:300]
        )
    return _Answer(Status.PENDING, error=f"对方系统应答 HTTP {status}")


def _due() -> Q:
    now = timezone.now()
    return Q(status=Status.PENDING, next_attempt_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)


def message_deliver(message_pk: int) -> OutboundMessage | None:
    """Send message `message_pk` if it is due and nobody else holds it."""
    now = timezone.now()
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(skip_locked=True)
            .select_related("peer")
            .filter(_due(), pk=message_pk)
            .first()
        )
        if message is None:
            return None
        message.status = Status.SENDING
        message.lease_until = now + timedelta(seconds=settings.EXCHANGE_LEASE_SECONDS)
        message.attempts += 1
        message.save(update_fields=["status", "lease_until", "attempts"])
    result = _post(message)
    message.last_code, message.last_error = result.code, result.error
    if result.status == Status.PENDING:
        logger.warning(
            "exchange message %s (%s) to %s not delivered (attempt %d): %s",
            message.message_id,
            message.kind,
            message.peer.prefix,
            message.attempts,
            result.error,
        )
        if message.attempts >= settings.EXCHANGE_MAX_ATTEMPTS:
            message.status = Status.FAILED
        else:
            message.status, message.next_attempt_at = (
                Status.PENDING,
                timezone.now() + _pause(message.attempts),
            )
    else:
        message.status, message.answer = result.status, result.answer
        if result.status == Status.DELIVERED:
            message.sent_at = timezone.now()
    message.lease_until = None
    with transaction.atomic():
        message.save(
            update_fields=[
                "status",
                "next_attempt_at",
                "lease_until",
                "last_code",
                "last_error",
                "answer",
                "sent_at",
            ]
        )
        if message.status != Status.PENDING:
            record(
                actor=None,
                action=AuditAction.EXCHANGE_MESSAGE_DELIVERY,
                object_type="exchange.outboundmessage",
                object_id=str(message.message_id),
                detail={
                    "kind": message.kind,
                    "to": message.peer.prefix,
                    "status": message.status,
                    "code": message.last_code,
                    "attempts": message.attempts,
                },
            )
    return message


def messages_deliver_due(*, limit: int = 1000) -> int:
    """Send every message that is due (a retry's time has come, a lease ran out, or the queue lost
    its task). Returns how many were tried."""
    ids = list(
        OutboundMessage.objects.filter(_due())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for message_pk in ids:
        message_deliver(message_pk)
    return len(ids)


# ---------------------------------------------------------------------------------------------
# Receiving.


@dataclass(frozen=True)
class Receipt:
    """The answer to a message: its HTTP status and JSON document (a signed acknowledgement, or
    `{"code", "message", "fields"}`), and the row it was recorded in (None for a duplicate)."""

    status: int
    document: dict[str, Any]
    row: InboundMessage | None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def _refusal_document(error: ServiceError) -> dict[str, Any]:
    return {"code": error.code, "message": error.message, "fields": {}}


def message_receive(raw: bytes) -> Receipt:
    """Take a message another province's system POSTed: check it in the order of
    docs/exchange.md "Receiving", run its kind's handler in one transaction with its record, and
    answer. Every message is recorded and audited, refused ones with their code (a body that is not
    even an envelope keeps its digest and size only); none is applied twice."""
    digest, size = sm3_hex(raw), len(raw)
    facts: dict[str, Any] = {"digest": digest, "size": size}
    try:
        if size > settings.EXCHANGE_MAX_BYTES:
            raise ServiceError(
                "too_large", f"消息过大，不能超过 {settings.EXCHANGE_MAX_BYTES} 字节。", status=413
            )
        envelope = protocol.envelope_parse(raw)
        facts.update(sender=envelope["from"], message_id=envelope["id"], kind=envelope["kind"])
        if envelope["to"] != settings.PROVINCE_CODE:
            raise protocol.refusal(
                "wrong_receiver",
                f"本系统是 {settings.PROVINCE_CODE}（{settings.PROVINCE_NAME}），不是 {envelope['to']}。",
            )
        peer = Peer.objects.filter(prefix=envelope["from"], active=True).first()
        if peer is None:
            raise protocol.refusal("unknown_sender", f"{envelope['from']} 不在本省的交换目录中，或已停用。")
        facts["peer"] = peer
        if not protocol.signature_valid(envelope, peer.public_key):
            raise protocol.refusal("bad_signature", f"签名无法用交换目录中 {peer.name} 的公钥验证。")
        facts["verified"] = True
        window = timedelta(hours=settings.EXCHANGE_WINDOW_HOURS)
        if abs(timezone.now() - protocol.sent_at(envelope)) > window:
            raise protocol.refusal(
                "stale_message", f"消息的发送时间超出 {settings.EXCHANGE_WINDOW_HOURS} 小时的有效范围。"
            )
        earlier = _accepted(envelope)
        if earlier is not None:
            return _again(earlier, digest)
        if envelope["kind"] not in HANDLERS:
            raise protocol.refusal("unsupported_kind", f"本系统不受理 {envelope['kind']} 类消息。")
        body = protocol.body_open(envelope, exchange_key())
        protocol.check_body(envelope["kind"], body)
        try:
            return _apply(envelope, body, peer, facts)
        except IntegrityError:  # the same message, taken at the same moment by another worker
            earlier = _accepted(envelope)
            if earlier is None:
                raise
            return _again(earlier, digest)
    except ServiceError as error:
        return _refuse(error, facts)


def _accepted(envelope: dict[str, Any]) -> InboundMessage | None:
    return InboundMessage.objects.filter(
        sender=envelope["from"], message_id=envelope["id"], outcome=Outcome.ACCEPTED
    ).first()


def _again(earlier: InboundMessage, digest: str) -> Receipt:
    """A message already accepted: the same bytes are answered as the first time (nothing is
    applied again); other bytes under its id are a replay."""
    if earlier.digest != digest:
        raise protocol.refusal("replayed", "该消息编号已被另一条消息使用过。")
    record(
        actor=None,
        action=AuditAction.EXCHANGE_MESSAGE_RECEIVED,
        object_type="exchange.inboundmessage",
        object_id=earlier.message_id,
        detail={"from": earlier.sender, "kind": earlier.kind, "outcome": "duplicate"},
    )
    return Receipt(200, earlier.answer or {}, None)


def _apply(envelope: dict[str, Any], body: dict[str, Any], peer: Peer, facts: dict[str, Any]) -> Receipt:
    with transaction.atomic(durable=True):
        row = InboundMessage.objects.create(
            sender=peer.prefix,
            peer=peer,
            message_id=envelope["id"],
            kind=envelope["kind"],
            digest=facts["digest"],
            size=facts["size"],
            verified=True,
            outcome=Outcome.ACCEPTED,
        )
        answer = HANDLERS[envelope["kind"]](
            Incoming(peer=peer, message_id=envelope["id"], kind=envelope["kind"], body=body, row=row)
        )
        row.answer = protocol.answer_build(envelope=envelope, answer=answer, key=exchange_key())
        row.save(update_fields=["answer", "application"])
        _audit(row)
    return Receipt(200, row.answer, row)


def _refuse(error: ServiceError, facts: dict[str, Any]) -> Receipt:
    with transaction.atomic():
        row = InboundMessage.objects.create(
            sender=facts.get("sender", ""),
            peer=facts.get("peer"),
            message_id=facts.get("message_id", ""),
            kind=facts.get("kind", ""),
            digest=facts["digest"],
            size=facts["size"],
            verified=facts.get("verified", False),
            outcome=Outcome.REFUSED,
            code=error.code[:40],
            message=error.message[:300],
        )
        _audit(row)
    return Receipt(error.status, _refusal_document(error), row)


def _audit(row: InboundMessage) -> None:
    record(
        actor=None,
        action=AuditAction.EXCHANGE_MESSAGE_RECEIVED,
        object_type="exchange.inboundmessage",
        object_id=row.message_id or row.digest[:36],
        detail={
            "from": row.sender,
            "kind": row.kind,
            "outcome": row.outcome,
            "code": row.code,
            "digest": row.digest,
            "size": row.size,
        },
    )


def ping_now(*, actor: User | None, peer: Peer) -> OutboundMessage:
    """连通检查 as the operator waits for it (the page's button, `tongban exchange ping`): sent at
    once rather than by the worker, and read back with its outcome."""
    message = ping_send(actor=actor, peer=peer)
    message_deliver(message.pk)
    message.refresh_from_db()
    return message
