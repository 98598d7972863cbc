from __future__ import annotations

import datetime
from typing import Any

from django import forms

from tongban.dataquality.models import NUMBER_SEXES, Case
from tongban.registry.models import ChangeItem, Ethnicity, Sex


class CaseFilterForm(forms.Form):
    kind = forms.ChoiceField(label="类别", choices=[("", "全部"), *Case.Kind.choices], required=False)
    status = forms.ChoiceField(
        label="状态", choices=[("", "全部"), *Case.Status.choices], required=False, initial="open"
    )
    unit = forms.CharField(label="单位代码", max_length=12, required=False)
    after = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


# What a scan from the page (or `POST /api/v1/dataquality/runs`) may look for.
SCAN_KIND_CHOICES = [
    (Case.Kind.DUPLICATE_NUMBER.value, "重号"),
    (Case.Kind.WRONG_NUMBER.value, "错号"),
    (Case.Kind.DOUBLE_BY_NAME.value, "疑似一人多户（姓名、出生日期、性别）"),
    (Case.Kind.DOUBLE_BY_FACE.value, "疑似一人多户（人像比对）"),
    ("households", "户口核对（百岁无业务、无户号、注销仍持证）"),
]


class ScanForm(forms.Form):
    """扫描本辖区: the unit (the user's own or one below) and what to look for."""

    unit = forms.ChoiceField(label="扫描范围")
    kinds = forms.MultipleChoiceField(
        label="扫描项目",
        choices=SCAN_KIND_CHOICES,
        initial=[
            Case.Kind.DUPLICATE_NUMBER.value,
            Case.Kind.WRONG_NUMBER.value,
            Case.Kind.DOUBLE_BY_NAME.value,
        ],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一项扫描项目。"},
    )

    def __init__(self, *args: object, units: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["unit"].choices = units  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    status = forms.ChoiceField(
        label="处理结果",
        choices=[(Case.Status.RESOLVED.value, "已处理"), (Case.Status.FALSE_POSITIVE.value, "误报")],
        widget=forms.RadioSelect,
    )
    decision = forms.CharField(label="处理意见", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class ChangeRequestForm(forms.Form):
    """One input per kind of value, the one of the chosen item is used: 民族 and 性别 are chosen
    from their code tables (GB 3304, GB/T 2261.1), never typed as codes."""

    item = forms.ChoiceField(label="更正项目", choices=ChangeItem.choices)
    new_number = forms.CharField(
        label="更正后公民身份号码",
        max_length=18,
        required=False,
        help_text="18 位，须与登记的出生日期、性别一致",
    )
    new_name = forms.CharField(label="更正后姓名", max_length=50, required=False)
    new_birth_date = forms.DateField(
        label="更正后出生日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    new_ethnicity = forms.ChoiceField(label="更正后民族", required=False)
    new_sex = forms.ChoiceField(
        label="更正后性别",
        required=False,
        help_text="公民身份号码第17位奇数为男、偶数为女。登记性别有误而号码无误的，更正性别；号码有误的，"
        "申请纠正错号。更正性别后号码与性别不符的，批准时即列为错号线索，须再申请纠正错号重新编号。",
    )
    reason = forms.CharField(label="申请理由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    evidence = forms.CharField(
        label="证明材料",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="材料名称、编号",
    )

    # The input each item reads its new value from.
    VALUE_FIELDS = {
        ChangeItem.DUPLICATE_NUMBER: "new_number",
        ChangeItem.WRONG_NUMBER: "new_number",
        ChangeItem.NAME: "new_name",
        ChangeItem.BIRTH_DATE: "new_birth_date",
        ChangeItem.ETHNICITY: "new_ethnicity",
        ChangeItem.SEX: "new_sex",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        empty = [("", "请选择")]
        active = Ethnicity.objects.filter(active=True).order_by("code").values_list("code", "name")
        self.fields["new_ethnicity"].choices = empty + list(active)  # type: ignore[attr-defined]
        sexes = Sex.objects.filter(active=True, code__in=NUMBER_SEXES).values_list("code", "name")
        self.fields["new_sex"].choices = empty + list(sexes)  # type: ignore[attr-defined]

    @property
    def value_field(self) -> str:
        """The input of the chosen item (where its errors are shown)."""
        return self.VALUE_FIELDS.get(self.data.get("item", ""), "new_name")

    def service_args(self) -> dict[str, str]:
        """What `services.change_request_create` takes, from a valid form."""
        value = self.cleaned_data.get(self.value_field)
        return {
            "item": self.cleaned_data["item"],
            "new_value": value.isoformat() if isinstance(value, datetime.date) else str(value or ""),
            "reason": self.cleaned_data["reason"],
            "evidence": self.cleaned_data["evidence"],
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("item") and not data.get(self.value_field) and self.value_field not in self.errors:
            self.add_error(self.value_field, "请填写或选择更正后的内容。")
        return data


class ChangeDecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label="审批结果",
        choices=[("1", "批准"), ("0", "不予批准")],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="审批意见", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )
