"""Counter pages (受理): the station's list (受理台账), the draft workspace, acceptance, 放弃本次受理,
the record with its documents, and 撤销.

The workspace is one form: the details, the photo, the 同框 photo and the fingers, each action a
button of that form posting to its own address. Every POST first saves the details as typed, so
nothing the clerk typed is lost whichever button was pressed. An action's result is shown in the
section where it was taken (a message tagged with that section); when something typed could not
be saved (a field refused, a finger refused) the page comes back as typed, with the message
beside the field, instead of redirecting."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages.storage.base import Message
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tongban import confirm
from tongban.accounts.models import User
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core import idnumber, regions
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.intake import capture, documents, rules, selectors, services
from tongban.intake.forms import (
    FINGER_OUTCOMES,
    DetailsForm,
    FingerForm,
    GuestForm,
    PhotoForm,
    ReasonForm,
    StartForm,
    material_choices,
    material_labels,
)
from tongban.intake.models import Application
from tongban.listing import BadCursor, pager, sort_headers
from tongban.registry import selectors as registry_selectors
from tongban.registry import services as registry_services

MAX_UPLOAD = 10 * 1024 * 1024
OUTCOME_LABELS = dict(FINGER_OUTCOMES)
COUNTER_TABS = {
    "all": "全部",
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
# Which field of the finger form a refusal of the finger concerns (the engine's own refusals: the image).
FINGER_ERROR_FIELDS = {"reason_required": "reason", "finger_order": "position", "bad_position": "position"}
COUNTER_COLUMNS = [("name", "姓名"), ("accepted", "受理时间")]


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 9 else None


@login_required
def counter(request: HttpRequest) -> HttpResponse:
    """The station's applications by state (受理台账): a search box a barcode scanner fills (a
    whole 受理号 or 公民身份号码 with one hit opens it), the tab's total, sortable columns,
    numbered keyset pages."""
    user = _user(request)
    if not user.can("application.view"):
        raise Http404
    q = request.GET.get("q", "").strip()[:60]
    view = request.GET.get("view", "")
    if view not in COUNTER_TABS:
        view = "all" if q else "draft"
    sort = request.GET.get("sort", "")
    number = _int(request.GET.get("page"))
    try:
        page = selectors.counter_page(
            user,
            view,
            q=q,
            sort=sort,
            after=request.GET.get("after") or None,
            before=request.GET.get("before") or None,
            page=number,
        )
    except BadCursor:  # an edited or outdated link: the page by its number
        page = selectors.counter_page(user, view, q=q, sort=sort, page=number)
    search = selectors.counter_search(q)
    if search.identifies and page.total == 1 and page.rows:
        return redirect("intake:detail", pk=page.rows[0].pk)
    params = {"view": view, "q": q, "sort": page.sort}
    return render(
        request,
        "intake/counter.html",
        {
            "page": page,
            "view": view,
            "tabs": COUNTER_TABS,
            "q": q,
            "search": search,
            "can_accept": user.can("application.accept"),
            "headers": sort_headers(
                page.sort,
                COUNTER_COLUMNS,
                {key: value for key, value in params.items() if key != "sort" and value},
                descending_first={"accepted"},
            ),
            "pager": pager(page, params),
            # A search covers every state (“全部”); the tabs then narrow it down.
            "search_hidden": {"view": "all", "sort": page.sort},
            "search_clear": "?" + urlencode({"view": view, "sort": page.sort}),
            "tab_query": urlencode({key: value for key, value in params.items() if key != "view" and value}),
        },
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
        # After 外省户籍人员登记 the number comes back in the query, ready to look up.
        initial = {
            "type": rules.ApplicationType.FIRST.value,
            "id_number": request.GET.get("id_number", "")[:40],
        }
        form = StartForm(initial=initial)
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
    guest_url = ""
    if form.is_valid():
        number = form.cleaned_data["id_number"]
        try:
            person = registry_selectors.person_lookup(user, number)
        except Http404:
            # 跨省通办: a number of a province we exchange with may be registered from the 户口簿.
            guest_unit = registry_selectors.guest_province_unit(number)
            if guest_unit is not None:
                guest_url = (
                    reverse("intake:guest") + "?" + urlencode({"id_number": idnumber.canonical(number)})
                )
            form.add_error(
                "id_number",
                f"人口信息中没有该公民身份号码。该号码属{regions.place_name(guest_unit.code)}，"
                "可按户口簿登记为外省户籍人员后受理（跨省通办）。"
                if guest_unit is not None
                else "人口信息中没有该公民身份号码。请核对号码，或先到户籍地办理户口登记。",
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
                    )
                except ServiceError as error:
                    form.add_error("reason" if "reason" in error.fields else None, error.message)
                else:
                    return redirect("intake:detail", pk=application.pk)
            registry_services.person_open(viewer=user, person=person, how="counter_start")
            applicant = selectors.start_applicant(person)
            proposal = applicant.proposal
            # Fill in what the register suggests; where it leaves the reason open (a card held),
            # keep the clerk's choice unless it is a first application.
            if action == "lookup" and (proposal.reason_code or data.get("type") != proposal.application_type):
                data["type"], data["reason"] = proposal.application_type.value, proposal.reason_code
                form = StartForm(data, mode="lookup")
                form.is_valid()
    context = {"form": form, "applicant": applicant, "guest_url": guest_url}
    if action == "summary":
        return render(request, "intake/_start_applicant.html", context)
    return render(request, "intake/start.html", context)


@login_required
def guest(request: HttpRequest) -> HttpResponse:
    """外省户籍人员登记 (跨省通办): a resident of another province, not in our register, entered
    from their 户口簿; then back to 新建受理 with the number, to accept as for anybody."""
    user = _user(request)
    if not user.can("application.accept"):
        raise Http404
    if request.method != "POST":
        form = GuestForm(initial=GuestForm.initial_for(request.GET.get("id_number", "")[:40]))
        return render(request, "intake/guest.html", {"form": form})
    form = GuestForm(request.POST)
    if form.is_valid():
        try:
            person = registry_services.guest_person_register(actor=user, **form.cleaned_data)
        except ServiceError as error:
            show_refusal(form, error)
        else:
            messages.success(request, f"已登记外省户籍人员 {person.name}，请继续受理。")
            return redirect(reverse("intake:start") + "?" + urlencode({"id_number": person.id_number}))
    return render(request, "intake/guest.html", {"form": form})


def _keep_reason_of_type(data: QueryDict) -> QueryDict:
    """The typed-in choices, less a reason that is not one of the chosen type's (kept when it is)."""
    if data.get("reason") not in StartForm(data, mode="refresh").reason_codes:
        data["reason"] = ""
    return data


