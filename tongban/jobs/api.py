"""REST endpoints of the background jobs (后台任务): list, one job with its progress and log,
cancel, retry, and the result file."""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import UnitRefSerializer, page_answer, query_of, staff
from tongban.api_schema import errors, page_of
from tongban.jobs import selectors, services
from tongban.jobs.kinds import kind_label
from tongban.jobs.models import JobRun


class JobSerializer(serializers.ModelSerializer[JobRun]):
    kind_label = serializers.SerializerMethodField(help_text="任务类型名称")
    status_label = serializers.CharField(source="get_status_display")
    unit = UnitRefSerializer(help_text="所属单位")
    started_by = serializers.CharField(
        source="started_by.display_name", allow_null=True, default=None, help_text="发起人姓名"
    )
    percent = serializers.IntegerField(allow_null=True, help_text="进度（%）；总量未知时为 null")
    has_result = serializers.SerializerMethodField(help_text="有可下载的结果文件")

    class Meta:
        model = JobRun
        fields = [
            "id",
            "kind",
            "kind_label",
            "params",
            "status",
            "status_label",
            "unit",
            "started_by",
            "retry_of",
            "progress_done",
            "progress_total",
            "percent",
            "stage",
            "summary",
            "error",
            "has_result",
            "result_name",
            "object_type",
            "object_id",
            "cancel_requested",
            "attempts",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
        ]

    def get_kind_label(self, job: JobRun) -> str:
        return kind_label(job.kind)

    def get_has_result(self, job: JobRun) -> bool:
        return job.status == JobRun.Status.SUCCEEDED and bool(job.result_file)


class JobDetailSerializer(JobSerializer):
    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "log"]


class JobsQuery(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class JobsView(APIView):
    @extend_schema(
        summary="后台任务：本人提交的，以及（督导员、系统管理员）本辖区的，新的在前",
        parameters=[JobsQuery],
        responses=page_of("JobPage", JobSerializer(many=True), cursor=serializers.IntegerField),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        query = query_of(JobsQuery, request)
        page = selectors.jobs_page(viewer, after=query.get("after"))
        return Response(page_answer(page, JobSerializer(page.rows, many=True).data))


class JobDetailView(APIView):
    @extend_schema(summary="一个后台任务：进度、运行记录与结果", responses=JobDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(JobDetailSerializer(selectors.job_get(staff(request), pk)).data)


class JobCancelView(APIView):
    @extend_schema(
        summary="取消后台任务（排队中的立即取消，进行中的在下一次报告进度时停止）",
        request=None,
        responses=JobSerializer,
    )
    @errors("not_found", "job_finished")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        job = services.job_cancel(actor=actor, job_id=pk)
        return Response(JobSerializer(selectors.job_get(actor, job.pk)).data)


class JobRetryView(APIView):
    @extend_schema(
        summary="重试失败或已取消的后台任务（以相同参数提交新任务）",
        request=None,
        responses={201: JobSerializer},
    )
    @errors("not_found", "job_not_retryable", "permission_denied")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        job = services.job_retry(actor=actor, job_id=pk)
        return Response(JobSerializer(selectors.job_get(actor, job.pk)).data, status=201)


class JobResultView(APIView):
    @extend_schema(
        summary="下载后台任务的结果文件（留痕）",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @errors("not_found", "no_result")
    def get(self, request: Request, pk: int) -> FileResponse:
        job, path = services.job_result(actor=staff(request), job_id=pk)
        response = FileResponse(path.open("rb"), as_attachment=True, filename=job.result_name)
        response["Cache-Control"] = "no-store"
        return response
