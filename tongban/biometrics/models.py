"""Stored biometric templates (生物特征模板) and the change log that keeps every process's
in-memory 1:N index in step with them.

The database is the source of truth: the FAISS indexes under settings.BIOMETRICS["INDEX_DIR"]
are caches, rebuilt from these rows whenever they are missing, damaged or out of step.
"""

from __future__ import annotations

from django.db import models

from tongban.biometrics.interfaces import Gallery, Modality
from tongban.registry.fields import SealedBinaryField

GALLERY_CHOICES = [
    (Gallery.PERMANENT.value, "常住人口相片库"),
    (Gallery.WANTED.value, "在逃人员库"),
    (Gallery.FLOATING.value, "流动人口库"),
    (Gallery.APPLICATIONS.value, "受理相片库"),
]
MODALITY_CHOICES = [(Modality.FACE.value, "人像"), (Modality.FINGER.value, "指纹")]


class BiometricTemplate(models.Model):
    """One 生物特征模板 of one reference in one gallery: a face embedding or a finger's minutiae.

    `ref_id` names what the template stands for ("person:123", an application number), never a
    personal ID number. The template bytes are sealed with SM4-GCM at rest and appear in no
    `str()`, `repr()`, admin list or log. A replaced template gets a new row (new primary key),
    so the change log below can tell every version apart.
    """

    gallery = models.CharField("比对库", max_length=16, choices=GALLERY_CHOICES)
    ref_id = models.CharField("对象标识", max_length=64)
    modality = models.CharField("模态", max_length=8, choices=MODALITY_CHOICES)
    # GA finger position code (11–20, 97–99) for fingers, "" for the face.
    position = models.CharField("指位", max_length=2, blank=True, default="")
    format = models.CharField("模板格式", max_length=32)
    # The household region code of the person depicted (`regions.ref_region`): which engine node
    # indexes the template when galleries are sharded (`shards.py`); "" when unknown.
    region = models.CharField("户籍地区划", max_length=6, blank=True, default="", db_index=True)
    template = SealedBinaryField(context="biometrics.template")
    created_at = models.DateTimeField("入库时间", auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["gallery", "ref_id", "modality", "position"], name="one_template_per_ref_position"
            )
        ]
        indexes = [models.Index(fields=["gallery", "modality"])]
        verbose_name = verbose_name_plural = "生物特征模板"

    def __str__(self) -> str:
        where = f" {self.position}" if self.position else ""
        return f"{self.gallery}/{self.modality}{where} {self.ref_id}"

    def __repr__(self) -> str:
        return f"<BiometricTemplate pk={self.pk} {self}>"


class TemplateChange(models.Model):
    """生物特征模板变更记录: one row per insert or delete.

    Every process holding an index (the in-process engine of each worker, or an engine node of
    `tongban abis serve`) applies, before a search, the rows it has not seen yet, so a template
    inserted through one gunicorn worker is found through any other. Writers take no lock for
    it: on PostgreSQL a row's id is drawn at insert, not at commit, so a row may commit after
    one with a higher id; each row therefore records its writing transaction (`xid`), and a
    reader asks for the rows of the transactions its last snapshot did not see
    (`abis.Snapshot`). SQLite has one writer at a time, so there the ids are in commit order and
    a reader asks for the ids past the last one it applied.
    """

    class Op(models.TextChoices):
        INSERT = "insert", "入库"
        DELETE = "delete", "删除"

    gallery = models.CharField("比对库", max_length=16, choices=GALLERY_CHOICES)
    modality = models.CharField("模态", max_length=8, choices=MODALITY_CHOICES)
    ref_id = models.CharField("对象标识", max_length=64)
    position = models.CharField("指位", max_length=2, blank=True, default="")
    op = models.CharField("操作", max_length=8, choices=Op.choices)
    # The template's region: a sharded engine node applies only the changes of its own regions
    # (read by id range, so no index of its own).
    region = models.CharField("户籍地区划", max_length=6, blank=True, default="")
    # The inserted row (no foreign key: a later delete removes the row, not this record).
    template_id = models.BigIntegerField("模板记录", null=True, blank=True)
    at = models.DateTimeField("时间", auto_now_add=True)
    # PostgreSQL: the writing (top-level) transaction's id, pg_current_xact_id(), set by the
    # trigger of migration 0003 whatever the INSERT says. NULL on SQLite, and on the rows
    # written before that migration: older than any snapshot a reader keeps, so seen by all.
    xid = models.BigIntegerField("写入事务", null=True, blank=True, editable=False)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(fields=["gallery", "modality", "id"]),
            # The catch-up's range: the transactions at or past its last snapshot's xmax, and
            # those it saw running.
            models.Index(fields=["gallery", "modality", "xid"], name="biometrics_change_xid"),
        ]
        verbose_name = verbose_name_plural = "生物特征模板变更记录"

    def __str__(self) -> str:
        return f"#{self.pk} {self.op} {self.gallery}/{self.modality} {self.ref_id}"
