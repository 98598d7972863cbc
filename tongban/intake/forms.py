"""Typed input of the counter pages; business checks stay in the services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.urls import reverse

from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core import idnumber
from tongban.intake import rules
from tongban.intake.models import Application
from tongban.registry.models import ApplicationReason, Ethnicity, Sex

TYPE_CHOICES = [(t.value, t.label) for t in rules.ApplicationType]
GUARDIANSHIP_CHOICES = [
    ("", "——"),
    (rules.GuardianshipCase.SAME_HOUSEHOLD.value, "与父（母）同户：交验户口簿"),
    (rules.GuardianshipCase.BIRTH_CERTIFICATE.value, "不同户，出生医学证明能体现监护关系"),
    (rules.GuardianshipCase.BIRTH_CERTIFICATE_AND_MARRIAGE.value, "不同户，出生医学证明不能体现监护关系"),
]
FINGER_OUTCOMES = [
    (rules.FingerOutcome.REGISTERED.value, "注册成功（采集指纹）"),
    (rules.FingerOutcome.FAILED.value, "注册失败（能采集图像但无法提取特征）"),
    (rules.FingerOutcome.NOT_REGISTERED.value, "未注册（残疾、受伤等无法采集）"),
]


class StartForm(forms.Form):
    """新建受理: the ID number, the 申领类型 and a 申领原因 of that type only.

    `mode`: "start" needs all three; "lookup" (查询证件情况) needs the number; "refresh" (the list
    of reasons after the type changed, for browsers without JavaScript) needs nothing. A reason
    that is not one of the chosen type's is refused at the field."""

    id_number = forms.CharField(
        label="公民身份号码",
        max_length=40,
        error_messages={"required": "请输入公民身份号码。"},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autofocus": True, "placeholder": "18位公民身份号码", "size": 22}
        ),
    )
    type = forms.ChoiceField(label="申领类型", choices=TYPE_CHOICES)
    reason = forms.ChoiceField(label="申领原因", error_messages={"required": "请选择申领原因。"})

    def __init__(self, *args: Any, mode: str = "start", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mode = mode
        self.application_type = self._chosen_type()
        reasons = ApplicationReason.objects.filter(active=True, kind=self.application_type.value).order_by(
            "code"
        )
        choices = [(r.code, f"{r.code} {r.name}") for r in reasons]
        self.reason_codes = frozenset(code for code, _ in choices)
        reason = cast(forms.ChoiceField, self.fields["reason"])
        reason.choices = [("", "——请选择——"), *choices]
        reason.error_messages["invalid_choice"] = (
            f"“%(value)s”不是{self.application_type.label}的申领原因，请重新选择。"
        )
        # With JavaScript, the register is read as soon as the number is entered, and the
        # reasons follow the type; without it, the buttons of start.html do the same.
        url = reverse("intake:start")
        self.fields["id_number"].widget.attrs.update(
            {
                "hx-post": url,
                "hx-trigger": "change",
                "hx-target": "#applicant",
                "hx-swap": "outerHTML",
                "hx-vals": '{"action": "summary"}',
            }
        )
        self.fields["type"].widget.attrs.update(
            {
                "hx-post": url,
                "hx-trigger": "change",
                "hx-target": "#reason-field",
                "hx-swap": "outerHTML",
                "hx-vals": '{"action": "refresh"}',
            }
        )
        if mode != "start":
            self.fields["reason"].required = False
        if mode == "refresh":
            self.fields["id_number"].required = False

    def _chosen_type(self) -> rules.ApplicationType:
        raw = self.data.get("type") if self.is_bound else self.initial.get("type")
        try:
            return rules.ApplicationType(raw or rules.ApplicationType.FIRST)
        except ValueError:
            return rules.ApplicationType.FIRST

    def clean_id_number(self) -> str:
        value = self.cleaned_data["id_number"]
        if not value and self.mode == "refresh":
            return ""
        try:
            return idnumber.validate(value)
        except idnumber.InvalidIdNumber as exc:
            raise forms.ValidationError(str(exc)) from exc


class NameChoiceField(forms.ModelChoiceField):
    """A code table (性别 GB/T 2261.1, 民族 GB 3304) offered by name, in the standard's order;
    the code travels only as the option's value."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


class DetailsForm(forms.Form):
    """What the clerk fills in or corrects on a draft."""

    name = forms.CharField(label="姓名", max_length=50)
    sex = NameChoiceField(label="性别", queryset=Sex.objects.filter(active=True), empty_label=None)
    ethnicity = NameChoiceField(
        label="民族", queryset=Ethnicity.objects.filter(active=True), empty_label=None
    )
    # An <input type="date"> takes ISO dates only, whatever the language's date format.
    birth_date = forms.DateField(
        label="出生日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    household_address = forms.CharField(label="常住户口所在地住址", max_length=200)
    residence_address = forms.CharField(label="现居住地住址", max_length=200, required=False)
    phone = forms.CharField(label="联系电话", max_length=20, required=False)
    collection = forms.ChoiceField(label="领取方式", choices=Application.Collection.choices)
    postal_recipient = forms.CharField(label="收件人", max_length=50, required=False)
    postal_phone = forms.CharField(label="收件人电话", max_length=20, required=False)
    postal_address = forms.CharField(label="邮寄地址", max_length=200, required=False)
    guardianship = forms.ChoiceField(label="监护关系证明情形", choices=GUARDIANSHIP_CHOICES, required=False)
    guardian_name = forms.CharField(label="监护人姓名", max_length=50, required=False)
    guardian_id_number = forms.CharField(label="监护人公民身份号码", max_length=40, required=False)
    guardian_relation = forms.CharField(label="与申请人关系", max_length=20, required=False)
    guardian_phone = forms.CharField(label="监护人电话", max_length=20, required=False)
    materials_shown = forms.MultipleChoiceField(
        label="已交验材料", required=False, widget=forms.CheckboxSelectMultiple, choices=[]
    )
    pledge_signed = forms.BooleanField(label="申请人已签署《告知承诺书》", required=False)
    fee_waived = forms.BooleanField(label="减免工本费（如低保）", required=False)
    fee_waiver_evidence = forms.CharField(label="减免依据", max_length=200, required=False)

    def __init__(self, *args: object, material_choices: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["materials_shown"].choices = material_choices  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, application: Application) -> dict[str, object]:
        return {
            "name": application.name,
            "sex": application.sex_id,
            "ethnicity": application.ethnicity_id,
            "birth_date": application.birth_date,
            "household_address": application.household_address,
            "residence_address": application.residence_address,
            "phone": application.phone,
            "collection": application.collection,
            "postal_recipient": application.postal_recipient,
            "postal_phone": application.postal_phone,
            "postal_address": application.postal_address,
            "guardianship": application.guardianship,
            "guardian_name": application.guardian_name,
            "guardian_id_number": application.guardian_id_number,
            "guardian_relation": application.guardian_relation,
            "guardian_phone": application.guardian_phone,
            "materials_shown": application.materials_shown,
            "pledge_signed": application.pledge_signed,
            "fee_waived": application.fee_waived,
            "fee_waiver_evidence": application.fee_waiver_evidence,
        }

    def changes(self) -> dict[str, object]:
        data = dict(self.cleaned_data)
        data["sex"] = data["sex"].code
        data["ethnicity"] = data["ethnicity"].code
        return data


class PhotoForm(forms.Form):
    """A photo upload of the workspace (prefix "photo" for the applicant's, "guardian" for the
    同框 photo): both sit in the workspace's one form beside the details."""

    image = forms.FileField(label="相片（JPEG）", required=False)


FINGER_POSITION_CHOICES = [
    (code, f"{FINGER_POSITION_NAMES[code]}（{code}）") for code in rules.RIGHT_HAND + rules.LEFT_HAND
]


class FingerForm(forms.Form):
    """One finger (prefix "finger" in the workspace's one form)."""

    position = forms.ChoiceField(label="指位", choices=FINGER_POSITION_CHOICES)
    outcome = forms.ChoiceField(label="采集结果", choices=FINGER_OUTCOMES)
    image = forms.FileField(label="指纹图像", required=False)
    reason = forms.CharField(label="原因（注册失败/未注册）", max_length=200, required=False)

    def typed(self) -> bool:
        """Whether the clerk has typed something here that a redirect would lose."""
        return bool(self.data.get(self.add_prefix("reason"), "").strip())


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def material_choices(checklist: tuple[rules.Material, ...]) -> list[tuple[str, str]]:
    """Checkbox choices for the checklist (each alternative of a one-of line is its own box);
    the pledge has its own field."""
    choices: list[tuple[str, str]] = []
    for material in checklist:
        if material.code == rules.PLEDGE.code:
            continue
        if material.alternatives:
            choices += list(material.alternatives)
        else:
            choices.append((material.code, material.label))
    return choices


def material_labels() -> dict[str, str]:
    """Every material code the checklists use, with its Chinese label (an alternative's own
    label where a code is both a line and one of its alternatives)."""
    labels: dict[str, str] = {}
    for material in (
        rules.HOUSEHOLD_BOOK,
        rules.ADULT_PROOF,
        rules.GUARDIAN_ID,
        rules.MINOR_PROOF,
        rules.BIRTH_CERTIFICATE,
        rules.PARENTAGE_PROOF,
        rules.PLEDGE,
    ):
        labels.setdefault(material.code, material.label)
        labels.update(material.alternatives)
    return labels


class GuestForm(forms.Form):
    """外省户籍人员登记: a resident of another province, from their 户口簿, before the application."""

    id_number = forms.CharField(
        label="公民身份号码",
        max_length=40,
        error_messages={"required": "请输入公民身份号码。"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "size": 22}),
    )
    name = forms.CharField(label="姓名", max_length=50, error_messages={"required": "请填写姓名。"})
    sex = forms.ChoiceField(label="性别", choices=[("1", "男"), ("2", "女")])
    ethnicity = forms.ChoiceField(label="民族")
    birth_date = forms.DateField(
        label="出生日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写出生日期。", "invalid": "日期格式应为 年-月-日。"},
    )
    address = forms.CharField(
        label="常住户口所在地住址",
        max_length=200,
        widget=forms.TextInput(attrs={"size": 48}),
        error_messages={"required": "请按户口簿填写住址。"},
    )
    region_code = forms.CharField(
        label="户籍地区划代码",
        min_length=6,
        max_length=6,
        help_text="户口簿所在县（市、区）的六位行政区划代码，通常为号码前六位。",
        error_messages={"required": "请填写六位区划代码。", "min_length": "应为六位数字。"},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ethnicity = cast(forms.ChoiceField, self.fields["ethnicity"])
        ethnicity.choices = [(e.code, e.name) for e in Ethnicity.objects.filter(active=True).order_by("code")]

    @staticmethod
    def initial_for(number: str) -> dict[str, Any]:
        """What the number says: its birth date, sex and region code."""
        info = idnumber.parse(number)
        if not info.valid or info.normalized is None:
            return {"id_number": number}
        return {
            "id_number": info.normalized,
            "birth_date": info.birth_date,
            "sex": info.sex,
            "region_code": info.normalized[:6],
            "ethnicity": "01",
        }
