"""居民身份证核查's demo (`demo seed`): one registered bank with a known key, and one card holder
with a valid card and an older one 换领作废, so that `make run` can be tried with curl
(README, docs/cardcheck.md). The key is a demo value: a production system never has it (`demo
seed` refuses to run there), and real keys are only ever issued at random (`key_issue`)."""

from __future__ import annotations

import json

from django.db.models import Q
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.cardcheck.models import Institution
from tongban.cardcheck.selectors import key_hash
from tongban.cardcheck.services import InstitutionEntry
from tongban.registry.models import Card, Person

DEMO_KEY = "tbk_de300001_DemoOnlyKeyNotForProduction00000"
DEMO_KEY_PREFIX = "de300001"
DEMO_BANK = InstitutionEntry(
    name="演示银行南昌分行",
    kind=Institution.Kind.BANK,
    credit_code="91360100705520351R",
    purpose="开立银行账户时核验客户身份证件（演示）",
    contact="演示联系人 0791-86000000",
    per_minute_limit=60,
    daily_limit=10000,
)
DEMO_STATION = "360102001"
DEMO_VALID_SERIAL = "360102000001"
DEMO_OLD_SERIAL = "360102000002"


def demo_holder() -> tuple[Person, Card | None] | None:
    """The demo card holder (whose valid card carries DEMO_VALID_SERIAL) and their card 换领作废,
    or None before `demo seed`."""
    card = Card.objects.select_related("person").filter(card_serial=DEMO_VALID_SERIAL).first()
    if card is None:
        return None
    old = Card.objects.filter(person=card.person, card_serial=DEMO_OLD_SERIAL).first()
    return card.person, old


def cardcheck_seed_demo() -> int:
    """The demo bank (with DEMO_KEY) and a demo card holder, once; returns how many were made.
    The holder is a person of the generated register at 东湖区城关派出所 holding a valid card and
    an older one 换领作废, whose cards (from the old register, without a 卡号) are given the demo
    serials: the register keeps its size, and `tongban cardcheck demo` names them."""
    made = 0
    if not Institution.objects.filter(credit_code=DEMO_BANK.credit_code).exists():
        # Written here rather than through the services (durable transactions of their own), as
        # `demo seed` runs inside its own; the one key not drawn at random, documented, so that the
        # demo can be tried at once.
        bank = Institution.objects.create(
            **vars(DEMO_BANK),
            key_prefix=DEMO_KEY_PREFIX,
            key_hash=key_hash(DEMO_KEY),
            key_issued_at=timezone.now(),
        )
        for action in (AuditAction.CARDCHECK_INSTITUTION_ADDED, AuditAction.CARDCHECK_KEY_ISSUED):
            record(
                actor=None,
                action=action,
                object_type="cardcheck.institution",
                object_id=bank.pk,
                detail={"name": bank.name, "key_prefix": DEMO_KEY_PREFIX, "demo": True},
            )
        made += 1
    if demo_holder() is not None:
        return made
    today = timezone.localdate()
    active = Card.objects.filter(
        person__registration_unit__code=DEMO_STATION,
        person__status=Person.Status.NORMAL,
        state=Card.State.ACTIVE,
        card_serial="",
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=today))
    with_old = active.filter(
        person__cards__state=Card.State.SUPERSEDED, person__cards__card_serial=""
    ).order_by("person__id_number", "pk")
    card = with_old.first() or active.order_by("person__id_number", "pk").first()
    if card is None:
        return made
    Card.objects.filter(pk=card.pk).update(card_serial=DEMO_VALID_SERIAL)
    old = (
        Card.objects.filter(person_id=card.person_id, state=Card.State.SUPERSEDED, card_serial="")
        .order_by("-valid_from", "-pk")
        .first()
    )
    if old is not None:
        Card.objects.filter(pk=old.pk).update(card_serial=DEMO_OLD_SERIAL)
    return made + 1


def cardcheck_demo_facts() -> dict[str, str | None] | None:
    """What `tongban demo cardcheck` prints: the demo key, the holder, the serials and a curl line."""
    found = demo_holder()
    if found is None:
        return None
    person, old = found
    body = {"id_number": person.id_number, "name": person.name, "card_serial": DEMO_VALID_SERIAL}
    return {
        "key": DEMO_KEY,
        "id_number": person.id_number,
        "name": person.name,
        "card_serial": DEMO_VALID_SERIAL,
        "old_card_serial": old.card_serial if old else None,
        "curl": (
            "curl -s -X POST http://127.0.0.1:8000/api/v1/card-checks "
            f"-H 'Authorization: Institution {DEMO_KEY}' -H 'Content-Type: application/json' "
            f"-d '{json.dumps(body, ensure_ascii=False)}'"
        ),
    }
