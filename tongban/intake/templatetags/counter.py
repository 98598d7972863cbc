"""Small template helpers for the counter and review pages."""

from __future__ import annotations

from typing import Any

from django import forms, template

from tongban.audit import labels
from tongban.intake.models import Application
from tongban.notifications.selectors import application_messages
from tongban.registry.models import Unit

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


@register.simple_tag
def notices(application: Application) -> list[tuple[Any, str]]:
    """The notifications `application` caused, each with whom it went to as a page says it: the
    unit by name, the applicant's phone masked. Two queries, however many."""
    messages = application_messages(application)
    codes = {message.unit_code for message in messages if message.unit_code}
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    return [(message, names.get(message.unit_code, message.recipient)) for message in messages]
