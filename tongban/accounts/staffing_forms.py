"""The explicit override of the staffing check (无人办理确认) on configuration forms: the admin of
review chains and distribution rules, and a campaign's 流程配置."""

from __future__ import annotations

from typing import Any

from django import forms

from tongban.accounts import staffing
from tongban.core.errors import ServiceError

OVERRIDE_LABEL = "确认无人办理仍保存"
OVERRIDE_HELP = "仅当所列单位确实暂无在岗人员、又须先保存配置时勾选，并填写原因；将记入审计日志。"


class OverrideFields(forms.Form):
    """The two fields, as a mixin for ModelForms and plain forms alike."""

    override_unstaffed = forms.BooleanField(label=OVERRIDE_LABEL, required=False, help_text=OVERRIDE_HELP)
    override_reason = forms.CharField(
        label="原因",
        required=False,
        max_length=staffing.OVERRIDE_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )


class StaffingOverrideForm(forms.ModelForm):
    override_unstaffed = OverrideFields.base_fields["override_unstaffed"]
    override_reason = OverrideFields.base_fields["override_reason"]


def override_requested(data: Any) -> tuple[bool, str]:
    """The override as posted (an inline formset sees the same POST as its parent form)."""
    return data.get("override_unstaffed") in {"on", "true", "1"}, str(data.get("override_reason", ""))


def unit_list(error: ServiceError) -> str:
    """Every unit of a refusal, per step, for the form beside the summary: each `units.<code>`
    field reads "单位（代码）：第n环节…无…[；…]"."""
    groups: dict[str, list[str]] = {}
    for key, message in error.fields.items():
        if key.startswith("units."):
            unit, _, lacking = message.partition("：")
            for what in lacking.split("；"):
                groups.setdefault(what, []).append(unit)
    return (
        "全部单位——" + "；".join(f"{what}：{'、'.join(units)}" for what, units in groups.items())
        if groups
        else ""
    )
