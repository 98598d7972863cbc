"""The 跨省通办 message protocol (docs/exchange.md): the signed JSON envelope two provinces' systems
exchange, the sealing of personal bodies, and the kinds of message with their body schemas. Pure
Python (no Django), so that a peer's integrator reads the whole format here.

An envelope is `{"version": 1, "id", "kind", "from", "to", "sent_at", "body", "sealed", "key",
"signature"}`. `signature` is SM2 (default ID) over the canonical JSON of the envelope without it
(keys sorted, no spaces, UTF-8 as is). A personal kind's body never travels in `body`: it is sealed
with SM4-GCM under a fresh key (the message id as associated data) in `sealed`, and that key is
SM2-encrypted for the receiver in `key`. Adding a kind: a `Kind` in KINDS here, and a handler
registered for it in `handlers.py` (a kind without one is refused `unsupported_kind`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tongban.core.crypto import (
    SealError,
    SM2Error,
    SM2KeyPair,
    seal,
    sm2_decrypt,
    sm2_encrypt,
    sm2_sign,
    sm2_verify,
    unseal,
)
from tongban.core.errors import ServiceError

VERSION = 1
ENVELOPE_KEYS = frozenset(
    {"version", "id", "kind", "from", "to", "sent_at", "body", "sealed", "key", "signature"}
)
PING = "exchange.ping"
_REGION = re.compile(r"^\d{2}$")


def refusal(code: str, message: str) -> ServiceError:
    """A refusal of the protocol, with the status the receiver answers it with (docs/api.md)."""
    return ServiceError(code, message, status=STATUS[code])


# The receiver's answer to each refusal of the protocol (docs/exchange.md "Answers").
STATUS = {
    "bad_envelope": 400,
    "wrong_receiver": 400,
    "unknown_sender": 403,
    "bad_signature": 400,
    "stale_message": 400,
    "replayed": 409,
    "unsupported_kind": 400,
    "undecryptable": 400,
    "bad_schema": 400,
}


# ---------------------------------------------------------------------------------------------
# Body schemas: each field's type, whether it must be there; nothing else may be.


@dataclass(frozen=True)
class Field:
    type: str  # "str", "int", "float", "bool", "date", "datetime", "object", "list"
    required: bool = True
    nullable: bool = False
    max_length: int = 200
    choices: tuple[str, ...] = ()
    fields: Mapping[str, Field] = field(default_factory=dict)  # of an "object", or a "list"'s objects
    item: Field | None = None  # a "list"'s items when they are not objects


Schema = Mapping[str, Field]
# How far the acceptance province has got with the card (handover.remote.RemoteStage).
PROGRESS_STAGES = (
    "produced",
    "shipped",
    "at_site",
    "delivered",
    "handed_over",
    "handed_over_proxy",
    "verified",
    "reprint",
)


@dataclass(frozen=True)
class Kind:
    """A kind of message: its Chinese name, whether its body is personal (then sealed), the
    schema of its body, and a rule across fields the schema cannot say (a message when broken)."""

    label: str
    personal: bool
    schema: Schema
    rule: Callable[[dict[str, Any]], str] = lambda body: ""


def _decision_rule(body: dict[str, Any]) -> str:
    wanted = ("issuing_authority", "valid_from") if body["issued"] else ("refusal_text",)
    missing = [name for name in wanted if not body.get(name)]
    outcome = "签发" if body["issued"] else "不予签发"
    return f"{outcome}须有 {'、'.join(missing)}" if missing else ""


def _text(max_length: int = 200) -> Field:
    """A text field that may be empty (""): what the counter left blank travels as ""."""
    return Field("str", max_length=max_length)


NUMBER = Field("str", max_length=22)  # 受理号
FINGER = {
    "position": Field("str", max_length=2),  # 指位代码
    "result": Field("str", choices=("registered", "failed", "not_registered")),
    "reason": _text(),
    "quality": Field("float", nullable=True),
    "format": _text(32),
    # base64 of the engine's template, at most the ABIS's 64 KiB
    "template": Field("str", nullable=True, max_length=90_000),
}
PHOTO = 400_000  # base64 of a JPEG

# The application kinds' bodies are what intake.remote's RemoteApplication.to_dict(),
# RemoteDecision.to_dict() and handover.remote's stages make (a test holds the two together).
KINDS: dict[str, Kind] = {
    PING: Kind("连通检查", personal=False, schema={"note": Field("str", required=False)}),
    "application.submitted": Kind(
        "异地受理申请",
        personal=True,
        schema={
            "number": NUMBER,
            "type": Field("str", choices=("first", "renewal", "replacement")),
            "reason": Field("str", max_length=4),  # 申领原因代码
            "id_number": Field("str", max_length=18),
            "name": Field("str", max_length=50),
            "sex": Field("str", max_length=1),  # GB/T 2261.1
            "ethnicity": Field("str", max_length=2),  # GB 3304
            "birth_date": Field("date"),
            "household_address": _text(),
            "residence_address": _text(),
            "phone": _text(20),
            "collection": Field("str", choices=("station", "post")),
            "postal_recipient": _text(50),
            "postal_phone": _text(20),
            "postal_address": _text(),
            "guardianship": _text(32),
            "guardian_name": _text(50),
            "guardian_id_number": _text(18),
            "guardian_relation": _text(20),
            "guardian_phone": _text(20),
            "materials_shown": Field("list", item=_text(50)),  # the counter's material codes
            "pledge_signed": Field("bool"),
            "validity": _text(4),
            "fee_item": _text(12),
            "accepted_at": Field("datetime"),
            "station_code": Field("str", max_length=12),
            "station_name": Field("str", max_length=100),
            "photo": Field("str", max_length=PHOTO),
            "guardian_photo": Field("str", nullable=True, max_length=PHOTO),
            "fingers": Field("list", fields=FINGER),  # may be empty
        },
    ),
    "application.withdrawn": Kind(
        "撤销申请",
        personal=False,
        schema={"number": NUMBER, "withdrawn_at": Field("datetime"), "reason": _text()},
    ),
    "application.decided": Kind(
        "审核签发结果",
        personal=True,
        schema={
            "number": NUMBER,
            "issued": Field("bool"),
            "unit_name": _text(100),  # the unit that decided
            "decided_at": Field("datetime"),
            "issuing_authority": _text(100),
            "validity": _text(4),
            "valid_from": Field("date", nullable=True),
            "valid_until": Field("date", nullable=True),  # null: 长期
            "refusal_code": _text(20),
            "refusal_text": _text(500),
        },
        rule=_decision_rule,
    ),
    "application.progress": Kind(
        "制证发放进度",
        personal=False,
        schema={
            "number": NUMBER,
            "stage": Field("str", choices=PROGRESS_STAGES),
            "at": Field("datetime"),
            "card_serial": _text(40),  # with produced
        },
    ),
}


def _type_error(spec: Field, value: Any) -> str:
    """Why `value` is not of `spec`'s type ("" when it is)."""
    if spec.type == "str" or spec.type in ("date", "datetime"):
        if not isinstance(value, str):
            return "应为字符串"
        if spec.type == "str":
            if len(value) > spec.max_length:
                return f"超过 {spec.max_length} 个字符"
            if spec.choices and value not in spec.choices:
                return f"应为 {'、'.join(spec.choices)} 之一"
        elif spec.type == "date":
            try:
                datetime.date.fromisoformat(value)
            except ValueError:
                return "应为日期（YYYY-MM-DD）"
        elif _aware(value) is None:
            return "应为带时区的时间（ISO 8601）"
        return ""
    if spec.type == "int":
        return "" if isinstance(value, int) and not isinstance(value, bool) else "应为整数"
    if spec.type == "float":
        return "" if isinstance(value, int | float) and not isinstance(value, bool) else "应为数值"
    if spec.type == "bool":
        return "" if isinstance(value, bool) else "应为 true 或 false"
    if spec.type == "object":
        return "" if isinstance(value, dict) else "应为对象"
    return "" if isinstance(value, list) else "应为数组"


