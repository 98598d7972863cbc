"""What the register's scoped queries need to know about whoever is asking.

Defined here, below `accounts`, so registry querysets can scope without importing the user
model; `accounts.User` satisfies it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from tongban.audit.services import AuditActor

if TYPE_CHECKING:
    from tongban.registry.models import Unit


class Viewer(AuditActor, Protocol):
    @property
    def unit(self) -> Unit | None: ...

    def can(self, action: str) -> bool: ...


def as_viewer(user: object) -> Viewer:
    """The signed-in user as a Viewer; views call it after login/permission checks have run."""
    return cast("Viewer", user)
