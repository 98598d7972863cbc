from django import template

from tongban.finance.documents import ITEM_LABELS

register = template.Library()


@register.filter
def item_label(value: str) -> str:
    """收费项目 in words: `renewal` → 换领."""
    return ITEM_LABELS.get(value, value)
