"""Distribution (分发) and handover (核验发放): shipments from the production centre (or a county
bureau) to the units that hand cards over or by post to the applicant, their receipt, the
handover itself and the applicant's later verification (DOMAIN.md §6).

The application and its state machine stay in `intake`; these are handover's own records, and
an application moves on only through `intake.transitions.application_transition`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.intake.models import Application
from tongban.registry.access import ScopedQuerySet
from tongban.registry.fields import SealedBinaryField
from tongban.registry.models import Card, Unit


class DistributionRule(models.Model):
    """分发路由: how cards accepted at stations whose code starts with `region_prefix` travel from
    the centre; the longest matching prefix wins. Without a rule they go straight to the
    acceptance unit. A campaign (集中换发) sends them to the county bureau, which checks quality
    (质检) and forwards them to its stations."""

    class Route(models.TextChoices):
        DIRECT = "direct", "直接分发至受理单位"
        COUNTY = "county", "经县（市、区）公安局质检后分发"

    region_prefix = models.CharField("受理地区划前缀", max_length=9, unique=True)
    route = models.CharField("分发方式", max_length=8, choices=Route.choices, default=Route.COUNTY)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        ordering = ["-region_prefix"]
        verbose_name = verbose_name_plural = "分发路由规则"

    def __str__(self) -> str:
        return f"{self.region_prefix}* {self.get_route_display()}"


class ShipmentQuerySet(ScopedQuerySet["Shipment"]):
    # Those who ship, receive or watch.
    default_action = ("shipment.view", "shipment.create")

    def within(self, unit: Unit) -> ShipmentQuerySet:
        """Shipments sent from or to the unit's subtree."""
        if unit.kind == Unit.Kind.PROVINCE:
            return self.all()
        units = Unit.objects.subtree(unit).values("pk")
        return self.filter(Q(origin__in=units) | Q(destination__in=units))

    def for_display(self) -> ShipmentQuerySet:
        """With the units and staff a list or a detail names."""
        return self.select_related("origin", "destination", "created_by", "received_by")


class Shipment(models.Model):
    """分发: one consignment of finished cards, from a centre (or a county bureau forwarding what
    it checked) to one unit, or a postal consignment whose items go to applicants one by one."""

    class Method(models.TextChoices):
        UNIT = "unit", "分发至受理单位"
        COUNTY = "county", "分发至县局质检"
        POST = "post", "邮政寄递至申请人"

    class State(models.TextChoices):
        IN_TRANSIT = "in_transit", "在途"
        RECEIVED = "received", "已签收"
        DELIVERED = "delivered", "已妥投"  # every postal item delivered or returned

    method = models.CharField("分发方式", max_length=8, choices=Method.choices)
    state = models.CharField("状态", max_length=12, choices=State.choices, default=State.IN_TRANSIT)
    origin = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="shipments_sent", verbose_name="发出单位"
    )
    destination = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments_received",
        verbose_name="接收单位",
        help_text="邮政寄递为空",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="发出人"
    )
    created_at = models.DateTimeField("发出时间", auto_now_add=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="签收人",
    )
    received_at = models.DateTimeField("签收时间", null=True, blank=True)
    note = models.CharField("签收说明", max_length=500, blank=True)

    objects = ShipmentQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["destination", "state", "-id"], name="handover_incoming_idx"),
            models.Index(fields=["origin", "state", "-id"], name="handover_outgoing_idx"),
        ]
        verbose_name = verbose_name_plural = "分发单"

    def __str__(self) -> str:
        return f"分发单 {self.pk} {self.get_method_display()}"


