"""The envelope as a peer's integrator reads it (docs/exchange.md): canonical form, signatures,
sealing of personal bodies, and the body schemas' refusals. Pure: no database."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tongban.core.crypto import sm2_generate, sm2_verify
from tongban.core.errors import ServiceError
from tongban.exchange import protocol

US, THEM = sm2_generate(), sm2_generate()
DECIDED = {
    "number": "4401060012026120700001",
    "issued": True,
    "unit_name": "南昌市公安局东湖分局",
    "decided_at": "2026-12-07T10:00:00+08:00",
    "issuing_authority": "南昌市公安局东湖分局",
    "validity": "10",
    "valid_from": "2026-12-07",
    "valid_until": "2036-12-07",
    "refusal_code": "",
    "refusal_text": "",
}


def build(kind: str = protocol.PING, body: Any = None) -> dict[str, Any]:
    return protocol.envelope_build(
        kind=kind, sender="36", receiver="44", body=body or {}, key=US, receiver_public=THEM.public
    )


def test_the_canonical_form_sorts_keys_without_spaces_or_escapes() -> None:
    assert protocol.canonical({"b": 1, "a": ["江西", None]}) == '{"a":["江西",null],"b":1}'.encode()


def test_the_signature_covers_the_canonical_envelope_without_it() -> None:
    envelope = build()
    assert set(envelope) == protocol.ENVELOPE_KEYS
    unsigned = {k: v for k, v in envelope.items() if k != "signature"}
    signature = base64.b64decode(envelope["signature"])
    assert sm2_verify(US.public, signature, protocol.canonical(unsigned))  # as openssl would check it
    assert protocol.signature_valid(envelope, US.public)
    assert not protocol.signature_valid(envelope, THEM.public)
    assert not protocol.signature_valid({**envelope, "to": "45"}, US.public)
    assert not protocol.signature_valid({**envelope, "signature": "not base64!"}, US.public)


def test_a_personal_body_travels_sealed_for_the_receiver_only() -> None:
    envelope = build("application.decided", DECIDED)
    assert envelope["body"] is None and envelope["sealed"] and envelope["key"]
    assert "东湖" not in json.dumps(envelope, ensure_ascii=False)
    assert protocol.body_open(envelope, THEM) == DECIDED
    with pytest.raises(ServiceError) as refused:
        protocol.body_open(envelope, US)  # not sealed for the sender's key
    assert refused.value.code == "undecryptable"
    moved = {**envelope, "id": build()["id"]}  # the id is the seal's context
    with pytest.raises(ServiceError) as refused:
        protocol.body_open(moved, THEM)
    assert refused.value.code == "undecryptable"


def test_a_personal_kind_in_the_clear_and_a_plain_kind_sealed_are_refused() -> None:
    clear = {**build("application.decided", DECIDED), "body": DECIDED, "sealed": None, "key": None}
    with pytest.raises(ServiceError) as refused:
        protocol.body_open(clear, THEM)
    assert refused.value.code == "bad_schema"
    sealed = {**build(), "sealed": "AA==", "key": "AA=="}
    with pytest.raises(ServiceError) as refused:
        protocol.body_open(sealed, THEM)
    assert refused.value.code == "bad_schema"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({k: v for k, v in DECIDED.items() if k != "number"}, "number 缺失"),
        ({**DECIDED, "extra": 1}, "extra 不是约定的字段"),
        ({**DECIDED, "number": 4401}, "number 应为字符串"),
        ({**DECIDED, "issued": "yes"}, "issued 应为 true 或 false"),
        ({**DECIDED, "decided_at": "2026-12-07T10:00:00"}, "decided_at 应为带时区的时间"),
        ({**DECIDED, "valid_from": "2026-13-01"}, "valid_from 应为日期"),
        ({**DECIDED, "issuing_authority": None}, "issuing_authority 不能为空"),
        ({**DECIDED, "issuing_authority": ""}, "签发须有 issuing_authority"),
        ({**DECIDED, "issued": False}, "不予签发须有 refusal_text"),
        ([], "内容 应为对象"),
    ],
)
def test_a_body_is_held_to_its_kind_s_schema(body: Any, why: str) -> None:
    with pytest.raises(ServiceError) as refused:
        protocol.check_body("application.decided", body)
    assert refused.value.code == "bad_schema"
    assert why in refused.value.message


def test_nested_objects_and_lists_are_checked_too() -> None:
    finger = {"position": "11", "result": "registered", "reason": "", "quality": 87.5, "format": "x"}
    body = {"materials_shown": ["hukou", 3], "fingers": [finger, {**finger, "quality": True}]}
    problems = protocol.schema_errors(protocol.KINDS["application.submitted"].schema, body)
    assert "materials_shown.1 应为字符串" in problems
    assert "fingers.0.template 缺失" in problems and "fingers.1.quality 应为数值" in problems


def test_a_sender_cannot_build_a_message_its_peer_would_refuse() -> None:
    with pytest.raises(ServiceError) as refused:
        build(protocol.PING, {"note": 1})
    assert refused.value.code == "bad_schema"


@pytest.mark.parametrize(
    "change",
    [
        lambda e: b"\xff\xfe",
        lambda e: b"[1, 2]",
        lambda e: json.dumps({k: v for k, v in e.items() if k != "key"}).encode(),
        lambda e: json.dumps({**e, "extra": 1}).encode(),
        lambda e: json.dumps({**e, "version": 2}).encode(),
        lambda e: json.dumps({**e, "id": "not-a-uuid"}).encode(),
        lambda e: json.dumps({**e, "from": "广东"}).encode(),
        lambda e: json.dumps({**e, "sent_at": "2026-12-07 10:00"}).encode(),
        lambda e: json.dumps({**e, "body": [1]}).encode(),
    ],
)
def test_what_is_not_an_envelope_is_refused_bad_envelope(change: Any) -> None:
    with pytest.raises(ServiceError) as refused:
        protocol.envelope_parse(change(build()))
    assert refused.value.code == "bad_envelope"
    assert refused.value.status == 400


def test_a_signed_answer_is_checked_against_the_peer_s_key() -> None:
    envelope = build()
    answer = protocol.answer_build(envelope=envelope, answer={"ok": True}, key=THEM)
    assert protocol.answer_check(answer, message_id=envelope["id"], peer_public=THEM.public) == {"ok": True}
    with pytest.raises(ValueError, match="signature"):
        protocol.answer_check(answer, message_id=envelope["id"], peer_public=US.public)
    with pytest.raises(ValueError, match="another message"):
        protocol.answer_check(answer, message_id=build()["id"], peer_public=THEM.public)


def test_a_message_signed_again_keeps_its_id_and_body() -> None:
    envelope = build("application.decided", DECIDED)
    again = protocol.envelope_resign({**envelope, "sent_at": "2026-01-01T00:00:00+00:00"}, US)
    assert again["id"] == envelope["id"] and again["sealed"] == envelope["sealed"]
    assert again["sent_at"] != "2026-01-01T00:00:00+00:00"
    assert protocol.signature_valid(again, US.public)
    assert protocol.body_open(again, THEM) == DECIDED
