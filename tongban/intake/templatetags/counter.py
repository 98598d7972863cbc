"""Small template helpers for the counter and review pages."""

from __future__ import annotations

from typing import Any

from django import forms, template

from tongban.audit import labels
from tongban.intake.models import Application

register = template.Library()


@register.filter
def split_words(value: str) -> list[str]:
    return value.split()


@register.filter
def field(form: forms.Form, name: str) -> forms.BoundField:
    return form[name]


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def event_label(action: str) -> str:
    """The 办理记录's name of a stored action (EventAction in audit/actions.py, via audit/labels.py)."""
    return labels.event_label(action)


@register.filter
def status_label(status: str) -> str:
    return str(Application.Status(status).label) if status in Application.Status.values else ""
