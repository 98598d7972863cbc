from __future__ import annotations

from django import forms

from tongban.cardcheck import services
from tongban.cardcheck.models import Institution


class InstitutionForm(forms.Form):
    name = forms.CharField(label="机构名称", max_length=100)
    kind = forms.ChoiceField(label="机构类别", choices=Institution.Kind.choices)
    credit_code = forms.CharField(
        label="统一社会信用代码", max_length=30, help_text="18 位，按 GB 32100 校验，如 91360100MA35XXXXXX"
    )
    purpose = forms.CharField(
        label="核查用途",
        max_length=200,
        help_text="如“开立银行账户时核验客户身份证件”；每条核查记录都载明用途",
    )
    contact = forms.CharField(label="联系人及电话", max_length=100, help_text="如“王经理 0791-86000000”")
    per_minute_limit = forms.IntegerField(
        label="每分钟限额", min_value=1, max_value=services.MAX_PER_MINUTE, initial=60
    )
    daily_limit = forms.IntegerField(
        label="每日限额", min_value=1, max_value=services.MAX_PER_DAY, initial=10000
    )

    def entry(self) -> services.InstitutionEntry:
        return services.InstitutionEntry(**self.cleaned_data)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="原因", max_length=services.MAX_REASON, error_messages={"required": "请填写原因。"}
    )
