"""Who may work an application at the counter (受理窗口): a clerk of a station, on the
applications their own station accepted."""

from __future__ import annotations

from tongban.accounts.models import User
from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.registry.models import Unit


def require_counter(actor: User) -> Unit:
    """The actor's station, if they may accept applications there (403 otherwise)."""
    if not actor.can("application.accept") or actor.unit is None:
        raise ServiceError("permission_denied", "无权受理申领。", status=403)
    if actor.unit.kind != Unit.Kind.STATION:
        raise ServiceError("permission_denied", "只有派出所受理点可以受理申领。", status=403)
    return actor.unit


def require_own_counter(actor: User, application: Application) -> None:
    """The actor works the counter of the station that has the application (404 otherwise, like
    an application that does not exist)."""
    unit = require_counter(actor)
    if application.acceptance_unit_id != unit.pk:
        raise ServiceError("not_found", "未找到该申领。", status=404)
