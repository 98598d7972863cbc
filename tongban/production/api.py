"""REST endpoints of production (制证) for the centres' systems: the queue counts, batches
(调度打包), the data package (make and download), and feedback (制证回馈/质量回馈) as JSON lines
or an uploaded CSV/JSON file. Only the operators of a centre (403 `permission_denied` for every
other role); another centre's batch is 404."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import UnitRefSerializer, page_answer, query_of, staff
from tongban.api_schema import errors
from tongban.core.errors import ServiceError
from tongban.intake.models import Application
from tongban.production import feedback, selectors, services
from tongban.production.models import Batch, BatchItem
from tongban.registry.access import as_viewer
from tongban.registry.models import Unit
from tongban.registry.worklist import list_query, page_schema

FEEDBACK_FILE_MAX_BYTES = 5 * 1024 * 1024


class QueueUnitSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    count = serializers.IntegerField(help_text="待制证（已签发）件数")
    oldest = serializers.DateTimeField(allow_null=True, help_text="最早签发时间")


class ProductionQueueRowSerializer(serializers.ModelSerializer[Application]):
    """An application waiting in the queue: the ID number masked (the full record is in the
    package)."""

    id_number = serializers.CharField(source="masked_id_number")
    acceptance_unit = UnitRefSerializer()

    class Meta:
        model = Application
        fields = ["number", "name", "id_number", "acceptance_unit", "issued_at"]


class QueueSerializer(serializers.Serializer):
    centre = UnitRefSerializer()
    total = serializers.IntegerField(help_text="待制证总数")
    units = QueueUnitSerializer(many=True)
    count = serializers.IntegerField(help_text="符合 unit、q 的件数")
    results = ProductionQueueRowSerializer(many=True)
    next_after = serializers.CharField(allow_null=True, help_text="下一页传入 after；null 为最后一页")


QueueQuery = list_query(
    "QueueQuery",
    selectors.QUEUE_SORTING,
    unit=serializers.CharField(
        required=False, allow_blank=True, max_length=12, help_text="只列该受理单位（机构代码）的申领"
    ),
)
BatchesQuery = list_query(
    "BatchesQuery",
    selectors.BATCH_SORTING,
    state=serializers.ChoiceField(choices=Batch.State.choices, required=False, allow_blank=True),
)


class PackageRefSerializer(serializers.Serializer):
    size = serializers.IntegerField(source="package_size")
    sm3 = serializers.CharField(source="package_sm3", help_text="数据包头的 SM3（数据包头签名覆盖全部内容）")
    packaged_at = serializers.DateTimeField()


class BatchSerializer(serializers.ModelSerializer[Batch]):
    state_label = serializers.CharField(source="get_state_display")
    centre = UnitRefSerializer()
    acceptance_unit = UnitRefSerializer(allow_null=True)
    created_by = serializers.SerializerMethodField()
    package = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = [
            "id",
            "number",
            "state",
            "state_label",
            "centre",
            "acceptance_unit",
            "size",
            "created_at",
            "created_by",
            "package",
            "closed_at",
        ]

    def get_created_by(self, batch: Batch) -> str:
        return batch.created_by.display_name if batch.created_by else "定时调度"

    @extend_schema_field(PackageRefSerializer(allow_null=True))
    def get_package(self, batch: Batch) -> dict[str, Any] | None:
        return dict(PackageRefSerializer(batch).data) if batch.package_file else None


class BatchItemSerializer(serializers.ModelSerializer[BatchItem]):
    """A card of the batch: the ID number masked (the full record is in the package)."""

    number = serializers.CharField(source="application.number")
    name = serializers.CharField(source="application.name")
    id_number = serializers.CharField(source="application.masked_id_number")
    acceptance_unit = UnitRefSerializer(source="application.acceptance_unit")
    status = serializers.CharField(source="application.status")
    status_label = serializers.CharField(source="application.get_status_display")
    result_label = serializers.CharField(source="get_result_display")

    class Meta:
        model = BatchItem
        fields = [
            "number",
            "name",
            "id_number",
            "acceptance_unit",
            "status",
            "status_label",
            "result",
            "result_label",
            "reason",
            "card_serial",
            "note",
            "feedback_at",
        ]


class BatchProgressSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    produced = serializers.IntegerField()
    failed = serializers.IntegerField()


class BatchDetailSerializer(BatchSerializer):
    progress = serializers.SerializerMethodField()
    items = serializers.SerializerMethodField()

    class Meta(BatchSerializer.Meta):
        fields = [*BatchSerializer.Meta.fields, "progress", "items"]

    @extend_schema_field(BatchProgressSerializer)
    def get_progress(self, batch: Batch) -> dict[str, int]:
        return selectors.batch_progress(batch)

    @extend_schema_field(BatchItemSerializer(many=True))
    def get_items(self, batch: Batch) -> list[Any]:
        return list(BatchItemSerializer(selectors.batch_items(batch), many=True).data)


class BatchCreateRequest(serializers.Serializer):
    acceptance_unit = serializers.CharField(
        max_length=12, required=False, allow_blank=True, help_text="只调度该受理单位（机构代码）；不填为全部"
    )
    size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=cast(int, settings.CARD_PRODUCTION["BATCH_MAX"]),
        help_text="批次最多证件数，默认见配置（TONGBAN_BATCH_SIZE）",
    )


class FeedbackRequest(serializers.Serializer):
    # Any JSON per line: a line that does not read is rejected in the report, not with 400.
    lines = serializers.ListField(
        child=serializers.JSONField(),
        max_length=feedback.MAX_LINES,
        help_text="每行一个对象：batch 批次号；number 受理号（22 位）；"
        "result：produced 或 已制证 / 制证成功，failed 或 制证失败（全部写法见 docs/production.md）；"
        "card_serial 证件序列号（已制证时必填）；"
        "reason 制证失败时必填：photo_quality 相片质量不合格 / data_error 数据错误 / "
        "chip_error 芯片写入失败，或其中文写法；note 备注（≤ 200 字）。"
        "键也可用中文：批次号、受理号、结果、证件序列号、原因、备注。"
        "读不懂的行不以 400 拒绝，而在报告的 rejected 中列出原因。",
    )


class FeedbackFileRequest(serializers.Serializer):
    file = serializers.FileField(help_text="CSV（UTF-8 或 GB18030）或 JSON 回馈文件，≤ 5 MB")


class FeedbackRowSerializer(serializers.Serializer):
    line = serializers.CharField()
    batch = serializers.CharField()
    number = serializers.CharField()
    result = serializers.CharField(required=False, help_text="produced / failed")
    reason = serializers.CharField(required=False, help_text="制证失败的原因代码")
    code = serializers.CharField(required=False, help_text="拒收原因代码")
    message = serializers.CharField(required=False)


class FeedbackCountsSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    already_applied = serializers.IntegerField()
    rejected = serializers.IntegerField()


class FeedbackReportSerializer(serializers.Serializer):
    upload_id = serializers.IntegerField()
    duplicate_of = serializers.IntegerField(allow_null=True, help_text="此前上传过同一文件时，那次上传的编号")
    counts = FeedbackCountsSerializer()
    applied = FeedbackRowSerializer(many=True)
    already_applied = FeedbackRowSerializer(many=True)
    rejected = FeedbackRowSerializer(many=True)


class QueueView(APIView):
    @extend_schema(
        summary="本制证中心待制证（已签发）：按受理单位的件数，及逐件明细（号码脱敏；可查询、排序、分页）",
        parameters=[QueueQuery],
        responses=QueueSerializer,
    )
    @errors("unknown_unit")
    def get(self, request: Request) -> Response:
        centre = selectors.viewer_centre(as_viewer(request.user))
        query = query_of(QueueQuery, request)
        data = query
        rows = selectors.queue_counts(centre)
        unit = next((row for row in rows if row.code == data.get("unit")), None)
        if data.get("unit") and unit is None:
            message = "该受理单位没有待制证的申领，或不属本中心。"
            raise ServiceError("unknown_unit", message, fields={"unit": message})
        page = selectors.queue_page(
            centre,
            unit_id=unit.unit_id if unit else None,
            search=data["search"],
            order=data["order"],
            after=data.get("after") or None,
        )
        body = {
            "centre": centre,
            "total": sum(row.count for row in rows),
            "units": [row.__dict__ for row in rows],
            "count": page.total,
            **page_answer(page, page.rows),
        }
        return Response(QueueSerializer(body).data)


class BatchesView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="本制证中心的批次（默认最新在前；可按受理号、公民身份号码查找含该证件的批次）",
        parameters=[BatchesQuery],
        responses=page_schema("BatchPage", BatchSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        selectors.viewer_centre(viewer)
        query = query_of(BatchesQuery, request)
        data = query
        page = selectors.batches_page(
            viewer,
            state=data.get("state") or "",
            search=data["search"],
            order=data["order"],
            after=data.get("after") or None,
        )
        return Response(
            {
                "count": page.total,
                **page_answer(page, BatchSerializer(page.rows, many=True).data),
            }
        )

    @extend_schema(
        summary="调度打包：从待制证队列组成一个批次（按签发先后）",
        request=BatchCreateRequest,
        responses={201: BatchDetailSerializer},
    )
    @errors("unknown_unit", "bad_size", "not_this_centre", "queue_empty", "batch_conflict")
    def post(self, request: Request) -> Response:
        actor = staff(request)
        centre = selectors.viewer_centre(actor, "production.batch")
        form = BatchCreateRequest(data=request.data)
        form.is_valid(raise_exception=True)
        unit = None
        code = form.validated_data.get("acceptance_unit")
        if code:
            unit = Unit.objects.filter(code=code, kind=Unit.Kind.STATION).first()
            if unit is None:
                message = "没有该受理单位。"
                raise ServiceError("unknown_unit", message, fields={"acceptance_unit": message})
        batch = services.batch_create(
            actor=actor,
            centre=centre,
            acceptance_unit=unit,
            size=form.validated_data.get("size"),
        )
        batch = selectors.batch_get(actor, batch.pk)
        return Response(BatchDetailSerializer(batch).data, status=201)


class BatchDetailView(APIView):
    @extend_schema(summary="批次详情（证件列表，号码脱敏）", responses=BatchDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = as_viewer(request.user)
        selectors.viewer_centre(viewer)
        batch = selectors.batch_get(viewer, pk)
        return Response(BatchDetailSerializer(batch).data)


class PackageView(APIView):
    @extend_schema(
        summary="下载批次数据包（SM2 签名、SM4 加密；格式见 docs/production.md；留痕）",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @errors("not_packaged")
    def get(self, request: Request, pk: int) -> FileResponse:
        actor = staff(request)
        selectors.viewer_centre(actor)
        batch = selectors.batch_get(actor, pk)
        path = services.package_download_record(actor=actor, batch=batch)
        response = FileResponse(path.open("rb"), content_type="application/octet-stream")
        response["Content-Disposition"] = f'attachment; filename="{batch.number}.tbpkg"'
        response["X-Package-SM3"] = batch.package_sm3
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="生成（或在回馈前重新生成）批次数据包", request=None, responses=BatchDetailSerializer
    )
    @errors(
        "has_feedback",
        "incomplete_application",
        "chip_photo_failed",
        "no_centre_key",
        "no_system_key",
        "bad_system_key",
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        selectors.viewer_centre(actor, "production.batch")
        batch = selectors.batch_get(actor, pk)
        services.batch_package(actor=actor, batch=batch)
        return Response(BatchDetailSerializer(selectors.batch_get(actor, pk)).data)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for application/octet-stream gets the file, and its errors in JSON.
        return super().perform_content_negotiation(request, force=True)


class FeedbackView(APIView):
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        summary="制证回馈/质量回馈：JSON 行，或上传 CSV / JSON 文件（幂等；逐行报告）",
        request={"application/json": FeedbackRequest, "multipart/form-data": FeedbackFileRequest},
        responses=FeedbackReportSerializer,
    )
    @errors("bad_file")
    def post(self, request: Request) -> Response:
        actor = staff(request)
        centre = selectors.viewer_centre(actor, "production.feedback")
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size is None or upload.size > FEEDBACK_FILE_MAX_BYTES:
                raise ServiceError(
                    "too_large", "回馈文件不能超过 5 MB。", fields={"file": "文件过大"}, status=413
                )
            raw = upload.read()
            try:
                source, lines = feedback.parse_file(raw)
            except feedback.FeedbackFormatError as exc:
                raise ServiceError("bad_file", str(exc), fields={"file": str(exc)}) from exc
            report = services.feedback_apply(
                actor=actor,
                centre=centre,
                lines=lines,
                source=source,
                raw=raw,
                filename=upload.name or "",
            )
        else:
            if not isinstance(request.data, dict) or not isinstance(request.data.get("lines"), list):
                raise ServiceError(
                    "invalid", '请提交 {"lines": [...]}，或上传 file。', fields={"lines": "必填"}
                )
            try:
                lines = feedback.parse_json(request.data)
            except feedback.FeedbackFormatError as exc:
                raise ServiceError("invalid", str(exc), fields={"lines": str(exc)}) from exc
            report = services.feedback_apply(actor=actor, centre=centre, lines=lines, source="api")
        return Response(report.as_dict())
