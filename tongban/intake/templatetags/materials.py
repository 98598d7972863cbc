"""Materials (交验材料) by their Chinese labels on every page that lists them: `{% load materials %}`
then `{{ application.materials_shown|material_labels }}` (“居民户口簿、居住证明”)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from tongban.intake.forms import material_labels as _labels

register = template.Library()


@register.filter
def material_labels(codes: Iterable[str] | None, separator: str = "、") -> str:
    labels = _labels()
    return separator.join(labels.get(code, "其他材料") for code in codes or ())
