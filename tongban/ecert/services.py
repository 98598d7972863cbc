"""电子证照's writes (docs/ecert.md): a certificate made for a card handed over, the codes its
holder shows, the holder's proof at the public page and the online check of a code.

A certificate is made by `application_changed`, a listener of `intake.transitions` run in the
transaction of the move that puts the card in its holder's hands for good: 本人领取 (HAND_OVER),
核验 after a relative's or the post's handover (VERIFY), and the same two reported by the
acceptance province for an application we issued (跨省通办, REMOTE_*). By then the handover has
made the card valid (`handover.card_activate`), so the listener finds it by the 受理号. A card
accepted here for another province's resident is that province's to certify. No stage imports
this module; a failure to sign (the key locked) is logged and audited, never undoes a handover:
`tongban ecert backfill` makes what is missing."""

from __future__ import annotations

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.accounts import limits
from tongban.accounts.models import User
from tongban.audit.actions import AuditAction, EventAction
from tongban.audit.services import AuditActor, record
from tongban.core import idnumber
from tongban.core.crypto import sm3_hex
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.ecert import keys, selectors
from tongban.ecert.models import ElectronicCertificate
from tongban.ecert.token import Claims, Content, content_sign, key_id, token_check, token_make
from tongban.intake.models import Application, ApplicationEvent
from tongban.registry.models import Card, Person

logger = logging.getLogger("tongban.ecert")

Status = Application.Status
OBJECT_TYPE = "ecert.electroniccertificate"

# The moves after which the card is in its holder's hands for good.
FINAL_HANDOVER = frozenset(
    {
        EventAction.HANDED_OVER,
        EventAction.VERIFIED,
        EventAction.REMOTE_HANDED_OVER,
        EventAction.REMOTE_VERIFIED,
    }
)
# Applications whose card the backfill certifies: handed over (in person) or verified.
FINAL_STATUSES = (Status.HANDED_OVER, Status.VERIFIED)

# Crockford's base32: no I, L, O, U, so a number read out over the telephone is not misheard.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_CHARS = 20  # 100 bits: not guessable, not enumerable


def new_number() -> str:
    """证照编号: the province's code and 20 random characters."""
    return settings.PROVINCE_CODE + "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_CHARS))


def _photo_digest(card: Card, application: Application | None) -> str:
    """SM3 of the photo printed on the card: the application's, or the register's for a card
    whose application this system never held."""
    photo = application.photo if application is not None else None
    if photo is None:
        photo = Person.objects.filter(pk=card.person_id).values_list("photo", flat=True).first()
    return sm3_hex(bytes(photo)) if photo else ""


def _application_of(card: Card) -> Application | None:
    if not card.application_number:
        return None
    return (
        Application.objects.filter(number=card.application_number, person_id=card.person_id)
        .only("pk", "name", "photo", "exchange")
        .first()
    )


def certificate_issue(
    *, card: Card, application: Application | None = None, name: str | None = None
) -> ElectronicCertificate:
    """The certificate of `card`, made and signed now unless it has one already (one per card).
    The name is the one the card carries: its application's, else the register's."""
    existing = ElectronicCertificate.objects.filter(card=card).first()
    if existing is not None:
        return existing
    if application is None:
        application = _application_of(card)
    pair = keys.ecert_key()  # first: a locked key leaves nothing written
    if name is None:
        name = (
            application.name
            if application is not None
            else str(Person.objects.filter(pk=card.person_id).values_list("name", flat=True).get())
        )
    content = Content(
        number=new_number(),
        province=settings.PROVINCE_CODE,
        card_serial=card.card_serial,
        name=name,
        photo_sm3=_photo_digest(card, application),
        valid_from=card.valid_from,
        valid_until=card.valid_until,
        issuing_authority=card.issuing_authority,
        key_id=key_id(pair.public),
        issued_at=timezone.now().replace(microsecond=0),
    )
    certificate = ElectronicCertificate.objects.create(
        number=content.number,
        card=card,
        person_id=card.person_id,
        name=content.name.encode("utf-8"),
        card_serial=content.card_serial,
        photo_sm3=content.photo_sm3,
        valid_from=content.valid_from,
        valid_until=content.valid_until,
        issuing_authority=content.issuing_authority,
        key_id=content.key_id,
        signature=content_sign(content, pair),
        created_at=content.issued_at,
    )
    record(
        actor=None,
        action=AuditAction.ECERT_ISSUED,
        object_type=OBJECT_TYPE,
        object_id=certificate.number,
        detail={
            "card": card.pk,
            "card_serial": card.card_serial,
            "application": card.application_number,
            "key_id": content.key_id,
        },
    )
    return certificate


