"""Forms of the centre's pages: the batch (调度打包) and the feedback upload."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings


class BatchForm(forms.Form):
    acceptance_unit = forms.ChoiceField(label="受理单位", required=False)
    size = forms.IntegerField(label="批次最多证件数", min_value=1)

    def __init__(self, *args: Any, units: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice = cast(forms.ChoiceField, self.fields["acceptance_unit"])
        choice.choices = [("", "全部受理单位"), *units]
        size = self.fields["size"]
        size.initial = settings.CARD_PRODUCTION["BATCH_SIZE"]
        size.widget.attrs["max"] = settings.CARD_PRODUCTION["BATCH_MAX"]


class FeedbackForm(forms.Form):
    file = forms.FileField(label="回馈文件（CSV 或 JSON）")


class RecollectForm(forms.Form):
    image = forms.FileField(label="新相片（JPEG）")
