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


class UnitContactForm(forms.Form):
    """A unit's own telephone and address, printed on the documents of its counter."""

    phone = forms.CharField(
        label="对外联系电话",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如 0791-86781234"}),
        help_text="固定电话带区号，分机号接在“-”后；或11位手机号。",
    )
    address = forms.CharField(
        label="办公地址",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如 江西省南昌市东湖区八一大道288号", "size": 48}),
    )
