"""Applications (申领) from the counter (受理) to issue, their history, and the review routing.

The application and its state machine live here (STYLE.md, "Dependency direction"): later stages
keep their own records and move an application on only through the named transitions of `transitions.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce

from tongban.core import regions
from tongban.core.masking import mask_id_number
from tongban.intake.rules import ApplicationType
from tongban.registry.access import ScopedQuerySet
from tongban.registry.fields import SealedBinaryField
from tongban.registry.models import (
    ApplicationReason,
    Ethnicity,
    Person,
    RefusalReason,
    Sex,
    Unit,
    centre_station_ids,
)


class ReviewChain(models.Model):
    """审核签发流程: the review steps for applications whose household region code starts with
    `region_prefix` (longest prefix wins). Without a matching chain an application has one step,
    审核签发 at the household-registration station."""

    name = models.CharField("名称", max_length=100)
    region_prefix = models.CharField("户籍地区划前缀", max_length=6, unique=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        ordering = ["-region_prefix"]
        verbose_name = verbose_name_plural = "审核签发流程"

    def __str__(self) -> str:
        return f"{self.region_prefix}* {self.name}"


class ReviewChainStep(models.Model):
    """One step of a chain: which level of the household's unit tree acts, and under what title."""

    class Level(models.TextChoices):
        STATION = "station", "户籍派出所"
        COUNTY = "county", "县（市、区）公安局"
        CITY = "city", "市公安局"

    chain = models.ForeignKey(
        ReviewChain, on_delete=models.CASCADE, related_name="steps", verbose_name="审核签发流程"
    )
    order = models.PositiveSmallIntegerField("顺序")
    level = models.CharField("办理层级", max_length=8, choices=Level.choices)
    title = models.CharField("环节名称", max_length=20, help_text="如 审核、签发、复核、审核签发")

    class Meta:
        ordering = ["chain", "order"]
        constraints = [models.UniqueConstraint(fields=["chain", "order"], name="one_step_per_order")]
        verbose_name = verbose_name_plural = "审核签发环节"

    def __str__(self) -> str:
        return f"{self.order}. {self.get_level_display()} {self.title}"


class AcceptanceCounter(models.Model):
    """The daily sequence behind 受理号 per station; incremented with one atomic upsert."""

    station = models.ForeignKey(Unit, on_delete=models.PROTECT)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "day"], name="one_counter_per_station_day")]

    def __str__(self) -> str:
        return f"{self.station_id} {self.day} {self.last}"


class ApplicationQuerySet(ScopedQuerySet["Application"]):
    default_action = "application.view"

    def within(self, unit: Unit) -> ApplicationQuerySet:
        """Applications accepted in the unit's subtree, or registered there (the review side), or
        sitting in one of its units' review queues; for a production centre, those of the
        stations it produces for (制证路由)."""
        if unit.kind == Unit.Kind.CENTRE:
            return self.filter(acceptance_unit_id__in=centre_station_ids(unit))
        if unit.kind == Unit.Kind.PROVINCE:
            return self.all()
        units = Unit.objects.subtree(unit).values("pk")
        return self.filter(
            Q(acceptance_unit__in=units) | Q(household_unit__in=units) | Q(review_unit__in=units)
        )

    def within_for(self, unit: Unit, action: str | None) -> ApplicationQuerySet:
        """审核签发 works on the review queues of the subtree's units; 发放 on the cards at its
        stations. Each through the one unit it reads, so the planner walks that column's index
        (the queue's partial index for reviewers, at a station as at a city)."""
        if unit.kind != Unit.Kind.CENTRE:
            if action == "review.decide":
                return self.filter(review_unit__in=unit.subtree_pks)
            if action == "handover.perform":
                return self.filter(acceptance_unit__in=Unit.objects.subtree_ids(unit))
        return self.within(unit)

    def for_display(self) -> ApplicationQuerySet:
        """With the units, the assignee and the person joined; the three code tables come by
        prefetch, one small query each: with all eight joined, PostgreSQL spent 26 ms planning the
        read of one application and 0.4 ms running it (10M people, 1M applications), 3 ms with these
        five joins (bench/README.md, load test), and a lifecycle reads applications dozens of times."""
        return self.select_related(
            "acceptance_unit", "household_unit", "review_unit", "assignee", "person"
        ).prefetch_related("reason", "sex", "ethnicity")


