"""Register pages: person lookup, the person list of the user's subtree, full records, units."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.registry import selectors, services
from tongban.registry.access import as_viewer
from tongban.registry.forms import LookupForm, PeopleFilterForm, UnitContactForm
from tongban.registry.models import Person, Unit


def _render_record(request: HttpRequest, person: Person, how: str) -> HttpResponse:
    viewer = as_viewer(request.user)
    services.person_open(viewer=viewer, person=person, how=how)
    record = selectors.person_record(viewer, person)
    return render(request, "registry/person_detail.html", {"record": record, "person": person})


@login_required
@require_http_methods(["GET", "POST"])
def person_lookup(request: HttpRequest) -> HttpResponse:
    """Exact lookup by ID number. POST keeps the number out of URLs and access logs."""
    viewer = as_viewer(request.user)
    if not (viewer.can("person.lookup") or viewer.can("person.view")):
        raise Http404
    form = LookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = selectors.person_lookup(viewer, form.cleaned_data["id_number"])
        except Http404:
            form.add_error("id_number", "人口信息中没有该公民身份号码，或不在您的查询范围内。")
        except ServiceError as error:
            form.add_error("id_number", error.message)
        else:
            return _render_record(request, person, "lookup")
    return render(request, "registry/person_lookup.html", {"form": form})


@login_required
def person_list(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    if not viewer.can("person.browse"):
        raise Http404
    form = PeopleFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.PersonFilters(
        name=data.get("name", ""),
        household_no=data.get("household_no", ""),
        unit_code=data.get("unit", ""),
        status=data.get("status", ""),
    )
    page = selectors.people_page(viewer, filters, after=data.get("after"))
    query = request.GET.copy()
    query.pop("after", None)
    template = (
        "registry/_people_rows.html" if request.headers.get("HX-Request") else "registry/person_list.html"
    )
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        # Roles that browse without opening records (换发工作负责人) get no links that answer 404.
        "can_open": viewer.can("person.view"),
    }
    return render(request, template, context)


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = selectors.person_get(as_viewer(request.user), pk)
    return _render_record(request, person, "detail")


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    if not viewer.can("unit.view"):
        raise Http404
    return render(
        request,
        "registry/unit_list.html",
        {
            "units": list(Unit.objects.visible_to(viewer).order_by("path")),
            "can_manage": viewer.can("unit.manage"),
            "missing": selectors.stations_missing_contact(viewer).count(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, code: str) -> HttpResponse:
    """维护机构信息: the unit's telephone and address, for holders of `unit.manage` over it."""
    viewer = as_viewer(request.user)
    unit = selectors.unit_get(viewer, code)
    if not services.unit_manageable(viewer, unit):
        raise Http404
    form = UnitContactForm(request.POST or None, initial={"phone": unit.phone, "address": unit.address})
    if request.method == "POST" and form.is_valid():
        try:
            services.unit_contact_update(
                actor=viewer,
                unit=unit,
                phone=form.cleaned_data["phone"],
                address=form.cleaned_data["address"],
            )
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"已保存{unit.name}的联系电话和地址。")
            back = "missing" if request.POST.get("next") == "missing" else "list"
            return redirect("registry:units_missing_contact" if back == "missing" else "registry:unit_list")
    status = 400 if form.errors else 200
    return render(request, "registry/unit_edit.html", {"unit": unit, "form": form}, status=status)


@login_required
def units_missing_contact(request: HttpRequest) -> HttpResponse:
    """派出所联系电话、地址未登记: the stations whose documents cannot print them yet."""
    viewer = as_viewer(request.user)
    if not viewer.can("unit.manage"):
        raise Http404
    units = list(selectors.stations_missing_contact(viewer))
    return render(request, "registry/units_missing_contact.html", {"units": units})
