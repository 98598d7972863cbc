"""Records of review and issue (审核签发): each step an application went through at a household
unit, and the verification notes (核实) taken on the way. The application's own position in its
chain lives on intake.Application; these are review's own records of what was decided."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.intake.models import Application
from tongban.registry.models import Unit


class ReviewStep(models.Model):
    """审核签发环节: one step of one application's chain, and its decision once made."""

    class Decision(models.TextChoices):
        PASSED = "passed", "审核通过"
        ISSUED = "issued", "签发"
        REFUSED = "refused", "不予签发"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="review_steps")
    step = models.PositiveSmallIntegerField("环节")
    title = models.CharField("环节名称", max_length=20)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="办理单位")
    arrived_at = models.DateTimeField("到达时间")
    due = models.DateField("办理期限")
    due_provisional = models.BooleanField("期限为暂估", default=False)
    decision = models.CharField("结论", max_length=10, choices=Decision.choices, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField("办结时间", null=True, blank=True)
    reason = models.TextField("意见", blank=True)

    class Meta:
        ordering = ["application", "step"]
        constraints = [models.UniqueConstraint(fields=["application", "step"], name="one_record_per_step")]
        verbose_name = verbose_name_plural = "审核签发环节记录"

    def __str__(self) -> str:
        return f"{self.step}. {self.title} {self.get_decision_display() or '办理中'}"


class VerificationNote(models.Model):
    """核实记录: a visit, a call to relatives or another check on a doubtful identity."""

    class Method(models.TextChoices):
        VISIT = "visit", "走访调查"
        RELATIVES = "relatives", "联系亲属"
        PHONE = "phone", "电话核实"
        RECORDS = "records", "查阅档案"
        OTHER = "other", "其他"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="verification_notes")
    step = models.PositiveSmallIntegerField("环节")
    method = models.CharField("核实方式", max_length=10, choices=Method.choices)
    note = models.TextField("核实情况")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        ordering = ["application", "pk"]
        verbose_name = verbose_name_plural = "核实记录"

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.at:%Y-%m-%d}"
