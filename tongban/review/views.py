"""Review pages (审核签发): the work queue (我的待办 / 辖区在办) with search, counts, sorting and
numbered pages, and one item beside the register with the automatic comparisons and only the
actions the reviewer can take now. Every action answers on the item itself, in words; 不予签发
asks for confirmation first (a second step, so it works without JavaScript)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.core.errors import ServiceError
from tongban.intake import selectors as intake_selectors
from tongban.intake.models import Application
from tongban.intake.services import application_open
from tongban.review import selectors, services
from tongban.review.forms import DECISION_FORMS, IssueForm, RefuseForm, VerifyForm
from tongban.review.models import VerificationNote

OUTCOME_KEY = "review.outcome"


def _reviewer(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user.can("review.decide"):
        raise Http404
    return user


def _queue_url(queue_page: selectors.QueuePage, **changes: Any) -> str:
    """The queue with the page's scope, bucket and sort, changed by `changes`; first page."""
    params = {
        "scope": queue_page.scope,
        "bucket": queue_page.bucket,
        "sort": queue_page.sort.param,
        **changes,
    }
    defaults = {"scope": "mine", "bucket": "all", "sort": "due"}
    kept = {key: value for key, value in params.items() if value and defaults.get(key) != value}
    return "?" + urlencode(kept) if kept else "?"


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _reviewer(request)
    q = request.GET.get("q", "").strip()
    if q:
        try:
            hit = selectors.application_search(user, q)
        except selectors.SearchError:
            hit = None
        if hit is not None:  # the scanner's exact hit opens the item
            return redirect("review:item", pk=hit.pk)
    page = selectors.review_queue(
        user,
        request.GET.get("bucket", "all"),
        after=request.GET.get("after") or None,
        scope=request.GET.get("scope", "mine"),
        sort=request.GET.get("sort"),
        q=q,
        page=request.GET.get("page"),
    )
    rows = [(application, selectors.due_state(application, page.days)) for application in page.rows]
    scope_links = [
        (label, page.scope_counts.get(key, 0), _queue_url(page, scope=key, bucket="all"), key == page.scope)
        for key, label in selectors.SCOPES.items()
    ]
    bucket_links = [
        (label, page.counts.get(key, 0), _queue_url(page, bucket=key), key == page.bucket)
        for key, label in selectors.BUCKETS.items()
    ]
    sort_links = {}
    for key, label in selectors.SORT_LABELS.items():
        active = page.sort.key == key
        flip = f"-{key}" if active and not page.sort.descending else key
        sort_links[key] = (label, _queue_url(page, sort=flip), active, page.sort.descending)

    def page_url(link: selectors.PageLink | None) -> str:
        if link is None:
            return ""
        return _queue_url(page, after=link.after or "", page=str(link.number) if link.after else "")

    return render(
        request,
        "review/queue.html",
        {
            "page": page,
            "rows": rows,
            "scope_links": scope_links,
            "bucket_links": bucket_links,
            "sort_links": sort_links,
            "page_links": [(link.number, page_url(link), link.current) for link in page.links],
            "previous_url": page_url(page.previous),
            "next_url": page_url(page.next),
            "first_url": page_url(page.first),
            "last_url": _queue_url(page, page="last") if page.last else "",
            "search_help": selectors.SEARCH_HELP,
        },
    )


def _material_names(codes: list[str]) -> list[str]:
    names = selectors.material_names()
    return [names.get(code, "其他材料") for code in codes]


def _render_item(
    request: HttpRequest,
    user: User,
    pk: int,
    *,
    bound: dict[str, Any] | None = None,
    error: str = "",
    confirm: RefuseForm | None = None,
    unsent: str = "",
    status: int = 200,
) -> HttpResponse:
    file = selectors.review_file(user, pk)
    application = file.application
    application_open(viewer=user, application=application, how="review")
    actions = selectors.review_actions(user, application)
    initial = {"step": application.review_step}
    forms = {
        "issue": IssueForm(initial=initial),
        "verify": VerifyForm(initial=initial),
        "refuse": RefuseForm(initial=initial),
        **(bound or {}),
    }
    outcome = request.session.pop(OUTCOME_KEY, None)
    if outcome and outcome.get("pk") != pk:
        outcome = None
    next_item = selectors.next_in_queue(user, exclude=pk) if outcome and outcome.get("decided") else None
    return render(
        request,
        "review/item.html",
        {
            "file": file,
            "application": application,
            "actions": actions,
            "events": intake_selectors.application_events(application),
            "fingers": intake_selectors.fingerprints(application),
            "finger_names": FINGER_POSITION_NAMES,
            "materials": _material_names(application.materials_shown),
            "chain": selectors.chain_steps(application, file.steps),
            "issue_form": forms["issue"],
            "verify_form": forms["verify"],
            "refuse_form": forms["refuse"],
            "confirm": confirm,
            "error": error,
            "unsent": unsent,
            "outcome": outcome,
            "next_item": next_item,
            "due_state": selectors.due_state(application, selectors.due_days()),
        },
        status=status,
    )


