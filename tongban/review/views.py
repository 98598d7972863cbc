"""Review pages (审核签发): the unit's work queue with deadline buckets, and one item beside the
register with the automatic comparisons and the decision forms."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.audit.services import record
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core.errors import ServiceError
from tongban.intake import selectors as intake_selectors
from tongban.intake.models import IN_REVIEW_STATUSES, Application
from tongban.review import selectors, services
from tongban.review.forms import DecisionForm


def _reviewer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("review.decide"):
        raise Http404
    return user


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _reviewer(request)
    bucket = request.GET.get("bucket", "all")
    page = selectors.review_queue(user, bucket, after=request.GET.get("after") or None)
    rows = [(application, selectors.due_state(application, page.days)) for application in page.rows]
    return render(
        request,
        "review/queue.html",
        {
            "page": page,
            "rows": rows,
            "bucket": bucket if bucket in selectors.BUCKETS else "all",
            "buckets": selectors.BUCKETS,
        },
    )


@login_required
def item(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reviewer(request)
    file = selectors.review_file(user, pk)
    record(
        actor=user, action="application.view", object_type="intake.application", object_id=pk, request=request
    )
    application = file.application
    return render(
        request,
        "review/item.html",
        {
            "file": file,
            "application": application,
            "events": intake_selectors.application_events(application),
            "fingers": intake_selectors.fingerprints(application),
            "finger_names": FINGER_POSITION_NAMES,
            "form": DecisionForm(initial={"step": application.review_step}),
            "holder_is_me": application.assignee_id == user.pk,
            "in_review": application.status in IN_REVIEW_STATUSES,
            "is_last_step": application.review_step >= len(application.review_chain),
            "due_state": selectors.due_state(application, selectors.due_days()),
        },
    )


def _item(request: HttpRequest, pk: int) -> tuple[User, Application]:
    user = _reviewer(request)
    return user, selectors.review_application(user, pk)


@login_required
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _item(request, pk)
    try:
        services.review_take(actor=user, application=application, request=request)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已领取，该事项由您办理。")
    return redirect("review:item", pk=pk)


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _item(request, pk)
    try:
        services.review_release(actor=user, application=application, request=request)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已退回本单位待办。")
    return redirect("review:item", pk=pk)


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _item(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择审核结论。")
        return redirect("review:item", pk=pk)
    try:
        result = services.review_decide(
            actor=user,
            application=application,
            step=form.cleaned_data["step"],
            decision=services.Decision(form.cleaned_data["decision"]),
            reason=form.cleaned_data["reason"],
            method=form.cleaned_data["method"],
            request=request,
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("review:item", pk=pk)
    messages.success(request, f"受理号 {result.number}：{result.get_status_display()}。")
    if result.status in {
        Application.Status.ISSUED,
        Application.Status.REJECTED,
        Application.Status.PENDING_REVIEW,
    }:
        return redirect("review:queue")
    return redirect("review:item", pk=pk)
