from django import template

from tongban.core import masking

register = template.Library()


@register.filter
def mask_id(value: str) -> str:
    return masking.mask_id_number(value or "")


@register.filter
def mask_name(value: str) -> str:
    return masking.mask_name(value or "")
