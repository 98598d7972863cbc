"""The forms of the 挂失招领 pages: typed input for the services, Chinese labels and errors."""

from __future__ import annotations

from django import forms

from tongban.cardloss.models import LossReport


class ReportForm(forms.Form):
    channel = forms.ChoiceField(
        label="申报方式", choices=LossReport.Channel.choices, widget=forms.RadioSelect, initial="in_person"
    )
    phone = forms.CharField(label="联系电话", max_length=30, help_text="本人或来电人的电话，拾获时据此通知")
    verification = forms.CharField(
        label="核实情况", max_length=200, required=False, help_text="电话申报：核实了来电人的哪些信息"
    )
    card_serial = forms.CharField(label="卡号", max_length=32, required=False, help_text="知道时填写")


class RestoreForm(forms.Form):
    reason = forms.CharField(label="撤销原因", max_length=200)


class FoundForm(forms.Form):
    id_number = forms.CharField(label="公民身份号码（证件上）", max_length=30)
    name = forms.CharField(label="姓名（证件上）", max_length=50)
    card_serial = forms.CharField(label="卡号", max_length=32, required=False, help_text="读卡器读出时填写")
    found_place = forms.CharField(label="拾获地点", max_length=200)
    found_on = forms.DateField(label="拾获日期", widget=forms.DateInput(attrs={"type": "date"}))
    handed_in_by = forms.CharField(label="交来人", max_length=50)
    handed_in_phone = forms.CharField(label="交来人电话", max_length=30, required=False)


class CollectForm(forms.Form):
    collector_name = forms.CharField(label="领取人姓名", max_length=50)
    collector_id_number = forms.CharField(label="领取人公民身份号码", max_length=30)
    identity_checked = forms.BooleanField(label="已核对领取人为证件上的本人", required=False)
    identity_note = forms.CharField(label="身份核验情况", max_length=200, required=False)
    destroy = forms.BooleanField(label="证件已失效时当场销毁（不交还）", required=False)
    witness = forms.CharField(label="监销人", max_length=50, required=False, help_text="当场销毁时填写")


class DestroyForm(forms.Form):
    witness = forms.CharField(label="监销人", max_length=50)
    note = forms.CharField(label="备注", max_length=200, required=False)
