"""Supervision pages (督导): the dashboard of a unit's subtree with drill-down, its Excel exports,
and the stuck items (滞留件) with 督办. The page, the exports and the API render the same
`selectors.dashboard` tables."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.cardcheck import selectors as cardcheck_selectors
from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.registry.models import Unit
from tongban.registry.xlsx import Sheet, xlsx_response
from tongban.supervision import outofarea, selectors, services


def _user(request: HttpRequest, action: str = "supervision.view") -> User:
    user = request.user
    if not isinstance(user, User) or not user.can(action):
        raise Http404
    return user


def table_sheet(table: selectors.Table, dashboard: selectors.Dashboard) -> Sheet:
    caption = [f"{dashboard.unit.name} · {table.title}", f"统计日期：{dashboard.today:%Y-%m-%d}"]
    if table.note:
        caption.append(table.note)
    return Sheet(title=table.title[:31], headers=table.headers, rows=table.rows, caption=caption)


def kpi_sheet(dashboard: selectors.Dashboard) -> Sheet:
    return Sheet(
        title="主要指标",
        headers=["指标", "数值"],
        rows=[[selectors.KPI_LABELS[key], value] for key, value in dashboard.kpis.items()],
        caption=[f"{dashboard.unit.name} · 主要指标", f"统计日期：{dashboard.today:%Y-%m-%d}"],
    )


def _charts(tables: list[selectors.Table], export: str, query: str) -> list[dict[str, Any]]:
    """The tables as the page draws them (`supervision/_charts.html`, and dashboard.js from the
    same data): each with its Excel link (`export`, a URL name taking the table's key)."""

    def cell(value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime.date) else value

    return [
        {
            "key": table.key,
            "title": table.title,
            "headers": table.headers,
            "rows": [[cell(v) for v in row] for row in table.rows],
            "chart": table.chart,
            "note": table.note,
            "export": f"{reverse(export, args=[table.key])}?{query}",
        }
        for table in tables
    ]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    unit = selectors.dashboard_unit(user, request.GET.get("unit", ""))
    data = selectors.dashboard(unit)
    units = selectors.unit_choices(user)
    ancestors = [u for u in units if unit.path.startswith(u.path)]
    return render(
        request,
        "supervision/dashboard.html",
        {
            "board": data,
            "kpis": [(key, selectors.KPI_LABELS[key], value) for key, value in data.kpis.items()],
            "charts": _charts(data.tables, "supervision:export", urlencode({"unit": unit.code})),
            "units": units,
            "ancestors": ancestors,
            "children": data.children,
            "can_act": user.can("supervision.act"),
            "card_checks": cardcheck_selectors.dashboard_counts(user, unit),
            "card_check_headings": cardcheck_selectors.OUTCOME_HEADINGS,
        },
    )


@login_required
def export(request: HttpRequest, key: str = "") -> HttpResponse:
    """One chart's table (`key`), or every table of the dashboard (全部导出)."""
    user = _user(request)
    unit = selectors.dashboard_unit(user, request.GET.get("unit", ""))
    data = selectors.dashboard(unit)
    if key:
        try:
            table = data.table(key)
        except KeyError:
            raise Http404 from None
        return xlsx_response(f"{unit.name}-{table.title}-{data.today:%Y%m%d}", [table_sheet(table, data)])
    sheets = [kpi_sheet(data), *(table_sheet(table, data) for table in data.tables)]
    return xlsx_response(f"{unit.name}-督导统计-{data.today:%Y%m%d}", sheets)


def _stuck_filters(request: HttpRequest, user: User) -> dict[str, Any]:
    status = request.GET.get("status", "")
    status = status if status in selectors.STUCK_STATUSES else ""
    view = request.GET.get("view", "stuck")
    view = view if view in selectors.STUCK_VIEWS else "stuck"
    days_text = request.GET.get("days", "")
    days = int(days_text) if days_text.isdigit() and 1 <= int(days_text) <= 60 else None
    unit_code = request.GET.get("unit", "")
    unit = selectors.dashboard_unit(user, unit_code) if unit_code else None
    return {"status": status, "view": view, "workdays": days, "unit": unit}


@login_required
def stuck(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    filters = _stuck_filters(request, user)
    scope = selectors.scope_for(selectors.dashboard_unit(user, None))
    page = selectors.stuck_page(scope, after=request.GET.get("after") or None, **filters)
    query = request.GET.copy()
    query.pop("after", None)
    return render(
        request,
        "supervision/stuck.html",
        {
            "page": page,
            "cutoff": selectors.stuck_cutoff(scope.today, filters["workdays"]),
            "filters": filters,
            "views": selectors.STUCK_VIEWS,
            "statuses": [(s, Application.Status(s).label) for s in selectors.STUCK_STATUSES],
            "units": selectors.unit_choices(user),
            "query": query.urlencode(),
            "default_days": settings.STUCK_WORKDAYS,
            "can_act": user.can("supervision.act"),
        },
    )


@login_required
def stuck_item(request: HttpRequest, number: str) -> HttpResponse:
    """One stuck application: its last entries, earlier 督办, and the 督办 form."""
    user = _user(request)
    application = selectors.stuck_get(user, number)
    error = ""
    note = ""
    if request.method == "POST":
        user = _user(request, "supervision.act")
        note = request.POST.get("note", "")
        try:
            services.application_supervise(actor=user, number=number, note=note)
        except ServiceError as exc:
            error = exc.fields.get("note", exc.message)
        else:
            unit = selectors.responsible_unit(application)
            messages.success(request, f"已督办受理号 {number}，已通知{unit.name if unit else '责任单位'}。")
            return redirect(reverse("supervision:stuck_item", args=[number]))
    events = list(application.events.select_related("actor", "unit").order_by("pk"))
    return render(
        request,
        "supervision/stuck_item.html",
        {
            "application": application,
            "responsible": selectors.responsible_unit(application),
            "events": events,
            "supervisions": selectors.supervision_events(application),
            "can_act": user.can("supervision.act"),
            "error": error,
            "note": note,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def urge(request: HttpRequest, number: str) -> HttpResponse:
    """督办 from the list (the note typed in the row), back to the list."""
    user = _user(request, "supervision.act")
    try:
        services.application_supervise(actor=user, number=number, note=request.POST.get("note", ""))
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, f"受理号 {number}：{exc.fields.get('note', exc.message)}")
    else:
        messages.success(request, f"已督办受理号 {number}。")
    back = request.POST.get("back", "")
    return redirect(reverse("supervision:stuck") + (f"?{back}" if back and "//" not in back else ""))


# ---------------------------------------------------------------------------------------------
# Pending work nobody can do (无人办理): supervisors (their subtree) and administrators (province)


def _unstaffed(request: HttpRequest) -> tuple[User, selectors.Scope, selectors.Table]:
    user = _user(request, "staffing.view")
    unit = selectors.staffing_unit(user, request.GET.get("unit", ""))
    scope = selectors.scope_for(unit)
    return user, scope, selectors.unstaffed_table(selectors.unstaffed(scope))


@login_required
def unstaffed(request: HttpRequest) -> HttpResponse:
    user, scope, table = _unstaffed(request)
    units = list(
        Unit.objects.visible_to(user, "staffing.view")
        .administrative()
        .exclude(kind=Unit.Kind.STATION)
        .only("pk", "code", "name", "path")
        .order_by("path")
    )
    return render(
        request,
        "supervision/unstaffed.html",
        {
            "unit": scope.unit,
            "today": scope.today,
            "table": table,
            "rows": [_shown(row) for row in table.rows[:-1]],
            "total": table.rows[-1],
            "units": units,
            "can_manage_users": user.can("user.manage"),
        },
    )


def _shown(row: list[Any]) -> list[Any]:
    return [f"{cell:%Y-%m-%d}" if isinstance(cell, datetime.date) else cell for cell in row]


@login_required
def unstaffed_export(request: HttpRequest) -> HttpResponse:
    _, scope, table = _unstaffed(request)
    sheet = Sheet(
        title=table.title[:31],
        headers=table.headers,
        rows=table.rows,
        caption=[f"{scope.unit.name} · {table.title}", f"统计日期：{scope.today:%Y-%m-%d}", table.note],
    )
    return xlsx_response(f"{scope.unit.name}-{table.title}-{scope.today:%Y%m%d}", [sheet])


# ---------------------------------------------------------------------------------------------
# 异地办理统计: out-of-area work over a period


def _period(request: HttpRequest, today: datetime.date) -> tuple[outofarea.Period, dict[str, str]]:
    """The period asked for (`from`, `to`: YYYY-MM-DD), or 本月; with what is wrong by field."""
    default = outofarea.default_period(today)
    values: dict[str, datetime.date] = {}
    problems: dict[str, str] = {}
    for name, fallback in (("from", default.start), ("to", default.end)):
        text = request.GET.get(name, "")
        try:
            values[name] = datetime.date.fromisoformat(text) if text else fallback
        except ValueError:
            problems[name] = "请输入日期，如 2026-12-01。"
            values[name] = fallback
    if not problems:
        problems = outofarea.period_problems(values["from"], values["to"], today=today)
    if problems:
        return default, problems
    return outofarea.Period(values["from"], values["to"]), {}


def _out_of_area(request: HttpRequest) -> tuple[User, outofarea.OutOfArea, dict[str, str]]:
    user = _user(request)
    unit = selectors.dashboard_unit(user, request.GET.get("unit", ""))
    scope = selectors.scope_for(unit)
    period, problems = _period(request, scope.today)
    return user, outofarea.out_of_area(scope, period), problems


def _period_sheet(table: selectors.Table, data: outofarea.OutOfArea) -> Sheet:
    caption = [f"{data.unit.name} · {table.title}", f"统计期间：{data.period.label}", table.note]
    return Sheet(title=table.title[:31], headers=table.headers, rows=table.rows, caption=caption)


@login_required
def out_of_area(request: HttpRequest) -> HttpResponse:
    user, data, problems = _out_of_area(request)
    return render(
        request,
        "supervision/out_of_area.html",
        {
            "data": data,
            "charts": _charts(
                data.tables,
                "supervision:out_of_area_export",
                urlencode(
                    {"unit": data.unit.code, "from": str(data.period.start), "to": str(data.period.end)}
                ),
            ),
            "units": selectors.unit_choices(user),
            "problems": problems,
            "asked": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        },
        status=400 if problems else 200,
    )


@login_required
def out_of_area_export(request: HttpRequest, table: str = "") -> HttpResponse:
    """One table (`table`, its key) or all of them, for the period shown."""
    _, data, problems = _out_of_area(request)
    if problems:  # the page, with what is wrong shown at the fields
        return out_of_area(request)
    name = f"{data.unit.name}-异地办理统计-{data.period.start:%Y%m%d}-{data.period.end:%Y%m%d}"
    if table:
        try:
            return xlsx_response(name, [_period_sheet(data.table(table), data)])
        except KeyError:
            raise Http404 from None
    return xlsx_response(name, [_period_sheet(table, data) for table in data.tables])
