"""The 跨省通办 pages: the messages sent and received (with their outcome, never a body), 重发 and
连通检查, and the directory (交换目录). The provincial department's administrators keep it; its
supervisors read it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.core.errors import ServiceError
from tongban.exchange import selectors, services
from tongban.exchange.models import InboundMessage, OutboundMessage
from tongban.exchange.protocol import KINDS
from tongban.registry.models import Unit


def _user(request: HttpRequest, action: str) -> User:
    """Only the provincial department's holders of `action`; to everyone else the page does not exist."""
    user = request.user
    if not isinstance(user, User) or not user.can(action) or user.unit is None:
        raise Http404
    if user.unit.kind != Unit.Kind.PROVINCE:
        raise Http404
    return user


class FilterForm(forms.Form):
    direction = forms.ChoiceField(label="方向", choices=[("out", "发出"), ("in", "收到")], required=False)
    status = forms.ChoiceField(
        label="状态",
        required=False,
        # 拒收 is both a sent message's 被拒收 and a received one's 已拒收: one choice for either list.
        choices=[
            ("", "全部"),
            *((value, label) for value, label in OutboundMessage.Status.choices if value != "refused"),
            (InboundMessage.Outcome.ACCEPTED, "已接收"),
            (InboundMessage.Outcome.REFUSED, "拒收"),
        ],
    )
    kind = forms.ChoiceField(
        label="类型", required=False, choices=[("", "全部"), *((k, v.label) for k, v in KINDS.items())]
    )
    peer = forms.CharField(label="对方区划代码", required=False, max_length=2)


@login_required
def messages(request: HttpRequest) -> HttpResponse:
    user = _user(request, "exchange.view")
    form = FilterForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    direction = data.get("direction") or "out"
    filters = selectors.Filters(
        status=data.get("status", ""), kind=data.get("kind", ""), peer=data.get("peer", "")
    )
    after_text = request.GET.get("after", "")
    after = int(after_text) if after_text.isdigit() else None
    if direction == "in":
        page: Any = selectors.inbound_page(user, filters, after=after)
    else:
        page = selectors.outbound_page(user, filters, after=after)
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "exchange/messages.html",
        {
            "form": form,
            "direction": direction,
            "page": page,
            "query": query.urlencode(),
            "peers": selectors.peers(user),
            "manage": user.can("exchange.manage"),
        },
    )


@login_required
@require_POST
def message_retry(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "exchange.manage")
    message = selectors.outbound_for(user, pk, "exchange.manage")
    try:
        services.message_retry(actor=user, message=message)
    except ServiceError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, f"已重新签名并排队重发（{message.kind_label}，发往 {message.peer.name}）。")
    return redirect("exchange:messages")


@login_required
@require_POST
def peer_ping(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "exchange.manage")
    peer = selectors.peer_for(user, pk, "exchange.manage")
    try:
        message = services.ping_now(actor=user, peer=peer)
    except ServiceError as error:
        flash.error(request, error.message)
        return redirect("exchange:peers")
    if message.status == OutboundMessage.Status.DELIVERED:
        flash.success(request, f"连通检查成功：{peer.name}已接收并以其密钥签名应答。")
    elif message.status == OutboundMessage.Status.REFUSED:
        flash.error(request, f"连通检查被{peer.name}拒收：{message.last_code} {message.last_error}")
    else:
        flash.error(request, f"连通检查未送达{peer.name}：{message.last_error}（稍后自动重试）。")
    return redirect("exchange:messages")


def _ours() -> services.KeyFacts | None:
    try:
        return services.key_facts()
    except ServiceError:  # a locked or damaged key: the page says so instead of failing
        return None


class PeerForm(forms.Form):
    region = forms.CharField(label="区划代码", max_length=2, help_text="对方省级区划代码，如 44（广东省）")
    name = forms.CharField(label="名称", max_length=50)
    endpoint = forms.CharField(
        label="接口地址", max_length=200, help_text="对方系统地址，如 https://tongban.gd.example"
    )
    public_key = forms.CharField(
        label="对方交换公钥",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="对方运维人员以 tongban exchange key 打印的公钥：十六进制或 PEM；请电话核对指纹",
    )


class PeerEditForm(PeerForm):
    active = forms.BooleanField(label="启用", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].disabled = True


def _show_errors(form: forms.Form, error: ServiceError) -> None:
    if error.fields:
        for name, message in error.fields.items():
            name = "region" if name == "prefix" else name
            form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, error.message)


@login_required
def peers(request: HttpRequest) -> HttpResponse:
    user = _user(request, "exchange.view")
    manage = user.can("exchange.manage")
    form = PeerForm(request.POST if request.method == "POST" else None) if manage else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                data = form.cleaned_data
                peer = services.peer_add(
                    actor=user,
                    prefix=data["region"],
                    name=data["name"],
                    endpoint=data["endpoint"],
                    public_key=data["public_key"],
                )
            except ServiceError as error:
                _show_errors(form, error)
            else:
                flash.success(request, f"已添加 {peer.name}（{peer.prefix}），公钥指纹 {peer.fingerprint}。")
                return redirect("exchange:peers")
    return render(
        request,
        "exchange/peers.html",
        {"peers": selectors.peers(user), "form": form, "manage": manage, "ours": _ours()},
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def peer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "exchange.manage")
    peer = selectors.peer_for(user, pk, "exchange.manage")
    initial = {k: getattr(peer, k) for k in ("name", "endpoint", "public_key", "active")}
    initial["region"] = peer.prefix
    form = PeerEditForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.peer_update(
                actor=user,
                peer=peer,
                name=data["name"],
                endpoint=data["endpoint"],
                public_key=data["public_key"] if data["public_key"].strip() != peer.public_key else None,
                active=data["active"],
            )
        except ServiceError as error:
            _show_errors(form, error)
        else:
            flash.success(request, f"已保存 {peer.prefix} 的交换信息。")
            return redirect("exchange:peers")
    return render(
        request, "exchange/peer_edit.html", {"peer": peer, "form": form}, status=400 if form.errors else 200
    )
