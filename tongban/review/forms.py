from __future__ import annotations

from django import forms

from tongban.review.models import VerificationNote
from tongban.review.services import Decision

DECISION_CHOICES = [
    (Decision.ISSUE.value, "签发（审核通过）"),
    (Decision.VERIFY.value, "核实（记录核实情况，继续办理）"),
    (Decision.REFUSE.value, "不予签发"),
]


class DecisionForm(forms.Form):
    step = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    decision = forms.ChoiceField(label="审核结论", choices=DECISION_CHOICES, widget=forms.RadioSelect)
    method = forms.ChoiceField(
        label="核实方式", choices=[("", "——"), *VerificationNote.Method.choices], required=False
    )
    reason = forms.CharField(
        label="意见 / 原因 / 核实情况",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
