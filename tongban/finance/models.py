"""Money taken at the counter (工本费) and given back. Rows are never deleted: a refund is a row of
its own beside the payment it returns, so the takings of any day can be recounted later.

Finance sits beside the register, below intake: it knows an application only by its 受理号."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.registry.models import Person, Unit, UnitRowQuerySet


class ReceiptCounter(models.Model):
    """The yearly sequence behind 票据号 per station; incremented with one atomic upsert."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="one_receipt_counter_per_unit_year")
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year} {self.last}"


class PaymentQuerySet(UnitRowQuerySet["Payment"]):
    """Payments charged at units of the subtree: a finance officer (`finance.view`) sees the
    subtree's takings; a clerk (`application.accept`) the receipts of their own station."""

    default_action = "finance.view"


class Payment(models.Model):
    """A fee charged at acceptance (收费记录), with its receipt (票据). Free first applications and
    waivers (减免) are recorded too, with amount 0, so that settlement can count them."""

    application_number = models.CharField("受理号", max_length=22, unique=True)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="payments", verbose_name="申请人"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="payments", verbose_name="收费单位")
    item = models.CharField("收费项目", max_length=20)
    amount = models.DecimalField("金额", max_digits=8, decimal_places=2)
    waived = models.BooleanField("减免", default=False)
    waiver_evidence = models.CharField("减免依据", max_length=200, blank=True)
    receipt_number = models.CharField("票据号", max_length=19, unique=True)
    # Set when a free application is withdrawn or refused: no card, nothing to settle for it.
    voided_at = models.DateTimeField("作废时间", null=True, blank=True)
    charged_at = models.DateTimeField("收费时间")
    charged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="收费人"
    )

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = "收费记录"
        verbose_name_plural = "收费记录"
        indexes = [models.Index(fields=["unit", "charged_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payment_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_number} {self.amount}"


class Refund(models.Model):
    """Money given back (退费) when an application is withdrawn or refused; at most one per payment."""

    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, related_name="refund", verbose_name="收费记录"
    )
    amount = models.DecimalField("金额", max_digits=8, decimal_places=2)
    reason = models.CharField("退费原因", max_length=500)
    refunded_at = models.DateTimeField("退费时间")
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name="经办人",
    )

    class Meta:
        verbose_name = "退费记录"
        verbose_name_plural = "退费记录"
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.payment.receipt_number} -{self.amount}"


class RemittanceQuerySet(UnitRowQuerySet["Remittance"]):
    default_action = "finance.view"


class Remittance(models.Model):
    """收支两条线: the takings of one station's day, paid over to the treasury (缴库). The amount
    is computed from the payments and refunds of that day by `remittance_record`, never typed;
    one row per station and day."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="派出所")
    day = models.DateField("收费日期")
    amount = models.DecimalField("缴库金额", max_digits=10, decimal_places=2)
    payments = models.PositiveIntegerField("收费笔数")
    refunds = models.PositiveIntegerField("退费笔数", default=0)
    treasury_reference = models.CharField("缴款书号", max_length=60)
    remitted_at = models.DateTimeField("登记时间")
    remitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="经办人"
    )

    objects = RemittanceQuerySet.as_manager()

    class Meta:
        verbose_name = verbose_name_plural = "缴库记录"
        ordering = ["-day", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "day"], name="one_remittance_per_unit_day"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="remittance_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.day} {self.amount}"


class SettlementRate(models.Model):
    """首次申领免费证件的结算标准: yuan per free first card, split central / provincial, in force
    from `effective_from` until the next row's date. Seeded with 2018-04-01 → 17 = 13 + 4."""

    effective_from = models.DateField("起始日期", unique=True)
    amount = models.DecimalField("每证结算金额", max_digits=8, decimal_places=2)
    central = models.DecimalField("中央财政", max_digits=8, decimal_places=2)
    provincial = models.DecimalField("省级财政", max_digits=8, decimal_places=2)

    class Meta:
        verbose_name = verbose_name_plural = "免费证件结算标准"
        ordering = ["effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount=models.F("central") + models.F("provincial")),
                name="settlement_rate_parts_add_up",
            )
        ]

    def __str__(self) -> str:
        return f"{self.effective_from} {self.amount}"
