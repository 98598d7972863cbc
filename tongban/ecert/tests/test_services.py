"""电子证照 with the register: made once per card handed over (in person, or at 核验 after a
relative's handover), revoked at once by a loss report or a newer card, expired with the card,
checked online and offline, kept when the key is replaced, made afterwards by the backfill."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tongban.accounts.limits import Limited
from tongban.audit.models import AuditEvent
from tongban.cardloss.services import loss_report, loss_restore
from tongban.core.crypto import sm3_hex
from tongban.ecert import keys, selectors, services
from tongban.ecert.models import ElectronicCertificate
from tongban.ecert.token import Outcome
from tongban.handover import services as handover
from tongban.intake.models import Application
from tongban.intake.rules import ApplicationType
from tongban.registry.models import Card, Person
from tongban.testing.personas import Personas

pytestmark = pytest.mark.django_db
SCREEN = datetime.timedelta(minutes=5)


def code_of(certificate: ElectronicCertificate, lifetime: datetime.timedelta = SCREEN) -> str:
    return services.code_issue(certificate=certificate, lifetime=lifetime, actor=None, kind="screen").token


def check(token: str) -> selectors.Verdict:
    return services.code_verify(text=token, channel="test", address="192.0.2.1")


def test_an_in_person_handover_makes_one_signed_certificate(handed_over: Application) -> None:
    card = Card.objects.get(application_number=handed_over.number)
    certificate = ElectronicCertificate.objects.get()
    assert certificate.card == card and certificate.card_serial == card.card_serial != ""
    assert certificate.person_id == handed_over.person_id
    assert certificate.holder_name == "刘晓燕"
    assert certificate.photo_sm3 == sm3_hex(bytes(handed_over.photo or b""))
    assert (certificate.valid_from, certificate.valid_until) == (card.valid_from, card.valid_until)
    assert certificate.issuing_authority == card.issuing_authority == "南昌市公安局东湖分局"
    assert certificate.number.startswith("36") and len(certificate.number) == 22
    assert certificate.key_id == keys.public_keys()[0].key_id
    assert selectors.record_intact(certificate)
    # The name is sealed at rest: the column holds no plain text.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM ecert_electroniccertificate")
        (raw,) = cursor.fetchone()
    assert "刘晓燕".encode() not in bytes(raw)
    issued = AuditEvent.objects.filter(action="ecert.issued", object_id=certificate.number)
    assert issued.count() == 1 and issued.get().detail["application"] == handed_over.number
    # Issuing again (the backfill, a listener run twice) changes nothing.
    assert services.certificate_issue(card=card) == certificate
    assert services.certificates_backfill() == 0
    assert ElectronicCertificate.objects.count() == 1


def test_a_proxy_handover_is_certified_at_the_verification(
    personas: Personas, produced: Application, hand_over: Callable[..., Application]
) -> None:
    application = hand_over(produced, way="proxy")
    assert application.status == Application.Status.PENDING_VERIFICATION
    assert Card.objects.get(application_number=application.number).state == Card.State.ACTIVE
    assert not ElectronicCertificate.objects.exists()
    handover.verification_perform(
        actor=personas.nanchang_distributor, application=application, finger=None, card_checked=True
    )
    certificate = ElectronicCertificate.objects.get()
    assert certificate.card.application_number == application.number


def test_a_valid_code_checks_online_with_only_what_the_check_needs(handed_over: Application) -> None:
    certificate = ElectronicCertificate.objects.get()
    verdict = check(code_of(certificate))
    assert (verdict.result, verdict.label, verdict.state) == ("valid", "有效", "valid")
    assert verdict.masked_name == "刘*燕" and verdict.photo_sm3 == certificate.photo_sm3
    assert verdict.issuing_authority == "南昌市公安局东湖分局" and verdict.number == certificate.number
    row = AuditEvent.objects.filter(action="ecert.verified").latest("pk")
    assert row.detail == {"channel": "test", "state": "valid"}


def test_a_loss_report_revokes_at_once_and_a_restore_brings_it_back(
    personas: Personas, handed_over: Application
) -> None:
    certificate = ElectronicCertificate.objects.get()
    token = code_of(certificate)
    person = Person.objects.get(pk=handed_over.person_id)
    report = loss_report(
        actor=personas.nanchang_clerk, person=person, channel="in_person", phone="13907910000"
    )
    verdict = check(token)  # the same code, made before the report
    assert (verdict.result, verdict.label, verdict.reason) == ("revoked", "已失效", "已挂失")
    assert verdict.masked_name == "" and verdict.photo_sm3 == ""
    assert selectors.certificate_state(certificate) == Card.State.LOST
    loss_restore(actor=personas.nanchang_clerk, report=report, reason="证件已找到")
    assert check(token).result == "valid"


def test_a_newer_card_supersedes_the_certificate(
    personas: Personas,
    handed_over: Application,
    accept: Callable[..., Application],
    produce: Callable[[Application], Application],
    hand_over: Callable[..., Application],
) -> None:
    first = ElectronicCertificate.objects.get()
    token = code_of(first)
    person = Person.objects.get(pk=handed_over.person_id)
    renewal = accept(personas.nanchang_clerk, person, ApplicationType.RENEWAL, reason="22")
    # Made, not yet handed over: the old card (and certificate) stays valid.
    renewal = produce(renewal)
    assert check(token).result == "valid"
    hand_over(renewal)
    verdict = check(token)
    assert (verdict.result, verdict.reason) == ("revoked", "已换领作废")
    second = ElectronicCertificate.objects.exclude(pk=first.pk).get()
    assert second.card.application_number == renewal.number
    assert check(code_of(second)).result == "valid"


def test_expiry_of_the_card_and_of_the_code(
    handed_over: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = ElectronicCertificate.objects.get()
    token = code_of(certificate, datetime.timedelta(seconds=60))
    moment = timezone.now() + datetime.timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    verdict = check(token)
    assert (verdict.result, verdict.state, verdict.reason) == (
        "invalid",
        Outcome.TOKEN_EXPIRED,
        "二维码已过期",
    )
    assert verdict.number == certificate.number
    monkeypatch.undo()
    # The card's validity ended yesterday: 已过期, with no change to any row but the date.
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Card.objects.filter(pk=certificate.card_id).update(valid_until=yesterday)
    verdict = check(code_of(certificate))
    assert (verdict.result, verdict.reason) == ("revoked", "已过期")


def test_a_certificate_row_edited_afterwards_fails_its_signature(handed_over: Application) -> None:
    certificate = ElectronicCertificate.objects.get()
    token = code_of(certificate)
    ElectronicCertificate.objects.filter(pk=certificate.pk).update(issuing_authority="某某公安局")
    verdict = check(token)
    assert (verdict.result, verdict.state, verdict.reason) == (
        "invalid",
        "record_altered",
        "证照记录校验失败",
    )


def test_a_code_naming_no_certificate_or_garbage(handed_over: Application) -> None:
    certificate = ElectronicCertificate.objects.get()
    token = code_of(certificate)
    certificate.delete()
    assert check(token).state == "not_found"
    assert check("hello").state == Outcome.MALFORMED
    assert check("hello").label == "无法核验"


def test_the_online_check_is_limited_per_address(settings: object, handed_over: Application) -> None:
    settings.ECERT_VERIFY_PER_MINUTE = 2  # type: ignore[attr-defined]
    token = code_of(ElectronicCertificate.objects.get())
    check(token)
    check(token)
    with pytest.raises(Limited):
        check(token)
    assert services.code_verify(text=token, channel="test", address="192.0.2.99").valid


def test_the_key_is_replaced_and_old_certificates_still_check(handed_over: Application) -> None:
    certificate = ElectronicCertificate.objects.get()
    old_token = code_of(certificate)
    old_id = certificate.key_id
    new = keys.ecert_key_generate(force=True)
    listed = keys.public_keys()
    assert [k.current for k in listed] == [True, False] and listed[1].key_id == old_id
    assert check(old_token).valid  # signed by the retired key
    assert selectors.record_intact(certificate)
    new_token = code_of(certificate)
    assert json.loads(keys.ecert_key_path().read_text())["retired"][0]["key_id"] == old_id
    assert check(new_token).valid and keys.public_keys()[0].public_key == new.public
    with pytest.raises(Exception, match="已存在"):
        keys.ecert_key_generate()


def test_a_locked_key_never_undoes_a_handover_and_the_backfill_makes_up(
    settings: object, produced: Application, hand_over: Callable[..., Application]
) -> None:
    keys.ecert_key()
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_PASSPHRASE": "rightrightright"}  # type: ignore[attr-defined]
    keys.ecert_key_generate(force=True)  # sealed under the passphrase
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_PASSPHRASE": ""}  # type: ignore[attr-defined]
    application = hand_over(produced)
    assert application.status == Application.Status.HANDED_OVER
    assert not ElectronicCertificate.objects.exists()
    assert AuditEvent.objects.filter(action="ecert.issue_failed").count() == 1
    assert services.backfill_candidates() == [Card.objects.get(application_number=application.number).pk]
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_PASSPHRASE": "rightrightright"}  # type: ignore[attr-defined]
    assert services.certificates_backfill() == 1
    assert services.certificates_backfill() == 0
    assert ElectronicCertificate.objects.get().card.application_number == application.number


def test_the_holder_proves_who_they_are(settings: object, handed_over: Application) -> None:
    settings.ECERT_HOLDER_FAILURES = 3  # type: ignore[attr-defined]
    certificate = ElectronicCertificate.objects.get()
    number, name = handed_over.id_number, handed_over.name
    opened = services.holder_open(
        id_number=number, name=name, reference=handed_over.number or "", address="a"
    )
    assert opened == certificate
    by_serial = services.holder_open(
        id_number=number.lower(), name=name, reference=certificate.card_serial, address="a"
    )
    assert by_serial == certificate
    for wrong in (
        {"name": "刘小燕"},
        {"reference": "3601020012026010100001"},
        {"id_number": "360102199001011234"},
    ):
        fields = {"id_number": number, "name": name, "reference": handed_over.number or "", **wrong}
        with pytest.raises(Exception, match="未查询到电子证照") as refused:
            services.holder_open(**fields, address="a")
        assert getattr(refused.value, "code", "") == "not_found"
    refusals = AuditEvent.objects.filter(action="ecert.holder_refused")
    assert refusals.count() == 3 and all("*" in row.detail["id_number"] for row in refusals)
    assert number not in json.dumps(
        [row.detail for row in AuditEvent.objects.filter(action__startswith="ecert.")]
    )
    # Two failures for the number so far, then a third: the number is locked, even for the right answer.
    with pytest.raises(Exception, match="未查询到"):
        services.holder_open(id_number=number, name="错名", reference="x", address="b")
    with pytest.raises(Limited, match="锁定"):
        services.holder_open(id_number=number, name=name, reference=handed_over.number or "", address="c")


def test_the_holder_page_is_limited_per_address(settings: object, handed_over: Application) -> None:
    settings.ECERT_HOLDER_PER_HOUR = 2  # type: ignore[attr-defined]
    for _ in range(2):
        with pytest.raises(Exception, match="未查询到"):
            services.holder_open(id_number="360102199001011234", name="某", reference="1", address="d")
    with pytest.raises(Limited, match="请求过于频繁"):
        services.holder_open(id_number=handed_over.id_number, name="刘晓燕", reference="1", address="d")


def test_the_cli_verifies_offline_with_only_the_public_key(
    handed_over: Application, tmp_path: Path, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    certificate = ElectronicCertificate.objects.get()
    token = code_of(certificate)
    public = tmp_path / "ecert-keys.json"
    call_command("ecert", "key", "--out", str(public))
    printed = capsys.readouterr().out
    assert "-----BEGIN PUBLIC KEY-----" in printed and certificate.key_id in printed
    pem = tmp_path / "ecert.pem"
    pem.write_text(keys.public_keys()[0].pem)
    # The private key is nowhere a relying party could reach: move the whole keys folder away.
    settings.CARD_PRODUCTION = {**settings.CARD_PRODUCTION, "KEYS_DIR": tmp_path / "elsewhere"}  # type: ignore[attr-defined]
    for key_file in (public, pem):
        call_command(
            "ecert",
            "verify",
            f"https://x.example/guide/ecert/verify/?t={token}",
            "--public-key",
            str(key_file),
        )
        answer = json.loads(capsys.readouterr().out)
        assert answer["ok"] and answer["number"] == certificate.number
    assert "private" not in public.read_text()
    head, payload, signature = token.split(".")
    with pytest.raises(CommandError, match=r"签名无效|不是电子证照二维码"):
        call_command("ecert", "verify", f"{head}.{payload}.{signature[:-4]}AAAA", "--public-key", str(public))


def test_backfill_certifies_cards_handed_over_before(
    handed_over: Application, capsys: pytest.CaptureFixture[str]
) -> None:
    ElectronicCertificate.objects.all().delete()
    call_command("ecert", "backfill")
    assert json.loads(capsys.readouterr().out) == {"issued": 1}
    assert ElectronicCertificate.objects.get().card.application_number == handed_over.number
