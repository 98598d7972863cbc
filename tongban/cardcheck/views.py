"""居民身份证核查's pages for the provincial department: the institutions (状态, 密钥前缀, 限额, 本月
核查次数), registering and editing one, issuing or replacing its key (shown once), suspending and
resuming it, and its monthly counts by answer. Administrators keep them; the provincial
supervisors read them; to everyone else (a city or a county included) the pages do not exist."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban import confirm
from tongban.accounts.models import User
from tongban.cardcheck import selectors, services
from tongban.cardcheck.forms import InstitutionForm, ReasonForm
from tongban.cardcheck.models import Institution
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.registry.models import Unit


def _user(request: HttpRequest, action: str) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can(action) or user.unit is None:
        raise Http404
    if user.unit.kind != Unit.Kind.PROVINCE:
        raise Http404
    return user


def _status(request: HttpRequest, *forms: object) -> int:
    return 400 if request.method == "POST" and any(getattr(f, "errors", None) for f in forms) else 200


@login_required
@require_GET
def institutions(request: HttpRequest) -> HttpResponse:
    user = _user(request, "cardcheck.view")
    return render(
        request,
        "cardcheck/institutions.html",
        {
            "institutions": selectors.institutions(user),
            "manage": user.can("cardcheck.manage"),
            "month": selectors.this_month(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def institution_new(request: HttpRequest) -> HttpResponse:
    user = _user(request, "cardcheck.manage")
    form = InstitutionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            institution = services.institution_add(actor=user, entry=form.entry())
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"已登记 {institution.name}。请签发密钥并交给机构。")
            return redirect("cardcheck:institution", pk=institution.pk)
    return render(request, "cardcheck/institution_form.html", {"form": form}, status=_status(request, form))


def _detail(
    request: HttpRequest, user: User, institution: Institution, reason: ReasonForm | None = None
) -> HttpResponse:
    return render(
        request,
        "cardcheck/institution.html",
        {
            "institution": institution,
            "manage": user.can("cardcheck.manage"),
            "months": selectors.monthly_counts(institution),
            "headings": selectors.OUTCOME_HEADINGS,
            "reason_form": reason or ReasonForm(),
        },
        status=_status(request, reason),
    )


@login_required
@require_GET
def institution(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "cardcheck.view")
    return _detail(request, user, selectors.institution_for(user, pk))


@login_required
@require_http_methods(["GET", "POST"])
def institution_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "cardcheck.manage")
    found = selectors.institution_for(user, pk, "cardcheck.manage")
    fields = ("name", "kind", "credit_code", "purpose", "contact", "per_minute_limit", "daily_limit")
    form = InstitutionForm(
        request.POST if request.method == "POST" else None, initial={f: getattr(found, f) for f in fields}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.institution_update(actor=user, institution=found, entry=form.entry())
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"已保存 {found.name} 的登记信息。")
            return redirect("cardcheck:institution", pk=found.pk)
    return render(
        request,
        "cardcheck/institution_form.html",
        {"form": form, "institution": found},
        status=_status(request, form),
    )


@login_required
@require_POST
def institution_key(request: HttpRequest, pk: int) -> HttpResponse:
    """签发 or 更换 the key: the new key is on this answer only (never in a redirect, a message or
    the session), and the answer is not stored by the browser."""
    user = _user(request, "cardcheck.manage")
    found = selectors.institution_for(user, pk, "cardcheck.manage")
    question = (
        "更换后原密钥立即失效，机构须改用新密钥。确定更换？"
        if found.key_prefix
        else "新密钥只显示一次，请当场交给机构。确定签发？"
    )
    if not confirm.confirmed(request):
        return confirm.ask(
            request,
            title="更换密钥" if found.key_prefix else "签发密钥",
            question=question,
            confirm_label="更换密钥" if found.key_prefix else "签发密钥",
            cancel_url=reverse("cardcheck:institution", args=[found.pk]),
            details=[("机构", found.name)],
        )
    found, key = services.key_issue(actor=user, institution=found)
    response = render(request, "cardcheck/key.html", {"institution": found, "key": key})
    response["Cache-Control"] = "no-store"
    return response


def _state_change(request: HttpRequest, pk: int, *, suspend: bool) -> HttpResponse:
    user = _user(request, "cardcheck.manage")
    found = selectors.institution_for(user, pk, "cardcheck.manage")
    form = ReasonForm(request.POST)
    if form.is_valid():
        if not confirm.confirmed(request):
            return confirm.ask(
                request,
                title="暂停核查" if suspend else "恢复核查",
                question=(
                    "暂停后该机构的下一次核查请求起即被拒绝。确定暂停？"
                    if suspend
                    else "恢复后该机构可用现有密钥继续核查。确定恢复？"
                ),
                confirm_label="暂停核查" if suspend else "恢复核查",
                cancel_url=reverse("cardcheck:institution", args=[found.pk]),
                details=[("机构", found.name), ("原因", form.cleaned_data["reason"])],
            )
        change = services.institution_suspend if suspend else services.institution_resume
        try:
            change(actor=user, institution=found, reason=form.cleaned_data["reason"])
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"已{'暂停' if suspend else '恢复'} {found.name} 的核查。")
            return redirect("cardcheck:institution", pk=found.pk)
    return _detail(request, user, found, form)


@login_required
@require_POST
def institution_suspend(request: HttpRequest, pk: int) -> HttpResponse:
    return _state_change(request, pk, suspend=True)


@login_required
@require_POST
def institution_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _state_change(request, pk, suspend=False)
