"""The finance officer's pages (财政): 收费明细, 待缴库 with the 缴库 form, 缴库记录, and the
settlement of free first cards, each with its Excel export; and the receipt PDF (票据), which a
clerk may print again for their own station. Thin views over finance.selectors and services."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.finance import documents, exports, rules, selectors, services
from tongban.finance.forms import PaymentFilterForm, RemittanceForm, SettlementForm
from tongban.registry.models import Unit
from tongban.registry.xlsx import xlsx_attachment, xlsx_response


def _officer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("finance.view") or user.unit is None:
        raise Http404
    return user


def _wants_xlsx(request: HttpRequest) -> bool:
    return request.GET.get("export") == "xlsx"


def _query(request: HttpRequest, *drop: str) -> str:
    query = request.GET.copy()
    for key in ("after", "export", *drop):
        query.pop(key, None)
    return query.urlencode()


# ---------------------------------------------------------------------------------------------
# 收费明细


@login_required
def payments(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    form = PaymentFilterForm(request.GET or None, units=selectors.finance_units(user))
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    start, end = selectors.default_period()
    filters = selectors.PaymentFilters(
        # A unit outside the subtree is a 404, not a silently widened list.
        unit=selectors.finance_unit(user, request.GET.get("unit", "")),
        start=data.get("start") or start,
        end=data.get("end") or end,
        item=data.get("item", ""),
    )
    if filters.end < filters.start:
        filters = selectors.PaymentFilters(unit=filters.unit, start=start, end=end, item=filters.item)
    totals = selectors.day_totals(user, filters)
    caption = exports.payments_caption(filters)
    page = selectors.payments_page(user, filters, after=request.GET.get("after", ""))
    return render(
        request,
        "finance/payments.html",
        {
            "form": form,
            "filters": filters,
            "page": page,
            "totals": totals,
            "query": _query(request),
            "caption": caption,
            "export": {
                "unit": filters.unit.code,
                "start": f"{filters.start:%Y-%m-%d}",
                "end": f"{filters.end:%Y-%m-%d}",
                "item": filters.item,
            },
        },
    )


@login_required
def receipt(request: HttpRequest, receipt_number: str) -> HttpResponse:
    """票据 PDF: a finance officer of the subtree, or a clerk of the station that charged it.
    Printing shows the payer's name, so it is recorded in the audit trail."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    payment = selectors.receipt_get(user, receipt_number)
    record(
        actor=user,
        action=AuditAction.FEE_RECEIPT_PRINTED,
        object_type="finance.payment",
        object_id=payment.pk,
        detail={"receipt": payment.receipt_number},
    )
    response = HttpResponse(documents.receipt_pdf(payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# 待缴库 and 缴库登记

# Where a refusal of `remittance_record` is shown: beside the field it concerns.
_REMITTANCE_ERROR_FIELDS = {
    "permission_denied": "unit",
    "not_a_station": "unit",
    "day_not_closed": "day",
    "already_remitted": "day",
    "nothing_to_remit": "day",
    "treasury_reference_required": "treasury_reference",
}


@login_required
def unremitted(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    root = selectors.finance_unit(user, request.GET.get("unit", ""))
    stations = list(Unit.objects.subtree(user.unit).stations().order_by("path")) if user.unit else []
    status = 200
    if request.method == "POST":
        form = RemittanceForm(request.POST, stations=stations)
        if user.can("finance.remit") and form.is_valid():
            station = next(unit for unit in stations if unit.code == form.cleaned_data["unit"])
            try:
                remittance = services.remittance_record(
                    actor=user,
                    unit=station,
                    day=form.cleaned_data["day"],
                    treasury_reference=form.cleaned_data["treasury_reference"],
                )
            except ServiceError as error:
                form.add_error(_REMITTANCE_ERROR_FIELDS.get(error.code), error.message)
            else:
                messages.success(
                    request,
                    f"已登记缴库：{station.name} {remittance.day:%Y-%m-%d}，金额 {remittance.amount} 元，"
                    f"缴款书号 {remittance.treasury_reference}。",
                )
                return redirect(
                    reverse("finance:unremitted") + (f"?{_query(request)}" if request.GET else "")
                )
        elif not user.can("finance.remit"):
            form.add_error(None, "无权登记缴库。")
        status = 400
    else:
        initial = {key: request.GET[key] for key in ("station", "day") if request.GET.get(key)}
        form = RemittanceForm(
            initial={"unit": initial.get("station", ""), "day": initial.get("day", "")}, stations=stations
        )
    result = selectors.unremitted(root)
    caption = [f"{root.name}（{root.code}）待缴库款项", f"截至 {timezone.localdate():%Y-%m-%d}（不含当日）"]
    if _wants_xlsx(request):
        return xlsx_response(
            f"待缴库-{root.code}-{timezone.localdate():%Y%m%d}",
            [exports.unremitted_sheet(exports.generated_caption(*caption), result)],
        )
    return render(
        request,
        "finance/unremitted.html",
        {
            "root": root,
            "units": selectors.finance_units(user),
            "result": result,
            "form": form,
            "can_remit": user.can("finance.remit"),
            "query": _query(request),
        },
        status=status,
    )


@login_required
def remittances(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    root = selectors.finance_unit(user, request.GET.get("unit", ""))
    after = request.GET.get("after", "")
    page = selectors.remittances_page(user, root, after=int(after) if after.isdigit() else None)
    return render(
        request,
        "finance/remittances.html",
        {
            "root": root,
            "units": selectors.finance_units(user),
            "page": page,
            "query": _query(request),
            "export": {"unit": root.code},
        },
    )


# ---------------------------------------------------------------------------------------------
# 免费首证结算


def _settlement_scope(request: HttpRequest, user: User) -> tuple[SettlementForm, Unit, str, Any, Any]:
    today = timezone.localdate()
    units = selectors.finance_units(user, kinds=selectors.SETTLEMENT_KINDS)
    data = request.GET.copy()
    data.setdefault("unit", units[0].code if units else "")
    data.setdefault("period", rules.period_of(today, quarterly=False))
    form = SettlementForm(data, units=units, today=today)
    if not form.is_valid():
        if "unit" in form.errors:
            raise Http404("不在本辖区")
        period = rules.period_of(today, quarterly=False)
        start, end = rules.period_bounds(period)
    else:
        period, start, end = form.cleaned_data["period"]
    root = selectors.finance_unit(user, str(data["unit"]), kinds=selectors.SETTLEMENT_KINDS)
    return form, root, period, start, end


@login_required
def settlement(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    form, root, period, start, end = _settlement_scope(request, user)
    try:
        result = services.settlement(root, start, end)
    except ServiceError as error:
        form.add_error(None, error.message)
        result = None
    caption = exports.settlement_caption(root, period, start, end)
    rates_used = sorted(
        {line.rate for line in result.total.lines} if result else set(), key=lambda rate: rate.effective_from
    )
    return render(
        request,
        "finance/settlement.html",
        {
            "form": form,
            "root": root,
            "period": period,
            "start": start,
            "end": end,
            "result": result,
            "rates": selectors.rates(),
            "rates_used": rates_used,
            "caption": caption,
            "lines_query": urlencode({"unit": root.code, "period": period}),
            "export": {"unit": root.code, "period": period},
        },
    )


@login_required
def settlement_lines(request: HttpRequest) -> HttpResponse:
    user = _officer(request)
    _form, root, period, start, end = _settlement_scope(request, user)
    within = selectors.finance_unit(user, request.GET.get("within", "") or root.code)
    if not root.contains(within):
        raise Http404
    try:
        lines = services.settlement_lines(root, start, end, within=within)
    except ServiceError as error:
        messages.error(request, error.message)
        lines = []
    caption = [
        *exports.settlement_caption(root, period, start, end),
        f"明细范围：{within.name}（{within.code}）",
    ]
    return render(
        request,
        "finance/settlement_lines.html",
        {
            "root": root,
            "within": within,
            "period": period,
            "lines": lines,
            "caption": caption,
            "amount": sum(line.rate.amount for line in lines),
            "back": urlencode({"unit": root.code, "period": period}),
            "export": {"unit": root.code, "period": period, "within": within.code},
        },
    )


# ---------------------------------------------------------------------------------------------
# 导出


@login_required
@require_POST
def export(request: HttpRequest, list_name: str) -> HttpResponse:
    """导出 Excel of a list, with the filters its page shows (sent by the button's form): the file
    at once when it is small (`TONGBAN_EXPORT_INLINE_ROWS`), otherwise a background job whose page
    shows the progress and offers the file."""
    user = _officer(request)
    try:
        made = exports.export_start(
            actor=user, list_name=list_name, params=request.POST, inline_rows=settings.EXPORT_INLINE_ROWS
        )
    except ServiceError as error:
        if error.status == 404:
            raise Http404 from error
        messages.error(request, error.message)
        query = request.POST.copy()
        query.pop("csrfmiddlewaretoken", None)
        return redirect(f"{reverse(f'finance:{list_name}')}?{query.urlencode()}")
    if isinstance(made, exports.ExportFile):
        return xlsx_attachment(made.name, made.content)
    messages.success(request, f"导出已提交（后台任务 #{made.pk}），完成后在本页下载，可离开本页。")
    return redirect("jobs:detail", pk=made.pk)
