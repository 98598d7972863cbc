"""Typed input of the 临时居民身份证 pages; the business checks stay in the services."""

from __future__ import annotations

from django import forms

from tongban.temporary import rules

PHOTO_MAX_BYTES = 2 * 1024 * 1024


class AcceptForm(forms.Form):
    id_number = forms.CharField(label="公民身份号码", max_length=40)
    photo = forms.FileField(
        label="新采集相片", required=False, help_text="不上传则沿用居民身份证申领时采集的相片。"
    )
    phone = forms.CharField(
        label="联系电话", max_length=20, required=False, help_text="不填则沿用申领登记的电话。"
    )
    waived = forms.BooleanField(label="减免工本费", required=False)
    waiver_evidence = forms.CharField(label="减免依据", max_length=200, required=False)

    def clean_photo(self) -> object:
        upload = self.cleaned_data.get("photo")
        if upload is not None and upload.size is not None and upload.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError("相片不能超过 2 MB。")
        return upload


class ReasonForm(forms.Form):
    reason = forms.CharField(label="原因", max_length=500, required=False)


class RegisterForm(forms.Form):
    state = forms.ChoiceField(label="状态", choices=[("", "全部"), *rules.STATE_CHOICES], required=False)
    start = forms.DateField(
        label="受理日期起", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(label="受理日期止", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.CharField(label="单位代码", max_length=12, required=False)
