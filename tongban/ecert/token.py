"""The 电子证照 code (二维码) and the certificate's signed content, with no Django import: what a
relying party needs to check a code offline is this module, `tongban.core.crypto` and the
province's public key (docs/ecert.md).

A code is a token of three parts joined by dots, like a compact JWS but signed with SM2:

    EC1.<payload>.<signature>

- `EC1` names the format (version 1);
- `<payload>` is base64url (no padding) of compact JSON:
  `{"iss": "36", "num": "<证照编号>", "kid": "<key id>", "iat": <unix s>, "exp": <unix s>,
  "until": "2036-05-17" | ""}`: the issuing province, the certificate's number, the key that
  signed, when the code was made and until when it may be shown, and the last day of the
  certificate's validity ("" for 长期). Nothing else about the holder;
- `<signature>` is base64url of the DER SM3withSM2 signature (default ID 1234567812345678) over
  the ASCII bytes `EC1.<payload>`.

A key id is the first 16 hex digits of the key's fingerprint (SM3 of 04‖x‖y): certificates and
codes name it, so codes and records signed before a key was replaced still check against the
retired key's public half.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tongban.core.crypto import SM2KeyPair, sm2_fingerprint, sm2_sign, sm2_verify

PREFIX = "EC1"
KEY_ID_LENGTH = 16
# How far a code's issue time may lie ahead of the checker's clock (clocks disagree a little).
CLOCK_SKEW = datetime.timedelta(minutes=2)
MAX_TOKEN_LENGTH = 1000
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# A QR code opens the verification page with the code as its `t` parameter.
_URL_TOKEN = re.compile(r"[?&#]t=([A-Za-z0-9_.-]+)")


class Outcome:
    """What a check of a code found (the reasons of docs/ecert.md)."""

    VALID = "valid"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a reason, not a secret
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"


OUTCOME_LABELS = {
    Outcome.VALID: "签名有效",
    Outcome.MALFORMED: "不是电子证照二维码",
    Outcome.UNKNOWN_KEY: "签名密钥未知",
    Outcome.BAD_SIGNATURE: "签名无效",
    Outcome.TOKEN_EXPIRED: "二维码已过期",
    Outcome.NOT_YET_VALID: "二维码时间有误",
    Outcome.EXPIRED: "已过期",
}


def key_id(public: str) -> str:
    """The id certificates and codes name a key by."""
    return sm2_fingerprint(public)[:KEY_ID_LENGTH]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Claims:
    """The payload of a code."""

    province: str
    number: str
    key_id: str
    issued_at: datetime.datetime
    expires_at: datetime.datetime
    valid_until: datetime.date | None  # None: 长期

    def as_json(self) -> dict[str, Any]:
        return {
            "iss": self.province,
            "num": self.number,
            "kid": self.key_id,
            "iat": int(self.issued_at.timestamp()),
            "exp": int(self.expires_at.timestamp()),
            "until": self.valid_until.isoformat() if self.valid_until else "",
        }


def token_make(claims: Claims, key: SM2KeyPair) -> str:
    """The signed code of `claims`; `key` must be the one `claims.key_id` names."""
    if key_id(key.public) != claims.key_id:
        raise ValueError("the claims name another key")
    body = json.dumps(claims.as_json(), separators=(",", ":"), sort_keys=True).encode()
    signing_input = f"{PREFIX}.{_b64(body)}"
    return f"{signing_input}.{_b64(sm2_sign(key, signing_input.encode('ascii')))}"


def token_from_text(text: str) -> str:
    """The code in what a scanner or a person hands over: the code itself, or the verification
    page's address that carries it (`…/guide/ecert/verify/?t=EC1.…`)."""
    text = text.strip()
    found = _URL_TOKEN.search(text)
    return found.group(1) if found else text


