"""Pages of 网上预约: the citizen's (no login, phone-first: choose a station, a half-day, fill the
pre-application, get the code with its QR code; cancel and rebook with the code and the last 6 of
the 公民身份号码) and the station's (the day's bookings, 预约设置, the counter's draft from a code).

A citizen's browser may show a booking after booking it or proving it (code + last 6): the session
keeps the codes proven, nothing else.
"""

from __future__ import annotations

import datetime
from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tongban.accounts import limits
from tongban.accounts.models import User
from tongban.appointments import doors, rules, selectors, services
from tongban.appointments.forms import BookForm, LookupForm, OpenForm, OverrideForm, ScheduleForm
from tongban.appointments.models import Booking
from tongban.audit.context import client_address
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.intake import rules as intake_rules
from tongban.portal.views import CASE_LABELS

SESSION_KEY = "appointments"
PROVEN_MAX = 10


def _prove(request: HttpRequest, booking: Booking) -> None:
    codes = [code for code in request.session.get(SESSION_KEY, []) if code != booking.code]
    request.session[SESSION_KEY] = [booking.code, *codes][:PROVEN_MAX]


def _proven(request: HttpRequest, code: str) -> Booking | None:
    normal = rules.normalize_code(code)
    if normal is None or normal not in request.session.get(SESSION_KEY, []):
        return None
    return Booking.objects.select_related("station", "person", "reason").filter(code=normal).first()


def _limited(request: HttpRequest, limited: limits.Limited) -> HttpResponse:
    return render(request, "appointments/public_limited.html", {"message": str(limited)}, status=429)


def _week_rows(slots: list[rules.Slot], now: datetime.datetime, days_ahead: int) -> list[dict[str, Any]]:
    """One row per day, its morning and afternoon side by side, each with whether it can be booked."""
    days: dict[datetime.date, dict[str, Any]] = {}
    for slot in slots:
        row = days.setdefault(
            slot.date, {"date": slot.date, "weekday": "一二三四五六日"[slot.date.weekday()]}
        )
        row[slot.half.value] = {
            "slot": slot,
            "bookable": rules.slot_problem(slot, now=now, days_ahead=days_ahead) is None,
        }
        row["provisional"] = slot.provisional
    for row in days.values():
        row["cells"] = [row[half.value] for half in rules.HalfDay]
    return list(days.values())


# ---------------------------------------------------------------------------------------------
# The citizen


def stations(request: HttpRequest) -> HttpResponse:
    """选择受理单位: by city or county, or a word of its name or address."""
    q = request.GET.get("q", "").strip()[:40]
    area = request.GET.get("area", "").strip()
    area = area if area.isdigit() and len(area) in (4, 6) else ""
    found = selectors.public_stations(q=q, area=area) if q or area else []
    return render(
        request,
        "appointments/public_stations.html",
        {"q": q, "area": area, "areas": selectors.areas(), "stations": found, "searched": bool(q or area)},
    )


def slots(request: HttpRequest, code: str) -> HttpResponse:
    """A station's half-days: free places, closed days and the station's notice."""
    station = selectors.public_station(code)
    try:
        doors.knock(doors.SLOTS, client_address(request))
    except limits.Limited as limited:
        return _limited(request, limited)
    own = services.station_settings(station)
    now = services.local_now()
    found = services.slots_between(station, now.date(), now.date() + datetime.timedelta(days=own.days_ahead))
    return render(
        request,
        "appointments/public_slots.html",
        {
            "station": station,
            "notice": selectors.station_notice(station),
            "rows": _week_rows(found, now, own.days_ahead),
            "provisional": any(slot.provisional for slot in found),
            "days_ahead": own.days_ahead,
            "open": own.open,
        },
    )


def _slot_from(request: HttpRequest, data: Any) -> tuple[datetime.date, rules.HalfDay] | None:
    """The half-day chosen: `date` and `half`, or one `slot` button's `2026-12-08|am`."""
    day, half = data.get("date", ""), data.get("half", "")
    if data.get("slot"):
        day, _, half = str(data["slot"]).partition("|")
    try:
        return datetime.date.fromisoformat(str(day)), rules.HalfDay(half)
    except ValueError:
        return None


def _checklists() -> list[tuple[str, tuple[intake_rules.Material, ...]]]:
    """The checklists the public guide shows, from the counter's rule: an adult's, then a minor's
    in each guardianship case (for 首次申领; 换领 and 补领 need no 告知承诺书)."""
    first = intake_rules.ApplicationType.FIRST
    adult = intake_rules.ADULT_AGE
    lists = [(f"年满{adult}周岁", intake_rules.materials(first, age=adult))]
    for case in intake_rules.GuardianshipCase:
        lists.append(
            (f"未满{adult}周岁：{CASE_LABELS[case]}", intake_rules.materials(first, age=0, guardianship=case))
        )
    return lists


