"""The 办理进度查询 form: 受理号 and one proof, the last 6 digits of the 公民身份号码 or the name."""

from __future__ import annotations

from typing import Any

from django import forms

from tongban.core import typed
from tongban.intake.rules import is_acceptance_number
from tongban.portal.progress import rules


class ProgressForm(forms.Form):
    number = forms.CharField(
        label="受理号",
        max_length=40,  # spaces typed between the digit groups are dropped below
        help_text="22位数字，见《领证回执》",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}),
    )
    id_suffix = forms.CharField(
        label="公民身份号码后6位",
        max_length=6,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    name = forms.CharField(
        label="或：申请人姓名",
        max_length=rules.NAME_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_number(self) -> str:
        number = "".join(str(self.cleaned_data["number"]).split())
        if not is_acceptance_number(number):
            raise forms.ValidationError(rules.NUMBER_MESSAGE)
        return number

    def clean_id_suffix(self) -> str:
        value = str(self.cleaned_data["id_suffix"]).strip()
        if value and not typed.is_id_suffix(value):
            raise forms.ValidationError(rules.SUFFIX_MESSAGE)
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        given = [field for field in ("id_suffix", "name") if cleaned.get(field)]
        if len(given) != 1 and not self.has_error("id_suffix"):
            self.add_error(given[-1] if given else "id_suffix", rules.ONE_OF_MESSAGE)
        return cleaned
