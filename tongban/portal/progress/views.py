"""The public 办理进度查询 page (/guide/progress/): a phone-sized form and its answer."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tongban.accounts.limits import wait_message
from tongban.audit.context import client_address
from tongban.portal.progress.forms import ProgressForm
from tongban.portal.progress.services import NOT_FOUND_MESSAGE, Outcome, progress_lookup


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def progress(request: HttpRequest) -> HttpResponse:
    form = ProgressForm(request.POST or None)
    context: dict[str, object] = {
        "form": form,
        "review_days": settings.DEADLINES.review_days,
        "verification_days": settings.DEADLINES.post_verification_days,
        "failures": settings.PROGRESS_FAILURES_PER_NUMBER,
        "failure_minutes": settings.PROGRESS_FAILURE_WINDOW_MINUTES,
        "address_lookups": settings.PROGRESS_LOOKUPS_PER_ADDRESS,
        "address_minutes": settings.PROGRESS_ADDRESS_WINDOW_MINUTES,
    }
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        lookup = progress_lookup(
            number=data["number"],
            id_suffix=data["id_suffix"],
            name=data["name"],
            address=client_address(request),
        )
        # What was typed as proof is not shown back: the page may be left open on a shared phone.
        context["form"] = ProgressForm(initial={"number": data["number"]})
        if lookup.outcome is Outcome.LIMITED and lookup.retry_at is not None:
            context["refusal"] = wait_message(lookup.retry_at)
            status = 429
        elif lookup.outcome is Outcome.FOUND:
            context["progress"] = lookup.progress
        else:
            context["refusal"] = NOT_FOUND_MESSAGE
    return render(request, "portal/progress.html", context, status=status)
