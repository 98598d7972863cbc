"""Writing to the audit trail. Every state change and every view of a full personal record
calls `record` inside the same transaction as the change itself.

A row costs one INSERT in the caller's transaction and takes no shared lock: the rows are
chained and signed afterwards by the sealer (`tongban.audit.sealer`). The client address comes
from the audit context (`tongban.audit.context`), which the middleware sets for each request.
The action is a member of `AuditAction` (`tongban.audit.actions`): a code outside it is refused.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.context import current
from tongban.audit.models import AuditEvent


class AuditActor(Protocol):
    pk: Any
    username: str

    @property
    def unit_code(self) -> str: ...


# The codes tongban/biometrics still writes as strings, until its calls name the members; checked
# against AuditAction at run time like any other.
_StringAction = Literal["biometrics.insert", "biometrics.delete", "registry.photos_imported"]


def _cli_username() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry inside some containers
        return "cli"


def _event(
    actor: AuditActor | None, action: AuditAction | str, object_type: str, object_id: object, detail: Any
) -> AuditEvent:
    return AuditEvent(
        at=timezone.now(),
        actor_id=int(actor.pk) if actor is not None else None,
        actor_username=actor.username if actor is not None else _cli_username(),
        unit_code=actor.unit_code if actor is not None else "",
        action=AuditAction(action).value,  # ValueError for a code outside the vocabulary
        object_type=object_type,
        object_id=str(object_id),
        remote_addr=current().remote_addr,
        detail=detail or {},
    )


def record(
    *,
    actor: AuditActor | None,
    action: AuditAction | _StringAction,
    object_type: str = "",
    object_id: object = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `actor=None` means a command-line or system action."""
    event = _event(actor, action, object_type, object_id, detail)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class Entry:
    """One event of `record_many`."""

    action: AuditAction
    object_type: str = ""
    object_id: object = ""
    detail: dict[str, Any] | None = None


def record_many(*, actor: AuditActor | None, entries: Sequence[Entry]) -> int:
    """Append many events of one actor at once (a bulk import writing one row per record): one
    bulk insert, sealed in this order."""
    events = [_event(actor, e.action, e.object_type, e.object_id, e.detail) for e in entries]
    AuditEvent.objects.bulk_create(events, batch_size=500)
    return len(events)