class ShipmentItem(models.Model):
    """One card in a shipment and what became of it at receipt (or postal delivery)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "在途"
        RECEIVED = "received", "已签收"
        MISSING = "missing", "缺失"
        DAMAGED = "damaged", "损坏"
        DELIVERED = "delivered", "已妥投"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="shipment_items", verbose_name="申领"
    )
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="+", verbose_name="证件")
    tracking_number = models.CharField("邮件号", max_length=40, blank=True)
    outcome = models.CharField("结果", max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    note = models.CharField("说明", max_length=200, blank=True)
    # At a county bureau: when the checked card went on to its station.
    forwarded_at = models.DateTimeField("转发时间", null=True, blank=True)

    class Meta:
        ordering = ["shipment", "pk"]
        constraints = [
            # A card travels in one shipment at a time, even with two operators shipping at once.
            models.UniqueConstraint(
                fields=["application"], condition=Q(outcome="pending"), name="one_shipment_in_transit"
            ),
            models.UniqueConstraint(
                fields=["tracking_number"], condition=~Q(tracking_number=""), name="unique_tracking_number"
            ),
        ]
        verbose_name = verbose_name_plural = "分发明细"

    def __str__(self) -> str:
        return f"{self.shipment_id}/{self.application_id} {self.get_outcome_display()}"


class FingerCheck(models.TextChoices):
    """The fingerprint comparison at handover or verification (比对指纹信息)."""

    MATCHED = "matched", "比对通过"
    OVERRIDDEN = "overridden", "比对未通过，经人工核对放行"
    NOT_POSSIBLE = "not_possible", "无法比对（未登记指纹）"
    NOT_APPLICABLE = "not_applicable", "不适用（代领、邮寄）"


class Handover(models.Model):
    """发放: how the card reached the applicant — in person (fingerprint compared), by a relative
    (代领) or by post (邮寄妥投) — with the signature (签字确认)."""

    class Way(models.TextChoices):
        IN_PERSON = "in_person", "本人领取"
        PROXY = "proxy", "亲属代领"
        POST = "post", "邮政寄递"

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="handover")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="+", verbose_name="证件")
    way = models.CharField("领取方式", max_length=10, choices=Way.choices)
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="发放单位"
    )
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="经办人",
    )
    at = models.DateTimeField("领取时间", auto_now_add=True)
    relative_name = models.CharField("代领人姓名", max_length=50, blank=True)
    relative_id_number = models.CharField("代领人公民身份号码", max_length=18, blank=True)
    finger_check = models.CharField("指纹比对", max_length=16, choices=FingerCheck.choices)
    finger_position = models.CharField("比对指位", max_length=2, blank=True)
    finger_score = models.FloatField("比对分数", null=True, blank=True)
    finger_note = models.CharField("比对说明", max_length=200, blank=True)
    signature = SealedBinaryField(context="handover.signature", null=True, blank=True)
    paper_signed = models.BooleanField("已在登记表上签字", default=False)
    tracking_number = models.CharField("邮件号", max_length=40, blank=True)

    class Meta:
        ordering = ["-pk"]
        # Supervision: handovers per day and 受理→发放 times over a window (index-only).
        indexes = [models.Index(fields=["at", "application"], name="handover_at_idx")]
        verbose_name = verbose_name_plural = "发放记录"

    def __str__(self) -> str:
        return f"{self.application_id} {self.get_way_display()}"


class VerificationQuerySet(ScopedQuerySet["Verification"]):
    default_action = "verification.perform"

    def within(self, unit: Unit) -> VerificationQuerySet:
        """Verifications owed to the unit's subtree: the acceptance or the household unit."""
        if unit.kind == Unit.Kind.PROVINCE:
            return self.all()
        units = unit.subtree_pks  # values: the two units' indexes OR'ed (586 → 32 ms at 1M)
        return self.filter(
            Q(application__acceptance_unit__in=units) | Q(application__household_unit__in=units)
        )


class Verification(models.Model):
    """核验: after a proxy or postal handover the applicant checks the card and fingerprint within
    the configured working days at the acceptance or the household police."""

    application = models.OneToOneField(Application, on_delete=models.PROTECT, related_name="verification")
    due = models.DateField("核验期限")
    due_provisional = models.BooleanField("期限为暂估", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    verified_at = models.DateTimeField("核验时间", null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="核验人",
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="核验单位"
    )
    finger_check = models.CharField("指纹比对", max_length=16, choices=FingerCheck.choices, blank=True)
    finger_position = models.CharField("比对指位", max_length=2, blank=True)
    finger_score = models.FloatField("比对分数", null=True, blank=True)
    finger_note = models.CharField("比对说明", max_length=200, blank=True)
    card_checked = models.BooleanField("证件信息已核对", default=False)

    objects = VerificationQuerySet.as_manager()

    class Meta:
        ordering = ["due", "pk"]
        indexes = [
            models.Index(fields=["verified_at", "due"], name="handover_verification_due_idx"),
            # 核验待办 in its order (due date, then id): a page of the done view at the province
            # walks the index instead of sorting every verification (223 → 6 ms at 145,000).
            models.Index(fields=["due", "id"], name="handover_verify_order_idx"),
            # Supervision: the verifications still owed, by application (partial).
            models.Index(
                fields=["application", "due"], condition=Q(verified_at__isnull=True), name="handover_owed_idx"
            ),
        ]
        verbose_name = verbose_name_plural = "核验记录"

    def __str__(self) -> str:
        return f"{self.application_id} 期限 {self.due}"
