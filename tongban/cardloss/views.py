"""The 挂失招领 pages: lists of the unit's loss reports and found cards, the report and the found
card forms, and each record with its actions. Thin: the services decide."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from tongban import confirm
from tongban.accounts.models import User
from tongban.cardloss import selectors, services
from tongban.cardloss.forms import CollectForm, DestroyForm, FoundForm, ReportForm, RestoreForm
from tongban.cardloss.models import FoundCard, LossReport
from tongban.cardloss.rules import destruction_due
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.registry.forms import LookupForm
from tongban.registry.selectors import person_lookup
from tongban.registry.services import person_open


def _viewer(request: HttpRequest, action: str = "cardloss.view") -> User:
    user = request.user
    if not isinstance(user, User) or not user.can(action):
        raise Http404
    return user


def _after(request: HttpRequest) -> int | None:
    after = request.GET.get("after", "")
    return int(after) if after.isdigit() else None


def _answer(
    request: HttpRequest, template: str, context: dict[str, object], form: forms.Form
) -> HttpResponse:
    """The page again with the form's errors beside its fields: 400, so a client tells it from a success."""
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, template, context, status=status)


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    view = request.GET.get("view", "open")
    view = view if view in selectors.REPORT_VIEWS else "open"
    page = selectors.reports_page(user, view, after=_after(request))
    return render(
        request,
        "cardloss/reports.html",
        {
            "page": page,
            "view": view,
            "views": selectors.REPORT_VIEWS,
            "query": f"view={view}",
            "can_report": user.can("cardloss.report"),
        },
    )


@login_required
def found_list(request: HttpRequest) -> HttpResponse:
    user = _viewer(request)
    view = request.GET.get("view", "waiting")
    view = view if view in selectors.FOUND_VIEWS else "waiting"
    page = selectors.found_page(user, view, after=_after(request))
    return render(
        request,
        "cardloss/found_list.html",
        {
            "page": page,
            "view": view,
            "views": selectors.FOUND_VIEWS,
            "query": f"view={view}",
            "can_report": user.can("cardloss.report"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest) -> HttpResponse:
    """挂失申报: find the person by exact number (audited, as 人员查询), then record the report.
    Both steps post, so that the number stays out of URLs and access logs."""
    user = _viewer(request, "cardloss.report")
    lookup = LookupForm(request.POST if request.method == "POST" else None)
    form = ReportForm(request.POST if "channel" in request.POST else None)
    person = None
    if request.method == "POST" and lookup.is_valid():
        try:
            person = person_lookup(user, lookup.cleaned_data["id_number"])
        except Http404:
            lookup.add_error("id_number", "人口信息中没有该公民身份号码。")
        except ServiceError as error:
            lookup.add_error("id_number", error.message)
    if person is not None and not form.is_bound:
        person_open(viewer=user, person=person, how="cardloss")
    if person is not None and form.is_bound and form.is_valid():
        if not confirm.confirmed(request):
            return confirm.ask(
                request,
                title="登记挂失",
                question="挂失后该证件即时失效。确定登记挂失？",
                confirm_label="登记挂失",
                cancel_url=reverse("cardloss:report_new"),
                details=[("姓名", person.name)],
            )
        data = form.cleaned_data
        try:
            report = services.loss_report(
                actor=user,
                person=person,
                channel=data["channel"],
                phone=data["phone"],
                verification=data["verification"],
                card_serial=data["card_serial"],
            )
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "挂失申报已登记，该证件即时失效。")
            return redirect("cardloss:report_detail", pk=report.pk)
    cards = list(selectors.holder_cards(person)) if person is not None else []
    context = {"lookup": lookup, "form": form, "person": person, "cards": cards}
    status = 400 if lookup.errors or form.errors else 200
    return render(request, "cardloss/report_new.html", context, status=status)


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _viewer(request)
    report = selectors.report_get(user, pk)
    services.record_open(viewer=user, kind="lossreport", pk=report.pk)
    return render(request, "cardloss/report_detail.html", _report_context(user, report, RestoreForm()))


def _report_context(user: User, report: LossReport, form: RestoreForm) -> dict[str, object]:
    return {
        "report": report,
        "events": report.events.select_related("actor", "unit"),
        "form": form,
        "may_restore": report.status == LossReport.Status.OPEN
        and user.can("cardloss.report")
        and user.unit is not None
        and user.unit.contains(report.unit),
    }


@login_required
@require_POST
def report_restore(request: HttpRequest, pk: int) -> HttpResponse:
    user = _viewer(request)
    report = selectors.report_get(user, pk)
    if not user.can("cardloss.report"):
        raise Http404
    form = RestoreForm(request.POST)
    if form.is_valid():
        if not confirm.confirmed(request):
            return confirm.ask(
                request,
                title="撤销挂失",
                question="撤销挂失后证件恢复有效。确定撤销？",
                confirm_label="撤销挂失",
                cancel_url=reverse("cardloss:report_detail", args=[report.pk]),
                details=[("姓名", report.person.name)],
            )
        try:
            services.loss_restore(actor=user, report=report, reason=form.cleaned_data["reason"])
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "已撤销挂失，证件恢复有效。")
            return redirect("cardloss:report_detail", pk=report.pk)
    return _answer(request, "cardloss/report_detail.html", _report_context(user, report, form), form)


