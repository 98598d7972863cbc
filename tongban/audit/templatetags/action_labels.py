"""`{% load action_labels %}`: the Chinese names of application events and audit actions on pages."""

from __future__ import annotations

from django import template

from tongban.audit import labels

register = template.Library()


@register.filter
def event_label(action: str) -> str:
    return labels.event_label(action)


@register.filter
def action_label(action: str) -> str:
    return labels.action_label(action)
