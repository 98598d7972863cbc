"""The clean-up pages (数据清理) for supervisors: scan runs with progress, the case work list per
unit and each case with its evidence and the decision form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tongban.core.errors import ServiceError
from tongban.dataquality import selectors, services
from tongban.dataquality.forms import (
    CaseFilterForm,
    ChangeDecisionForm,
    ChangeRequestForm,
    DecisionForm,
    ScanForm,
)
from tongban.dataquality.models import AddressMatch, Case, ChangeRequest, ScanRun
from tongban.forms import show_refusal
from tongban.registry.access import as_viewer
from tongban.registry.selectors import person_get


@login_required
def index(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    if not viewer.can("dataquality.view"):
        raise Http404
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = Case.Status.OPEN.value
    form = CaseFilterForm(params)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.CaseFilters(
        kind=data.get("kind", ""), status=data.get("status", ""), unit_code=data.get("unit", "")
    )
    page = selectors.cases_page(viewer, filters, after=data.get("after"))
    params.pop("after", None)
    context = {"form": form, "page": page, "query": params.urlencode()}
    if request.headers.get("HX-Request"):
        return render(request, "dataquality/_case_rows.html", context)
    counts = selectors.case_counts(viewer)
    context |= {
        "runs": list(ScanRun.objects.visible_to(viewer).select_related("unit")[:10]),
        "counts": [(label, counts[kind]) for kind, label in Case.Kind.choices],
        "scan_form": _scan_form(viewer) if viewer.can("dataquality.decide") else None,
    }
    return render(request, "dataquality/index.html", context)


def _scan_form(viewer: Any, data: Any = None) -> ScanForm:
    units = selectors.scan_units(viewer)
    initial = {"unit": viewer.unit.code if viewer.unit is not None else ""}
    return ScanForm(data, units=[(u.code, f"{u.name}（{u.code}）") for u in units], initial=initial)


@login_required
@require_POST
def scan_start(request: HttpRequest) -> HttpResponse:
    """扫描本辖区: queued as a background job; its page shows the progress."""
    viewer = as_viewer(request.user)
    if not viewer.can("dataquality.decide"):
        raise Http404
    form = _scan_form(viewer, request.POST)
    if form.is_valid():
        try:
            job = services.scan_request(
                actor=viewer,
                unit_code=form.cleaned_data["unit"],
                kinds=form.cleaned_data["kinds"],
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"扫描已提交（后台任务 #{job.pk}），可离开本页。")
            return redirect("jobs:detail", pk=job.pk)
    else:
        messages.error(request, "；".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("dataquality:index")


@login_required
@require_http_methods(["GET", "POST"])
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = as_viewer(request.user)
    case = selectors.case_get(viewer, pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        if not viewer.can("dataquality.decide"):
            raise Http404
        if form.is_valid():
            try:
                services.case_decide(
                    actor=viewer,
                    case_id=case.pk,
                    status=form.cleaned_data["status"],
                    decision=form.cleaned_data["decision"],
                )
            except ServiceError as error:
                show_refusal(form, error)
            else:
                return redirect("dataquality:case_detail", pk=case.pk)
    else:
        services.case_open(viewer=viewer, case=case, how="page")
    context = {
        "case": case,
        "people": selectors.case_people(case),
        "form": form,
        "can_decide": selectors.case_decidable(viewer, case),
        "can_request": viewer.can("dataquality.request"),
        "changes": list(case.changes.order_by("-pk")),
        "evidence_people": selectors.evidence_people(case),
    }
    return render(request, "dataquality/case_detail.html", context)


@login_required
def change_list(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    if not viewer.can("dataquality.view"):
        raise Http404
    status = request.GET.get("status", ChangeRequest.Status.PENDING)
    changes = ChangeRequest.objects.visible_to(viewer).select_related("person", "person__registration_unit")
    if status in ChangeRequest.Status.values:
        changes = changes.filter(status=status)
    return render(
        request,
        "dataquality/change_list.html",
        {
            "changes": list(changes.order_by("-pk")[:200]),
            "status": status,
            "statuses": ChangeRequest.Status.choices,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def change_new(request: HttpRequest, person_pk: int) -> HttpResponse:
    viewer = as_viewer(request.user)
    if not viewer.can("dataquality.request"):
        raise Http404
    person = person_get(viewer, person_pk)
    case_id = request.GET.get("case")
    form = ChangeRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            change = services.change_request_create(
                actor=viewer,
                person_id=person.pk,
                case_id=int(case_id) if case_id and case_id.isdigit() else None,
                **form.service_args(),
            )
        except ServiceError as error:
            show_refusal(form, error, rename={"new_value": form.value_field})
        else:
            return redirect("dataquality:change_detail", pk=change.pk)
    context = {"form": form, "person": person, "number_sex": selectors.number_sex_label(person.id_number)}
    return render(request, "dataquality/change_new.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = as_viewer(request.user)
    change = selectors.change_get(viewer, pk)
    form = ChangeDecisionForm(request.POST or None)
    if request.method == "POST":
        if not viewer.can("dataquality.approve"):
            raise Http404
        if form.is_valid():
            try:
                services.change_request_decide(
                    actor=viewer,
                    request_id=change.pk,
                    approve=form.cleaned_data["approve"],
                    note=form.cleaned_data["note"],
                )
            except ServiceError as error:
                show_refusal(form, error)
            else:
                return redirect("dataquality:change_detail", pk=change.pk)
    else:
        services.change_open(viewer=viewer, change=change, how="page")
    context = {
        "change": change,
        "form": form,
        "can_decide": selectors.change_decidable(viewer, change),
        "consequences": selectors.change_consequences(change),
    }
    return render(request, "dataquality/change_detail.html", context)


@login_required
def households(request: HttpRequest) -> HttpResponse:
    """户口核对: per station, the people to check, each resolved through its case."""
    viewer = as_viewer(request.user)
    if not viewer.can("dataquality.view"):
        raise Http404
    kinds = [(k.value, k.label) for k in selectors.HOUSEHOLD_KINDS]
    return render(
        request, "dataquality/households.html", {"rows": selectors.household_lists(viewer), "kinds": kinds}
    )


@login_required
@require_http_methods(["GET", "POST"])
def addresses(request: HttpRequest) -> HttpResponse:
    """住址规范: per station, addresses not found in the house-number register and proposals of
    the standard spelling, which the station adopts (a correction with history) or keeps."""
    viewer = as_viewer(request.user)
    if not viewer.can("dataquality.view"):
        raise Http404
    if request.method == "POST":
        match_id = request.POST.get("match", "")
        try:
            services.address_match_decide(
                actor=viewer,
                match_id=int(match_id) if match_id.isdigit() else 0,
                accept=request.POST.get("accept") == "1",
            )
        except ServiceError as error:
            if error.status == 404:
                raise Http404 from error
            messages.error(request, error.message)
        return redirect(f"{request.path}?{request.GET.urlencode()}")
    matches = AddressMatch.objects.visible_to(viewer)
    summary = list(
        matches.values("unit__code", "unit__name", "status").annotate(n=Count("pk")).order_by("unit__code")
    )
    stations: dict[str, dict[str, Any]] = {}
    for row in summary:
        entry = stations.setdefault(row["unit__code"], {"code": row["unit__code"], "name": row["unit__name"]})
        entry[row["status"]] = row["n"]
    code = request.GET.get("unit", "")
    status = request.GET.get("status", AddressMatch.Status.UNMATCHED)
    rows: list[AddressMatch] = []
    if code:
        rows = list(
            matches.filter(unit__code=code, status=status)
            .select_related("person", "standard")
            .order_by("pk")[:500]
        )
    return render(
        request,
        "dataquality/addresses.html",
        {
            "stations": list(stations.values()),
            "rows": rows,
            "unit_code": code,
            "status": status,
            "statuses": AddressMatch.Status.choices,
            "can_decide": viewer.can("dataquality.request"),
        },
    )
