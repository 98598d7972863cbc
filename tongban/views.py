"""The workspace home page: who you are, where, and what you can do from here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tongban.registry.access import as_viewer
from tongban.registry.forms import LookupForm
from tongban.registry.models import Person, Unit


@login_required
def home(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    stats: dict[str, int] = {}
    if viewer.can("unit.view"):
        stats["stations"] = Unit.objects.visible_to(viewer).filter(kind=Unit.Kind.STATION).count()
    if viewer.can("person.browse"):
        stats["people"] = Person.objects.visible_to(viewer, "person.browse").count()
    return render(request, "home.html", {"stats": stats, "lookup_form": LookupForm()})