def schema_errors(schema: Schema, body: Any, path: str = "") -> list[str]:
    """Every way `body` breaks `schema`: a missing field, an unknown one, a value of another type."""
    if not isinstance(body, dict):
        return [f"{path or '内容'} 应为对象"]
    problems = [f"{path}{name} 不是约定的字段" for name in sorted(set(body) - set(schema))]
    for name, spec in schema.items():
        where = f"{path}{name}"
        if name not in body:
            if spec.required:
                problems.append(f"{where} 缺失")
            continue
        value = body[name]
        if value is None:
            if not spec.nullable:
                problems.append(f"{where} 不能为空")
            continue
        why = _type_error(spec, value)
        if why:
            problems.append(f"{where} {why}")
        elif spec.type == "object":
            problems += schema_errors(spec.fields, value, f"{where}.")
        elif spec.type == "list":
            for index, item in enumerate(value):
                if spec.item is None:
                    problems += schema_errors(spec.fields, item, f"{where}.{index}.")
                elif _type_error(spec.item, item):
                    problems.append(f"{where}.{index} {_type_error(spec.item, item)}")
    return problems


def check_body(kind: str, body: Any) -> None:
    """`bad_schema` unless `body` is exactly what `kind` declares."""
    declared = KINDS[kind]
    problems = schema_errors(declared.schema, body)
    if not problems:
        broken = declared.rule(body)
        problems = [broken] if broken else []
    if problems:
        raise refusal("bad_schema", f"消息内容不符合 {kind} 的约定：{'；'.join(problems[:5])}")


