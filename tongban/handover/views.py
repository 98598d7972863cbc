"""Distribution and handover pages (分发, 核验发放): the centre ships produced cards, the receiving
unit signs for a shipment, the county bureau forwards what it checked, the station hands cards
over and verifies them later. Each POST calls one service and redirects; a refusal is shown
beside the field it concerns."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.audit.services import record
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core.errors import ServiceError
from tongban.handover import selectors, services
from tongban.handover.forms import FingerFields, HandoverForm, VerificationForm
from tongban.intake import selectors as intake_selectors
from tongban.intake.models import Application


def _user(request: HttpRequest, *actions: str) -> User:
    user = request.user
    if not isinstance(user, User) or not any(user.can(action) for action in actions):
        raise Http404
    return user


def _after(request: HttpRequest) -> int | None:
    after = request.GET.get("after", "")
    return int(after) if after.isdigit() else None


# ---------------------------------------------------------------------------------------------
# 分发


@login_required
def shipments(request: HttpRequest) -> HttpResponse:
    user = _user(request, "shipment.view", "shipment.create")
    # A centre only sends: its operators start on 已发出, where the shipment just made is listed.
    default = "incoming" if user.can("shipment.receive") else "outgoing"
    view = request.GET.get("view", default)
    view = view if view in selectors.SHIPMENT_VIEWS else default
    page = selectors.shipments_page(user, view, after=_after(request))
    return render(
        request,
        "handover/shipments.html",
        {
            "page": page,
            "view": view,
            "tabs": selectors.SHIPMENT_VIEWS,
            "produced": len(selectors.produced_page(user).rows) if user.can("shipment.create") else None,
            "to_forward": len(selectors.forward_queue(user)),
        },
    )


@login_required
def ship(request: HttpRequest) -> HttpResponse:
    user = _user(request, "shipment.create")
    page = selectors.produced_page(user, after=_after(request))
    errors: dict[str, str] = {}
    if request.method == "POST":
        numbers = request.POST.getlist("applications")
        tracking = {
            number: request.POST.get(f"tracking_{number}", "").strip()
            for number in numbers
            if request.POST.get(f"tracking_{number}", "").strip()
        }
        try:
            sent = services.shipments_create(
                actor=user, numbers=numbers, tracking_numbers=tracking, request=request
            )
        except ServiceError as error:
            messages.error(request, error.message)
            errors = {key.partition(".")[2] or key: value for key, value in error.fields.items()}
        else:
            messages.success(request, f"已生成分发单 {len(sent)} 份。")
            return redirect(reverse("handover:shipments") + "?view=outgoing")
    rows = [(application, errors.get(application.number or "", "")) for application in page.rows]
    return render(
        request,
        "handover/ship.html",
        {
            "page": page,
            "rows": rows,
            "error": errors.get("applications", ""),
            "status": 400 if errors else 200,
        },
        status=400 if errors else 200,
    )


@login_required
def shipment(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "shipment.view", "shipment.create")
    found = selectors.shipment_get(user, pk)
    return render(
        request,
        "handover/shipment.html",
        {
            "shipment": found,
            "items": selectors.shipment_items(found),
            "can_receive": user.can("shipment.receive")
            and found.destination_id == user.unit_id
            and found.state == found.State.IN_TRANSIT,
            "can_deliver": user.can("shipment.create") and found.origin_id == user.unit_id,
        },
    )


@login_required
@require_POST
def receive(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "shipment.receive")
    found = selectors.shipment_get(user, pk)
    notes = {
        key[5:]: request.POST.get(key, "").strip()
        for key in request.POST
        if key.startswith("note_") and request.POST.get(key, "").strip()
    }
    try:
        services.shipment_receive(
            actor=user,
            shipment=found,
            missing=request.POST.getlist("missing"),
            damaged=request.POST.getlist("damaged"),
            notes=notes,
            note=request.POST.get("note", ""),
            request=request,
        )
    except ServiceError as error:
        messages.error(request, " ".join([error.message, *error.fields.values()]))
    else:
        messages.success(request, f"分发单 {pk} 已签收。")
    return redirect("handover:shipment", pk=pk)


@login_required
@require_POST
def delivered(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "shipment.create")
    selectors.shipment_get(user, pk)
    try:
        application = services.postal_delivered(
            actor=user, tracking_number=request.POST.get("tracking_number", ""), request=request
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"受理号 {application.number} 已登记妥投。")
    return redirect("handover:shipment", pk=pk)


@login_required
def forward(request: HttpRequest) -> HttpResponse:
    user = _user(request, "shipment.receive")
    if request.method == "POST":
        try:
            sent = services.shipments_forward(
                actor=user, numbers=request.POST.getlist("applications") or None, request=request
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"已转发，生成分发单 {len(sent)} 份。")
            return redirect(reverse("handover:shipments") + "?view=outgoing")
    return render(request, "handover/forward.html", {"items": selectors.forward_queue(user)})


# ---------------------------------------------------------------------------------------------
# 核验发放


@login_required
def ready(request: HttpRequest) -> HttpResponse:
    user = _user(request, "handover.perform", "verification.perform")
    return render(
        request,
        "handover/ready.html",
        {
            "page": selectors.ready_page(user, after=_after(request)),
            "counts": selectors.verification_counts(user),
        },
    )


def _application(user: User, pk: int, request: HttpRequest) -> Application:
    application = intake_selectors.application_get(user, pk)
    record(
        actor=user, action="application.view", object_type="intake.application", object_id=pk, request=request
    )
    return application


def _form_errors(form: FingerFields, error: ServiceError) -> None:
    for field, message in error.fields.items():
        target = {"finger": "finger_image", "signature": "signature_data"}.get(field, field)
        form.add_error(target if target in form.fields else None, message)
    if not error.fields or error.code in {"finger_mismatch"}:
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
    form = HandoverForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
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
                request=request,
            )
        except ServiceError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"受理号 {application.number} 已发放。")
            return redirect("handover:ready")
    status = 400 if request.method == "POST" else 200
    return render(request, "handover/handover.html", _context(application, form), status=status)


@login_required
def verifications(request: HttpRequest) -> HttpResponse:
    user = _user(request, "verification.perform")
    view = request.GET.get("view", "due")
    view = view if view in selectors.VERIFICATION_VIEWS else "due"
    page = selectors.verifications_page(user, view, after=request.GET.get("after") or None)
    return render(
        request,
        "handover/verifications.html",
        {
            "page": page,
            "view": view,
            "tabs": selectors.VERIFICATION_VIEWS,
            "counts": selectors.verification_counts(user),
            "today": timezone.localdate(),
        },
    )


@login_required
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request, "verification.perform")
    application = _application(user, pk, request)
    form = VerificationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        image = form.finger_bytes()
        try:
            services.verification_perform(
                actor=user,
                application=application,
                finger=services.FingerProbe(position=data["finger_position"], image=image) if image else None,
                card_checked=data["card_checked"],
                override_reason=data["override_reason"],
                request=request,
            )
        except ServiceError as error:
            _form_errors(form, error)
        else:
            messages.success(request, f"受理号 {application.number} 已核验。")
            return redirect("handover:verifications")
    verification = getattr(application, "verification", None)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "handover/verify.html", _context(application, form, verification=verification), status=status
    )
