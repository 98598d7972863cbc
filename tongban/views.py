"""The workspace home page: who you are, where, and what you can do from here."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tongban.audit.verify import unsealed_overdue
from tongban.campaigns.selectors import home_campaigns
from tongban.finance.selectors import unremitted_total
from tongban.handover.selectors import ready, verification_counts
from tongban.intake.selectors import counter_counts
from tongban.production.selectors import queue_counts
from tongban.registry.access import as_viewer
from tongban.registry.calendar import missing_calendar_years
from tongban.registry.forms import LookupForm
from tongban.registry.models import Person, Unit
from tongban.registry.selectors import stations_missing_contact
from tongban.review.selectors import review_queue
from tongban.supervision.selectors import home_counts as supervision_counts
from tongban.supervision.selectors import home_unstaffed


@login_required
def home(request: HttpRequest) -> HttpResponse:
    viewer = as_viewer(request.user)
    stats: dict[str, int] = {}
    if viewer.can("unit.view"):
        stats["stations"] = Unit.objects.visible_to(viewer).filter(kind=Unit.Kind.STATION).count()
    if viewer.can("person.browse"):
        stats["people"] = Person.objects.visible_to(viewer, "person.browse").count()
    counter = counter_counts(viewer) if viewer.can("application.accept") else None
    queue = review_queue(viewer, limit=5) if viewer.can("review.decide") else None
    production = None
    if viewer.can("production.view") and viewer.unit is not None and viewer.unit.kind == Unit.Kind.CENTRE:
        production = sum(row.count for row in queue_counts(viewer.unit))
    handover = None
    if viewer.can("handover.perform"):
        handover = {"ready": ready(viewer).count(), **verification_counts(viewer)}
    # A finance officer starts from what the subtree has not paid over to the treasury yet.
    unremitted = unremitted_total(viewer)
    supervision = supervision_counts(viewer) if viewer.can("supervision.view") else None
    # Supervisors and administrators see where work waits that nobody there can do.
    unstaffed = home_unstaffed(viewer)
    campaigns = home_campaigns(viewer, timezone.localdate()) if viewer.can("campaign.view") else []
    # Those who can enter the holiday table are told when deadlines ahead count weekends only.
    calendar_missing = missing_calendar_years(timezone.localdate()) if viewer.can("reference.manage") else []
    # …and those who keep the units, of stations whose documents lack a telephone or address.
    contact_missing = stations_missing_contact(viewer).count() if viewer.can("unit.manage") else 0
    # …and administrators and auditors, of audit rows the sealer has left waiting too long.
    unsealed = unsealed_overdue() if viewer.can("reference.manage") or viewer.can("audit.view") else 0
    return render(
        request,
        "home.html",
        {
            "stats": stats,
            "lookup_form": LookupForm(),
            "calendar_missing": calendar_missing,
            "contact_missing": contact_missing,
            "unsealed": unsealed,
            "counter": counter,
            "queue": queue,
            "production": production,
            "handover": handover,
            "supervision": supervision,
            "unstaffed": unstaffed,
            "unremitted": unremitted,
            "campaigns": campaigns,
        },
    )
