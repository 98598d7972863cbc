"""The audit trail (审计日志): append-only rows linked in an SM3 hash chain."""

from __future__ import annotations

from typing import Any

from django.db import models

from tongban.audit.labels import action_label, object_type_label


class AppendOnlyError(RuntimeError):
    """Audit rows are never changed or deleted once written."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are append-only")


class AuditEvent(models.Model):
    """One audit entry (审计记录): who, from which unit and address, did what to which record, when.

    `seq` is gapless and assigned under the chain-head lock, so the chain has a total order even
    where the database's own ids have gaps. `detail` never holds personal data (no ID numbers,
    names or photos): records are named by their primary key.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150)
    unit_code = models.CharField(max_length=12, blank=True, db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.actor_username}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events are append-only")

    @property
    def action_label(self) -> str:
        return action_label(self.action)

    @property
    def object_type_label(self) -> str:
        return object_type_label(self.object_type)


class AuditChainHead(models.Model):
    """The single row holding the end of the hash chain; locking it orders concurrent writers."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "审计链头"

    def __str__(self) -> str:
        return f"#{self.last_seq}"