def book(request: HttpRequest, code: str) -> HttpResponse:
    """填写预申请 for the chosen half-day, then 提交预约."""
    station = selectors.public_station(code)
    chosen = _slot_from(request, request.POST if request.method == "POST" else request.GET)
    if chosen is None:
        return redirect("booking:slots", code=station.code)
    day, half = chosen
    form = BookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = {key: value for key, value in form.cleaned_data.items() if key != "consent"}
        try:
            doors.knock(doors.BOOK, client_address(request))
            booking = services.booking_create(
                station_code=station.code, date=day, half=half, pre=services.PreApplication(**data)
            )
        except limits.Limited as limited:
            return _limited(request, limited)
        except ServiceError as error:
            show_refusal(form, error)
        else:
            _prove(request, booking)
            return redirect("booking:booking", code=booking.code)
    slot = services.slot_of(station, day, half)
    return render(
        request,
        "appointments/public_book.html",
        {
            "station": station,
            "slot": slot,
            "day": day,
            "half": half,
            "form": form,
            "checklists": _checklists(),
            "adult_age": intake_rules.ADULT_AGE,
        },
    )


def manage(request: HttpRequest) -> HttpResponse:
    """查询、取消或改约: the code and the last 6 of the 公民身份号码."""
    form = LookupForm(request.POST or None, initial={"code": request.GET.get("code", "")[:20]})
    if request.method == "POST" and form.is_valid():
        try:
            booking = doors.booking_for(
                address=client_address(request),
                code=form.cleaned_data["code"],
                id_tail=form.cleaned_data["id_tail"],
            )
        except limits.Limited as limited:
            return _limited(request, limited)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            _prove(request, booking)
            return redirect("booking:booking", code=booking.code)
    return render(request, "appointments/public_manage.html", {"form": form})


def _to_manage(code: str) -> HttpResponse:
    return redirect(reverse("booking:manage") + "?" + urlencode({"code": code[:20]}))


def booking(request: HttpRequest, code: str) -> HttpResponse:
    """预约凭证: the code, its QR code, when and where, what to bring; printable."""
    found = _proven(request, code)
    if found is None:
        return _to_manage(code)
    # omitsize: a viewBox and no fixed size, so that the page sizes the code.
    qr = segno.make(found.code, error="m").svg_inline(omitsize=True, title=found.display_code)
    return render(
        request,
        "appointments/public_booking.html",
        {
            "booking": found,
            "qr_svg": qr,
            "checklist": selectors.checklist(found),
            "guardianship_label": CASE_LABELS.get(intake_rules.GuardianshipCase(found.guardianship))
            if found.guardianship
            else "",
        },
    )


@require_POST
def cancel(request: HttpRequest, code: str) -> HttpResponse:
    found = _proven(request, code)
    if found is None:
        return _to_manage(code)
    try:
        services.booking_cancel(booking=found)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "预约已取消，名额已释放。如需办理，可重新预约。")
    return redirect("booking:booking", code=found.code)


def rebook(request: HttpRequest, code: str) -> HttpResponse:
    """改约: another half-day of the same station, the same code."""
    found = _proven(request, code)
    if found is None:
        return _to_manage(code)
    error_message = ""
    if request.method == "POST":
        chosen = _slot_from(request, request.POST)
        if chosen is None:
            error_message = "请选择新的预约时段。"
        else:
            try:
                services.booking_rebook(booking=found, date=chosen[0], half=chosen[1])
            except ServiceError as error:
                error_message = error.message
            else:
                messages.success(request, "改约成功，预约码不变。")
                return redirect("booking:booking", code=found.code)
    own = services.station_settings(found.station)
    now = services.local_now()
    found_slots = services.slots_between(
        found.station, now.date(), now.date() + datetime.timedelta(days=own.days_ahead)
    )
    return render(
        request,
        "appointments/public_rebook.html",
        {"booking": found, "rows": _week_rows(found_slots, now, own.days_ahead), "error": error_message},
        status=400 if error_message else 200,
    )


# ---------------------------------------------------------------------------------------------
# The station


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def _station_choice(user: User, code: str | None, action: str = "appointment.view") -> Any:
    """The station asked for, or None where the viewer must pick one (a county or above)."""
    if not code and (user.unit is None or user.unit.kind != "station"):
        return None
    return selectors.station_for(user, code, action=action)


