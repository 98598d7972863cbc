"""The audit trail page for auditors: newest first, keyset-paginated, with the chain status.

Every row reads in Chinese: the action's name (audit/labels.py), the person's name for the
username, the unit's name for its code, what the record is (申领 and its 受理号)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tongban.audit import labels
from tongban.audit.models import AuditEvent
from tongban.audit.verify import unsealed_overdue, verify

PAGE_SIZE = 100
# Rows without a staff actor, by their name's prefix (cardcheck names the institution's key).
ACTORLESS = {"cli": "命令行", "web": "公众（未登录）", "institution": "核查机构"}


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    actor: str
    unit: str
    record: str


def _filter_actions(events: Any, action: str) -> Any:
    if labels.is_action(action):
        return events.filter(action=action)
    prefixes = labels.action_group_prefixes(action)
    if prefixes:
        query = Q()
        for prefix in prefixes:
            query |= Q(action__startswith=prefix)
        return events.filter(query)
    # An action code typed by hand (older links): its prefix.
    return events.filter(action__startswith=action)


def _filter_user(events: Any, who: str) -> Any:
    """By login name or by the person's name (王晓燕)."""
    named = (
        get_user_model()
        .objects.annotate(full_name=Concat("last_name", "first_name", Value("")))
        .filter(Q(full_name=who) | Q(username=who))
        .values_list("pk", flat=True)
    )
    return events.filter(Q(actor_username=who) | Q(actor_id__in=list(named)))


def _rows(events: list[AuditEvent]) -> list[Row]:
    """The names behind the codes, two queries a page. The audit app sits below accounts and
    registry (it imports neither): it reads their names through the app registry."""
    user_ids = {e.actor_id for e in events if e.actor_id}
    user_ids |= {int(e.object_id) for e in events if e.object_type == "user" and e.object_id.isdigit()}
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=user_ids)}
    codes = {e.unit_code for e in events if e.unit_code} | {
        e.object_id for e in events if e.object_type == "unit"
    }
    unit_model = apps.get_model("registry", "Unit")
    units = dict(unit_model.objects.filter(code__in=codes).values_list("code", "name"))
    rows = []
    for event in events:
        if event.actor_id is None:
            actor = ACTORLESS.get(event.actor_username.split(":")[0], "系统")
        else:
            user = users.get(event.actor_id)
            actor = user.display_name if user is not None else event.actor_username
        record = event.object_type_label
        named = None
        if event.object_type == "user" and event.object_id.isdigit():
            named = users.get(int(event.object_id))
        if number := (event.detail or {}).get("number"):
            record = f"{record} {number}"
        elif named is not None:
            record = f"{record} {named.display_name}"
        elif event.object_type == "unit" and event.object_id in units:
            record = f"{record} {units[event.object_id]}"
        elif event.object_id:
            record = f"{record} #{event.object_id}"
        rows.append(Row(event, actor, units.get(event.unit_code, event.unit_code), record))
    return rows


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "can", lambda action: False)("audit.view"):
        raise Http404
    events = AuditEvent.objects.order_by("-id")
    if action := request.GET.get("action", "").strip():
        events = _filter_actions(events, action)
    if who := request.GET.get("user", "").strip():
        events = _filter_user(events, who)
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(id__lt=int(before))
    rows = list(events[: PAGE_SIZE + 1])
    context: dict[str, Any] = {
        "rows": _rows(rows[:PAGE_SIZE]),
        "next_before": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
        "filters": {"action": action, "user": who},
        "action_choices": labels.action_choices(),
    }
    if request.GET.get("verify"):
        context["verification"] = verify()
    else:
        context["overdue"] = unsealed_overdue()
    return render(request, "audit/audit_log.html", context)