@login_required
@require_http_methods(["GET", "POST"])
def found_new(request: HttpRequest) -> HttpResponse:
    user = _viewer(request, "cardloss.report")
    form = FoundForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            found = services.found_register(actor=user, entry=services.FoundEntry(**form.cleaned_data))
        except ServiceError as error:
            show_refusal(form, error)
        else:
            note = "，已通知失主领取" if found.owner_notified else ""
            messages.success(request, f"拾获证件已登记{note}。")
            return redirect("cardloss:found_detail", pk=found.pk)
    return _answer(request, "cardloss/found_new.html", {"form": form}, form)


def _found_context(user: User, found: FoundCard, **forms_: forms.Form) -> dict[str, object]:
    waiting = (
        found.status == FoundCard.Status.WAITING and user.can("cardloss.report") and user.unit == found.unit
    )
    return {
        "found": found,
        "events": found.events.select_related("actor", "unit"),
        "may_act": waiting,
        "due": waiting and destruction_due(found.keep_until, timezone.localdate()),
        "collect_form": forms_.get("collect_form") or CollectForm(),
        "destroy_form": forms_.get("destroy_form") or DestroyForm(),
    }


@login_required
def found_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _viewer(request)
    found = selectors.found_get(user, pk)
    services.record_open(viewer=user, kind="foundcard", pk=found.pk)
    return render(request, "cardloss/found_detail.html", _found_context(user, found))


@login_required
@require_POST
def found_collect(request: HttpRequest, pk: int) -> HttpResponse:
    user = _viewer(request)
    found = selectors.found_get(user, pk)
    if not user.can("cardloss.report"):
        raise Http404
    form = CollectForm(request.POST)
    if form.is_valid():
        try:
            found = services.found_collect(actor=user, found=found, **form.cleaned_data)
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"拾获证件已办结：{found.get_status_display()}。")
            return redirect("cardloss:found_detail", pk=found.pk)
    return _answer(
        request, "cardloss/found_detail.html", _found_context(user, found, collect_form=form), form
    )


@login_required
@require_POST
def found_destroy(request: HttpRequest, pk: int) -> HttpResponse:
    user = _viewer(request)
    found = selectors.found_get(user, pk)
    if not user.can("cardloss.report"):
        raise Http404
    form = DestroyForm(request.POST)
    if form.is_valid():
        if not confirm.confirmed(request):
            return confirm.ask(
                request,
                title="销毁拾获证件",
                question="销毁后不可恢复。确定销毁该证件？",
                confirm_label="销毁",
                cancel_url=reverse("cardloss:found_detail", args=[found.pk]),
                details=[("姓名", found.name), ("监销人", form.cleaned_data["witness"])],
            )
        try:
            found = services.found_destroy(actor=user, found=found, **form.cleaned_data)
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "拾获证件已销毁。")
            return redirect("cardloss:found_detail", pk=found.pk)
    return _answer(
        request, "cardloss/found_detail.html", _found_context(user, found, destroy_form=form), form
    )
