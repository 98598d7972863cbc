"""账号管理 pages for administrators (`user.manage`): the accounts of their subtree with filters,
one account with its actions, and the form for a new account. The same selectors and services as
the API (docs/api.md, "Users (账号管理)")."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongban.accounts import selectors, services
from tongban.accounts.forms import DeactivateForm, UserFilterForm, UserForm
from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal

PAGE = 50


def _manager(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("user.manage"):
        raise PermissionDenied("无权管理账号。")
    return user


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    viewer = _manager(request)
    units = selectors.unit_choices(viewer)
    form = UserFilterForm(request.GET or None, units=units)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    unit = next((u for u in units if u.code == data.get("unit")), None)
    users = selectors.users_filtered(
        viewer,
        selectors.UserFilters(
            unit=unit, role=data.get("role", ""), status=data.get("status", ""), q=data.get("q", "")
        ),
    )
    paginator = Paginator(users, PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/users.html",
        {"form": form, "page": page, "count": paginator.count, "query": query.urlencode()},
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    viewer = _manager(request)
    units = selectors.unit_choices(viewer)
    form = UserForm(request.POST or None, units=units)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, code = services.user_create(
                    actor=viewer,
                    username=data["username"],
                    data=services.AccountInput(
                        name=data["name"], role=data["role"], unit=data["unit"], phone=data["phone"]
                    ),
                )
            except ServiceError as error:
                show_refusal(form, error)
            else:
                # Shown once, here: the code itself is never stored (only its hash).
                return render(
                    request,
                    "accounts/user_code.html",
                    {"account": user, "code": code, "created": True},
                    status=201,
                )
        status = 400
    return render(request, "accounts/user_new.html", {"form": form}, status=status)


@login_required
def user_detail(request: HttpRequest, username: str) -> HttpResponse:
    viewer = _manager(request)
    account = selectors.user_get(viewer, username)
    units = selectors.unit_choices(viewer)
    status = 200
    if request.method == "POST":
        form = UserForm(request.POST, units=units, editing=True)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.user_update(
                    actor=viewer,
                    user=account,
                    name=data["name"],
                    role=data["role"],
                    unit=data["unit"],
                    phone=data["phone"],
                )
            except ServiceError as error:
                show_refusal(form, error)
            else:
                messages.success(request, f"已保存账号 {account.username} 的信息。")
                return redirect("accounts:user_detail", username=account.username)
        status = 400
    else:
        form = UserForm(
            initial={
                "name": account.get_full_name(),
                "role": account.role,
                "unit": account.unit.code if account.unit else "",
                "phone": account.phone,
            },
            units=units,
            editing=True,
        )
        # The full record (the phone unmasked) is a view of personal data: audited.
        record(actor=viewer, action=AuditAction.USER_VIEW, object_type="user", object_id=account.pk)
    return render(
        request,
        "accounts/user_detail.html",
        {"account": account, "form": form, "is_self": account.pk == viewer.pk},
        status=status,
    )


@login_required
def user_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    viewer = _manager(request)
    account = selectors.user_get(viewer, username)
    form = DeactivateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_deactivate(actor=viewer, user=account, reason=form.cleaned_data["reason"])
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已停用账号 {account.username}，其登录会话和接口令牌已全部注销。")
            return redirect("accounts:user_detail", username=account.username)
    return render(
        request,
        "accounts/user_confirm.html",
        {"account": account, "form": form, "action": "deactivate"},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def user_reactivate(request: HttpRequest, username: str) -> HttpResponse:
    viewer = _manager(request)
    account = selectors.user_get(viewer, username)
    try:
        services.user_reactivate(actor=viewer, user=account)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已启用账号 {account.username}。")
    return redirect("accounts:user_detail", username=account.username)


@login_required
def user_reset_second_factor(request: HttpRequest, username: str) -> HttpResponse:
    viewer = _manager(request)
    account = selectors.user_get(viewer, username)
    error_message = ""
    if request.method == "POST":
        try:
            services.user_reset_second_factor(actor=viewer, user=account)
        except ServiceError as error:
            error_message = error.message
        else:
            messages.success(request, f"已重置账号 {account.username} 的动态口令，其下次登录时须重新绑定。")
            return redirect("accounts:user_detail", username=account.username)
    return render(
        request,
        "accounts/user_confirm.html",
        {"account": account, "action": "reset_second_factor", "error": error_message},
        status=400 if error_message else 200,
    )


@login_required
def user_reset_password(request: HttpRequest, username: str) -> HttpResponse:
    viewer = _manager(request)
    account = selectors.user_get(viewer, username)
    error_message = ""
    if request.method == "POST":
        try:
            account, code = services.user_reset_password(actor=viewer, user=account)
        except ServiceError as error:
            error_message = error.message
        else:
            return render(
                request, "accounts/user_code.html", {"account": account, "code": code, "created": False}
            )
    return render(
        request,
        "accounts/user_confirm.html",
        {"account": account, "action": "reset_password", "error": error_message},
        status=400 if error_message else 200,
    )
