"""Typed input of the campaign pages; the business checks stay in the services."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms

from tongban.accounts.staffing_forms import OverrideFields, unit_list
from tongban.campaigns import services
from tongban.campaigns.models import Campaign, CampaignPhase, DutyTask
from tongban.core.errors import ServiceError
from tongban.intake.models import ReviewChainStep
from tongban.intake.rules import ApplicationType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TYPE_CHOICES = [(t.value, t.label) for t in ApplicationType]


class CampaignForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100)
    reference_date = forms.DateField(label="年龄计算基准日", widget=DATE)
    min_age = forms.IntegerField(label="年满周岁", min_value=0, max_value=120, initial=16)
    include_first_generation = forms.BooleanField(label="持第一代居民身份证", required=False, initial=True)
    include_without_card = forms.BooleanField(label="无有效居民身份证", required=False, initial=True)
    expiring_before = forms.DateField(label="有效期在此日前（含）届满的也列入", required=False, widget=DATE)
    target_entered = forms.IntegerField(
        label="下达任务数（人）",
        required=False,
        min_value=0,
        help_text="不填则以登记人口中的目标人数为任务数；填写则按各县目标人数比例分解。",
    )
    application_types = forms.MultipleChoiceField(
        label="计入的申领类型",
        choices=TYPE_CHOICES,
        initial=[ApplicationType.RENEWAL.value, ApplicationType.FIRST.value],
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label="说明", max_length=300, required=False)
    prepare_start = forms.DateField(label="工作准备 开始", widget=DATE)
    prepare_end = forms.DateField(label="工作准备 结束", widget=DATE)
    replace_start = forms.DateField(label="集中换发 开始", widget=DATE)
    replace_end = forms.DateField(label="集中换发 结束", widget=DATE)
    summary_start = forms.DateField(label="工作总结 开始", widget=DATE)
    summary_end = forms.DateField(label="工作总结 结束", widget=DATE)

    RULE = services.RULE_FIELDS

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict[str, Any]:
        initial: dict[str, Any] = {key: getattr(campaign, key) for key in cls.RULE}
        for phase in campaign.phases.all():
            initial[f"{phase.kind}_start"] = phase.start
            initial[f"{phase.kind}_end"] = phase.end
        return initial

    def values(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in self.RULE}

    def phases(self) -> dict[str, tuple[datetime.date, datetime.date]]:
        return {
            kind: (self.cleaned_data[f"{kind}_start"], self.cleaned_data[f"{kind}_end"])
            for kind in CampaignPhase.Kind.values
        }


class DutyForm(forms.Form):
    status = forms.ChoiceField(label="状态", choices=DutyTask.Status.choices)
    due = forms.DateField(label="完成期限", widget=DATE, required=False)
    note = forms.CharField(label="落实情况", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


LEVEL_CHOICES = [("", "——"), *ReviewChainStep.Level.choices]


class ConfigurationForm(OverrideFields):
    county_quality_check = forms.BooleanField(label="成品证件经分（县）局质检后分发", required=False)

    def __init__(self, *args: Any, steps: int = 5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(1, steps + 1):
            self.fields[f"level_{i}"] = forms.ChoiceField(
                label=f"第{i}环节 层级", choices=LEVEL_CHOICES, required=False
            )
            self.fields[f"title_{i}"] = forms.CharField(
                label=f"第{i}环节 名称", max_length=20, required=False
            )
        self.steps = steps

    @classmethod
    def initial_for(cls, review_steps: list[dict[str, str]], county_qc: bool) -> dict[str, Any]:
        initial: dict[str, Any] = {"county_quality_check": county_qc}
        for i, step in enumerate(review_steps, start=1):
            initial[f"level_{i}"], initial[f"title_{i}"] = step["level"], step["title"]
        return initial

    def show_refusal(self, error: ServiceError) -> None:
        """A refusal beside what it concerns: a step's level (`review_steps.<n>`), the quality
        check, the override's reason; the summary and the units concerned on top."""
        for key, message in error.fields.items():
            if key.startswith("review_steps."):
                self.add_error(f"level_{key.rpartition('.')[2]}", message)
            elif key in self.fields:
                self.add_error(key, message)
        if error.code == "unstaffed_units" or not error.fields or not set(error.fields) & set(self.fields):
            self.add_error(None, error.message)
        if listing := unit_list(error):
            self.add_error(None, listing)

    def review_steps(self) -> list[dict[str, str]]:
        return [
            {"level": self.cleaned_data[f"level_{i}"], "title": self.cleaned_data[f"title_{i}"]}
            for i in range(1, self.steps + 1)
        ]