class Application(models.Model):
    """An application for a resident identity card (居民身份证申领), from 草稿 to the card in the
    applicant's hand (DOMAIN.md §2)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        ACCEPTED = "accepted", "已受理"
        PENDING_REVIEW = "pending_review", "待审核"
        UNDER_VERIFICATION = "under_verification", "核实中"
        ISSUED = "issued", "已签发"  # in the production queue of its centre
        REJECTED = "rejected", "不予签发"
        WITHDRAWN = "withdrawn", "已撤销"
        IN_PRODUCTION = "in_production", "制证中"  # in a batch (调度打包)
        RECOLLECT = "recollect", "待重新采集"  # photo failed at the centre: back to the station
        PRODUCED = "produced", "已制证"
        SHIPPED = "shipped", "已分发"  # on its way to a unit, or by post to the applicant
        AT_SITE = "at_site", "待领取"  # received at the unit that hands it over
        HANDED_OVER = "handed_over", "已领取"  # in person, fingerprint compared
        PENDING_VERIFICATION = "pending_verification", "待核验"  # after proxy or postal handover
        VERIFIED = "verified", "已核验"

    class Collection(models.TextChoices):
        STATION = "station", "受理点领取"
        POST = "post", "邮政寄递"

    class Validity(models.TextChoices):
        FIVE = "5", "5年"
        TEN = "10", "10年"
        TWENTY = "20", "20年"
        LONG = "long", "长期"

    number = models.CharField("受理号", max_length=22, unique=True, null=True, blank=True)
    type = models.CharField("申领类型", max_length=12, choices=[(t.value, t.label) for t in ApplicationType])
    reason = models.ForeignKey(ApplicationReason, on_delete=models.PROTECT, verbose_name="申领原因")
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.DRAFT)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="applications", verbose_name="申请人"
    )

    # As entered at the counter (pre-filled from the register; differences go to the reviewer).
    id_number = models.CharField("公民身份号码", max_length=18)
    name = models.CharField("姓名", max_length=50)
    sex = models.ForeignKey(Sex, on_delete=models.PROTECT, verbose_name="性别")
    ethnicity = models.ForeignKey(Ethnicity, on_delete=models.PROTECT, verbose_name="民族")
    birth_date = models.DateField("出生日期")
    household_address = models.CharField("常住户口所在地住址", max_length=200)
    residence_address = models.CharField("现居住地住址", max_length=200, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    collection = models.CharField(
        "领取方式", max_length=8, choices=Collection.choices, default=Collection.STATION
    )
    postal_recipient = models.CharField("收件人", max_length=50, blank=True)
    postal_phone = models.CharField("收件人电话", max_length=20, blank=True)
    postal_address = models.CharField("邮寄地址", max_length=200, blank=True)

    # Minors: the guardian who came along and how guardianship is proven.
    guardianship = models.CharField("监护关系证明情形", max_length=32, blank=True)
    guardian_name = models.CharField("监护人姓名", max_length=50, blank=True)
    guardian_id_number = models.CharField("监护人公民身份号码", max_length=18, blank=True)
    guardian_relation = models.CharField("与申请人关系", max_length=20, blank=True)
    guardian_phone = models.CharField("监护人电话", max_length=20, blank=True)

    materials_shown = models.JSONField("已交验材料", default=list, blank=True)
    pledge_signed = models.BooleanField("已签署告知承诺书", default=False)

    fee_item = models.CharField("收费项目", max_length=12, blank=True)
    fee_amount = models.DecimalField("工本费（元）", max_digits=6, decimal_places=2, default=0)
    fee_waived = models.BooleanField("减免", default=False)
    fee_waiver_evidence = models.CharField("减免依据", max_length=200, blank=True)

    validity = models.CharField("有效期限", max_length=4, choices=Validity.choices, blank=True)
    valid_from = models.DateField("有效期起", null=True, blank=True)
    valid_until = models.DateField("有效期止", null=True, blank=True)

    photo = SealedBinaryField(context="application.photo", null=True, blank=True)
    # The photo and its 102×126 copy for the card's chip (biometrics.photo.chip_photo) encrypted
    # once for production when the photo is kept (production.package.CardImages): the segment,
    # ciphertext under a key of its own, which every package of the card copies as it is, and that
    # key with the two images' sizes and SM3, sealed at rest. Empty on rows kept before they
    # existed: packaging makes those on demand and `tongban applications card-images` fills them in
    # (docs/production.md).
    card_images = models.BinaryField(null=True, blank=True, editable=False)
    card_images_key = SealedBinaryField(context="application.card_images_key", null=True, blank=True)
    photo_report = models.JSONField("相片检测结果", default=dict, blank=True)
    guardian_photo = SealedBinaryField(context="application.guardian_photo", null=True, blank=True)
    # 1:N face searches at acceptance: {"permanent": [...], "applications": [...], "wanted": [...],
    # "floating": [...]}, each hit {"ref_id", "score", ...}; only the reviewer sees watch-list hits.
    face_hits = models.JSONField("人像比对结果", default=dict, blank=True)
    # Reviewer-only flags set by the counter rules (e.g. "wanted"), never shown at the counter.
    flags = models.JSONField("审核提示", default=list, blank=True)

    cross_region = models.BooleanField("异地受理", default=False)

    class Exchange(models.TextChoices):
        """跨省通办: which side of a cross-province application this copy is."""

        NONE = "", "本省办理"
        OUT = "out", "跨省受理·外省户籍"  # accepted here, reviewed and issued by the household province
        IN = "in", "跨省受理·本省户籍"  # accepted in another province, reviewed and issued here

    exchange = models.CharField("跨省通办", max_length=3, choices=Exchange.choices, default="", blank=True)
    remote_province = models.CharField("对方省份代码", max_length=2, blank=True)
    # "in": the other province's acceptance station; "out": the bureau there that issues.
    remote_unit_name = models.CharField("对方办理单位", max_length=100, blank=True)
    acceptance_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="accepted_applications", verbose_name="受理单位"
    )
    household_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="household_applications", verbose_name="户籍地派出所"
    )
    # The household's county code: the distribution column when applications are sharded.
    region_code = models.CharField("户籍地区划", max_length=6)
    # None: received from another province (跨省通办), entered by nobody here.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="录入人",
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="受理人",
    )
    accepted_at = models.DateTimeField("受理时间", null=True, blank=True)

    # Where the application stands in its review chain (moved only by application_transition).
    # review_chain: the resolved steps, [{"level", "title", "unit": unit pk}], fixed at routing.
    review_chain = models.JSONField("审核签发环节", default=list, blank=True)
    review_step = models.PositiveSmallIntegerField("当前环节", default=0)
    review_unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="review_queue",
        verbose_name="当前办理单位",
    )
    review_arrived_at = models.DateTimeField("到达时间", null=True, blank=True)
    review_due = models.DateField("办理期限", null=True, blank=True)
    review_due_provisional = models.BooleanField("期限为暂估", default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办理人",
    )
    assigned_at = models.DateTimeField("领取时间", null=True, blank=True)
    issued_at = models.DateTimeField("签发时间", null=True, blank=True)
    issuing_authority = models.CharField("签发机关", max_length=100, blank=True)
    # 不予签发: the coded reason and the reviewer's remark; `refusal_reason` is the two as one line
    # (RefusalReason.text), what the counter, notices and history show. Refusals from before the
    # reasons were coded carry 99 其他 with their text as the remark, the text unchanged.
    refusal_reason = models.CharField("不予签发原因", max_length=500, blank=True)
    refusal_code = models.ForeignKey(
        RefusalReason,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="不予签发原因代码",
    )
    refusal_remark = models.CharField("不予签发说明", max_length=500, blank=True)
    refusal_notified_at = models.DateTimeField("已告知申请人", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    # When the last 办理记录 entry was written: stuck items are those quiet for too long.
    last_event_at = models.DateTimeField("最近办理时间", null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["review_unit", "status", "review_due"], name="intake_queue_idx"),
            models.Index(fields=["acceptance_unit", "status", "-id"], name="intake_counter_idx"),
            models.Index(fields=["household_unit", "status"], name="intake_household_idx"),
            models.Index(fields=["person", "status"], name="intake_person_idx"),
            models.Index(fields=["region_code"], name="intake_region_idx"),
            models.Index(fields=["status", "last_event_at"], name="intake_quiet_idx"),
            # Supervision (督导): the daily and weekly series over bounded windows, per unit.
            models.Index(fields=["accepted_at", "acceptance_unit"], name="intake_accepted_idx"),
            models.Index(fields=["issued_at", "household_unit"], name="intake_issued_idx"),
            # 待制证 in its order at a centre: only the few issued and not yet batched.
            models.Index(
                fields=["issued_at", "id"], condition=Q(status="issued"), name="intake_production_queue_idx"
            ),
            models.Index(fields=["status", "closed_at", "household_unit"], name="intake_closed_idx"),
            # Supervision at a million rows: index-only scans for 在办 (in progress, partial), the
            # review deadlines (partial), the 受理→签发 times and the handovers' acceptance data.
            models.Index(
                fields=["status", "acceptance_unit", "review_unit", "last_event_at"],
                condition=Q(
                    status__in=[
                        "accepted",
                        "pending_review",
                        "under_verification",
                        "issued",
                        "in_production",
                        "recollect",
                        "produced",
                        "shipped",
                        "at_site",
                        "pending_verification",
                    ]
                ),
                name="intake_progress_idx",
            ),
            models.Index(
                fields=["review_unit", "review_due"],
                condition=Q(status__in=["pending_review", "under_verification"]),
                name="intake_review_due_idx",
            ),
            models.Index(fields=["issued_at", "household_unit", "accepted_at"], name="intake_issue_span_idx"),
            models.Index(
                fields=["id"], include=["acceptance_unit", "accepted_at"], name="intake_accept_of_idx"
            ),
            # A campaign's progress (tongban.campaigns): the households of a city or county
            # accepted in the campaign's window, read from the index alone.
            models.Index(
                fields=["region_code", "accepted_at"],
                include=["id", "household_unit", "type", "status", "issued_at", "closed_at"],
                name="intake_campaign_idx",
            ),
            # 受理台账 at a million rows: the search by 公民身份号码, the list by 受理时间 (a draft
            # by when it was started) and by name, keyset pages on (value, id).
            models.Index(fields=["id_number"], name="intake_id_number_idx"),
            models.Index(Coalesce("accepted_at", "created_at"), "id", name="intake_listed_idx"),
            # … and a station's own 受理台账, newest first, without sorting the station's year.
            models.Index(
                "acceptance_unit",
                Coalesce("accepted_at", "created_at"),
                "id",
                name="intake_station_listed_idx",
            ),
            models.Index(fields=["name", "id"], name="intake_name_idx"),
        ]
        verbose_name = verbose_name_plural = "申领"

    def __str__(self) -> str:
        return f"{self.number or '草稿'} {self.name}"

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def application_type(self) -> ApplicationType:
        return ApplicationType(self.type)

    @property
    def is_open(self) -> bool:
        """Still before a decision: it can be withdrawn."""
        return self.status in OPEN_STATUSES

    @property
    def current_step(self) -> dict[str, object] | None:
        if 1 <= self.review_step <= len(self.review_chain):
            return dict(self.review_chain[self.review_step - 1])
        return None

    @property
    def is_cross_province(self) -> bool:
        return bool(self.exchange)

    @property
    def remote_province_name(self) -> str:
        """广东省 for 44: the other province of a 跨省通办 application."""
        return regions.place_name(self.remote_province) if self.exchange else ""

    @property
    def validity_label(self) -> str:
        if self.valid_from is not None:
            end = self.valid_until.strftime("%Y.%m.%d") if self.valid_until else "长期"
            return f"{self.valid_from:%Y.%m.%d}-{end}"
        return self.get_validity_display()


OPEN_STATUSES = frozenset(
    {
        Application.Status.DRAFT,
        Application.Status.ACCEPTED,
        Application.Status.PENDING_REVIEW,
        Application.Status.UNDER_VERIFICATION,
    }
)
IN_REVIEW_STATUSES = frozenset({Application.Status.PENDING_REVIEW, Application.Status.UNDER_VERIFICATION})
# Until the card is in the applicant's hand: the person cannot start another application.
UNFINISHED_STATUSES = OPEN_STATUSES | {
    Application.Status.ISSUED,
    Application.Status.IN_PRODUCTION,
    Application.Status.RECOLLECT,
    Application.Status.PRODUCED,
    Application.Status.SHIPPED,
    Application.Status.AT_SITE,
}


class Fingerprint(models.Model):
    """指纹信息: one finger tried at the counter, with its result (注册成功 / 注册失败 / 未注册)."""

    class Result(models.TextChoices):
        REGISTERED = "registered", "注册成功"
        FAILED = "failed", "注册失败"
        NOT_REGISTERED = "not_registered", "未注册"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="fingerprints")
    position = models.CharField("指位", max_length=2)
    result = models.CharField("结果", max_length=16, choices=Result.choices)
    reason = models.CharField("原因", max_length=200, blank=True)
    quality = models.FloatField("质量分", null=True, blank=True)
    format = models.CharField("模板格式", max_length=32, blank=True)
    template = SealedBinaryField(context="application.finger_template", null=True, blank=True)

    class Meta:
        ordering = ["application", "position"]
        constraints = [
            models.UniqueConstraint(fields=["application", "position"], name="one_record_per_finger")
        ]
        verbose_name = verbose_name_plural = "指纹信息"

    def __str__(self) -> str:
        return f"{self.position} {self.get_result_display()}"


class ApplicationEvent(models.Model):
    """One step in an application's history (办理记录): who, which unit, when, what, why."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    action = models.CharField("事项", max_length=32)
    from_status = models.CharField("原状态", max_length=20, blank=True)
    to_status = models.CharField("新状态", max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="经办人",
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="经办单位"
    )
    at = models.DateTimeField("时间", auto_now_add=True)
    note = models.TextField("说明", blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["application", "pk"]
        # 异地办理统计 (supervision/outofarea.py) counts a period's entries of a few kinds.
        indexes = [models.Index(fields=["action", "at"], name="intake_event_action_at_idx")]
        verbose_name = verbose_name_plural = "办理记录"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