@dataclass(frozen=True)
class TokenCheck:
    """`outcome` is an `Outcome`; `claims` whenever the payload could be read (also for a code
    that failed, so that the checker can say which certificate it names)."""

    outcome: str
    claims: Claims | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.VALID

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.outcome]


def _claims(payload: bytes) -> Claims:
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("payload is not an object")
    until = str(data.get("until") or "")
    number, kid, province = data["num"], data["kid"], data["iss"]
    if not all(isinstance(value, str) and value for value in (number, kid, province)):
        raise ValueError("num, kid and iss are non-empty strings")
    iat, exp = data["iat"], data["exp"]
    if not all(isinstance(value, int) and not isinstance(value, bool) for value in (iat, exp)):
        raise ValueError("iat and exp are integers")
    return Claims(
        province=province,
        number=number,
        key_id=kid,
        issued_at=datetime.datetime.fromtimestamp(iat, tz=datetime.UTC),
        expires_at=datetime.datetime.fromtimestamp(exp, tz=datetime.UTC),
        valid_until=datetime.date.fromisoformat(until) if until else None,
    )


def token_check(
    token: str, keys: Mapping[str, str], *, now: datetime.datetime, today: datetime.date
) -> TokenCheck:
    """Check a code offline: its form, its signature by one of `keys` (key id → public key hex,
    the current key and the retired ones), that `now` lies within its time, and that the
    certificate's validity has not ended by `today` (the date where the province is). Says
    nothing of a loss report or a newer card: that is the online check's part."""
    token = token_from_text(token)
    if len(token) > MAX_TOKEN_LENGTH:
        return TokenCheck(Outcome.MALFORMED)
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return TokenCheck(Outcome.MALFORMED)
    try:
        claims = _claims(_unb64(parts[1]))
        signature = _unb64(parts[2])
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
        return TokenCheck(Outcome.MALFORMED)
    public = keys.get(claims.key_id)
    if public is None:
        return TokenCheck(Outcome.UNKNOWN_KEY, claims)
    if not sm2_verify(public, signature, f"{parts[0]}.{parts[1]}".encode("ascii")):
        return TokenCheck(Outcome.BAD_SIGNATURE, claims)
    if claims.issued_at > now + CLOCK_SKEW or claims.expires_at < claims.issued_at:
        return TokenCheck(Outcome.NOT_YET_VALID, claims)
    if now > claims.expires_at:
        return TokenCheck(Outcome.TOKEN_EXPIRED, claims)
    if claims.valid_until is not None and today > claims.valid_until:
        return TokenCheck(Outcome.EXPIRED, claims)
    return TokenCheck(Outcome.VALID, claims)


# ---------------------------------------------------------------------------------------------
# The certificate's own content, signed when it is made


@dataclass(frozen=True)
class Content:
    """What a certificate vouches for (证照信息), as signed: the holder's name, the SM3 of the
    card's photo, the card (serial), its validity and 签发机关, when and under which key."""

    number: str
    province: str
    card_serial: str
    name: str
    photo_sm3: str
    valid_from: datetime.date
    valid_until: datetime.date | None
    issuing_authority: str
    key_id: str
    issued_at: datetime.datetime

    def canonical(self) -> bytes:
        """UTF-8 JSON, keys sorted, no spaces: the bytes the signature covers."""
        body = {
            "version": 1,
            "number": self.number,
            "province": self.province,
            "card_serial": self.card_serial,
            "name": self.name,
            "photo_sm3": self.photo_sm3,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else "",
            "issuing_authority": self.issuing_authority,
            "key_id": self.key_id,
            "issued_at": self.issued_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def content_sign(content: Content, key: SM2KeyPair) -> str:
    """The signature of a certificate's content (base64)."""
    return base64.b64encode(sm2_sign(key, content.canonical())).decode("ascii")


def content_verify(content: Content, signature: str, keys: Mapping[str, str]) -> bool:
    public = keys.get(content.key_id)
    if public is None:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return False
    return sm2_verify(public, raw, content.canonical())