# ---------------------------------------------------------------------------------------------
# The draft workspace

SECTIONS = ("details", "photo", "guardian", "fingers", "accept")


def _say(request: HttpRequest, level: int, section: str, text: str, *, extra: str = "") -> None:
    """A result for the section where the action was taken."""
    messages.add_message(request, level, text, extra_tags=f"section-{section} {extra}".strip())


def _sorted_messages(request: HttpRequest) -> tuple[list[Message], dict[str, list[Message]], set[str]]:
    """This request's messages: those for the top of the page, those of each section, and the
    finger positions just recorded (their rows are marked)."""
    page: list[Message] = []
    sections: dict[str, list[Message]] = defaultdict(list)
    recorded: set[str] = set()
    for message in messages.get_messages(request):
        tags = message.extra_tags.split()
        section = next((tag.removeprefix("section-") for tag in tags if tag.startswith("section-")), "")
        recorded.update(tag.removeprefix("finger-") for tag in tags if tag.startswith("finger-"))
        (sections[section] if section in SECTIONS else page).append(message)
    return page, dict(sections), recorded


def _photo_result(application: Application) -> dict[str, Any] | None:
    """The result of the latest photo check, kept with the application."""
    report = application.photo_report or {}
    if not report:
        return None
    return {
        "passed": bool(report.get("passed")),
        "conformed": bool(report.get("conformed")),
        "messages": [rule["message"] for rule in report.get("rules", []) if not rule["passed"]],
    }


