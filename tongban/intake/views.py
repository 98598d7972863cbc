"""Counter pages (受理): start an application, fill the draft section by section, accept it, print
its documents, withdraw it, and the station's own list. Each POST calls one service and redirects;
a refusal is shown beside the field it concerns and nothing entered is lost."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.audit.services import record
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core.errors import ServiceError
from tongban.intake import documents, rules, selectors, services
from tongban.intake.forms import (
    FINGER_OUTCOMES,
    DetailsForm,
    FingerForm,
    PhotoForm,
    ReasonForm,
    StartForm,
    material_choices,
)
from tongban.intake.models import Application
from tongban.registry import selectors as registry_selectors
from tongban.registry import services as registry_services

MAX_UPLOAD = 10 * 1024 * 1024
OUTCOME_LABELS = dict(FINGER_OUTCOMES)
COUNTER_TABS = {
    "draft": "草稿",
    "in_review": "审核中",
    "refused_unnotified": "不予签发待告知",
    "refused": "不予签发",
    "recollect": "待重新采集",
    "issued": "签发制证",
    "distribution": "分发待领",
    "handed_over": "已发放",
    "withdrawn": "已撤销",
}


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def _show_error(request: HttpRequest, error: ServiceError) -> None:
    messages.error(request, error.message)


@login_required
def counter(request: HttpRequest) -> HttpResponse:
    """The station's applications by state (受理台账)."""
    user = _user(request)
    if not user.can("application.view"):
        raise Http404
    view = request.GET.get("view", "draft")
    if view not in COUNTER_TABS:
        view = "draft"
    after = request.GET.get("after", "")
    page = selectors.counter_page(user, view, after=int(after) if after.isdigit() else None)
    return render(
        request,
        "intake/counter.html",
        {"page": page, "view": view, "tabs": COUNTER_TABS, "can_accept": user.can("application.accept")},
    )


START_ACTIONS = ("start", "lookup", "summary", "refresh")


@login_required
def start(request: HttpRequest) -> HttpResponse:
    """新建受理: the ID number and the kind of application; the register fills the rest.

    One form, four POST actions: `start` opens the draft; `lookup` (查询证件情况, also the Enter
    key in the number field) reads the register, shows the person's cards with their state and
    fills in the proposed type and reason; `summary` (HTMX, when the number changes) shows the
    same without touching the choices; `refresh` lists the reasons of a newly chosen type (HTMX
    on the type's change; a button where JavaScript is off)."""
    user = _user(request)
    if not user.can("application.accept"):
        raise Http404
    if request.method != "POST":
        form = StartForm(initial={"type": rules.ApplicationType.FIRST.value})
        return render(request, "intake/start.html", {"form": form, "applicant": None})
    action = request.POST.get("action") or "start"
    if action not in START_ACTIONS:
        action = "start"
    data = request.POST.copy()
    if action == "refresh":
        if request.headers.get("HX-Request") and data.get("type") == data.get("shown_type"):
            return HttpResponse(status=204)  # the list on the page is this type's already
        form = StartForm(_keep_reason_of_type(data), mode="refresh")
        template = "intake/_start_reason.html" if request.headers.get("HX-Request") else "intake/start.html"
        return render(request, template, {"form": form, "applicant": None})
    form = StartForm(_keep_reason_of_type(data) if action != "start" else data, mode=action)
    applicant = None
    if form.is_valid():
        try:
            person = registry_selectors.person_lookup(user, form.cleaned_data["id_number"])
        except Http404:
            form.add_error(
                "id_number", "人口信息中没有该公民身份号码。请核对号码，或先到户籍地办理户口登记。"
            )
        except ServiceError as error:  # 重号 under correction
            form.add_error("id_number", error.message)
        else:
            if action == "start":
                try:
                    application = services.application_start(
                        actor=user,
                        person=person,
                        application_type=rules.ApplicationType(form.cleaned_data["type"]),
                        reason_code=form.cleaned_data["reason"],
                        request=request,
                    )
                except ServiceError as error:
                    form.add_error("reason" if "reason" in error.fields else None, error.message)
                else:
                    return redirect("intake:detail", pk=application.pk)
            registry_services.person_open(viewer=user, person=person, request=request, how="counter_start")
            applicant = selectors.start_applicant(person)
            proposal = applicant.proposal
            # Fill in what the register suggests; where it leaves the reason open (a card held),
            # keep the clerk's choice unless it is a first application.
            if action == "lookup" and (proposal.reason_code or data.get("type") != proposal.application_type):
                data["type"], data["reason"] = proposal.application_type.value, proposal.reason_code
                form = StartForm(data, mode="lookup")
                form.is_valid()
    if action == "summary":
        return render(request, "intake/_start_applicant.html", {"form": form, "applicant": applicant})
    return render(request, "intake/start.html", {"form": form, "applicant": applicant})


