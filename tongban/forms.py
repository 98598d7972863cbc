"""Shared form pieces: a service's refusal shown on the form that asked for the action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tongban.core.errors import ServiceError


def show_refusal(form: Any, error: ServiceError, *, rename: Mapping[str, str] | None = None) -> None:
    """Each message of `error.fields` beside the input it names (`rename` maps a service's field to
    the form's input), one naming no input of the form at its top, and the refusal's own message at
    the top when it names no field — so whatever the user typed stays, with the reason next to it."""
    for name, message in error.fields.items():
        name = (rename or {}).get(name, name)
        form.add_error(name if name in form.fields else None, message)
    if not error.fields:
        form.add_error(None, error.message)
