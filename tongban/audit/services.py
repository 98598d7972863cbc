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
from typing import Any, Protocol

from django.db import connection
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.context import current
from tongban.audit.models import AuditEvent


class AuditActor(Protocol):
    pk: Any
    username: str

    @property
    def unit_code(self) -> str: ...


def _cli_username() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry inside some containers
        return "cli"


# A row without an actor written while serving a web request: a visitor who is not signed in (a
# failed sign-in, a citizen's 进度查询), told apart from the command line's `cli:<user>`.
ANONYMOUS = "web:anonymous"


def _event(
    actor: AuditActor | None, action: AuditAction | str, object_type: str, object_id: object, detail: Any
) -> AuditEvent:
    return AuditEvent(
        at=timezone.now(),
        # An actor without a record of its own (an institution checking a card) is named only.
        actor_id=int(actor.pk) if actor is not None and actor.pk is not None else None,
        actor_username=actor.username
        if actor is not None
        else (ANONYMOUS if current().web else _cli_username()),
        unit_code=actor.unit_code if actor is not None else "",
        action=AuditAction(action).value,  # ValueError for a code outside the vocabulary
        object_type=object_type,
        object_id=str(object_id),
        remote_addr=current().remote_addr,
        detail=detail or {},
    )


_FIELDS = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]
_INSERT: dict[str, str] = {}


def _insert_sql() -> str:
    """INSERT … RETURNING id of every column, made once per database vendor from the model."""
    if connection.vendor not in _INSERT:
        columns = ", ".join(connection.ops.quote_name(field.column) for field in _FIELDS)
        marks = ", ".join(["%s"] * len(_FIELDS))
        table = connection.ops.quote_name(AuditEvent._meta.db_table)
        _INSERT[connection.vendor] = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING id"  # noqa: S608 - names from the model
    return _INSERT[connection.vendor]


def _insert(event: AuditEvent) -> None:
    """The row's one INSERT. Not through Model.save: its signals and SQL compiler cost more time
    in Python than the database spends on the row (bench.audit_log, bench/README.md)."""
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in _FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), values)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias


def record(
    *,
    actor: AuditActor | None,
    action: AuditAction,
    object_type: str = "",
    object_id: object = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `actor=None` means a command-line or system action."""
    event = _event(actor, action, object_type, object_id, detail)
    _insert(event)
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
