"""通知 pages: a unit's messages (every member of staff, those about the work they do) and, for
administrators, the notification templates (通知模板) with their variables."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongban import confirm
from tongban.accounts.models import User
from tongban.core.errors import ServiceError
from tongban.notifications import selectors, services, texts
from tongban.registry.access import as_viewer


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    after = request.GET.get("after", "")
    page = selectors.inbox_page(viewer, after=int(after) if after.isdigit() else None)
    return render(request, "notifications/inbox.html", {"page": page, "unit": viewer.unit})


def _admin(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("notification.template"):
        raise Http404
    return user


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.templates_list(_admin(request))
    return render(request, "notifications/templates.html", {"rows": rows, "audiences": texts.AUDIENCE_LABELS})


class TemplateForm(forms.Form):
    text = forms.CharField(
        label="通知内容", widget=forms.Textarea(attrs={"rows": 4}), max_length=texts.MAX_LENGTH * 2
    )


@login_required
def template_edit(request: HttpRequest, code: str) -> HttpResponse:
    admin = _admin(request)
    try:
        row = selectors.template_get(admin, code)
    except ServiceError as error:
        raise Http404 from error
    form = TemplateForm(request.POST or None, initial={"text": row.text})
    if request.method == "POST" and form.is_valid():
        try:
            services.template_update(actor=admin, code=code, text=form.cleaned_data["text"])
        except ServiceError as error:
            form.add_error("text", error.message)
        else:
            messages.success(request, f"已保存“{row.template.label}”，此后发出的通知使用新内容。")
            return redirect("notifications:templates")
    return render(
        request,
        "notifications/template_edit.html",
        {"row": row, "form": form, "audiences": texts.AUDIENCE_LABELS},
    )


@login_required
@require_POST
def template_reset(request: HttpRequest, code: str) -> HttpResponse:
    admin = _admin(request)
    try:
        row = selectors.template_get(admin, code)
    except ServiceError as error:
        raise Http404 from error
    if not confirm.confirmed(request):
        return confirm.ask(
            request,
            title="恢复默认通知内容",
            question=f"确定将“{row.template.label}”恢复为默认内容？此后发出的通知使用默认内容。",
            details=[("现在的内容", row.text), ("默认内容", row.template.default)],
            confirm_label="恢复默认",
            cancel_url=reverse("notifications:template", args=[code]),
        )
    services.template_reset(actor=admin, code=code)
    messages.success(request, f"“{row.template.label}”已恢复默认内容。")
    return redirect("notifications:templates")