def application_changed(application: Application, event: ApplicationEvent) -> None:
    """The listener (registered in EcertConfig.ready): a certificate for the card of an
    application whose card is now in its holder's hands for good."""
    if event.action not in FINAL_HANDOVER or application.exchange == Application.Exchange.OUT:
        return
    card = (
        Card.objects.filter(
            person_id=application.person_id,
            application_number=application.number or "",
            state=Card.State.ACTIVE,
        )
        .order_by("-pk")
        .first()
    )
    if card is None:
        return  # the acceptance province reported no card serial: nothing to bind to
    try:
        certificate_issue(card=card, application=application)
    except ServiceError as error:  # bad_ecert_key: the handover stands; backfill makes it later
        logger.error("电子证照未生成（%s）：受理号 %s：%s", error.code, application.number, error.message)
        record(
            actor=None,
            action=AuditAction.ECERT_ISSUE_FAILED,
            object_type="intake.application",
            object_id=application.pk,
            detail={"number": application.number or "", "code": error.code},
        )


def backfill_candidates() -> list[int]:
    """Valid cards without a certificate whose application was handed over or verified before
    this feature (or while the key was locked): card ids, oldest first."""
    numbers = Application.objects.filter(status__in=FINAL_STATUSES).exclude(exchange=Application.Exchange.OUT)
    return list(
        Card.objects.filter(state=Card.State.ACTIVE, ecertificate__isnull=True)
        .exclude(application_number="")
        .filter(application_number__in=numbers.values("number"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def certificates_backfill(*, limit: int | None = None) -> int:
    """Make the missing certificates (`tongban ecert backfill`, the demo's seeding), one short
    transaction each so that a long run holds no lock for long. Returns how many were made."""
    made = 0
    for card_pk in backfill_candidates()[:limit]:
        with transaction.atomic():
            card = Card.objects.select_for_update().get(pk=card_pk)
            if card.state != Card.State.ACTIVE or ElectronicCertificate.objects.filter(card=card).exists():
                continue
            certificate_issue(card=card)
            made += 1
    return made


# ---------------------------------------------------------------------------------------------
# Codes (二维码)


@dataclass(frozen=True)
class IssuedCode:
    token: str
    expires_at: datetime.datetime


def code_issue(
    *, certificate: ElectronicCertificate, lifetime: datetime.timedelta, actor: AuditActor | None, kind: str
) -> IssuedCode:
    """A fresh code of `certificate`, valid for `lifetime` from now (a few minutes on a screen,
    a day on paper: settings ECERT_SCREEN_MINUTES, ECERT_PRINT_HOURS). Audited; never stored."""
    pair = keys.ecert_key()
    now = timezone.now().replace(microsecond=0)
    claims = Claims(
        province=settings.PROVINCE_CODE,
        number=certificate.number,
        key_id=key_id(pair.public),
        issued_at=now,
        expires_at=now + lifetime,
        valid_until=certificate.valid_until,
    )
    token = token_make(claims, pair)
    record(
        actor=actor,
        action=AuditAction.ECERT_CODE_ISSUED,
        object_type=OBJECT_TYPE,
        object_id=certificate.number,
        detail={"kind": kind, "expires_at": claims.expires_at.isoformat()},
    )
    return IssuedCode(token=token, expires_at=claims.expires_at)


def screen_lifetime() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.ECERT_SCREEN_MINUTES)


def print_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.ECERT_PRINT_HOURS)


# ---------------------------------------------------------------------------------------------
# The holder's proof at the public page (/guide/ecert/)


def holder_limit() -> limits.Limit:
    """Tries per client address."""
    return limits.Limit("ecert.holder", settings.ECERT_HOLDER_PER_HOUR, datetime.timedelta(hours=1))


def holder_failure_limit() -> limits.Limit:
    """Failed tries per 公民身份号码: the number is locked for the hour after that many."""
    return limits.Limit("ecert.holder_failures", settings.ECERT_HOLDER_FAILURES, datetime.timedelta(hours=1))


def verify_limit() -> limits.Limit:
    """Online checks per client address."""
    return limits.Limit("ecert.verify", settings.ECERT_VERIFY_PER_MINUTE, datetime.timedelta(minutes=1))


NOT_FOUND = "未查询到电子证照：请核对公民身份号码、姓名和受理号（或卡号）。"


def holder_open(*, id_number: str, name: str, reference: str, address: str | None) -> ElectronicCertificate:
    """The holder proves who they are with 公民身份号码, 姓名 and the 受理号 of the 领证回执 (or the
    card's serial): their certificate, or `not_found` (400) saying only that nothing was found.
    Counted per address; failures counted per number lock it for an hour; each try audited with
    the number masked."""
    limits.knock(holder_limit(), address or "-")
    try:
        number = idnumber.canonical(id_number)
    except ValueError:
        number = id_number.strip().upper()
    masked = mask_id_number(number)
    locked = limits.blocked_until(holder_failure_limit(), number)
    if locked is not None:
        record(
            actor=None, action=AuditAction.ECERT_HOLDER_REFUSED, detail={"id_number": masked, "locked": True}
        )
        raise limits.Limited(
            locked,
            f"该公民身份号码查询失败次数过多，已暂时锁定，请于 {timezone.localtime(locked):%H:%M} 后再试。",
        )
    certificate = selectors.holder_certificate(number, name.strip(), reference.strip())
    if certificate is None:
        limits.hit(holder_failure_limit(), number)
        record(actor=None, action=AuditAction.ECERT_HOLDER_REFUSED, detail={"id_number": masked})
        raise ServiceError("not_found", NOT_FOUND, status=404)
    limits.clear(holder_failure_limit(), number)
    record(
        actor=None,
        action=AuditAction.ECERT_HOLDER_OPENED,
        object_type=OBJECT_TYPE,
        object_id=certificate.number,
        detail={"id_number": masked},
    )
    return certificate


# ---------------------------------------------------------------------------------------------
# The online check


def code_verify(*, text: str, channel: str, address: str | None) -> selectors.Verdict:
    """Check a code as the verification page and the API do: offline checks first (form,
    signature, time), then the certificate and the card's state as the register has it now.
    Counted per address (Limited) and audited, whatever the verdict."""
    limits.knock(verify_limit(), address or "-")
    now = timezone.now()
    check = token_check(text, keys.key_map(), now=now, today=timezone.localdate(now))
    verdict = selectors.verdict_of(check, now=now)
    record(
        actor=None,
        action=AuditAction.ECERT_VERIFIED,
        object_type=OBJECT_TYPE if verdict.number else "",
        object_id=verdict.number,
        detail={"channel": channel, "state": verdict.state},
    )
    return verdict


# ---------------------------------------------------------------------------------------------
# Staff


def certificate_open(*, viewer: User, certificate: ElectronicCertificate, how: str) -> None:
    """A member of staff opened (or printed) a certificate: audited like a full record."""
    record(
        actor=viewer,
        action=AuditAction.ECERT_VIEW,
        object_type=OBJECT_TYPE,
        object_id=certificate.number,
        detail={"how": how},
    )