# ---------------------------------------------------------------------------------------------
# The envelope.


def canonical(value: Any) -> bytes:
    """The one byte form a document is signed in: keys sorted, no spaces, UTF-8 unescaped."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _signed_part(document: Mapping[str, Any]) -> bytes:
    return canonical({name: value for name, value in document.items() if name != "signature"})


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _aware(text: str) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def sign(document: dict[str, Any], key: SM2KeyPair) -> dict[str, Any]:
    """`document` with its `signature` (over the rest of it)."""
    return {**document, "signature": _b64(sm2_sign(key, _signed_part(document)))}


def signature_valid(document: Mapping[str, Any], public: str) -> bool:
    try:
        signature = _unb64(document.get("signature"))
    except (ValueError, binascii.Error):
        return False
    try:
        return sm2_verify(public, signature, _signed_part(document))
    except SM2Error:
        return False


def envelope_build(
    *,
    kind: str,
    sender: str,
    receiver: str,
    body: dict[str, Any] | None,
    key: SM2KeyPair,
    receiver_public: str,
    message_id: str | None = None,
    sent_at: str | None = None,
) -> dict[str, Any]:
    """A signed envelope of `kind` from `sender` to `receiver`; a personal body is sealed for
    `receiver_public`. The body is checked against the kind's schema first (a sender's bug is
    its own ServiceError, never a message the receiver refuses)."""
    check_body(kind, body)
    message_id = message_id or str(uuid.uuid4())
    envelope: dict[str, Any] = {
        "version": VERSION,
        "id": message_id,
        "kind": kind,
        "from": sender,
        "to": receiver,
        "sent_at": sent_at or now_iso(),
        "body": body,
        "sealed": None,
        "key": None,
    }
    if KINDS[kind].personal:
        content_key = os.urandom(16)
        envelope["body"] = None
        envelope["sealed"] = _b64(seal(content_key, canonical(body), context=message_id.encode()))
        envelope["key"] = _b64(sm2_encrypt(receiver_public, content_key))
    return sign(envelope, key)


def envelope_resign(envelope: Mapping[str, Any], key: SM2KeyPair) -> dict[str, Any]:
    """The same message (id, body, sealed body) signed again at the current time: what an
    operator's retry sends after a refusal or a long failure (a stale `sent_at` is refused)."""
    return sign({**envelope, "sent_at": now_iso()}, key)


