"""Typed input of the finance pages: filters, the 缴库 form and the settlement period."""

from __future__ import annotations

import contextlib
import datetime
from typing import Any, cast

from django import forms
from django.utils import timezone

from tongban.finance import rules
from tongban.finance.documents import ITEM_LABELS
from tongban.registry.models import Unit

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _unit_choices(units: list[Unit], blank: str | None = None) -> list[tuple[str, str]]:
    choices = [("", blank)] if blank is not None else []
    return choices + [
        (unit.code, f"{'　' * max(unit.depth - 1, 0)}{unit.name}（{unit.code}）") for unit in units
    ]


class PaymentFilterForm(forms.Form):
    unit = forms.ChoiceField(label="单位", required=False)
    start = forms.DateField(label="起始日期", required=False, widget=DATE)
    end = forms.DateField(label="截止日期", required=False, widget=DATE)
    item = forms.ChoiceField(label="收费项目", required=False, choices=[("", "全部"), *ITEM_LABELS.items()])

    # A list covers at most a year: a province's takings over longer are an export for the archive.
    MAX_DAYS = 366

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = _unit_choices(units, blank="本辖区全部")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "截止日期不能早于起始日期。")
            elif (end - start).days >= self.MAX_DAYS:
                self.add_error("end", f"查询期间不能超过 {self.MAX_DAYS} 天。")
        return data


class RemittanceForm(forms.Form):
    unit = forms.ChoiceField(
        label="派出所", error_messages={"invalid_choice": "无此派出所，或不在您的辖区。"}
    )
    day = forms.DateField(label="收费日期", widget=DATE)
    treasury_reference = forms.CharField(label="缴款书号", max_length=60)

    def __init__(self, *args: Any, stations: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = _unit_choices(stations, blank="请选择")

    def clean_day(self) -> datetime.date:
        day: datetime.date = self.cleaned_data["day"]
        if day >= timezone.localdate():
            raise forms.ValidationError("只能登记今日以前的收费缴库。")
        return day


def recent_periods(today: datetime.date, months: int = 24, quarters: int = 8) -> list[tuple[str, str]]:
    """The periods an officer settles: the last `months` months and `quarters` quarters."""
    choices: list[tuple[str, str]] = []
    year, quarter = today.year, (today.month + 2) // 3
    for _ in range(quarters):
        period = f"{year}Q{quarter}"
        choices.append((period, rules.period_label(period)))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    year, month = today.year, today.month
    for _ in range(months):
        period = f"{year}-{month:02d}"
        choices.append((period, rules.period_label(period)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return choices


class SettlementForm(forms.Form):
    unit = forms.ChoiceField(label="结算单位")
    period = forms.CharField(label="结算期间", widget=forms.Select)

    def __init__(self, *args: Any, units: list[Unit], today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = _unit_choices(units)
        choices = recent_periods(today)
        asked = str(self.data.get("period", "")).strip().upper()
        if asked and asked not in dict(choices):
            with contextlib.suppress(ValueError):
                choices.insert(0, (asked, rules.period_label(asked)))
        self.fields["period"].widget.choices = choices

    def clean_period(self) -> tuple[str, datetime.date, datetime.date]:
        period = self.cleaned_data["period"].strip().upper()
        try:
            start, end = rules.period_bounds(period)
        except ValueError as bad:
            raise forms.ValidationError("结算期间应为月份（如 2026-03）或季度（如 2026Q1）。") from bad
        return period, start, end
