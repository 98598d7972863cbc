"""Login, second factor and logout pages."""

from __future__ import annotations

import base64
from typing import cast

import segno
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django_otp import login as otp_login

from tongban.accounts import services
from tongban.accounts.forms import LoginForm, PasswordSetForm, TokenForm
from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.context import client_address
from tongban.audit.services import record
from tongban.core.errors import ServiceError

THROTTLED = "尝试过于频繁，请稍候几秒再输入新的动态口令。"


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = request.POST.get("username", "")
        until = services.login_locked_until(username=username, address=client_address(request))
        if until is not None:
            form = self.get_form()
            form.add_error(None, services.login_lock_message(until))
            record(actor=None, action=AuditAction.AUTH_LOGIN_LOCKED, detail={"username": username[:150]})
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        user = form.get_user()
        services.login_succeeded(user.username)
        record(actor=user, action=AuditAction.AUTH_LOGIN, object_type="user", object_id=user.pk)
        if user.must_set_password:  # signed in with the activation code: the password comes first
            return redirect("/accounts/password/set/?" + urlencode({"next": self.get_success_url()}))
        if user.requires_second_factor or services.totp_device_for(user) is not None:
            return redirect("/accounts/otp/?" + urlencode({"next": self.get_success_url()}))
        return response

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        services.login_failed(username=form.data.get("username", ""), address=client_address(self.request))
        record(
            actor=None,
            action=AuditAction.AUTH_LOGIN_FAILED,
            detail={"username": form.data.get("username", "")[:150]},
        )
        return super().form_invalid(form)


@login_required
def otp_view(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if services.totp_device_for(user) is None:
        return redirect("/accounts/otp/setup/?" + urlencode({"next": _safe_next(request)}))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_verify(user=user, token=form.cleaned_data["token"])
        except services.Throttled:
            form.add_error("token", THROTTLED)
        else:
            if device is not None:
                otp_login(request, device)
                record(
                    actor=user,
                    action=AuditAction.AUTH_OTP_VERIFIED,
                    object_type="user",
                    object_id=user.pk,
                )
                return HttpResponseRedirect(_safe_next(request))
            form.add_error("token", "动态口令不正确或已过期，请重新输入。")
    return render(request, "accounts/otp.html", {"form": form, "next": _safe_next(request)})


@login_required
def otp_setup_view(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    device = services.totp_pending_device(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = services.totp_confirm(user=user, token=form.cleaned_data["token"])
        except services.Throttled:
            form.add_error("token", THROTTLED)
        else:
            if confirmed is not None:
                otp_login(request, confirmed)
                messages.success(request, "动态口令已绑定，今后登录需输入验证器显示的6位数字。")
                return HttpResponseRedirect(_safe_next(request))
            form.add_error("token", "动态口令不正确，请确认手机时间准确后重试。")
    context = {
        "form": form,
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=4),
        "secret_b32": base64.b32encode(device.bin_key).decode().rstrip("="),
        "next": _safe_next(request),
    }
    return render(request, "accounts/otp_setup.html", context)


@login_required
def password_set_view(request: HttpRequest) -> HttpResponse:
    """设置密码 (首次登录, or after an administrator reset the password)."""
    user = cast(User, request.user)
    if not user.must_set_password:
        return HttpResponseRedirect(_safe_next(request))
    form = PasswordSetForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = services.password_set(user=user, password=form.cleaned_data["password"])
            except ServiceError as error:
                form.add_error("password", error.fields.get("password", error.message))
            else:
                update_session_auth_hash(request, user)
                messages.success(request, "密码已设置，今后请用新密码登录。")
                # Administrators and auditors go on to enrol their authenticator
                # (SecondFactorMiddleware) before the page they asked for.
                return HttpResponseRedirect(_safe_next(request))
        status = 400
    return render(
        request, "accounts/password_set.html", {"form": form, "next": _safe_next(request)}, status=status
    )


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.user.is_authenticated:
            user = request.user
            record(
                actor=cast(User, user),
                action=AuditAction.AUTH_LOGOUT,
                object_type="user",
                object_id=user.pk,
            )
        return super().post(request, *args, **kwargs)
