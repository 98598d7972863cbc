"""Campaign pages (集中换发): list, create and edit, the campaign page (phases, targets, progress
with drill-down and chart, late duties, configuration in force), the duty matrix, periodic
reports with sign-off and roll-up, configuration, and the 总结 downloads. Each POST calls one
service and redirects; a refusal is shown beside the field it concerns."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tongban import confirm
from tongban.accounts.models import User
from tongban.campaigns import documents, rules, selectors, services
from tongban.campaigns.forms import CampaignForm, ConfigurationForm, DutyForm
from tongban.campaigns.models import Campaign, CampaignConfiguration
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.handover.models import DistributionRule
from tongban.intake.models import ReviewChain, ReviewChainStep
from tongban.registry.models import Unit
from tongban.registry.xlsx import xlsx_response


def _user(request: HttpRequest, action: str = "campaign.view") -> User:
    user = request.user
    if not isinstance(user, User) or not user.can(action):
        raise Http404
    return user


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = selectors.campaigns(user).prefetch_related("phases")
    return render(
        request, "campaigns/list.html", {"campaigns": rows, "can_manage": user.can("campaign.manage")}
    )


def _cities(user: User) -> list[Unit]:
    return list(Unit.objects.visible_to(user).filter(kind=Unit.Kind.CITY)) if user.unit else []


@login_required
def campaign_create(request: HttpRequest) -> HttpResponse:
    user = _user(request, "campaign.manage")
    cities = _cities(user)
    form = CampaignForm(request.POST or None)
    area_code = request.POST.get("area", cities[0].code if cities else "")
    if request.method == "POST" and form.is_valid():
        area = next((c for c in cities if c.code == area_code), None)
        if area is None:
            form.add_error(None, "请选择实施地市。")
        else:
            try:
                campaign = services.campaign_create(
                    actor=user, area=area, phases=form.phases(), **form.values()
                )
            except ServiceError as error:
                show_refusal(form, error)
            else:
                messages.success(request, "已创建集中换发，任务数已按登记人口测算，职责分工已生成。")
                return redirect("campaigns:detail", campaign.pk)
    return render(
        request,
        "campaigns/form.html",
        {"form": form, "cities": cities, "area_code": area_code, "campaign": None},
    )


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "campaign.manage")
    campaign = selectors.campaign_get(user, pk, "campaign.manage")
    form = CampaignForm(request.POST or None, initial=CampaignForm.initial_for(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(actor=user, campaign=campaign, phases=form.phases(), **form.values())
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "已保存，任务数已重新测算。")
            return redirect("campaigns:detail", campaign.pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": campaign})


def _configuration_in_force(campaign: Campaign) -> dict[str, Any]:
    """What is in force for the city now, read from the rows routing uses (not the campaign's
    own copy), so the page shows what applications actually meet."""
    chain = ReviewChain.objects.filter(region_prefix=campaign.area.code).prefetch_related("steps").first()
    rule = DistributionRule.objects.filter(region_prefix=campaign.area.code).first()
    return {"chain": chain, "rule": rule}


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    today = timezone.localdate()
    scope = selectors.scope_unit(user, campaign)
    result = selectors.progress(campaign, scope=scope, today=today)
    county_pk = request.GET.get("county", "")
    drill = next((r for r in result.counties if str(r.unit_id) == county_pk), None)
    if drill is None and len(result.counties) == 1:
        drill = result.counties[0]
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "phases": campaign.phases.order_by("start"),
            "progress": result,
            "drill": drill,
            "drill_rows": result.stations.get(drill.unit_id or 0, []) if drill else [],
            "chart": result.chart_data(),
            "late": selectors.late_duties(campaign, today, scope)[:20],
            "late_count": selectors.late_duties(campaign, today, scope).count(),
            "configuration": CampaignConfiguration.objects.filter(campaign=campaign).first(),
            "in_force": _configuration_in_force(campaign),
            "can_manage": user.can("campaign.manage"),
        },
    )


@login_required
def progress_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    result = selectors.progress(campaign, scope=selectors.scope_unit(user, campaign))
    return xlsx_response(f"{campaign.name}-进度-{result.today:%Y%m%d}", documents.progress_sheets(result))


@login_required
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request, "campaign.manage")
    campaign = selectors.campaign_get(user, pk, "campaign.manage")
    try:
        if action == "start":
            services.campaign_start(actor=user, campaign=campaign)
            messages.success(request, "集中换发已启动，审核签发流程和质检分发配置已生效。")
        elif action == "close":
            if not confirm.confirmed(request):
                return confirm.ask(
                    request,
                    title="结束集中换发",
                    question="结束后将恢复原有的审核签发流程和分发路由，确定结束？",
                    confirm_label="结束集中换发",
                    cancel_url=reverse("campaigns:detail", args=[campaign.pk]),
                )
            services.campaign_close(actor=user, campaign=campaign)
            messages.success(request, "集中换发已结束，原有的审核签发流程和分发路由已恢复。")
        elif action == "derive":
            eligible, target = services.targets_derive(actor=user, campaign=campaign)
            messages.success(request, f"已按登记人口重新测算：目标人数 {eligible}，任务数 {target}。")
        elif action == "apply":
            services.configuration_apply(actor=user, campaign=campaign)
            messages.success(request, "配置已启用。")
        else:
            raise Http404
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("campaigns:detail", campaign.pk)


# ---------------------------------------------------------------------------------------------
# Duties


@login_required
def duty_matrix(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    today = timezone.localdate()
    scope = selectors.scope_unit(user, campaign)
    return render(
        request,
        "campaigns/duties.html",
        {
            "campaign": campaign,
            "matrix": selectors.duty_matrix(campaign, scope),
            "late": selectors.late_duties(campaign, today, scope),
            "today": today,
        },
    )


@login_required
def duty_detail(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    task = selectors.duty_get(user, campaign, task_pk)
    may_update = selectors.may_update_duty(user, task) and campaign.status != Campaign.Status.CLOSED
    form = DutyForm(request.POST or None, initial={"status": task.status, "due": task.due})
    if request.method == "POST":
        if not may_update:
            raise Http404
        if form.is_valid():
            try:
                services.duty_update(
                    actor=user,
                    task=task,
                    note=form.cleaned_data["note"],
                    status=form.cleaned_data["status"],
                    due=form.cleaned_data["due"] if user.can("campaign.manage") else None,
                )
            except ServiceError as error:
                show_refusal(form, error)
            else:
                messages.success(request, "已记录落实情况。")
                return redirect("campaigns:duty", campaign.pk, task.pk)
    return render(
        request,
        "campaigns/duty.html",
        {
            "campaign": campaign,
            "task": task,
            "notes": task.notes.select_related("author"),
            "form": form,
            "may_update": may_update,
            "may_move_due": user.can("campaign.manage"),
            "late": task.due < timezone.localdate() and task.status != "done",
        },
    )


# ---------------------------------------------------------------------------------------------
# Periodic reports


def _period(request: HttpRequest) -> rules.Period:
    text = request.GET.get("period") or request.POST.get("period") or ""
    try:
        return rules.parse_period(text) if text else rules.previous_week(timezone.localdate())
    except ValueError:
        return rules.previous_week(timezone.localdate())


@login_required
def reports(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    period = _period(request)
    if request.method == "POST":
        own = [user.unit] if user.unit is not None and user.unit.kind == Unit.Kind.STATION else None
        try:
            made = services.reports_generate(actor=user, campaign=campaign, period=period, stations=own)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"已生成 {len(made)} 份报表（已签报的保持不变）。")
        return redirect(f"{request.path}?period={period.label}")
    scope = selectors.scope_unit(user, campaign)
    this_week = rules.week_of(timezone.localdate())
    return render(
        request,
        "campaigns/reports.html",
        {
            "campaign": campaign,
            "period": period,
            "previous": rules.week_of(period.start - rules.ONE_DAY),
            "next": rules.week_of(period.end + rules.ONE_DAY) if period.end < this_week.start else None,
            "reports": selectors.reports(user, campaign, period),
            "rollup": selectors.rollup(user, campaign, period),
            "may_generate": user.can("campaign.manage")
            or (user.can("campaign.report") and scope.kind == Unit.Kind.STATION),
            "station": scope if scope.kind == Unit.Kind.STATION else None,
        },
    )


@login_required
@require_POST
def report_sign(request: HttpRequest, pk: int, report_pk: int) -> HttpResponse:
    user = _user(request, "campaign.report")
    campaign = selectors.campaign_get(user, pk)
    report = selectors.report_get(user, report_pk)
    if report.campaign_id != campaign.pk:
        raise Http404
    try:
        services.report_sign(actor=user, report=report)
    except ServiceError as error:
        if error.status == 404:
            raise Http404 from error
        messages.error(request, error.message)
    else:
        messages.success(request, "已签报。")
    return redirect(f"/campaigns/{campaign.pk}/reports/?period={report.period}")


# ---------------------------------------------------------------------------------------------
# Configuration and 总结


@login_required
def configuration(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    config = CampaignConfiguration.objects.select_related("applied_by").get(campaign=campaign)
    can_manage = user.can("campaign.manage") and campaign.status != Campaign.Status.CLOSED
    form = ConfigurationForm(
        request.POST or None,
        initial=ConfigurationForm.initial_for(config.review_steps, config.county_quality_check),
        steps=services.MAX_STEPS,
    )
    if request.method == "POST":
        if not can_manage:
            raise Http404
        if form.is_valid():
            try:
                services.configuration_update(
                    actor=user,
                    campaign=campaign,
                    review_steps=form.review_steps(),
                    county_quality_check=form.cleaned_data["county_quality_check"],
                    override_unstaffed=form.cleaned_data["override_unstaffed"],
                    override_reason=form.cleaned_data["override_reason"],
                )
            except ServiceError as error:
                form.show_refusal(error)
            else:
                messages.success(
                    request, "配置已保存" + ("并已生效。" if config.in_force else "，启动后生效。")
                )
                return redirect("campaigns:configuration", campaign.pk)
    return render(
        request,
        "campaigns/configuration.html",
        {
            "campaign": campaign,
            "config": config,
            "form": form,
            "rows": [(form[f"level_{i}"], form[f"title_{i}"]) for i in range(1, services.MAX_STEPS + 1)],
            "steps": [(ReviewChainStep.Level(s["level"]).label, s["title"]) for s in config.review_steps],
            "in_force": _configuration_in_force(campaign),
            "can_manage": can_manage,
            **_override_shown(config),
        },
    )


def _override_shown(config: CampaignConfiguration) -> dict[str, Any]:
    """The units the manager accepted as unstaffed, by name, and when."""
    override = config.unstaffed_override or {}
    codes = override.get("units", [])
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name"))
    at = override.get("at")
    return {
        "override_units": [f"{names.get(code, code)}（{code}）" for code in codes],
        "override_at": datetime.datetime.fromisoformat(at) if at else None,
    }


@login_required
@require_POST
def summary(request: HttpRequest, pk: int) -> HttpResponse:
    """工作总结 (PDF or Excel): a background job; its page shows the progress and offers the file."""
    user = _user(request)
    campaign = selectors.campaign_get(user, pk)
    fmt = request.POST.get("format", "")
    try:
        job = services.summary_request(actor=user, campaign_id=campaign.pk, fmt=fmt)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("campaigns:detail", campaign.pk)
    messages.success(request, f"工作总结生成中（后台任务 #{job.pk}），完成后在本页下载，可离开本页。")
    return redirect("jobs:detail", pk=job.pk)
