"""The code (二维码) and the signed content, without a database: a round trip, tampering, time,
unknown and retired keys."""

from __future__ import annotations

import base64
import datetime
import json

from tongban.core.crypto import sm2_generate
from tongban.ecert.token import (
    Claims,
    Content,
    Outcome,
    content_sign,
    content_verify,
    key_id,
    token_check,
    token_from_text,
    token_make,
)

NOW = datetime.datetime(2026, 12, 7, 8, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 12, 7)
KEY = sm2_generate()
KEYS = {key_id(KEY.public): KEY.public}


def claims(**changes: object) -> Claims:
    values: dict[str, object] = {
        "province": "36",
        "number": "36ABCDEFGHJKMNPQRSTVW",
        "key_id": key_id(KEY.public),
        "issued_at": NOW,
        "expires_at": NOW + datetime.timedelta(minutes=5),
        "valid_until": datetime.date(2036, 5, 17),
    }
    values.update(changes)
    return Claims(**values)  # type: ignore[arg-type]


def test_a_code_round_trips_and_carries_no_personal_data() -> None:
    token = token_make(claims(), KEY)
    assert token.startswith("EC1.") and len(token) < 300
    check = token_check(token, KEYS, now=NOW + datetime.timedelta(minutes=1), today=TODAY)
    assert check.ok and check.claims == claims()
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert set(payload) == {"iss", "num", "kid", "iat", "exp", "until"}
    # The verification page's address, as the QR code holds it, is read the same.
    url = f"https://tongban.example/guide/ecert/verify/?t={token}"
    assert token_from_text(url) == token
    assert token_check(url, KEYS, now=NOW, today=TODAY).ok


def test_a_changed_payload_or_signature_fails() -> None:
    head, payload, signature = token_make(claims(), KEY).split(".")
    other = token_make(claims(number="36ZZZZZZZZZZZZZZZZZZZZ"), KEY).split(".")[1]
    assert (
        token_check(f"{head}.{other}.{signature}", KEYS, now=NOW, today=TODAY).outcome
        == Outcome.BAD_SIGNATURE
    )
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert token_check(f"{head}.{payload}.{flipped}", KEYS, now=NOW, today=TODAY).outcome in (
        Outcome.BAD_SIGNATURE,
        Outcome.MALFORMED,
    )
    for bad in ("", "EC1", "EC2.a.b", "EC1.!!.x", f"EC1.{payload}", "x" * 5000, "EC1.bm90IGpzb24.AA"):
        assert token_check(bad, KEYS, now=NOW, today=TODAY).outcome == Outcome.MALFORMED


def test_another_key_is_unknown_or_a_bad_signature() -> None:
    stranger = sm2_generate()
    forged = token_make(claims(key_id=key_id(stranger.public)), stranger)
    assert token_check(forged, KEYS, now=NOW, today=TODAY).outcome == Outcome.UNKNOWN_KEY
    # A stranger's signature under our key id.
    head, payload, _ = token_make(claims(), KEY).split(".")
    _, _, theirs = token_make(claims(key_id=key_id(stranger.public)), stranger).split(".")
    assert (
        token_check(f"{head}.{payload}.{theirs}", KEYS, now=NOW, today=TODAY).outcome == Outcome.BAD_SIGNATURE
    )


def test_time_the_code_and_the_certificate() -> None:
    token = token_make(claims(), KEY)
    later = NOW + datetime.timedelta(minutes=5, seconds=1)
    assert token_check(token, KEYS, now=later, today=TODAY).outcome == Outcome.TOKEN_EXPIRED
    early = NOW - datetime.timedelta(minutes=10)
    assert token_check(token, KEYS, now=early, today=TODAY).outcome == Outcome.NOT_YET_VALID
    ended = token_make(claims(valid_until=datetime.date(2026, 12, 6)), KEY)
    assert token_check(ended, KEYS, now=NOW, today=TODAY).outcome == Outcome.EXPIRED
    long_term = token_make(claims(valid_until=None), KEY)
    assert token_check(long_term, KEYS, now=NOW, today=datetime.date(2090, 1, 1)).ok


def test_a_retired_key_still_checks_what_it_signed() -> None:
    new = sm2_generate()
    old_token = token_make(claims(), KEY)
    both = {key_id(new.public): new.public, **KEYS}
    assert token_check(old_token, both, now=NOW, today=TODAY).ok
    assert token_check(old_token, {key_id(new.public): new.public}, now=NOW, today=TODAY).outcome == (
        Outcome.UNKNOWN_KEY
    )


def test_the_content_signature_covers_every_field() -> None:
    content = Content(
        number="36ABCDEFGHJKMNPQRSTVW",
        province="36",
        card_serial="000000000042",
        name="刘晓燕",
        photo_sm3="ab" * 32,
        valid_from=datetime.date(2026, 1, 1),
        valid_until=None,
        issuing_authority="南昌市公安局东湖分局",
        key_id=key_id(KEY.public),
        issued_at=NOW,
    )
    signature = content_sign(content, KEY)
    assert content_verify(content, signature, KEYS)
    assert '"name":"刘晓燕"' in content.canonical().decode()
    for field, value in {
        "name": "刘晓艳",
        "card_serial": "000000000043",
        "photo_sm3": "cd" * 32,
        "valid_until": datetime.date(2036, 1, 1),
        "issuing_authority": "南昌市公安局西湖分局",
    }.items():
        changed = Content(**{**content.__dict__, field: value})
        assert not content_verify(changed, signature, KEYS), field
    assert not content_verify(content, "not base64!", KEYS)
    assert not content_verify(content, signature, {})
