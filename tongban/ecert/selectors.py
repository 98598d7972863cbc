"""电子证照's reads: a certificate's state (derived from its card's state in the register when it
is read, never stored), the verdict of a code, the holder's certificate, and the staff's
scoped fetch (404 outside the viewer's jurisdiction)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from tongban.core import typed
from tongban.core.masking import mask_name
from tongban.ecert import keys
from tongban.ecert.models import ElectronicCertificate
from tongban.ecert.token import OUTCOME_LABELS, Content, Outcome, TokenCheck, content_verify
from tongban.registry.access import Viewer
from tongban.registry.models import EXPIRED, Card, Person

# A certificate's state by its card's current state (registry.models.card_state_expression).
VALID = "valid"
STATE_LABELS: dict[str, str] = {
    VALID: "有效",
    Card.State.LOST: "已挂失",
    Card.State.SUPERSEDED: "已换领作废",
    Card.State.CANCELLED: "已注销",
    EXPIRED: "已过期",
    Card.State.PRODUCED: "证件未发放",
}
# What the online check answers besides those (the code's own faults, a record not found).
CHECK_LABELS: dict[str, str] = {
    Outcome.MALFORMED: OUTCOME_LABELS[Outcome.MALFORMED],
    Outcome.UNKNOWN_KEY: OUTCOME_LABELS[Outcome.UNKNOWN_KEY],
    Outcome.BAD_SIGNATURE: OUTCOME_LABELS[Outcome.BAD_SIGNATURE],
    Outcome.TOKEN_EXPIRED: OUTCOME_LABELS[Outcome.TOKEN_EXPIRED],
    Outcome.NOT_YET_VALID: OUTCOME_LABELS[Outcome.NOT_YET_VALID],
    "not_found": "查无此电子证照",
    "record_altered": "证照记录校验失败",
}
REVOKED = frozenset({Card.State.LOST, Card.State.SUPERSEDED, Card.State.CANCELLED, EXPIRED})
RESULT_LABELS = {"valid": "有效", "revoked": "已失效", "invalid": "无法核验"}


def certificate_state(certificate: ElectronicCertificate, today: datetime.date | None = None) -> str:
    """`valid`, or why not: the card's current state (已挂失, 已换领作废, 已注销, 已过期)."""
    today = today or timezone.localdate()
    card = Card.objects.with_current_state(today).only("state", "valid_until").get(pk=certificate.card_id)
    state = vars(card)["current_state"]
    return VALID if state == Card.State.ACTIVE else str(state)


def state_label(state: str) -> str:
    return STATE_LABELS.get(state) or CHECK_LABELS.get(state, state)


def content_of(certificate: ElectronicCertificate) -> Content:
    return Content(
        number=certificate.number,
        province=settings.PROVINCE_CODE,
        card_serial=certificate.card_serial,
        name=certificate.holder_name,
        photo_sm3=certificate.photo_sm3,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        issuing_authority=certificate.issuing_authority,
        key_id=certificate.key_id,
        issued_at=certificate.created_at,
    )


def record_intact(certificate: ElectronicCertificate) -> bool:
    """The stored content still carries the province's signature (nobody edited the row)."""
    return content_verify(content_of(certificate), certificate.signature, keys.key_map())


@dataclass(frozen=True)
class Verdict:
    """The online answer to a code: `result` valid / revoked (已失效: the card lost, replaced,
    cancelled or expired) / invalid (the code itself fails, or names no certificate); `state`
    the reason's code and `reason` its words. Only a valid certificate's facts are given, and
    only what the check needs: the masked name, the photo's SM3, validity and 签发机关."""

    result: str
    state: str
    reason: str
    number: str = ""
    masked_name: str = ""
    photo_sm3: str = ""
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None
    issuing_authority: str = ""
    code_expires_at: datetime.datetime | None = None
    checked_at: datetime.datetime | None = None

    @property
    def valid(self) -> bool:
        return self.result == "valid"

    @property
    def label(self) -> str:
        return RESULT_LABELS[self.result]

    @property
    def validity_label(self) -> str:
        if self.valid_from is None:
            return ""
        end = self.valid_until.strftime("%Y.%m.%d") if self.valid_until else "长期"
        return f"{self.valid_from:%Y.%m.%d}-{end}"


def verdict_of(check: TokenCheck, *, now: datetime.datetime) -> Verdict:
    """The online verdict of a code checked offline (`token.token_check`)."""
    number = check.claims.number if check.claims else ""
    if check.outcome not in (Outcome.VALID, Outcome.EXPIRED):
        return Verdict("invalid", check.outcome, CHECK_LABELS[check.outcome], number=number, checked_at=now)
    certificate = ElectronicCertificate.objects.filter(number=number).first()
    if certificate is None:
        return Verdict("invalid", "not_found", CHECK_LABELS["not_found"], number=number, checked_at=now)
    if not record_intact(certificate):
        return Verdict(
            "invalid", "record_altered", CHECK_LABELS["record_altered"], number=number, checked_at=now
        )
    state = certificate_state(certificate, timezone.localdate(now))
    if state != VALID:
        result = "revoked" if state in REVOKED else "invalid"
        return Verdict(result, state, STATE_LABELS[state], number=number, checked_at=now)
    return Verdict(
        "valid",
        VALID,
        STATE_LABELS[VALID],
        number=number,
        masked_name=mask_name(certificate.holder_name),
        photo_sm3=certificate.photo_sm3,
        valid_from=certificate.valid_from,
        valid_until=certificate.valid_until,
        issuing_authority=certificate.issuing_authority,
        code_expires_at=check.claims.expires_at if check.claims else None,
        checked_at=now,
    )


def holder_certificate(id_number: str, name: str, reference: str) -> ElectronicCertificate | None:
    """The certificate of the card that (公民身份号码, 姓名, 受理号 or 卡号) names together, or
    None. A number shared by several people (重号) names nobody: the page never guesses."""
    if not (id_number and name and reference):
        return None
    people = list(Person.objects.filter(id_number=id_number).values_list("pk", flat=True)[:2])
    if len(people) != 1:
        return None
    person_pk = people[0]
    candidates = ElectronicCertificate.objects.filter(person_id=person_pk).filter(
        Q(card__application_number=reference) | Q(card_serial=reference)
    )
    for certificate in candidates.order_by("-created_at", "-pk"):
        if typed.names_match(certificate.holder_name, name):
            return certificate
    return None


def certificate_get(viewer: Viewer, number: str) -> ElectronicCertificate:
    """A certificate of the viewer's jurisdiction (404 for anything else)."""
    certificate = (
        ElectronicCertificate.objects.visible_to(viewer)
        .select_related("card", "person")
        .filter(number=number.strip().upper())
        .first()
    )
    if certificate is None:
        raise Http404("未找到该电子证照")
    return certificate


MISSING = "未找到电子证照：该证件尚未发放（或待核验），或不在本单位辖区。"


def certificate_find(viewer: Viewer, text: str) -> ElectronicCertificate | None:
    """By 证照编号, 受理号 or 卡号, within the viewer's jurisdiction: the newest one."""
    text = text.strip().upper()
    if not text:
        return None
    rows = ElectronicCertificate.objects.visible_to(viewer).filter(
        Q(number=text) | Q(card__application_number=text) | Q(card_serial=text)
    )
    return rows.order_by("-created_at", "-pk").first()