@login_required
def item(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_item(request, _reviewer(request), pk)


def _item(request: HttpRequest, pk: int) -> tuple[User, Application]:
    user = _reviewer(request)
    return user, selectors.review_application(user, pk)


def _done(request: HttpRequest, pk: int, text: str, *, decided: bool = False) -> HttpResponse:
    """The outcome in words, shown once on the item where the action was taken; after a
    decision with a link to the next item of 我的待办."""
    request.session[OUTCOME_KEY] = {"pk": pk, "text": text, "decided": decided}
    return redirect(reverse("review:item", args=[pk]) + "#decide")


@login_required
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _item(request, pk)
    try:
        services.review_take(actor=user, application=application)
    except ServiceError as error:
        return _render_item(request, user, pk, error=error.message, status=error.status)
    return _done(request, pk, "已领取办理，该事项由您办理。")


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _item(request, pk)
    try:
        services.review_release(actor=user, application=application)
    except ServiceError as error:
        return _render_item(request, user, pk, error=error.message, status=error.status)
    return _done(request, pk, "已退回待办，本单位其他审核人员可以领取。")


def outcome_text(application: Application, method: str = "") -> str:
    """What a decision did, as the reviewer reads it."""
    status = Application.Status
    if application.status == status.ISSUED:
        return f"已签发，签发机关{application.issuing_authority}，有效期限{application.validity_label}。"
    if application.status == status.REJECTED:
        return (
            f"已不予签发（{application.refusal_reason}），已退回受理单位{application.acceptance_unit.name}，"
            "由其告知申请人回户口所在地公安机关办理。"
        )
    if application.status == status.UNDER_VERIFICATION:
        how = VerificationNote.Method(method).label if method in VerificationNote.Method.values else "核实"
        return f"已记录核实情况（{how}），该事项仍由您办理。"
    return f"已审核通过，流转至{services.step_position(application)}。"


@login_required
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    user, application = _item(request, pk)
    decision = request.POST.get("decision", "")
    form_class = DECISION_FORMS.get(decision)
    if form_class is None:
        return _render_item(request, user, pk, error="请选择审核结论。", status=400)
    form = form_class(request.POST)
    typed = request.POST.get("reason", "")
    if not form.is_valid():
        return _render_item(request, user, pk, bound={decision: form}, status=400)
    data = form.cleaned_data
    code = data["refusal_reason"].code if decision == "refuse" else ""
    if isinstance(form, RefuseForm) and "edit" in request.POST:  # 返回修改
        return _render_item(request, user, pk, bound={decision: form})
    try:
        if isinstance(form, RefuseForm) and not data["confirm"]:
            services.refusal_check(code=code, remark=data["reason"])
            return _render_item(request, user, pk, bound={decision: form}, confirm=form)
        step = data["step"]
        match form.decision:
            case services.Decision.REFUSE:
                result = services.review_refuse(
                    actor=user, application=application, step=step, refusal_reason=code, remark=data["reason"]
                )
            case services.Decision.VERIFY:
                result = services.review_record_verification(
                    actor=user, application=application, step=step, method=data["method"], note=data["reason"]
                )
            case services.Decision.ISSUE:
                result = services.review_approve(
                    actor=user, application=application, step=step, reason=data["reason"]
                )
    except ServiceError as error:
        if error.code == "step_decided":  # offer the form again for the step the item is at now
            data = request.POST.copy()
            data["step"] = str(
                Application.objects.filter(pk=pk).values_list("review_step", flat=True).first()
            )
            form = form_class(data)
            form.is_valid()
        for name, message in error.fields.items():
            form.add_error(name if name in form.fields else None, message)
        return _render_item(
            request,
            user,
            pk,
            bound={decision: form},
            error="" if error.fields else error.message,
            unsent=typed,
            status=error.status,
        )
    return _done(request, pk, outcome_text(result, data.get("method", "")), decided=True)
