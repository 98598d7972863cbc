"""The forms of the 电子证照 pages: the holder's proof, a code pasted for checking, the staff's
search. Chinese labels and errors."""

from __future__ import annotations

from django import forms


class HolderForm(forms.Form):
    id_number = forms.CharField(
        label="公民身份号码",
        max_length=30,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters"}
        ),
    )
    name = forms.CharField(label="姓名", max_length=50, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    reference = forms.CharField(
        label="受理号或卡号",
        max_length=32,
        help_text="受理号见《领证回执》（22位数字）",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


class VerifyForm(forms.Form):
    token = forms.CharField(
        label="电子证照二维码内容",
        max_length=2000,
        help_text="扫描持证人出示的二维码后粘贴其内容或网址",
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
    )


class FindForm(forms.Form):
    q = forms.CharField(label="证照编号、受理号或卡号", max_length=32)
