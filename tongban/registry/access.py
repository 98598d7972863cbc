"""Who is asking, and the one scope every record kind answers them with.

Defined here, below `accounts`, so registry querysets can scope without importing the user
model; `accounts.User` satisfies `Viewer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, Self, TypeVar, cast

from django.db import models

from tongban.audit.services import AuditActor

if TYPE_CHECKING:
    from tongban.registry.models import Unit

_Row = TypeVar("_Row", bound=models.Model)


class Viewer(AuditActor, Protocol):
    @property
    def unit(self) -> Unit | None: ...

    def can(self, action: str) -> bool: ...


def as_viewer(user: object) -> Viewer:
    """The signed-in user as a Viewer; views call it after login/permission checks have run."""
    return cast("Viewer", user)


class ScopedQuerySet(models.QuerySet[_Row]):
    """The rows a viewer may act on (NetBox's `RestrictedQuerySet.restrict(user, action)`): every
    record kind that holds personal or unit data has one, and every queue, list, export, figure
    and API narrows `visible_to` instead of building its own scope.

    A kind states its default action (or several, any of which will do) and, in `within(unit)`,
    how a unit's subtree reaches its rows. A viewer without a unit, or whose role allows none of
    the actions, sees none.
    """

    default_action: ClassVar[str | tuple[str, ...]]

    def visible_to(self, viewer: Viewer, action: str | None = None) -> Self:
        unit = viewer.unit
        wanted = action or self.default_action
        actions = (wanted,) if isinstance(wanted, str) else wanted
        if unit is None or not any(viewer.can(one) for one in actions):
            return self.none()
        return self.within_for(unit, wanted if isinstance(wanted, str) else None)

    def within(self, unit: Unit) -> Self:
        """The rows of `unit`'s jurisdiction (its subtree, as the kind defines it)."""
        raise NotImplementedError

    def within_for(self, unit: Unit, action: str | None) -> Self:
        """The part of the jurisdiction an action works on, for a kind whose work queues see it
        through one unit of the row (an application: the review queue it waits in); by default
        the whole of it."""
        return self.within(unit)