def _workspace(
    request: HttpRequest,
    user: User,
    application: Application,
    *,
    details: DetailsForm | None = None,
    finger_form: FingerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The workspace of a draft; `details` and `finger_form` as typed when they come back."""
    services.application_open(viewer=user, application=application, how="counter")
    state = selectors.counter_state(application)
    checklist = services.checklist_for(application)
    details = details or DetailsForm(
        initial=DetailsForm.initial_for(application), material_choices=material_choices(checklist)
    )
    next_positions = state.finger_plan.next_positions
    finger_form = finger_form or FingerForm(
        prefix="finger", initial={"position": next_positions[0] if next_positions else "11"}
    )
    page_messages, section_messages, recorded = _sorted_messages(request)
    context = {
        "application": application,
        "state": state,
        "details": details,
        "photo_form": PhotoForm(prefix="photo"),
        "guardian_form": PhotoForm(prefix="guardian"),
        "finger_form": finger_form,
        "fingers": selectors.fingerprints(application),
        "finger_names": FINGER_POSITION_NAMES,
        "next_fingers": [(pos, FINGER_POSITION_NAMES.get(pos, pos)) for pos in next_positions],
        "face_hits": selectors.counter_face_hits(application),
        "photo_result": _photo_result(application),
        "page_messages": page_messages,
        "section_messages": section_messages,
        "recorded": recorded,
    }
    return render(request, "intake/workspace.html", context, status=status)


def _record(
    request: HttpRequest,
    user: User,
    application: Application,
    *,
    reason_form: ReasonForm | None = None,
    note: str = "",
    status: int = 200,
) -> HttpResponse:
    """The record of an application (anything but a draft at its own counter) with its history."""
    services.application_open(viewer=user, application=application, how="counter")
    own_counter = user.can("application.accept") and application.acceptance_unit_id == user.unit_id
    can_withdraw = own_counter and application.is_open and user.can("application.withdraw")
    return render(
        request,
        "intake/detail.html",
        {
            "application": application,
            "events": selectors.application_events(application),
            "fingers": selectors.fingerprints(application),
            "finger_names": FINGER_POSITION_NAMES,
            "materials": [material_labels().get(code, code) for code in application.materials_shown],
            "own_counter": own_counter,
            "can_withdraw": can_withdraw,
            "reason_form": reason_form or ReasonForm(initial={"reason": request.GET.get("reason", "")[:500]}),
            "note": note,
            "face_hits": selectors.counter_face_hits(application),
            # The station that charged the fee reprints its 票据 (finance decides who may).
            "payment": selectors.application_payment(application) if own_counter else None,
        },
        status=status,
    )


def _is_workspace(user: User, application: Application) -> bool:
    return (
        application.status == Application.Status.DRAFT
        and user.can("application.accept")
        and application.acceptance_unit_id == user.unit_id
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft at its own counter is the workspace; anything else is the record with its history."""
    user = _user(request)
    application = selectors.application_get(user, pk)
    if _is_workspace(user, application):
        return _workspace(request, user, application)
    return _record(request, user, application)


def _application(request: HttpRequest, pk: int) -> tuple[User, Application]:
    user = _user(request)
    return user, selectors.application_get(user, pk)


def _back(pk: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("intake:detail", kwargs={"pk": pk}) + (f"#{anchor}" if anchor else ""))


def _details_form(request: HttpRequest, application: Application) -> DetailsForm:
    return DetailsForm(
        request.POST,
        initial=DetailsForm.initial_for(application),
        material_choices=material_choices(services.checklist_for(application)),
    )


def _save_typed(
    request: HttpRequest, user: User, application: Application, *, announce: bool = False
) -> tuple[Application, DetailsForm | None]:
    """Save the details as typed before the action the button asks for: every form of the
    workspace carries them (`details=1`). Returns the application as it now is and, when what
    was typed could not be saved, the form with its errors to show again as typed."""
    if request.POST.get("details") != "1" and not announce:
        return application, None
    form = _details_form(request, application)
    if not form.is_valid():
        return application, form
    if form.has_changed() and application.status == Application.Status.DRAFT:
        try:
            application = services.application_update(
                actor=user, application=application, changes=form.changes()
            )
        except ServiceError as error:
            show_refusal(form, error)
            return application, form
        announce = True
    if announce:
        _say(request, messages.SUCCESS, "details", "申请信息已保存。")
    return application, None


def _after(
    request: HttpRequest,
    user: User,
    pk: int,
    *,
    anchor: str,
    details: DetailsForm | None = None,
    finger_form: FingerForm | None = None,
    finger_recorded: bool = False,
) -> HttpResponse:
    """After an action: back to the workspace at its section, unless something typed could not be
    saved: the details refused (`details`), a finger refused (`finger_form`), or a finger's
    reason typed but not recorded because another button was pressed. Then the workspace at
    once, as typed (400 when something was refused)."""
    refused = details is not None or finger_form is not None
    if finger_form is None and not finger_recorded:
        typed = FingerForm(request.POST, prefix="finger")
        finger_form = typed if typed.typed() else None
    if details is None and finger_form is None:
        return _back(pk, anchor)
    application = selectors.application_get(user, pk)
    if not _is_workspace(user, application):  # accepted or abandoned meanwhile
        return _back(pk)
    return _workspace(
        request, user, application, details=details, finger_form=finger_form, status=400 if refused else 200
    )


@login_required
@require_POST
def save_details(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    application, refused = _save_typed(request, user, application, announce=True)
    return _after(request, user, pk, anchor="details", details=refused)


def _upload(request: HttpRequest, prefix: str) -> bytes | None:
    form = PhotoForm(request.POST, request.FILES, prefix=prefix)
    if not form.is_valid():
        return None
    upload = form.cleaned_data["image"]
    if upload is None or upload.size > MAX_UPLOAD:
        return None
    return bytes(upload.read())


@login_required
@require_POST
def upload_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """检测并保存 the photo; its result (kept with the application) shows in the photo section."""
    user, application = _application(request, pk)
    application, refused = _save_typed(request, user, application)
    image = _upload(request, "photo")
    if image is None:
        _say(request, messages.ERROR, "photo", "请选择不超过 10 MB 的 JPEG 相片文件。")
    else:
        try:
            capture.application_photo_attach(actor=user, application=application, image=image)
        except ServiceError as error:
            _say(request, messages.ERROR, "photo", error.message)
    return _after(request, user, pk, anchor="photo", details=refused)


@login_required
@require_POST
def upload_guardian_photo(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    application, refused = _save_typed(request, user, application)
    image = _upload(request, "guardian")
    if image is None:
        _say(request, messages.ERROR, "guardian", "请选择不超过 10 MB 的同框相片文件。")
    else:
        try:
            outcome = capture.application_guardian_photo_attach(
                actor=user, application=application, image=image
            )
        except ServiceError as error:
            _say(request, messages.ERROR, "guardian", error.message)
        else:
            if outcome.passed:
                _say(request, messages.SUCCESS, "guardian", "同框相片已采集：申请人与监护人面部均可用。")
            else:
                _say(
                    request,
                    messages.ERROR,
                    "guardian",
                    "同框相片不可用，请重新拍摄：" + "；".join(outcome.messages),
                )
    return _after(request, user, pk, anchor="guardian", details=refused)


@login_required
@require_POST
def record_finger(request: HttpRequest, pk: int) -> HttpResponse:
    """登记该指: the finger's result shows in the finger section and its row; a refused finger
    comes back with what was chosen and typed for it."""
    user, application = _application(request, pk)
    application, refused = _save_typed(request, user, application)
    form = FingerForm(request.POST, request.FILES, prefix="finger")
    if not form.is_valid():
        _say(request, messages.ERROR, "fingers", "请选择指位和采集结果。")
        return _after(request, user, pk, anchor="fingers", details=refused, finger_form=form)
    position = form.cleaned_data["position"]
    name = FINGER_POSITION_NAMES.get(position, position)
    outcome = rules.FingerOutcome(form.cleaned_data["outcome"])
    upload = form.cleaned_data.get("image")
    if outcome == rules.FingerOutcome.REGISTERED and (upload is None or upload.size > MAX_UPLOAD):
        form.add_error("image", "注册成功须上传指纹图像（不超过 10 MB）。")
        _say(request, messages.ERROR, "fingers", f"{name}：注册成功须上传指纹图像（不超过 10 MB）。")
        return _after(request, user, pk, anchor="fingers", details=refused, finger_form=form)
    finger = capture.FingerCapture(
        position=position,
        outcome=outcome,
        image=bytes(upload.read())
        if upload is not None and outcome == rules.FingerOutcome.REGISTERED
        else None,
        reason=form.cleaned_data["reason"],
    )
    try:
        capture.application_fingers_record(actor=user, application=application, captures=[finger])
    except ServiceError as error:
        form.add_error(
            FINGER_ERROR_FIELDS.get(error.code, "image"), error.fields.get(position, error.message)
        )
        _say(request, messages.ERROR, "fingers", f"{name}：{error.message}")
        return _after(request, user, pk, anchor="fingers", details=refused, finger_form=form)
    _say(
        request,
        messages.SUCCESS,
        "fingers",
        f"{name}：{OUTCOME_LABELS[outcome.value]}。",
        extra=f"finger-{position}",
    )
    return _after(request, user, pk, anchor="fingers", details=refused, finger_recorded=True)


@login_required
@require_POST
def reset_fingers(request: HttpRequest, pk: int) -> HttpResponse:
    """重新采集全部指纹 (asks first: the fingers recorded are deleted)."""
    user, application = _application(request, pk)
    application, refused = _save_typed(request, user, application)
    if refused is None and not confirm.confirmed(request):
        return confirm.ask(
            request,
            title="重新采集全部指纹",
            question="已登记的全部指纹将被删除，须从右手拇指起重新采集。确定重新采集？",
            confirm_label="删除并重新采集",
            cancel_url=reverse("intake:detail", args=[pk]) + "#fingers",
            details=[("申请人", application.name)],
        )
    if refused is None:
        try:
            capture.application_fingers_record(actor=user, application=application, captures=[], replace=True)
        except ServiceError as error:
            _say(request, messages.ERROR, "fingers", error.message)
        else:
            _say(request, messages.SUCCESS, "fingers", "已删除全部指纹，请从右手拇指起重新采集。")
    return _after(request, user, pk, anchor="fingers", details=refused)


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    application, refused = _save_typed(request, user, application)
    if refused is not None:
        _say(request, messages.ERROR, "accept", "申请信息有误，尚未保存，未受理：请先按标出的字段修改。")
        return _after(request, user, pk, anchor="accept", details=refused)
    try:
        application = services.application_accept(actor=user, application=application)
    except ServiceError as error:
        _say(request, messages.ERROR, "accept", error.message)
        return _after(request, user, pk, anchor="accept")
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
def abandon(request: HttpRequest, pk: int) -> HttpResponse:
    """放弃本次受理 (asks first). The details typed are saved before asking, so that 取消 comes
    back to them."""
    user, application = _application(request, pk)
    if not confirm.confirmed(request):
        application, _refused = _save_typed(request, user, application)
        return confirm.ask(
            request,
            title="放弃本次受理",
            question="放弃后本草稿转为“已撤销”，已采集的相片和指纹随之删除，不可恢复。确定放弃本次受理？",
            confirm_label="放弃受理",
            cancel_url=reverse("intake:detail", args=[pk]) + "#accept",
            details=[("申请人", application.name), ("公民身份号码", application.masked_id_number)],
        )
    try:
        services.application_abandon(actor=user, application=application)
    except ServiceError as error:
        if error.status == 404:  # another station's draft: not this clerk's to see
            raise Http404(error.message) from error
        messages.error(request, error.message)
        return _back(pk)
    messages.success(request, f"已放弃{application.name}的本次受理，草稿已撤销。")
    return redirect(reverse("intake:counter") + "?view=draft")


def _withdraw_question(application: Application) -> str:
    refund = (
        f"；已收取的工本费 {application.fee_amount:g} 元予以退还"
        if application.number and application.fee_amount
        else ""
    )
    return f"撤销后申领即告终止，不可恢复{refund}。确定撤销？"


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """撤销 (asks first); a refused withdrawal comes back with the reason typed."""
    user, application = _application(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _record(request, user, application, reason_form=form, status=400)
    reason = form.cleaned_data["reason"]
    if not confirm.confirmed(request):
        back = reverse("intake:detail", args=[pk]) + "?" + urlencode({"reason": reason}) + "#withdraw"
        return confirm.ask(
            request,
            title="撤销申领",
            question=_withdraw_question(application),
            confirm_label="撤销申领",
            cancel_url=back,
            details=[
                ("受理号", application.number or "（草稿）"),
                ("申请人", application.name),
                ("撤销原因", reason),
            ],
        )
    try:
        services.application_withdraw(actor=user, application=application, reason=reason)
    except ServiceError as error:
        if error.status == 404:
            raise Http404(error.message) from error
        if "reason" in error.fields:
            form.add_error("reason", error.fields["reason"])
        else:  # the application has moved on (issued, refused, withdrawn meanwhile)
            messages.error(request, error.message)
        return _record(request, user, application, reason_form=form, status=error.status)
    messages.success(request, "申领已撤销。")
    return _back(pk)


@login_required
@require_POST
def refusal_notified(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _application(request, pk)
    note = request.POST.get("note", "")[:200]
    try:
        services.application_refusal_notified(actor=user, application=application, note=note)
    except ServiceError as error:
        messages.error(request, error.message)
        return _record(request, user, application, note=note, status=error.status)
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
        action=AuditAction.APPLICATION_PRINT,
        object_type="intake.application",
        object_id=pk,
        detail={"document": kind},
    )
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{application.number}-{kind}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