def _keep_reason_of_type(data: QueryDict) -> QueryDict:
    """The typed-in choices, less a reason that is not one of the chosen type's (kept when it is)."""
    if data.get("reason") not in StartForm(data, mode="refresh").reason_codes:
        data["reason"] = ""
    return data


def _counter_context(application: Application, details: DetailsForm | None = None) -> dict[str, Any]:
    state = selectors.counter_state(application)
    checklist = services.checklist_for(application)
    details = details or DetailsForm(
        initial=DetailsForm.initial_for(application), material_choices=material_choices(checklist)
    )
    fingers = selectors.fingerprints(application)
    return {
        "application": application,
        "state": state,
        "details": details,
        "photo_form": PhotoForm(),
        "finger_form": FingerForm(
            initial={
                "position": state.finger_plan.next_positions[0] if state.finger_plan.next_positions else "11"
            }
        ),
        "fingers": fingers,
        "finger_names": FINGER_POSITION_NAMES,
        "next_fingers": [
            (pos, FINGER_POSITION_NAMES.get(pos, pos)) for pos in state.finger_plan.next_positions
        ],
        "face_hits": selectors.counter_face_hits(application),
        "photo_messages": [
            rule["message"]
            for rule in (application.photo_report or {}).get("rules", [])
            if not rule["passed"]
        ],
    }


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft at its own counter is the workspace; anything else is the record with its history."""
    user = _user(request)
    application = selectors.application_get(user, pk)
    record(
        actor=user, action="application.view", object_type="intake.application", object_id=pk, request=request
    )
    own_counter = user.can("application.accept") and application.acceptance_unit_id == user.unit_id
    if application.status == Application.Status.DRAFT and own_counter:
        return render(request, "intake/workspace.html", _counter_context(application))
    return render(
        request,
        "intake/detail.html",
        {
            "application": application,
            "events": selectors.application_events(application),
            "fingers": selectors.fingerprints(application),
            "finger_names": FINGER_POSITION_NAMES,
            "own_counter": own_counter,
            "can_withdraw": own_counter and application.is_open and user.can("application.withdraw"),
            "reason_form": ReasonForm(),
            "face_hits": selectors.counter_face_hits(application),
            # The station that charged the fee reprints its 票据 (finance decides who may).
            "payment": selectors.application_payment(application) if own_counter else None,
        },
    )


def _application(request: HttpRequest, pk: int) -> tuple[User, Application]:
    user = _user(request)
    return user, selectors.application_get(user, pk)


def _back(pk: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("intake:detail", kwargs={"pk": pk}) + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def save_details(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    checklist = services.checklist_for(application)
    form = DetailsForm(request.POST, material_choices=material_choices(checklist))
    if form.is_valid():
        try:
            services.application_update(
                actor=user, application=application, changes=form.changes(), request=request
            )
        except ServiceError as error:
            for field, message in error.fields.items():
                form.add_error(field if field in form.fields else None, message)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            messages.success(request, "申请信息已保存。")
            return _back(pk, "details")
    # Re-show the page with what was typed and the errors beside the fields.
    return render(request, "intake/workspace.html", _counter_context(application, form), status=400)


def _upload(request: HttpRequest) -> bytes | None:
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        return None
    upload = form.cleaned_data["image"]
    if upload.size > MAX_UPLOAD:
        return None
    return bytes(upload.read())


@login_required
@require_POST
def upload_photo(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    image = _upload(request)
    if image is None:
        messages.error(request, "请选择不超过 10 MB 的 JPEG 相片文件。")
        return _back(pk, "photo")
    try:
        outcome = services.application_photo_attach(
            actor=user, application=application, image=image, request=request
        )
    except ServiceError as error:
        _show_error(request, error)
    else:
        if outcome.passed:
            messages.success(
                request, "相片符合制证标准" + ("（已自动裁切为标准尺寸）。" if outcome.conformed else "。")
            )
        else:
            messages.error(request, "相片不符合制证标准，请重新拍摄：" + "；".join(outcome.messages))
    return _back(pk, "photo")


@login_required
@require_POST
def upload_guardian_photo(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    image = _upload(request)
    if image is None:
        messages.error(request, "请选择不超过 10 MB 的相片文件。")
        return _back(pk, "guardian")
    try:
        outcome = services.application_guardian_photo_attach(
            actor=user, application=application, image=image, request=request
        )
    except ServiceError as error:
        _show_error(request, error)
    else:
        if outcome.passed:
            messages.success(request, "同框相片已采集。")
        else:
            messages.error(request, "同框相片不可用，请重新拍摄：" + "；".join(outcome.messages))
    return _back(pk, "guardian")


@login_required
@require_POST
def record_finger(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    form = FingerForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择指位和采集结果。")
        return _back(pk, "fingers")
    outcome = rules.FingerOutcome(form.cleaned_data["outcome"])
    upload = form.cleaned_data.get("image")
    if outcome == rules.FingerOutcome.REGISTERED and (upload is None or upload.size > MAX_UPLOAD):
        messages.error(request, "注册成功须上传指纹图像（不超过 10 MB）。")
        return _back(pk, "fingers")
    capture = services.FingerCapture(
        position=form.cleaned_data["position"],
        outcome=outcome,
        image=bytes(upload.read())
        if upload is not None and outcome == rules.FingerOutcome.REGISTERED
        else None,
        reason=form.cleaned_data["reason"],
    )
    try:
        services.application_fingers_record(
            actor=user, application=application, captures=[capture], request=request
        )
    except ServiceError as error:
        _show_error(request, error)
    else:
        name = FINGER_POSITION_NAMES.get(capture.position, capture.position)
        messages.success(request, f"{name}：{OUTCOME_LABELS[outcome.value]}。")
    return _back(pk, "fingers")


@login_required
@require_POST
def reset_fingers(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    try:
        services.application_fingers_record(
            actor=user, application=application, captures=[], replace=True, request=request
        )
    except ServiceError as error:
        _show_error(request, error)
    return _back(pk, "fingers")


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    try:
        application = services.application_accept(actor=user, application=application, request=request)
    except ServiceError as error:
        _show_error(request, error)
        return _back(pk, "accept")
    messages.success(
        request,
        f"已受理，受理号 {application.number}。已流转至户籍地审核签发，"
        f"办理期限 {application.review_due:%Y年%m月%d日}"
        + ("（暂估：该年节假日安排未录入）" if application.review_due_provisional else "")
        + "。",
    )
    return _back(pk)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写撤销原因。")
        return _back(pk)
    try:
        services.application_withdraw(
            actor=user, application=application, reason=form.cleaned_data["reason"], request=request
        )
    except ServiceError as error:
        _show_error(request, error)
    else:
        messages.success(request, "申领已撤销。")
    return _back(pk)


@login_required
@require_POST
def refusal_notified(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    try:
        services.application_refusal_notified(
            actor=user, application=application, note=request.POST.get("note", ""), request=request
        )
    except ServiceError as error:
        _show_error(request, error)
    else:
        messages.success(request, "已登记：已告知申请人回户口所在地公安机关办理。")
    return _back(pk)


@login_required
def photo(request: HttpRequest, pk: int, which: str) -> HttpResponse:
    """The application's photo (or 同框 photo) for the pages that show it; never cached."""
    application = selectors.application_get(_user(request), pk)
    data = application.photo if which == "photo" else application.guardian_photo
    if data is None:
        raise Http404
    response = HttpResponse(bytes(data), content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    return response


DOCUMENTS = {
    "form": documents.registration_form_pdf,  # 居民身份证异地受理登记表
    "pledge": documents.pledge_pdf,  # 告知承诺书
    "receipt": documents.receipt_pdf,  # 领证回执
}


@login_required
def document(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    user = _user(request)
    application = selectors.application_get(user, pk)
    if kind not in DOCUMENTS or (kind == "pledge" and application.type != rules.ApplicationType.FIRST):
        raise Http404
    data = DOCUMENTS[kind](selectors.application_document(application))
    record(
        actor=user,
        action="application.print",
        object_type="intake.application",
        object_id=pk,
        detail={"document": kind},
        request=request,
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{application.number}-{kind}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