def envelope_parse(raw: bytes) -> dict[str, Any]:
    """The envelope `raw` holds, its fields of the right types; `bad_envelope` otherwise."""
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise refusal("bad_envelope", "消息不是有效的 UTF-8 JSON。") from exc
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE_KEYS:
        raise refusal("bad_envelope", f"消息信封应恰好包含字段：{'、'.join(sorted(ENVELOPE_KEYS))}。")
    problems = []
    if envelope["version"] != VERSION or isinstance(envelope["version"], bool):
        problems.append(f"version 应为 {VERSION}")
    try:
        if str(uuid.UUID(envelope["id"])) != envelope["id"]:
            raise ValueError(envelope["id"])
    except (ValueError, TypeError, AttributeError):
        problems.append("id 应为小写 UUID")
    if not isinstance(envelope["kind"], str) or not 0 < len(envelope["kind"]) <= 40:
        problems.append("kind 应为消息类型")
    for name in ("from", "to"):
        if not isinstance(envelope[name], str) or not _REGION.match(envelope[name]):
            problems.append(f"{name} 应为两位省级区划代码")
    if not isinstance(envelope["sent_at"], str) or _aware(envelope["sent_at"]) is None:
        problems.append("sent_at 应为带时区的时间（ISO 8601）")
    if envelope["body"] is not None and not isinstance(envelope["body"], dict):
        problems.append("body 应为对象或 null")
    for name in ("sealed", "key"):
        if envelope[name] is not None and not isinstance(envelope[name], str):
            problems.append(f"{name} 应为 base64 文本或 null")
    if not isinstance(envelope["signature"], str):
        problems.append("signature 应为 base64 文本")
    if problems:
        raise refusal("bad_envelope", f"消息信封有误：{'；'.join(problems)}。")
    return envelope


def sent_at(envelope: Mapping[str, Any]) -> datetime.datetime:
    moment = _aware(envelope["sent_at"])
    if moment is None:  # envelope_parse let none through
        raise refusal("bad_envelope", "sent_at 应为带时区的时间（ISO 8601）。")
    return moment


def body_open(envelope: Mapping[str, Any], key: SM2KeyPair) -> Any:
    """The body of a parsed envelope of a known kind: unsealed with our key when personal
    (`undecryptable` when it does not open), as sent otherwise. A personal body sent in the clear,
    or a plain one sealed, is `bad_schema`."""
    personal = KINDS[envelope["kind"]].personal
    if not personal:
        if envelope["sealed"] is not None or envelope["key"] is not None:
            raise refusal("bad_schema", f"{envelope['kind']} 的内容不加密，sealed 与 key 应为 null。")
        return envelope["body"]
    if envelope["body"] is not None or envelope["sealed"] is None or envelope["key"] is None:
        raise refusal("bad_schema", f"{envelope['kind']} 含个人信息，内容只能加密放在 sealed 中。")
    try:
        content_key = sm2_decrypt(key, _unb64(envelope["key"]))
        plain = unseal(content_key, _unb64(envelope["sealed"]), context=envelope["id"].encode())
        return json.loads(plain.decode("utf-8"))
    except (SM2Error, SealError, ValueError, binascii.Error) as exc:
        raise refusal("undecryptable", "无法用本省的交换密钥解开消息内容。") from exc


def answer_build(*, envelope: Mapping[str, Any], answer: dict[str, Any], key: SM2KeyPair) -> dict[str, Any]:
    """The receiver's signed answer to an accepted message: the sender verifies it with our key."""
    document = {
        "id": envelope["id"],
        "outcome": "accepted",
        "answer": answer,
        "from": envelope["to"],
        "to": envelope["from"],
    }
    return sign(document, key)


def answer_check(document: Any, *, message_id: str, peer_public: str) -> dict[str, Any]:
    """The answer inside a receiver's signed acknowledgement of message `message_id`; ValueError
    when it is not one, or not signed by the peer."""
    if not isinstance(document, dict) or set(document) != {
        "id",
        "outcome",
        "answer",
        "from",
        "to",
        "signature",
    }:
        raise ValueError("not an acknowledgement")
    if document["id"] != message_id or document["outcome"] != "accepted":
        raise ValueError("an acknowledgement of another message")
    if not signature_valid(document, peer_public):
        raise ValueError("the acknowledgement's signature does not verify")
    answer = document["answer"]
    if not isinstance(answer, dict):
        raise ValueError("the answer is not an object")
    return answer
