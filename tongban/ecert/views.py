"""电子证照 pages (docs/ecert.md).

Public, no login (under /guide/ecert/): the holder proves who they are and sees their
certificate as a QR code, a new code at every load (a few minutes' validity on the screen, the
page reloading itself before it runs out) or a printable one valid for a day; anyone checks a
code on the verification page, which a scanned QR code opens. Staff (under /ecert/): find a
certificate by 证照编号, 受理号 or 卡号 and see its state; print the holder's code at the counter.
Every view of a certificate is audited; the public doors are rate-limited."""

from __future__ import annotations

import datetime
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from tongban.accounts import limits
from tongban.accounts.models import User
from tongban.audit.context import client_address
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_name
from tongban.ecert import selectors, services
from tongban.ecert.forms import FindForm, HolderForm, VerifyForm
from tongban.ecert.models import ElectronicCertificate

SESSION_KEY = "ecert_holder"


def _qr_svg(url: str, scale: int) -> str:
    return str(segno.make(url, error="m").svg_inline(scale=scale, title="电子证照二维码"))


def _verify_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("ecert_public:verify")) + "?t=" + token


def _code_context(
    request: HttpRequest, certificate: ElectronicCertificate, *, printed: bool, actor: User | None
) -> dict[str, Any]:
    """A fresh code of a valid certificate, its QR code and until when it is valid."""
    lifetime = services.print_lifetime() if printed else services.screen_lifetime()
    code = services.code_issue(
        certificate=certificate, lifetime=lifetime, actor=actor, kind="print" if printed else "screen"
    )
    url = _verify_url(request, code.token)
    # Reload a little before the code runs out, never sooner than every 30 s.
    refresh = max(30, int(lifetime.total_seconds()) - 30)
    return {
        "token": code.token,
        "qr_svg": _qr_svg(url, 6 if printed else 5),
        "expires_at": code.expires_at,
        "refresh_seconds": refresh,
    }


# ---------------------------------------------------------------------------------------------
# The holder (持证人)


def _proven(request: HttpRequest) -> ElectronicCertificate | None:
    held = request.session.get(SESSION_KEY)
    if not isinstance(held, dict) or float(held.get("until", 0)) < timezone.now().timestamp():
        return None
    return ElectronicCertificate.objects.filter(number=str(held.get("number", ""))).first()


@require_http_methods(["GET", "HEAD", "POST"])
def holder(request: HttpRequest) -> HttpResponse:
    """亮证: the holder proves who they are, then sees their certificate."""
    form = HolderForm(request.POST if request.method == "POST" else None)
    status = 200
    wait = ""
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                certificate = services.holder_open(
                    id_number=data["id_number"],
                    name=data["name"],
                    reference=data["reference"],
                    address=client_address(request),
                )
            except limits.Limited as limited:
                wait, status = limited.message, 429
            except ServiceError as error:
                form.add_error(None, error.message)
            else:
                request.session.cycle_key()
                until = timezone.now() + datetime.timedelta(minutes=_holder_minutes())
                request.session[SESSION_KEY] = {"number": certificate.number, "until": until.timestamp()}
                return redirect("ecert_public:show")
    context = {"form": form, "wait": wait, "proven": _proven(request), "holder_minutes": _holder_minutes()}
    return render(request, "ecert/holder.html", context, status=status)


def _holder_minutes() -> int:
    return int(settings.ECERT_HOLDER_MINUTES)


@require_safe
def show(request: HttpRequest) -> HttpResponse:
    """The holder's certificate: a code for the screen, or (`?print=1`) one to print."""
    certificate = _proven(request)
    if certificate is None:
        request.session.pop(SESSION_KEY, None)
        return redirect("ecert_public:holder")
    state = selectors.certificate_state(certificate)
    printed = request.GET.get("print") == "1"
    context: dict[str, Any] = {
        "certificate": certificate,
        "masked_name": mask_name(certificate.holder_name),
        "state": state,
        "state_label": selectors.state_label(state),
        "printed": printed,
        "print_hours": settings.ECERT_PRINT_HOURS,
    }
    if state == selectors.VALID:
        context.update(_code_context(request, certificate, printed=printed, actor=None))
    response = render(request, "ecert/show.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return redirect("ecert_public:holder")


# ---------------------------------------------------------------------------------------------
# The check (核验), for anyone


@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """核验电子证照: a code from the QR code's address (`?t=`) or pasted."""
    posted = request.method == "POST"
    form = VerifyForm(request.POST if posted else None)
    text = request.GET.get("t", "") if not posted else ""
    status = 200
    verdict = None
    wait = ""
    if posted:
        if form.is_valid():
            text = form.cleaned_data["token"]
        else:
            status = 400
    if text:
        try:
            verdict = services.code_verify(text=text, channel="page", address=client_address(request))
        except limits.Limited as limited:
            wait, status = limited.message, 429
    response = render(
        request, "ecert/verify.html", {"form": form, "verdict": verdict, "wait": wait}, status=status
    )
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------
# Staff


def _staff(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("person.view"):
        raise Http404
    return user


@login_required
@require_safe
def find(request: HttpRequest) -> HttpResponse:
    """查询电子证照 by 证照编号, 受理号 or 卡号 within the viewer's jurisdiction."""
    user = _staff(request)
    form = FindForm(request.GET if "q" in request.GET else None)
    missing = ""
    if form.is_bound and form.is_valid():
        found = selectors.certificate_find(user, form.cleaned_data["q"])
        if found is not None:
            return redirect("ecert:detail", certificate=found.number)
        missing = selectors.MISSING
    return render(request, "ecert/find.html", {"form": form, "missing": missing})


@login_required
@require_safe
def detail(request: HttpRequest, certificate: str) -> HttpResponse:
    user = _staff(request)
    found = selectors.certificate_get(user, certificate)
    services.certificate_open(viewer=user, certificate=found, how="detail")
    state = selectors.certificate_state(found)
    return render(
        request,
        "ecert/detail.html",
        {
            "certificate": found,
            "state": state,
            "state_label": selectors.state_label(state),
            "intact": selectors.record_intact(found),
            "print_hours": services.print_lifetime().total_seconds() // 3600,
        },
    )


@login_required
@require_safe
def staff_print(request: HttpRequest, certificate: str) -> HttpResponse:
    """The holder's code printed at the counter (a holder without a phone), valid for a day."""
    user = _staff(request)
    found = selectors.certificate_get(user, certificate)
    state = selectors.certificate_state(found)
    if state != selectors.VALID:
        messages.error(request, f"该电子证照{selectors.state_label(state)}，不能打印二维码。")
        return redirect("ecert:detail", certificate=found.number)
    services.certificate_open(viewer=user, certificate=found, how="print")
    context: dict[str, Any] = {
        "certificate": found,
        "masked_name": mask_name(found.holder_name),
        "state": state,
        "state_label": selectors.state_label(state),
        "printed": True,
        "staff": True,
        **_code_context(request, found, printed=True, actor=user),
    }
    response = render(request, "ecert/show.html", context)
    response["Cache-Control"] = "no-store"
    return response
