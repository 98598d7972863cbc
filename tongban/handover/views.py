"""Distribution and handover pages (分发, 核验发放): the centre ships produced cards, the receiving
unit signs for a shipment, the county bureau forwards what it checked, the station hands cards
over and verifies them later. Each POST calls one service and redirects; a refusal is shown
beside the field it concerns."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.handover import selectors, services
from tongban.handover.forms import FingerFields, HandoverForm, VerificationForm
from tongban.handover.models import Shipment, ShipmentItem
from tongban.intake import selectors as intake_selectors
from tongban.intake.models import Application
from tongban.intake.services import application_open
from tongban.registry.worklist import Search, Worklist, list_params, parse_search, search_posted
from tongban.temporary import selectors as temporary_selectors


def _user(request: HttpRequest, *actions: str) -> User:
    user = request.user
    if not isinstance(user, User) or not any(user.can(action) for action in actions):
        raise Http404
    return user


def _after(request: HttpRequest) -> int | None:
    after = request.GET.get("after", "")
    return int(after) if after.isdigit() else None


def _not_here(search: Search, where: str, found: Application | None) -> str:
    """What the page says when an exact search found nothing in its list."""
    if not search.exact:
        return ""
    if found is not None:
        return f"受理号 {found.number} 当前为“{found.get_status_display()}”，不在{where}中。"
    what = "受理号" if search.kind == "number" else "公民身份号码"
    return f"{where}中没有该{what}。"


# ---------------------------------------------------------------------------------------------
# 分发


@login_required
def shipments(request: HttpRequest) -> HttpResponse:
    user = _user(request, "shipment.view", "shipment.create")
    # A centre only sends: its operators start on 已发出, where the shipment just made is listed.
    default = "incoming" if user.can("shipment.receive") else "outgoing"
    view = request.GET.get("view", default)
    view = view if view in selectors.SHIPMENT_VIEWS else default
    posted = search_posted(request, keep=("view", "sort"))
    if posted is not None:
        return posted
    params = list_params(request.GET, selectors.SHIPMENT_SORTING, request.session)
    holding = selectors.shipment_holding(user, params.search)
    if holding is not None:
        shipment, number = holding
        return redirect(reverse("handover:shipment", args=[shipment.pk]) + "?" + urlencode({"q": number}))
    page = selectors.shipments_page(
        user, view, search=params.search, order=params.order, after=params.after, page=params.page
    )
    missing = ""
    if params.search and not page.total:
        missing = _not_here(params.search, "分发单", selectors.application_whereabouts(user, params.search))
    return render(
        request,
        "handover/shipments.html",
        {
            "worklist": Worklist(
                page,
                params.search,
                selectors.SHIPMENT_SORTING,
                {"view": view},
                search_key=params.search_key,
                expired=params.expired,
            ),
            "view": view,
            "tabs": selectors.SHIPMENT_VIEWS,
            "missing": missing,
            "produced": selectors.produced_count(user) if user.can("shipment.create") else None,
            "to_forward": len(selectors.forward_queue(user)),
        },
    )


def _row_errors(error: ServiceError) -> tuple[str, dict[str, str]]:
    """A refusal of a selection: the general message, and the messages per 受理号."""
    rows = {key.partition(".")[2]: value for key, value in error.fields.items() if "." in key}
    general = error.fields.get("applications", "")
    return " ".join(part for part in (error.message, general) if part), rows


@login_required
def ship(request: HttpRequest) -> HttpResponse:
    """分发已制证证件: tick (or scan: each card scanned is ticked), fill the postal tracking
    numbers, 发出 → a confirmation listing the shipments that will be made (确认发出) → the
    shipments. Any refusal shows the form again as it was sent, with the problem beside the card;
    the cards ticked stay listed even when they are not on this page."""
    user = _user(request, "shipment.create")
    page = selectors.produced_page(user, after=_after(request))
    chosen: list[str] = []
    typed: dict[str, str] = {}
    error, status, scan = "", 200, {"q": "", "error": "", "found": ""}
    problems: dict[str, str] = {}
    if request.method == "POST":
        chosen = list(dict.fromkeys(n for n in request.POST.getlist("applications") if n.strip()))
        typed = {
            key.removeprefix("tracking_"): value.strip()
            for key in request.POST
            if key.startswith("tracking_") and (value := request.POST.get(key, "")).strip()
        }
        tracking = {number: typed[number] for number in chosen if number in typed}
        if request.POST.get("action") == "find":
            # The scanner's Enter (also in a tracking number field) lands here: nothing is sent.
            scan = _ship_scan(user, request.POST.get("q", ""), chosen)
            status = 400 if scan["error"] else 200
        elif "edit" not in request.POST:
            try:
                if request.POST.get("confirm") == "1":
                    sent = services.shipments_create(actor=user, numbers=chosen, tracking_numbers=tracking)
                    messages.success(
                        request,
                        f"已发出 {sum(s.items.count() for s in sent)} 张证件，生成分发单 {len(sent)} 份。",
                    )
                    return redirect(reverse("handover:shipments") + "?view=outgoing")
                plan = services.shipments_plan(actor=user, numbers=chosen, tracking_numbers=tracking)
            except ServiceError as refusal:
                error, problems = _row_errors(refusal)
                status = 400
            else:
                return render(
                    request,
                    "handover/ship_confirm.html",
                    {"plan": plan, "count": sum(len(s.applications) for s in plan), "tracking": tracking},
                )
    shown = {application.number for application in page.rows}
    # Ticked (or scanned) on another page: listed first, so a tick is never lost from sight.
    extra = selectors.produced_numbered(user, [number for number in chosen if number not in shown])
    listed = {application.number for application in [*extra, *page.rows]}
    elsewhere = [
        f"受理号 {number}：{problem}" for number, problem in problems.items() if number not in listed
    ]
    if elsewhere:  # e.g. sent meanwhile: no longer listed, so said here
        error = "；".join([error, *elsewhere])
    rows = [
        (
            application,
            application.number in chosen,
            typed.get(application.number or "", ""),
            problems.get(application.number or "", ""),
        )
        for application in [*extra, *page.rows]
    ]
    return render(
        request,
        "handover/ship.html",
        {
            "page": page,
            "rows": rows,
            "error": error,
            "scan": scan,
            "total": selectors.produced_count(user),
            "chosen_count": len(chosen),
        },
        status=status,
    )


def _ship_scan(user: User, text: str, chosen: list[str]) -> dict[str, str]:
    """清点勾选: the card a scanned 受理号 (or ID number) names is ticked; an empty scan (Enter in
    another field) only shows the form again."""
    search = parse_search(text)
    if not search:
        return {"q": "", "error": "", "found": ""}
    found = selectors.produced_search(user, search) if search.exact else []
    if len(found) == 1:
        number = found[0].number or ""
        if number not in chosen:
            chosen.append(number)
        return {"q": "", "error": "", "found": number}
    if not search.exact:
        return {"q": text, "error": "请扫描或输入完整的受理号或公民身份号码。", "found": ""}
    return {"q": text, "error": selectors.produced_whereabouts(user, search), "found": ""}


def _shipment_page(
    request: HttpRequest,
    user: User,
    found: Shipment,
    *,
    receipt: dict[str, Any] | None = None,
    delivered: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The shipment: its items as a work list (search, order, pages) to read; while it waits
    for the viewer's signature, all of it in the receipt form (ticks, notes and a 清点 search
    that keep what was entered)."""
    can_receive = (
        user.can("shipment.receive")
        and found.destination_id == user.unit_id
        and found.state == found.State.IN_TRANSIT
    )
    context: dict[str, Any] = {
        "shipment": found,
        "can_receive": can_receive,
        "can_deliver": user.can("shipment.create") and found.origin_id == user.unit_id,
        "delivered": delivered or {"value": "", "error": ""},
    }
    if can_receive:
        items = selectors.shipment_items(found)
        if receipt is None:  # arriving from a search: the card searched for is marked
            search = parse_search(request.GET.get("q"))
            hit = next((item for item in items if search.exact and _names(item, search)), None)
            receipt = {"found": hit.application.number if hit else ""}
        scanned = set(receipt.get("scanned", ()))
        context["receipt"] = {
            "missing": set(receipt.get("missing", ())),
            "damaged": set(receipt.get("damaged", ())),
            "notes": receipt.get("notes", {}),
            "note": receipt.get("note", ""),
            "errors": receipt.get("errors", {}),
            "error": receipt.get("error", ""),
            "q": receipt.get("q", request.GET.get("q", "")),
            "found": receipt.get("found", ""),
            "scanned": scanned,
            "scanned_count": sum(1 for item in items if item.application.number in scanned),
        }
        context["items"] = items
    else:
        params = list_params(request.GET, selectors.SHIPMENT_ITEM_SORTING, request.session)
        page = selectors.shipment_items_page(
            found, search=params.search, order=params.order, after=params.after, page=params.page
        )
        context["worklist"] = Worklist(
            page,
            params.search,
            selectors.SHIPMENT_ITEM_SORTING,
            {},
            path=reverse("handover:shipment", args=[found.pk]),
            search_key=params.search_key,
            expired=params.expired,
        )
        context["items_total"] = found.items.count() if params.search else page.total
    return render(request, "handover/shipment.html", context, status=status)


