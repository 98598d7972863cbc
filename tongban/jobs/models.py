"""后台任务: one row per long job started from a page, the API or a schedule — who started it, with
what, how far it has come, what it said, and what it left to download (STYLE.md habit 10: the
task is a thin wrapper; the state lives here)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tongban.registry.access import ScopedQuerySet, Viewer
from tongban.registry.models import Unit


class JobRunQuerySet(ScopedQuerySet["JobRun"]):
    default_action = "job.oversee"

    def visible_to(self, viewer: Viewer, action: str | None = None) -> JobRunQuerySet:
        """The jobs the viewer started, and with job.oversee those of the own subtree."""
        own = self.filter(started_by_id=viewer.pk)
        return own | super().visible_to(viewer, action)

    def within(self, unit: Unit) -> JobRunQuerySet:
        return self.filter(unit__in=unit.subtree_pks)


class JobRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        SUCCEEDED = "succeeded", "已完成"
        FAILED = "failed", "失败"
        CANCELLED = "cancelled", "已取消"

    kind = models.CharField("任务类型", max_length=40)
    params = models.JSONField("参数", default=dict)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Whose subtree the job belongs to: supervisors and administrators above it oversee it.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", verbose_name="所属单位")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    retry_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="重试自"
    )
    progress_done = models.BigIntegerField("已完成", default=0)
    progress_total = models.BigIntegerField("总量", default=0)
    stage = models.CharField("当前阶段", max_length=40, blank=True)
    log = models.TextField("运行记录", blank=True)
    summary = models.CharField("结果", max_length=500, blank=True)
    error = models.CharField("失败原因", max_length=500, blank=True)
    result_file = models.CharField("结果文件", max_length=200, blank=True)
    result_name = models.CharField("结果文件名", max_length=200, blank=True)
    # What the job made, when it is a record of its own (e.g. the scan run), for a link.
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    cancel_requested = models.BooleanField("已请求取消", default=False)
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近进展", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    objects = JobRunQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["unit", "-id"], name="jobs_unit_idx"),
            models.Index(fields=["started_by", "-id"], name="jobs_starter_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="jobs_status_idx"),
        ]
        verbose_name = verbose_name_plural = "后台任务"

    def __str__(self) -> str:
        return f"任务 #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, int(self.progress_done * 100 / self.progress_total))
