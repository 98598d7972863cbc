"""The pages of 临时居民身份证: 受理 at the counter, the county bureau's 签发 queue, one card with
its actions (签发, 不予签发, 打印, 发放, 收回, 作废), the 登记簿 with its Excel export and the
未收回 list. Thin views over temporary.selectors and services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongban import confirm
from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.registry.pdf import PdfFontMissing
from tongban.registry.selectors import person_lookup
from tongban.registry.xlsx import Sheet, xlsx_response
from tongban.temporary import rules, selectors, services
from tongban.temporary.forms import AcceptForm, ReasonForm, RegisterForm
from tongban.temporary.models import TemporaryCard


def _user(request: HttpRequest, action: str) -> User:
    """The signed-in member of staff who may `action`; a 404 page for anybody else."""
    user = request.user
    if not isinstance(user, User) or user.unit is None or not user.can(action):
        raise Http404
    return user


@login_required
def accept(request: HttpRequest) -> HttpResponse:
    user = _user(request, "temporary.accept")
    posted = request.method == "POST"
    form = AcceptForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            person = person_lookup(user, data["id_number"])
            upload = data.get("photo")
            card = services.temporary_accept(
                actor=user,
                person=person,
                photo=bytes(upload.read()) if upload else None,
                phone=data["phone"],
                waived=data["waived"],
                waiver_evidence=data["waiver_evidence"],
            )
        except Http404:
            form.add_error("id_number", "未找到该人员。")
        except ServiceError as error:
            show_refusal(form, error, rename={"number": "id_number"})
        else:
            messages.success(
                request,
                f"已受理临时居民身份证 {card.number}，"
                f"收取工本费 {card.fee_amount} 元，票据号 {card.receipt_number}。",
            )
            return redirect("temporary:detail", card.pk)
    return render(request, "temporary/new.html", {"form": form}, status=400 if posted else 200)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _user(request, "temporary.issue")
    return render(request, "temporary/queue.html", {"rows": selectors.issue_queue(user)})


def _filters(user: User, form: RegisterForm) -> selectors.Filters:
    data = form.cleaned_data if form.is_valid() else {}
    unit = selectors.unit_of_subtree(user, data["unit"]) if data.get("unit") else None
    return selectors.Filters(
        unit=unit, state=data.get("state", ""), start=data.get("start"), end=data.get("end")
    )


@login_required
def register(request: HttpRequest) -> HttpResponse:
    user = _user(request, "temporary.view")
    form = RegisterForm(request.GET or None)
    filters = _filters(user, form)
    if request.GET.get("export") == "xlsx":
        record(
            actor=user,
            action=AuditAction.TEMPORARY_EXPORT,
            object_type="unit",
            object_id=(filters.unit or user.unit).pk,  # type: ignore[union-attr]
            detail={"state": filters.state, "start": str(filters.start or ""), "end": str(filters.end or "")},
        )
        sheet = Sheet(
            "临时居民身份证登记簿",
            selectors.EXPORT_HEADERS,
            selectors.export_rows(selectors.register(user, filters)),
            caption=[f"单位：{(filters.unit or user.unit).name}"],  # type: ignore[union-attr]
        )
        return xlsx_response("临时居民身份证登记簿", [sheet])
    after = request.GET.get("after", "")
    page = selectors.register_page(user, filters, after=int(after) if after.isdigit() else None)
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("export", None)
    return render(
        request,
        "temporary/register.html",
        {"form": form, "page": page, "query": query.urlencode(), "can_accept": user.can("temporary.accept")},
    )


@login_required
def unreturned(request: HttpRequest) -> HttpResponse:
    user = _user(request, "temporary.view")
    return render(request, "temporary/unreturned.html", {"rows": selectors.unreturned(user)})


# What the detail page's buttons post (`do`), the service each calls and who may.
_STATION_ACTIONS = {"hand_out", "return", "void"}
_ISSUER_ACTIONS = {"issue", "refuse"}
_CONFIRM = {
    "refuse": ("不予签发", "确定不予签发该临时居民身份证？申请人将收到短信通知，工本费退还。"),
    "void": ("作废", "作废后该临时居民身份证不能再使用。确定作废？"),
}


def _station_may(user: User, card: TemporaryCard) -> bool:
    return user.can("temporary.accept") and user.unit_id == card.unit_id


def _issuer_may(user: User, card: TemporaryCard) -> bool:
    return user.can("temporary.issue") and user.unit_id == card.issuing_unit_id


def _act(
    request: HttpRequest, user: User, card: TemporaryCard, do: str, form: ReasonForm
) -> HttpResponse | None:
    """The posted action, done; None when the form is to be shown again with the refusal."""
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
    if do in _CONFIRM and not confirm.confirmed(request):
        title, question = _CONFIRM[do]
        url = reverse("temporary:detail", args=[card.pk])
        return confirm.ask(request, title=title, question=question, confirm_label=title, cancel_url=url)
    try:
        if do == "issue":
            services.temporary_issue(actor=user, card=card)
            done = "已签发，请通知受理单位打印发放。"
        elif do == "refuse":
            services.temporary_refuse(actor=user, card=card, reason=reason)
            done = "已不予签发。"
        elif do == "hand_out":
            services.temporary_hand_out(actor=user, card=card)
            done = "已发放。"
        elif do == "return":
            services.temporary_return(actor=user, card=card)
            done = "已收回。"
        else:
            services.temporary_void(actor=user, card=card, reason=reason)
            done = "已作废。"
    except ServiceError as error:
        show_refusal(form, error)
        return None
    messages.success(request, f"临时居民身份证 {card.number} {done}")
    return redirect("temporary:detail", card.pk)


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "temporary.view")
    card = selectors.card_get(user, pk)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        do = request.POST.get("do", "")
        if do not in _STATION_ACTIONS | _ISSUER_ACTIONS:
            form.add_error(None, "请选择要办理的操作。")
        elif (do in _STATION_ACTIONS and _station_may(user, card)) or (
            do in _ISSUER_ACTIONS and _issuer_may(user, card)
        ):
            done = _act(request, user, card, do, form)
            if done is not None:
                return done
            card = selectors.card_get(user, pk)
        else:
            raise Http404  # the card is not this user's to act on
    selectors.card_open(viewer=user, card=card, how="page")
    context = {
        "card": card,
        "form": form,
        "events": card.events.select_related("actor"),
        "station": _station_may(user, card),
        "issuer": _issuer_may(user, card),
        "in_force": card.state in rules.IN_FORCE,
    }
    return render(request, "temporary/detail.html", context, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
def print_card(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "temporary.accept")
    card = selectors.card_get(user, pk, "temporary.accept")
    try:
        pdf = services.temporary_print(actor=user, card=card)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("temporary:detail", card.pk)
    except PdfFontMissing:
        messages.error(request, "服务器暂时无法生成证件，请联系系统管理员。")
        return redirect("temporary:detail", card.pk)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="temporary-{card.number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
