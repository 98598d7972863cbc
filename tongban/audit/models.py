"""The audit trail (审计日志): append-only rows, sealed afterwards into a signed SM3 hash chain.

Writers only insert (`services.record`): no shared row, no lock. The sealer (`sealer.seal_pending`,
run continuously by `tongban audit seal --follow`) takes the committed rows not sealed yet in id
order, gives each its place in the chain (`seq`, `prev_hash`, `hash`) and closes the batch with an
`AuditSeal` signed with the system's SM2 key. Verification (`verify.verify`) follows `seq`.
"""

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

    Written with `seq`, `prev_hash` and `hash` empty; the sealer fills them once (the database
    allows no other change, migration 0003). `seq` is gapless in the order of sealing, which a row
    that commits late joins later. `detail` never holds personal data (no ID numbers, names or
    photos): records are named by their primary key.
    """

    seq = models.BigIntegerField(unique=True, null=True, blank=True)
    # Indexed only where the auditors' page looks (action, person, record) and where the sealer
    # looks (the unsealed rows): every index is written again when a row is sealed.
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_username = models.CharField(max_length=150)
    unit_code = models.CharField(max_length=12, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # What the sealer takes next: small, since rows leave it within a second or two.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_event_unsealed"),
        ]
        verbose_name = "审计记录"
        verbose_name_plural = "审计记录"

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.actor_username}"

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


class AuditSeal(models.Model):
    """A sealed batch and its checkpoint (封存批次): rows `first_seq`..`last_seq` of the chain,
    the chain's hash after the last of them, and the system's SM2 signature over these figures.
    Seals are numbered without gaps; each continues the chain where the previous one ended."""

    number = models.BigIntegerField(unique=True)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField(unique=True)
    last_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()
    key_fingerprint = models.CharField(max_length=64)
    signature = models.CharField(max_length=200)

    class Meta:
        ordering = ["-number"]
        verbose_name = "审计封存批次"
        verbose_name_plural = "审计封存批次"

    def __str__(self) -> str:
        return f"#{self.number} ({self.first_seq}–{self.last_seq})"
