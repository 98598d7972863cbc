"""Keep the rollup exact: a row saved or deleted through the ORM whose series times or units
change on a rolled day forgets that day, for the old values as for the new (the values as loaded
are kept on the instance at init; no query unless a rolled day is touched: services stamp these
times with now)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver
from django.utils import timezone

from tongban.handover.models import Handover
from tongban.intake.models import Application
from tongban.supervision import rollup

TRACKED: dict[type[Model], tuple[str, ...]] = {
    Application: (
        "accepted_at",
        "issued_at",
        "closed_at",
        "status",
        "acceptance_unit_id",
        "household_unit_id",
    ),
    Handover: ("at", "application_id"),
}
TIMES = {"accepted_at", "issued_at", "closed_at", "at"}
LOADED = "_supervision_rollup_loaded"


def _values(instance: Model) -> tuple[Any, ...]:
    return tuple(instance.__dict__.get(name) for name in TRACKED[type(instance)])


def _past_days(*values: tuple[Any, ...] | None, names: tuple[str, ...]) -> set[datetime.date]:
    boundary = rollup.first_live_day(timezone.localdate())
    days: set[datetime.date] = set()
    for row in values:
        for name, value in zip(names, row or (), strict=False):
            if name in TIMES and isinstance(value, datetime.datetime):
                day = timezone.localtime(value).date()
                if day < boundary:
                    days.add(day)
    return days


@receiver(post_init, sender=Application, dispatch_uid="supervision_rollup_application_init")
@receiver(post_init, sender=Handover, dispatch_uid="supervision_rollup_handover_init")
def remember(sender: Any, instance: Model, **kwargs: Any) -> None:
    instance.__dict__[LOADED] = _values(instance)


@receiver(post_save, sender=Application, dispatch_uid="supervision_rollup_application_saved")
@receiver(post_save, sender=Handover, dispatch_uid="supervision_rollup_handover_saved")
def saved(sender: Any, instance: Model, created: bool, **kwargs: Any) -> None:
    loaded = None if created else instance.__dict__.get(LOADED)
    now = _values(instance)
    if loaded != now:
        days = _past_days(loaded, now, names=TRACKED[type(instance)])
        if days:
            rollup.forget(days=days)
    instance.__dict__[LOADED] = now


@receiver(post_delete, sender=Application, dispatch_uid="supervision_rollup_application_deleted")
@receiver(post_delete, sender=Handover, dispatch_uid="supervision_rollup_handover_deleted")
def deleted(sender: Any, instance: Model, **kwargs: Any) -> None:
    days = _past_days(instance.__dict__.get(LOADED), _values(instance), names=TRACKED[type(instance)])
    if days:
        rollup.forget(days=days)
