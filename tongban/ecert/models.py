"""电子证照: the electronic certificate of a handed-over card, signed with the province's
certificate key (docs/ecert.md).

One per card, made when the card is in its holder's hands for good (本人领取, or 核验 after a
relative's or the post's handover). Whether it is valid is never stored: it follows the card's
state in the register when it is checked (已挂失, 已换领作废, 已过期 …), so that a loss report
revokes it at once."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tongban.intake.models import Application
from tongban.registry.access import ScopedQuerySet
from tongban.registry.fields import SealedBinaryField
from tongban.registry.models import Card, Person, Unit


class ElectronicCertificateQuerySet(ScopedQuerySet["ElectronicCertificate"]):
    """Certificates of people registered in the subtree (the household police) and of cards
    applied for in it (the station that handed the card over)."""

    default_action = "person.view"

    def within(self, unit: Unit) -> ElectronicCertificateQuerySet:
        units = Unit.objects.subtree_ids(unit)
        applied = Application.objects.filter(acceptance_unit__in=units).exclude(number=None).values("number")
        return self.filter(Q(person__registration_unit__in=units) | Q(card__application_number__in=applied))


class ElectronicCertificate(models.Model):
    """居民身份证电子证照: one per card, with the content it vouches for and the province's SM2
    signature over it (token.Content). The name is sealed at rest like the register's photos."""

    number = models.CharField("证照编号", max_length=24, unique=True)
    card = models.OneToOneField(
        Card, on_delete=models.PROTECT, related_name="ecertificate", verbose_name="证件"
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name="持证人")
    # The content as signed: a later change to the register (a name changed before the new card
    # is made) leaves the certificate of the card in hand as it was.
    name = SealedBinaryField(context="ecert.name")
    card_serial = models.CharField("卡号", max_length=32, blank=True)
    photo_sm3 = models.CharField("相片摘要（SM3）", max_length=64, blank=True)
    valid_from = models.DateField("有效期起")
    valid_until = models.DateField("有效期止", null=True, blank=True, help_text="空表示长期")
    issuing_authority = models.CharField("签发机关", max_length=100)
    key_id = models.CharField("签名密钥标识", max_length=16)
    signature = models.CharField("签名", max_length=200)
    created_at = models.DateTimeField("生成时间")

    objects = ElectronicCertificateQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = verbose_name_plural = "电子证照"

    def __str__(self) -> str:
        return f"电子证照 {self.number}"

    @property
    def holder_name(self) -> str:
        return bytes(self.name or b"").decode("utf-8")

    @property
    def validity_label(self) -> str:
        end = self.valid_until.strftime("%Y.%m.%d") if self.valid_until else "长期"
        return f"{self.valid_from:%Y.%m.%d}-{end}"
