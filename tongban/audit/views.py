"""The audit trail page for auditors: newest first, keyset-paginated, with the chain status."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tongban.audit.models import AuditEvent
from tongban.audit.services import verify_chain

PAGE_SIZE = 100


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "can", lambda action: False)("audit.view"):
        raise Http404
    events = AuditEvent.objects.order_by("-seq")
    if action := request.GET.get("action", "").strip():
        events = events.filter(action__startswith=action)
    if username := request.GET.get("user", "").strip():
        events = events.filter(actor_username=username)
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(seq__lt=int(before))
    rows = list(events[: PAGE_SIZE + 1])
    context: dict[str, Any] = {
        "events": rows[:PAGE_SIZE],
        "next_before": rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None,
        "filters": {"action": action, "user": username},
    }
    if request.GET.get("verify"):
        checked, broken = verify_chain()
        context["verification"] = {"checked": checked, "broken": broken}
    return render(request, "audit/audit_log.html", context)