@login_required
def day(request: HttpRequest) -> HttpResponse:
    """当日预约: a station's bookings of one day, with arrivals and no-shows."""
    user = _user(request)
    if not user.can("appointment.view"):
        raise Http404
    station = _station_choice(user, request.GET.get("station"))
    try:
        chosen_day = datetime.date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        chosen_day = timezone.localdate()
    state = request.GET.get("state", "")
    state = state if state in selectors.DAY_STATES else ""
    context: dict[str, Any] = {
        "station": station,
        "stations": selectors.stations_for(user) if user.unit is None or user.unit.kind != "station" else [],
        "day": chosen_day,
        "state": state,
        "states": selectors.DAY_STATES,
        "can_accept": user.can("application.accept"),
        "can_manage": user.can("appointment.manage"),
    }
    if station is not None:
        try:
            page = selectors.day_page(
                user, station, chosen_day, state=state, after=request.GET.get("after") or None
            )
        except ValueError:
            page = selectors.day_page(user, station, chosen_day, state=state)
        context.update(page=page, counts=selectors.day_counts(station, chosen_day))
    return render(request, "appointments/day.html", context)


@login_required
def detail(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    if not user.can("appointment.view"):
        raise Http404
    found = selectors.booking_for(user, code)
    services.booking_view(viewer=user, booking=found)
    return render(
        request,
        "appointments/detail.html",
        {
            "booking": found,
            "checklist": selectors.checklist(found),
            "can_open": user.can("application.accept") and user.unit_id == found.station_id,
        },
    )


@login_required
def open_code(request: HttpRequest) -> HttpResponse:
    """预约受理: the clerk types or scans the code; the draft opens pre-filled."""
    user = _user(request)
    if not user.can("application.accept"):
        raise Http404
    form = OpenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            found = selectors.booking_for(user, form.cleaned_data["code"])
            application = services.booking_open(actor=user, booking=found)
        except Http404:
            form.add_error("code", "未找到该预约码，请核对（字母不区分大小写）。")
        except ServiceError as error:
            form.add_error("code", error.message)
        else:
            messages.success(
                request, f"已按预约 {found.display_code} 打开受理草稿，预申请信息已带入，请核对。"
            )
            return redirect("intake:detail", pk=application.pk)
    return render(request, "appointments/open.html", {"form": form})


@login_required
@require_POST
def open_booking(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    if not user.can("application.accept"):
        raise Http404
    found = selectors.booking_for(user, code)
    try:
        application = services.booking_open(actor=user, booking=found)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("appointments:detail", code=found.code)
    messages.success(request, f"已按预约 {found.display_code} 打开受理草稿，预申请信息已带入，请核对。")
    return redirect("intake:detail", pk=application.pk)


@login_required
def schedule(request: HttpRequest) -> HttpResponse:
    """预约设置: people per half-day, days ahead, and single dates closed, changed or opened."""
    user = _user(request)
    if not user.can("appointment.view"):
        raise Http404
    if request.method == "POST" and not user.can("appointment.manage"):
        raise Http404
    code = request.GET.get("station") or request.POST.get("station")
    station = _station_choice(user, code)
    if station is None:
        return render(
            request, "appointments/schedule.html", {"station": None, "stations": selectors.stations_for(user)}
        )
    own = services.station_settings(station)
    initial = {
        "open": own.open,
        "morning_capacity": own.morning,
        "afternoon_capacity": own.afternoon,
        "days_ahead": own.days_ahead,
        "notice": selectors.station_notice(station),
    }
    action = request.POST.get("action", "")
    form = ScheduleForm(request.POST if action == "settings" else None, initial=initial)
    override = OverrideForm(request.POST if action == "override" else None)
    status = 200
    if request.method == "POST":
        target = form if action == "settings" else override
        if target.is_valid():
            try:
                if target is form:
                    services.schedule_update(
                        actor=user, station=station, data=services.ScheduleInput(**form.cleaned_data)
                    )
                    messages.success(request, "预约设置已保存；已有预约不受影响。")
                else:
                    data = override.cleaned_data
                    services.override_set(
                        actor=user,
                        station=station,
                        date=data["date"],
                        half=rules.HalfDay(data["half"]),
                        capacity=data["capacity"],
                        note=data["note"],
                    )
                    messages.success(request, "时段调整已保存。")
            except ServiceError as error:
                show_refusal(target, error)
                status = 400
            else:
                return redirect(reverse("appointments:schedule") + "?" + urlencode({"station": station.code}))
        else:
            status = 400
    today = timezone.localdate()
    overrides = selectors.overrides_ahead(station, today)
    booked = selectors.counts_by_station([station.pk], today, today + datetime.timedelta(days=90)).get(
        station.pk, {}
    )
    return render(
        request,
        "appointments/schedule.html",
        {
            "station": station,
            "form": form,
            "override": override,
            "overrides": overrides,
            "booked_ahead": booked.get("booked", 0),
            "can_manage": user.can("appointment.manage"),
            "can_accept": user.can("application.accept"),
            "stations": selectors.stations_for(user) if user.unit and user.unit.kind != "station" else [],
        },
        status=status,
    )