@login_required
def shipment(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "shipment.view", "shipment.create")
    found = selectors.shipment_get(user, pk)
    posted = search_posted(request, keep=("sort",))
    return posted or _shipment_page(request, user, found)


def _names(item: ShipmentItem, search: Search) -> bool:
    """Whether an exact search names the card of this item."""
    application = item.application
    if search.kind == "number":
        return application.number == search.value
    return application.id_number == search.value or application.person.id_number == search.value


def _receipt_posted(request: HttpRequest) -> dict[str, Any]:
    return {
        "missing": request.POST.getlist("missing"),
        "damaged": request.POST.getlist("damaged"),
        "notes": {
            key[5:]: request.POST.get(key, "").strip()
            for key in request.POST
            if key.startswith("note_") and request.POST.get(key, "").strip()
        },
        "note": request.POST.get("note", "").strip(),
        "scanned": request.POST.getlist("scanned"),
        "q": "",
    }


@login_required
@require_POST
def receive(request: HttpRequest, pk: int) -> HttpResponse:
    """签收; or 清点 (action=find): a 受理号 scanned into the receipt form is marked as counted
    and the form comes back with everything ticked and typed so far."""
    user = _user(request, "shipment.receive")
    found = selectors.shipment_get(user, pk)
    receipt = _receipt_posted(request)
    if request.POST.get("action") == "find":
        search = parse_search(request.POST.get("q"))
        hit = next(
            (
                item.application.number
                for item in selectors.shipment_items(found)
                if search.exact and _names(item, search)
            ),
            None,
        )
        if hit:
            receipt["scanned"] = [*receipt["scanned"], hit]
            receipt["found"] = hit
        else:
            receipt["q"] = search.text
            receipt["error"] = search.message or "本分发单中没有该受理号或公民身份号码。"
            receipt["errors"] = {"q": receipt["error"]}
        return _shipment_page(request, user, found, receipt=receipt, status=200 if hit else 400)
    try:
        services.shipment_receive(
            actor=user,
            shipment=found,
            missing=receipt["missing"],
            damaged=receipt["damaged"],
            notes=receipt["notes"],
            note=receipt["note"],
        )
    except ServiceError as error:
        receipt["error"] = error.message
        receipt["errors"] = dict(error.fields)
        return _shipment_page(request, user, found, receipt=receipt, status=400)
    messages.success(request, f"分发单 {pk} 已签收。")
    return redirect("handover:shipment", pk=pk)


