"""Pages of the production centre (制证中心): the queue per acceptance unit, 调度打包, batches with
their data package, and feedback uploads with their report; plus the station's re-collection of
a photo the centre refused. Each POST calls one service and redirects (or shows the report)."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.core.errors import ServiceError
from tongban.forms import show_refusal
from tongban.intake import capture
from tongban.intake import selectors as intake_selectors
from tongban.intake.models import Application
from tongban.production import feedback as feedback_format
from tongban.production import selectors, services
from tongban.production.forms import BatchForm, FeedbackForm, RecollectForm
from tongban.production.models import Batch
from tongban.registry.models import Unit, centre_station_ids
from tongban.registry.worklist import Search, Worklist, list_params, search_posted

MAX_UPLOAD = 5 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024


def _operator(request: HttpRequest, action: str = "production.view") -> tuple[User, Unit]:
    """The operator and their centre; the pages answer 404 to everybody else (the API 403)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    try:
        return user, selectors.viewer_centre(user, action)
    except ServiceError as refused:
        raise Http404 from refused


def _unit_choices(centre: Unit) -> list[tuple[str, str]]:
    return [(row.code, f"{row.name}（{row.count} 件）") for row in selectors.queue_counts(centre)]


def _queue_page(
    request: HttpRequest, user: User, centre: Unit, *, form: BatchForm | None = None, status: int = 200
) -> HttpResponse:
    """待制证队列: counts per acceptance unit, and the applications one by one (a unit's, or
    those a search finds). An exact search for a card already batched opens its batch."""
    stations = centre_station_ids(centre)
    rows = selectors.queue_counts(centre, station_ids=stations)
    params = list_params(request.GET, selectors.QUEUE_SORTING, request.session)
    unit_code = request.GET.get("unit", "")
    chosen = next((row for row in rows if row.code == unit_code), None)
    page = selectors.queue_page(
        centre,
        station_ids=stations,
        unit_id=chosen.unit_id if chosen else None,
        search=params.search,
        order=params.order,
        after=params.after,
        page=params.page,
    )
    missing = ""
    if params.search.exact and not page.total:
        holding = selectors.batch_holding(user, params.search)
        if holding is not None:
            return redirect(_batch_url(*holding))
        missing = _not_here(
            params.search, "待制证队列和本中心的批次", selectors.centre_whereabouts(centre, params.search)
        )
    return render(
        request,
        "production/queue.html",
        {
            "centre": centre,
            "rows": rows,
            "chosen": chosen,
            "total": sum(row.count for row in rows),
            "worklist": Worklist(
                page,
                params.search,
                selectors.QUEUE_SORTING,
                {"unit": chosen.code if chosen else ""},
                path=reverse("production:queue"),
                search_key=params.search_key,
                expired=params.expired,
            ),
            "missing": missing,
            "form": form or BatchForm(units=[(row.code, f"{row.name}（{row.count} 件）") for row in rows]),
            "can_batch": user.can("production.batch"),
        },
        status=status,
    )


def _batch_url(batch: Batch, number: str) -> str:
    """The batch with the card searched for picked out (by its 受理号: no ID number in a URL)."""
    return reverse("production:batch", args=[batch.pk]) + "?" + urlencode({"q": number})


def _not_here(search: Search, where: str, found: Application | None) -> str:
    """What the page says when an exact search found nothing in its list."""
    if found is not None:
        return f"受理号 {found.number} 当前为“{found.get_status_display()}”，不在{where}中。"
    what = "受理号" if search.kind == "number" else "公民身份号码"
    return f"{where}中没有该{what}。"


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user, centre = _operator(request)
    return search_posted(request, keep=("unit", "sort")) or _queue_page(request, user, centre)


@login_required
@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    """调度打包. A refusal shows the queue again with the unit and the size as entered."""
    user, centre = _operator(request, "production.batch")
    form = BatchForm(request.POST, units=_unit_choices(centre))
    if not form.is_valid():
        return _queue_page(request, user, centre, form=form, status=400)
    code = form.cleaned_data["acceptance_unit"]
    unit = Unit.objects.filter(code=code, kind=Unit.Kind.STATION).first() if code else None
    try:
        batch = services.batch_create(
            actor=user, centre=centre, acceptance_unit=unit, size=form.cleaned_data["size"]
        )
    except ServiceError as error:
        show_refusal(form, error)
        return _queue_page(request, user, centre, form=form, status=400)
    messages.success(request, f"已调度批次 {batch.number}，共 {batch.size} 件。请生成数据包。")
    return redirect("production:batch", pk=batch.pk)


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    """制证批次. A batch number, or a 受理号 / 公民身份号码 naming one card, opens the batch."""
    user, centre = _operator(request)
    state = request.GET.get("state", "")
    state = state if state in Batch.State.values else ""
    posted = search_posted(request, keep=("state", "sort"))
    if posted is not None:
        return posted
    params = list_params(request.GET, selectors.BATCH_SORTING, request.session)
    search = params.search
    by_number = selectors.batch_by_number(user, search.text) if search.kind == "number_part" else None
    if by_number is not None:
        return redirect("production:batch", pk=by_number.pk)
    holding = selectors.batch_holding(user, search)
    if holding is not None:
        return redirect(_batch_url(*holding))
    page = selectors.batches_page(
        user, state=state, search=search, order=params.order, after=params.after, page=params.page
    )
    missing = ""
    if search.exact and not page.total:
        missing = _not_here(search, "本中心的批次", selectors.centre_whereabouts(centre, search))
    elif search.kind == "number_part" and len(search.value) > 22 and not page.total:
        missing = "本中心没有该批次号。"
    return render(
        request,
        "production/batches.html",
        {
            "centre": centre,
            "worklist": Worklist(
                page,
                search,
                selectors.BATCH_SORTING,
                {"state": state},
                search_key=params.search_key,
                expired=params.expired,
            ),
            "state": state,
            "states": Batch.State.choices,
            "missing": missing,
        },
    )


