"""Production (制证): the centres' keys, batches (调度打包) with their data packages, and the
feedback files (制证回馈/质量回馈) from the centres.

Production keeps its own records and moves applications only through intake's transition
service (ISSUED → IN_PRODUCTION → PRODUCED / RECOLLECT / ISSUED for a reprint).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from tongban.intake.models import Application
from tongban.registry.access import ScopedQuerySet
from tongban.registry.models import Unit


class CentreKey(models.Model):
    """制证中心密钥: the public half of a centre's SM2 pair; packages are encrypted for it. The
    private half was written to a file for the centre and is not kept."""

    centre = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="production_keys",
        limit_choices_to={"kind": Unit.Kind.CENTRE},
        verbose_name="制证中心",
    )
    public_key = models.CharField("SM2 公钥", max_length=128)
    fingerprint = models.CharField("公钥指纹（SM3）", max_length=64)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        ordering = ["centre", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["centre"], condition=Q(active=True), name="one_active_key_per_centre"
            )
        ]
        verbose_name = verbose_name_plural = "制证中心密钥"

    def __str__(self) -> str:
        return f"{self.centre_id} {self.fingerprint[:16]}"


class BatchQuerySet(ScopedQuerySet["Batch"]):
    default_action = "production.view"

    def within(self, unit: Unit) -> BatchQuerySet:
        """A production centre's own batches; no other unit has any."""
        if unit.kind != Unit.Kind.CENTRE:
            return self.none()
        return self.filter(centre=unit)

    def for_display(self) -> BatchQuerySet:
        return self.select_related("centre", "acceptance_unit", "created_by", "centre_key")


class Batch(models.Model):
    """制证批次: applications scheduled together (调度打包) and their one data package."""

    class State(models.TextChoices):
        OPEN = "open", "待打包"
        PACKAGED = "packaged", "已打包"  # the package is ready; feedback is awaited
        CLOSED = "closed", "已完成"  # every item has its feedback

    number = models.CharField("批次号", max_length=32, unique=True)
    centre = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="制证中心")
    acceptance_unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="受理单位"
    )
    state = models.CharField("状态", max_length=10, choices=State.choices, default=State.OPEN)
    size = models.PositiveIntegerField("证件数", default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="调度人",
    )
    created_at = models.DateTimeField("调度时间", auto_now_add=True)
    packaged_at = models.DateTimeField("打包时间", null=True, blank=True)
    package_file = models.CharField("数据包文件", max_length=200, blank=True)
    package_size = models.PositiveBigIntegerField("数据包大小（字节）", default=0)
    package_sm3 = models.CharField("数据包头 SM3", max_length=64, blank=True)
    centre_key = models.ForeignKey(
        CentreKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="加密密钥"
    )
    closed_at = models.DateTimeField("完成时间", null=True, blank=True)

    objects = BatchQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [models.Index(fields=["centre", "state", "-id"], name="production_batch_idx")]
        verbose_name = verbose_name_plural = "制证批次"

    def __str__(self) -> str:
        return self.number


class BatchItem(models.Model):
    """One application in a batch, and the centre's feedback on it."""

    class Result(models.TextChoices):
        PENDING = "", "待回馈"
        PRODUCED = "produced", "已制证"
        FAILED = "failed", "制证失败"

    class Reason(models.TextChoices):
        PHOTO_QUALITY = "photo_quality", "相片质量不合格"  # → the station re-collects the photo
        DATA_ERROR = "data_error", "数据错误"  # → reprint
        CHIP_ERROR = "chip_error", "芯片写入失败"  # → reprint

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, related_name="+", verbose_name="申领"
    )
    result = models.CharField("回馈结果", max_length=10, choices=Result.choices, blank=True, default="")
    reason = models.CharField("失败原因", max_length=16, choices=Reason.choices, blank=True)
    card_serial = models.CharField("卡号", max_length=32, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    feedback_at = models.DateTimeField("回馈时间", null=True, blank=True)

    class Meta:
        ordering = ["batch", "pk"]
        constraints = [
            # The last line of defence behind the row locks: an application awaits feedback in
            # at most one batch.
            models.UniqueConstraint(
                fields=["application"], condition=Q(result=""), name="one_pending_item_per_application"
            ),
            models.UniqueConstraint(fields=["batch", "application"], name="once_per_batch"),
        ]
        verbose_name = verbose_name_plural = "批次证件"

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.application_id} {self.result or 'pending'}"


class FeedbackUpload(models.Model):
    """制证回馈/质量回馈: one feedback file (or API call) from a centre, and what became of it."""

    class Source(models.TextChoices):
        CSV = "csv", "CSV 文件"
        JSON = "json", "JSON 文件"
        API = "api", "接口"

    centre = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="制证中心")
    source = models.CharField("来源", max_length=8, choices=Source.choices)
    filename = models.CharField("文件名", max_length=200, blank=True)
    digest = models.CharField("内容 SM3", max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="上传人",
    )
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)
    applied = models.PositiveIntegerField("已处理", default=0)
    already_applied = models.PositiveIntegerField("此前已处理", default=0)
    rejected = models.PositiveIntegerField("拒收", default=0)
    report = models.JSONField("处理结果", default=dict)

    class Meta:
        ordering = ["-pk"]
        verbose_name = verbose_name_plural = "制证回馈"

    def __str__(self) -> str:
        return f"{self.centre_id} {self.uploaded_at:%Y-%m-%d %H:%M}"
