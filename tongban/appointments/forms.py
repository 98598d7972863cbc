"""Typed input of the 网上预约 pages; the services check everything against the register."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from tongban.appointments import rules
from tongban.intake import rules as intake_rules
from tongban.intake.models import Application
from tongban.registry.models import ApplicationReason

TYPE_CHOICES = [(t.value, t.label) for t in intake_rules.ApplicationType]
GUARDIANSHIP_CHOICES = [
    ("", "——请选择——"),
    (intake_rules.GuardianshipCase.SAME_HOUSEHOLD.value, "与父（母）在同一户口"),
    (intake_rules.GuardianshipCase.BIRTH_CERTIFICATE.value, "不在同一户口，出生医学证明能体现监护关系"),
    (
        intake_rules.GuardianshipCase.BIRTH_CERTIFICATE_AND_MARRIAGE.value,
        "不在同一户口，出生医学证明不能体现监护关系",
    ),
]
PHONE_ATTRS = {"inputmode": "tel", "autocomplete": "tel", "maxlength": 13}


def reason_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The reasons grouped by type, as the counter offers them."""
    reasons = ApplicationReason.objects.filter(active=True).order_by("code")
    return [
        (label, [(r.code, f"{r.code} {r.name}") for r in reasons if r.kind == kind])
        for kind, label in TYPE_CHOICES
    ]


class BookForm(forms.Form):
    """预申请: who applies, for what, how to reach them and how the card comes back."""

    name = forms.CharField(
        label="姓名", max_length=50, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    id_number = forms.CharField(
        label="公民身份号码",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "placeholder": "18位号码"}),
    )
    type = forms.ChoiceField(label="申领类型", choices=TYPE_CHOICES)
    reason = forms.ChoiceField(label="申领原因")
    phone = forms.CharField(
        label="手机号码",
        max_length=20,
        help_text="接收预约码和提醒短信",
        widget=forms.TextInput(attrs=PHONE_ATTRS),
    )
    residence_address = forms.CharField(label="现居住地住址", max_length=200, required=False)
    collection = forms.ChoiceField(
        label="领取方式", choices=Application.Collection.choices, widget=forms.RadioSelect, initial="station"
    )
    postal_recipient = forms.CharField(label="收件人", max_length=50, required=False)
    postal_phone = forms.CharField(
        label="收件人手机", max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    postal_address = forms.CharField(label="邮寄地址", max_length=200, required=False)
    guardian_name = forms.CharField(label="监护人姓名", max_length=50, required=False)
    guardian_id_number = forms.CharField(label="监护人公民身份号码", max_length=20, required=False)
    guardian_relation = forms.CharField(
        label="与申请人关系",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如 父亲、母亲"}),
    )
    guardian_phone = forms.CharField(
        label="监护人手机", max_length=20, required=False, widget=forms.TextInput(attrs=PHONE_ATTRS)
    )
    guardianship = forms.ChoiceField(label="监护关系证明情形", choices=GUARDIANSHIP_CHOICES, required=False)
    consent = forms.BooleanField(
        label="本人承诺所填信息真实，同意公安机关为办理居民身份证使用上述信息。",
        error_messages={"required": "请阅读并勾选承诺。"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["reason"])
        field.choices = [("", "——请选择——"), *reason_choices()]
        for name in ("name", "id_number", "type", "reason", "phone", "collection"):
            self.fields[name].error_messages["required"] = f"请填写{self.fields[name].label}。"


class LookupForm(forms.Form):
    """取消或改约: the booking code and the last 6 of the 公民身份号码."""

    code = forms.CharField(
        label="预约码",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "placeholder": "如 K7QM-4T2X", "autocapitalize": "characters"}
        ),
        error_messages={"required": "请填写预约码。"},
    )
    id_tail = forms.CharField(
        label="公民身份号码后6位",
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
        error_messages={"required": "请填写公民身份号码后6位。", "min_length": "请填写6位。"},
    )


class OpenForm(forms.Form):
    """At the counter: the code typed or scanned."""

    code = forms.CharField(
        label="预约码",
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "placeholder": "扫描或输入预约码"}
        ),
        error_messages={"required": "请输入预约码。"},
    )


class ScheduleForm(forms.Form):
    open = forms.BooleanField(label="开放网上预约", required=False)
    morning_capacity = forms.IntegerField(label="上午可预约人数", min_value=0, max_value=500)
    afternoon_capacity = forms.IntegerField(label="下午可预约人数", min_value=0, max_value=500)
    days_ahead = forms.IntegerField(label="可提前预约天数", min_value=1, max_value=90)
    notice = forms.CharField(
        label="预约须知（显示在预约页面）",
        max_length=200,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class OverrideForm(forms.Form):
    date = forms.DateField(label="日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    half = forms.ChoiceField(label="时段", choices=[(h.value, h.label) for h in rules.HalfDay])
    capacity = forms.IntegerField(
        label="可预约人数",
        min_value=0,
        max_value=500,
        required=False,
        help_text="0 为停止预约；不填为恢复按设置",
    )
    note = forms.CharField(label="说明", max_length=100, required=False)