def _batch_page(
    request: HttpRequest,
    user: User,
    centre: Unit,
    found: Batch,
    *,
    package_error: str = "",
    status: int = 200,
) -> HttpResponse:
    params = list_params(request.GET, selectors.BATCH_ITEM_SORTING, request.session)
    page = selectors.batch_items_page(
        found, search=params.search, order=params.order, after=params.after, page=params.page
    )
    return render(
        request,
        "production/batch.html",
        {
            "centre": centre,
            "batch": found,
            "worklist": Worklist(
                page,
                params.search,
                selectors.BATCH_ITEM_SORTING,
                {},
                path=reverse("production:batch", args=[found.pk]),
                search_key=params.search_key,
                expired=params.expired,
            ),
            "progress": selectors.batch_progress(found),
            "can_batch": user.can("production.batch"),
            "package_error": package_error,
        },
        status=status,
    )


@login_required
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    user, centre = _operator(request)
    found = selectors.batch_get(user, pk)
    return search_posted(request, keep=("sort",)) or _batch_page(request, user, centre, found)


@login_required
@require_POST
def batch_package(request: HttpRequest, pk: int) -> HttpResponse:
    """生成数据包. A refusal is shown in the batch's 数据包 box, where the button is."""
    user, centre = _operator(request, "production.batch")
    found = selectors.batch_get(user, pk)
    try:
        packaged = services.batch_package(actor=user, batch=found)
    except ServiceError as error:
        found = selectors.batch_get(user, pk)
        return _batch_page(request, user, centre, found, package_error=error.message, status=error.status)
    messages.success(request, f"数据包已生成（{packaged.package_size:,} 字节），可下载。")
    return redirect("production:batch", pk=pk)


@login_required
def package_download(request: HttpRequest, pk: int) -> FileResponse:
    user, _ = _operator(request)
    found = selectors.batch_get(user, pk)
    try:
        path = services.package_download_record(actor=user, batch=found)
    except ServiceError as error:
        raise Http404(error.message) from error
    response = FileResponse(path.open("rb"), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{found.number}.tbpkg"'
    response["Cache-Control"] = "no-store"
    return response


def _template_response(rows: list[list[str]], filename: str) -> HttpResponse:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    # With a BOM, so that a spreadsheet opens the Chinese headers as UTF-8.
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def feedback_template(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch's feedback file to fill in (CSV, the upload format, Chinese headers and a note
    on the values): one line per card with the batch and 受理号 filled, result, serial and
    reason left for the centre."""
    user, _ = _operator(request, "production.feedback")
    found = selectors.batch_get(user, pk)
    numbers = [item.application.number or "" for item in selectors.batch_items(found)]
    return _template_response(
        feedback_format.template_rows(found.number, numbers), f"{found.number}-feedback.csv"
    )


@login_required
def feedback_blank_template(request: HttpRequest) -> HttpResponse:
    """The feedback file's headers and the note on the values, without lines."""
    _operator(request, "production.feedback")
    return _template_response(feedback_format.template_rows(), "feedback-template.csv")


@login_required
def feedback(request: HttpRequest) -> HttpResponse:
    user, centre = _operator(request, "production.feedback")
    form = FeedbackForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", "回馈文件不能超过 5 MB。")
        else:
            raw = bytes(upload.read())
            try:
                source, lines = feedback_format.parse_file(raw)
            except feedback_format.FeedbackFormatError as exc:
                form.add_error("file", str(exc))
            else:
                report = services.feedback_apply(
                    actor=user,
                    centre=centre,
                    lines=lines,
                    source=source,
                    raw=raw,
                    filename=upload.name or "",
                )
                return redirect("production:feedback_report", pk=report.upload_id)
    return render(
        request,
        "production/feedback.html",
        {"centre": centre, "form": form, "uploads": selectors.feedback_uploads(user)},
        status=400 if form.errors else 200,
    )


@login_required
def feedback_report(request: HttpRequest, pk: int) -> HttpResponse:
    user, centre = _operator(request, "production.feedback")
    upload = selectors.feedback_upload_get(user, pk)
    return render(request, "production/feedback_report.html", {"centre": centre, "upload": upload})


@login_required
@require_POST
def recollect(request: HttpRequest, pk: int) -> HttpResponse:
    """重新采集相片 at the acceptance station, from intake's detail page."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    application = intake_selectors.application_get(user, pk)
    back = reverse("intake:detail", kwargs={"pk": pk}) + "#recollect"
    form = RecollectForm(request.POST, request.FILES)
    if not form.is_valid() or form.cleaned_data["image"].size > MAX_PHOTO:
        messages.error(request, "请选择不超过 10 MB 的 JPEG 相片文件。")
        return redirect(back)
    try:
        outcome = capture.application_photo_recollect(
            actor=user,
            application=application,
            image=bytes(form.cleaned_data["image"].read()),
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        if outcome.passed:
            messages.success(request, "已重新采集相片，申领已重新进入制证队列。")
        else:
            messages.error(request, "相片不符合制证标准，请重新拍摄：" + "；".join(outcome.messages))
    return redirect(back)
