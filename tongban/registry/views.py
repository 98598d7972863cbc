"""Register pages: person lookup, the person list of the user's subtree, full records, units."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tongban.core.errors import ServiceError
from tongban.registry import selectors
from tongban.registry.access import as_viewer
from tongban.registry.forms import LookupForm, PeopleFilterForm
from tongban.registry.models import Person
from tongban.registry.services import person_open


def _render_record(request: HttpRequest, person: Person, how: str) -> HttpResponse:
    viewer = as_viewer(request.user)
    person_open(viewer=viewer, person=person, request=request, how=how)
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
    return render(request, "registry/unit_list.html", {"units": selectors.units_visible(viewer)})
