"""The three decision forms of the review page, one per decision, so each keeps what was typed
in it and shows its errors beside its own fields."""

from __future__ import annotations

from typing import Any

from django import forms

from tongban.registry.models import RefusalReason
from tongban.review.models import VerificationNote
from tongban.review.services import REFUSAL_REMARK_MAX, Decision


class _StepForm(forms.Form):
    decision: Decision
    # The step the reviewer saw: a step decided meanwhile is refused (step_decided).
    step = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The three forms share field names (the service's); their ids must differ on the page.
        kwargs.setdefault("auto_id", f"{self.decision.value}_%s")
        super().__init__(*args, **kwargs)


class IssueForm(_StepForm):
    """签发 at the last step, 审核通过 before it."""

    decision = Decision.ISSUE
    reason = forms.CharField(
        label="审核意见（选填）", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class VerifyForm(_StepForm):
    """核实: what was checked and how; the item stays with the reviewer."""

    decision = Decision.VERIFY
    method = forms.ChoiceField(label="核实方式", choices=[("", "请选择"), *VerificationNote.Method.choices])
    reason = forms.CharField(label="核实情况", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class RefusalReasonField(forms.ModelChoiceField):
    """The active refusal reasons by name (the code travels as the value)."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name) + ("（须填写说明）" if obj.remark_required else "")


class RefuseForm(_StepForm):
    """不予签发: a coded reason and a remark; confirmed in a second step before it is sent."""

    decision = Decision.REFUSE
    refusal_reason = RefusalReasonField(
        label="不予签发原因",
        queryset=RefusalReason.objects.filter(active=True),
        to_field_name="code",
        empty_label="请选择原因",
        error_messages={"invalid_choice": "请从列表中选择不予签发原因。"},
    )
    reason = forms.CharField(
        label="说明",
        max_length=REFUSAL_REMARK_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="写明具体情况；原因为“其他”时必填。",
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


DECISION_FORMS: dict[str, type[_StepForm]] = {
    Decision.ISSUE.value: IssueForm,
    Decision.VERIFY.value: VerifyForm,
    Decision.REFUSE.value: RefuseForm,
}
