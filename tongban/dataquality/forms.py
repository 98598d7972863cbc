from __future__ import annotations

from django import forms

from tongban.dataquality.models import Case
from tongban.registry.models import ChangeItem


class CaseFilterForm(forms.Form):
    kind = forms.ChoiceField(label="类别", choices=[("", "全部"), *Case.Kind.choices], required=False)
    status = forms.ChoiceField(
        label="状态", choices=[("", "全部"), *Case.Status.choices], required=False, initial="open"
    )
    unit = forms.CharField(label="单位代码", max_length=12, required=False)
    after = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


class ScanForm(forms.Form):
    """扫描本辖区: the unit (the user's own or one below) and the set-based stages."""

    unit = forms.ChoiceField(label="扫描范围")
    kinds = forms.MultipleChoiceField(
        label="扫描项目",
        choices=[
            (Case.Kind.DUPLICATE_NUMBER.value, "重号"),
            (Case.Kind.WRONG_NUMBER.value, "错号"),
            (Case.Kind.DOUBLE_BY_NAME.value, "疑似一人多户（姓名、出生日期、性别）"),
            ("households", "户口核对（百岁无业务、无户号、注销仍持证）"),
        ],
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
    item = forms.ChoiceField(label="更正项目", choices=ChangeItem.choices)
    new_value = forms.CharField(
        label="更正后内容", max_length=100, help_text="号码 18 位；出生日期 YYYY-MM-DD；民族填代码（如 01）"
    )
    reason = forms.CharField(label="申请理由", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    evidence = forms.CharField(
        label="证明材料",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="材料名称、编号",
    )


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
