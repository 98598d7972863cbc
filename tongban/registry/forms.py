from __future__ import annotations

from django import forms

from tongban.core import idnumber
from tongban.registry.models import Person


class LookupForm(forms.Form):
    id_number = forms.CharField(
        label="公民身份号码",
        max_length=40,
        error_messages={"required": "请输入公民身份号码。"},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "placeholder": "18位公民身份号码"}
        ),
    )

    def clean_id_number(self) -> str:
        try:
            return idnumber.validate(self.cleaned_data["id_number"])
        except idnumber.InvalidIdNumber as exc:
            raise forms.ValidationError(str(exc), code="invalid_id_number") from exc


class PeopleFilterForm(forms.Form):
    name = forms.CharField(label="姓名", required=False, max_length=50)
    household_no = forms.CharField(label="户号", required=False, max_length=20)
    unit = forms.CharField(label="机构代码", required=False, max_length=12)
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部"), *Person.Status.choices])
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
