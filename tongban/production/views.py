"""Pages of the production centre (制证中心): the queue per acceptance unit, 调度打包, batches with
their data package, and feedback uploads with their report; plus the station's re-collection of
a photo the centre refused. Each POST calls one service and redirects (or shows the report)."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tongban.accounts.models import User
from tongban.core.errors import ServiceError
from tongban.intake import selectors as intake_selectors
from tongban.intake import services as intake_services
from tongban.production import feedback as feedback_format
from tongban.production import selectors, services
from tongban.production.forms import BatchForm, FeedbackForm, RecollectForm
from tongban.registry.models import Unit

MAX_UPLOAD = 5 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024


def _operator(request: HttpRequest, action: str = "production.view") -> tuple[User, Unit]:
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user, selectors.viewer_centre(user, action)


def _unit_choices(centre: Unit) -> list[tuple[str, str]]:
    return [(row.code, f"{row.name}（{row.count} 件）") for row in selectors.queue_counts(centre)]


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    user, centre = _operator(request)
    rows = selectors.queue_counts(centre)
    return render(
        request,
        "production/queue.html",
        {
            "centre": centre,
            "rows": rows,
            "total": sum(row.count for row in rows),
            "form": BatchForm(units=[(row.code, f"{row.name}（{row.count} 件）") for row in rows]),
            "can_batch": user.can("production.batch"),
        },
    )


@login_required
@require_POST
def batch_create(request: HttpRequest) -> HttpResponse:
    user, centre = _operator(request, "production.batch")
    form = BatchForm(request.POST, units=_unit_choices(centre))
    if not form.is_valid():
        messages.error(request, "请检查受理单位和批次证件数。")
        return redirect("production:queue")
    code = form.cleaned_data["acceptance_unit"]
    unit = Unit.objects.filter(code=code, kind=Unit.Kind.STATION).first() if code else None
    try:
        batch = services.batch_create(
            actor=user, centre=centre, acceptance_unit=unit, size=form.cleaned_data["size"], request=request
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("production:queue")
    messages.success(request, f"已调度批次 {batch.number}，共 {batch.size} 件。请生成数据包。")
    return redirect("production:batch", pk=batch.pk)


@login_required
def batches(request: HttpRequest) -> HttpResponse:
    user, centre = _operator(request)
    state = request.GET.get("state", "")
    rows = selectors.batches_visible(user)
    if state:
        rows = rows.filter(state=state)
    return render(
        request,
        "production/batches.html",
        {"centre": centre, "batches": rows[:200], "state": state, "states": rows.model.State.choices},
    )


@login_required
def batch(request: HttpRequest, pk: int) -> HttpResponse:
    user, centre = _operator(request)
    found = selectors.batch_get(user, pk)
    return render(
        request,
        "production/batch.html",
        {
            "centre": centre,
            "batch": found,
            "items": selectors.batch_items(found),
            "progress": selectors.batch_progress(found),
            "can_batch": user.can("production.batch"),
        },
    )


@login_required
@require_POST
def batch_package(request: HttpRequest, pk: int) -> HttpResponse:
    user, _ = _operator(request, "production.batch")
    found = selectors.batch_get(user, pk)
    try:
        packaged = services.batch_package(actor=user, batch=found, request=request)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"数据包已生成（{packaged.package_size:,} 字节），可下载。")
    return redirect("production:batch", pk=pk)


@login_required
def package_download(request: HttpRequest, pk: int) -> FileResponse:
    user, _ = _operator(request)
    found = selectors.batch_get(user, pk)
    try:
        path = services.package_download_record(actor=user, batch=found, request=request)
    except ServiceError as error:
        raise Http404(error.message) from error
    response = FileResponse(path.open("rb"), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{found.number}.tbpkg"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def feedback_template(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch's feedback file to fill in (CSV, the upload format): one line per card with the
    batch and 受理号 filled, result, serial and reason left for the centre."""
    user, _ = _operator(request, "production.feedback")
    found = selectors.batch_get(user, pk)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(feedback_format.FIELDS)
    for item in selectors.batch_items(found):
        writer.writerow([found.number, item.application.number, "", "", "", ""])
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.number}-feedback.csv"'
    return response


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
                source, lines = feedback_format.parse_file(raw, upload.name or "")
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
                    request=request,
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
        outcome = intake_services.application_photo_recollect(
            actor=user,
            application=application,
            image=bytes(form.cleaned_data["image"].read()),
            request=request,
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        if outcome.passed:
            messages.success(request, "已重新采集相片，申领已重新进入制证队列。")
        else:
            messages.error(request, "相片不符合制证标准，请重新拍摄：" + "；".join(outcome.messages))
    return redirect(back)