@login_required
@require_POST
def delivered(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "shipment.create")
    found = selectors.shipment_get(user, pk)
    typed = request.POST.get("tracking_number", "").strip()
    try:
        application = services.postal_delivered(actor=user, tracking_number=typed)
    except ServiceError as error:
        message = error.message if typed else "请填写邮件号。"
        return _shipment_page(request, user, found, delivered={"value": typed, "error": message}, status=400)
    messages.success(request, f"邮件号 {typed}（受理号 {application.number}）已登记妥投。")
    return redirect("handover:shipment", pk=pk)


@login_required
def forward(request: HttpRequest) -> HttpResponse:
    """质检后转发: tick (or none: all), 转发 → a confirmation listing one shipment per station
    (确认转发) → the shipments."""
    user = _user(request, "shipment.receive")
    chosen: list[str] = []
    error, status = "", 200
    if request.method == "POST":
        chosen = [number for number in request.POST.getlist("applications") if number.strip()]
        if "edit" in request.POST and request.POST.get("all"):
            chosen = []  # back to the form as it was: nothing ticked (everything waiting)
        elif "edit" not in request.POST:
            try:
                if request.POST.get("confirm") == "1":
                    sent = services.shipments_forward(actor=user, numbers=chosen or None)
                    messages.success(request, f"已转发，生成分发单 {len(sent)} 份。")
                    return redirect(reverse("handover:shipments") + "?view=outgoing")
                plan = services.forward_plan(actor=user, numbers=chosen or None)
            except ServiceError as refusal:
                error, status = " ".join([refusal.message, *refusal.fields.values()]), 400
            else:
                return render(
                    request,
                    "handover/forward_confirm.html",
                    {"plan": plan, "count": sum(len(s.applications) for s in plan), "all": not chosen},
                )
    return render(
        request,
        "handover/forward.html",
        {"items": selectors.forward_queue(user), "chosen": set(chosen), "error": error},
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# 核验发放


@login_required
def ready(request: HttpRequest) -> HttpResponse:
    user = _user(request, "handover.perform", "verification.perform")
    posted = search_posted(request, keep=("sort",))
    if posted is not None:
        return posted
    params = list_params(request.GET, selectors.READY_SORTING, request.session)
    page = selectors.ready_page(
        user, search=params.search, order=params.order, after=params.after, page=params.page
    )
    if params.search.exact and page.total == 1 and user.can("handover.perform"):
        return redirect("handover:handover", pk=page.rows[0].pk)
    missing = ""
    if params.search and not page.total:
        missing = _not_here(params.search, "待领取", selectors.application_whereabouts(user, params.search))
    return render(
        request,
        "handover/ready.html",
        {
            "worklist": Worklist(
                page,
                params.search,
                selectors.READY_SORTING,
                {},
                search_key=params.search_key,
                expired=params.expired,
            ),
            "missing": missing,
            "counts": selectors.verification_counts(user),
        },
    )


def _application(user: User, pk: int, request: HttpRequest) -> Application:
    application = intake_selectors.application_get(user, pk)
    application_open(viewer=user, application=application, how="handover")
    return application


def _form_errors(form: FingerFields, error: ServiceError) -> None:
    show_refusal(form, error, rename={"finger": "finger_image", "signature": "signature_data"})
    if error.fields and error.code == "finger_mismatch":  # the comparison's outcome, above the form
        form.add_error(None, error.message)


def _context(application: Application, form: FingerFields, **extra: Any) -> dict[str, Any]:
    return {
        "application": application,
        "card": selectors.handover_card(application),
        "fingers": intake_selectors.fingerprints(application),
        "finger_names": FINGER_POSITION_NAMES,
        "events": intake_selectors.application_events(application),
        "form": form,
        **extra,
    }


@login_required
def handover(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "handover.perform")
    application = _application(user, pk, request)
    posted = request.method == "POST"
    form = HandoverForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        relative = None
        if data["way"] == "proxy":
            relative = services.Relative(data["relative_name"], data["relative_id_number"])
        image = form.finger_bytes()
        try:
            services.handover_perform(
                actor=user,
                application=application,
                way=data["way"],
                finger=services.FingerProbe(position=data["finger_position"], image=image) if image else None,
                signature=form.signature(),
                paper_signed=data["paper_signed"],
                relative=relative,
                override_reason=data["override_reason"],
                temporary_returned=data["temporary_returned"],
                temporary_reason=data["temporary_reason"],
            )
        except ServiceError as error:
            _form_errors(form, error)
            form.keep_finger("finger" not in error.fields)
        else:
            messages.success(request, f"受理号 {application.number} 已发放。")
            return redirect("handover:ready")
    elif posted:
        form.keep_finger(True)
    status = 400 if posted else 200
    held = temporary_selectors.held_card(application.person_id)
    context = _context(application, form, temporary_card=held)
    return render(request, "handover/handover.html", context, status=status)


@login_required
def verifications(request: HttpRequest) -> HttpResponse:
    user = _user(request, "verification.perform")
    view = request.GET.get("view", "due")
    view = view if view in selectors.VERIFICATION_VIEWS else "due"
    posted = search_posted(request, keep=("view", "sort"))
    if posted is not None:
        return posted
    params = list_params(request.GET, selectors.VERIFICATION_SORTING, request.session)
    page = selectors.verifications_page(
        user, view, search=params.search, order=params.order, after=params.after, page=params.page
    )
    if params.search.exact and page.total == 1:
        return redirect("handover:verify", pk=page.rows[0].application_id)
    missing = ""
    if params.search and not page.total:
        missing = _not_here(params.search, "核验待办", selectors.application_whereabouts(user, params.search))
    return render(
        request,
        "handover/verifications.html",
        {
            "worklist": Worklist(
                page,
                params.search,
                selectors.VERIFICATION_SORTING,
                {"view": "" if params.search else view},
                search_key=params.search_key,
                expired=params.expired,
            ),
            "view": "" if params.search else view,
            "tabs": selectors.VERIFICATION_VIEWS,
            "counts": selectors.verification_counts(user),
            "missing": missing,
            "today": timezone.localdate(),
        },
    )


@login_required
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "verification.perform")
    application = _application(user, pk, request)
    posted = request.method == "POST"
    form = VerificationForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        data = form.cleaned_data
        image = form.finger_bytes()
        try:
            services.verification_perform(
                actor=user,
                application=application,
                finger=services.FingerProbe(position=data["finger_position"], image=image) if image else None,
                card_checked=data["card_checked"],
                override_reason=data["override_reason"],
            )
        except ServiceError as error:
            _form_errors(form, error)
            form.keep_finger("finger" not in error.fields)
        else:
            messages.success(request, f"受理号 {application.number} 已核验。")
            return redirect("handover:verifications")
    elif posted:
        form.keep_finger(True)
    verification = getattr(application, "verification", None)
    status = 400 if posted else 200
    return render(
        request, "handover/verify.html", _context(application, form, verification=verification), status=status
    )
