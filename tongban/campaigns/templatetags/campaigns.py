"""Small template filters of the campaign pages."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def duty_number(code: str) -> str:
    """`county.5` → 5, the number the seed gives the duty."""
    return code.rsplit(".", 1)[-1]


@register.filter
def figure(figures: dict[str, int], key: str) -> int:
    return int(figures.get(key, 0))
