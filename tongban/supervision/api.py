"""REST endpoints of supervision (督导): every dashboard metric of a unit's subtree (the same
tables the page draws and exports), the stuck items (滞留件) and 督办. A role without the action
answers 403 `permission_denied`; a unit or application outside the caller's subtree 404."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.cardcheck import selectors as cardcheck_selectors
from tongban.intake.api import STATUS_HELP
from tongban.intake.models import Application, ApplicationEvent
from tongban.supervision import outofarea, selectors, services


def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def _table(table: selectors.Table) -> dict[str, Any]:
    """A table as TableSerializer answers it: the page's and the Excel file's rows, dates as text."""
    return {
        "key": table.key,
        "title": table.title,
        "headers": table.headers,
        "rows": [[_cell(v) for v in row] for row in table.rows],
        "note": table.note,
    }


class TableSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text=(
            "stages, daily, weekly, units, review, reasons, times, verifications, stuck, unstaffed；"
            "异地办理统计：within_province, from_other_provinces, to_other_provinces"
        )
    )
    title = serializers.CharField()
    headers = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="与页面表格、Excel 相同的行；最后一行“合计”为整个辖区",
    )
    note = serializers.CharField()


class CardChecksSerializer(serializers.Serializer):
    institution = serializers.IntegerField(source="institution_id")
    name = serializers.CharField()
    kind = serializers.CharField(help_text="机构类别")
    counts = serializers.DictField(
        source="counts.by_outcome", child=serializers.IntegerField(), help_text="核查结果 → 次数"
    )
    total = serializers.IntegerField(source="counts.total")


class DashboardSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    today = serializers.DateField()
    stuck_cutoff = serializers.DateTimeField(help_text="此时刻以前无办理记录的在办申领为滞留件")
    kpis = serializers.DictField(child=serializers.JSONField())
    kpi_labels = serializers.DictField(child=serializers.CharField())
    tables = TableSerializer(many=True)
    card_checks = CardChecksSerializer(
        many=True, help_text="居民身份证核查：本月各机构核查次数（仅省厅本级，其他单位为空）"
    )


class SupervisionSerializer(serializers.ModelSerializer[ApplicationEvent]):
    actor = serializers.CharField(source="actor.display_name", default="")
    unit = UnitRefSerializer(allow_null=True)

    class Meta:
        model = ApplicationEvent
        fields = ["at", "actor", "unit", "note"]


class StuckSerializer(serializers.ModelSerializer[Application]):
    status_label = serializers.CharField(source="get_status_display")
    status = serializers.CharField(help_text=STATUS_HELP)
    id_number = serializers.CharField(source="masked_id_number")
    acceptance_unit = UnitRefSerializer()
    responsible_unit = UnitRefSerializer()
    supervisions = serializers.IntegerField(help_text="督办次数", default=0)
    last_supervision = SupervisionSerializer(allow_null=True)

    class Meta:
        model = Application
        fields = [
            "number",
            "name",
            "id_number",
            "status",
            "status_label",
            "acceptance_unit",
            "responsible_unit",
            "accepted_at",
            "last_event_at",
            "review_due",
            "review_due_provisional",
            "supervisions",
            "last_supervision",
        ]


class DashboardQuery(serializers.Serializer):
    unit = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=12,
        help_text="单位代码（本单位及下级；辖区外 404）；不填为本单位",
    )


class StuckQuery(DashboardQuery):
    view = serializers.ChoiceField(
        choices=list(selectors.STUCK_VIEWS),
        required=False,
        allow_blank=True,
        default="stuck",
        help_text="stuck 滞留件 / urged 已督办待办理；不填或空为 stuck",
    )
    status = serializers.ChoiceField(
        choices=list(selectors.STUCK_STATUSES), required=False, allow_blank=True, help_text="环节；不填为全部"
    )
    days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=60,
        help_text="无办理记录超过的工作日数，默认 TONGBAN_STUCK_WORKDAYS",
    )
    after = serializers.CharField(
        required=False, allow_blank=True, max_length=60, help_text="上一页的 next_after"
    )


class UrgeRequest(serializers.Serializer):
    note = serializers.CharField(
        min_length=2, max_length=services.NOTE_MAX, help_text="督办意见（2 至 500 字）"
    )


class DashboardView(APIView):
    @extend_schema(
        summary="督导统计：辖区各项指标（与页面、Excel 相同）",
        parameters=[DashboardQuery],
        responses=DashboardSerializer,
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        user = staff(request)
        require(user, "supervision.view")
        query = query_of(DashboardQuery, request)
        unit = selectors.dashboard_unit(user, query.get("unit") or None)
        board = selectors.dashboard(unit)
        return Response(
            DashboardSerializer(
                {
                    "unit": unit,
                    "today": board.today,
                    "stuck_cutoff": board.stuck_cutoff,
                    "kpis": board.kpis,
                    "kpi_labels": selectors.KPI_LABELS,
                    "tables": [_table(t) for t in board.tables],
                    "card_checks": cardcheck_selectors.dashboard_counts(user, unit) or [],
                }
            ).data
        )


class StuckView(APIView):
    @extend_schema(
        summary="滞留件（超过规定工作日无办理记录的在办申领）",
        parameters=[StuckQuery],
        responses=page_of(
            "SupervisionStuckPage",
            StuckSerializer(many=True),
            cutoff=serializers.DateTimeField(help_text="此时刻以前无办理记录的在办申领为滞留件"),
        ),
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "supervision.view")
        query = query_of(StuckQuery, request)
        data = query
        own = selectors.dashboard_unit(viewer, None)
        unit = selectors.dashboard_unit(viewer, data["unit"]) if data.get("unit") else None
        scope = selectors.scope_for(own)
        page = selectors.stuck_page(
            scope,
            view=data["view"] or "stuck",
            status=data.get("status") or "",
            unit=unit,
            workdays=data.get("days"),
            after=data.get("after") or None,
        )
        cutoff = selectors.stuck_cutoff(scope.today, data.get("days"))
        return Response(
            {**page_answer(page, StuckSerializer(page.rows, many=True).data), "cutoff": cutoff.isoformat()}
        )


class UrgeView(APIView):
    @extend_schema(
        request=UrgeRequest,
        responses={201: SupervisionSerializer},
        parameters=[
            OpenApiParameter(
                "number", str, OpenApiParameter.PATH, pattern=r"^[0-9]{22}$", description="受理号（22 位）"
            )
        ],
        summary="督办：记入办理记录并通知责任单位（辖区内未办结的申领；其他 404）",
    )
    def post(self, request: Request, number: str) -> Response:
        user = staff(request)
        require(user, "supervision.act")
        form = UrgeRequest(data=request.data)
        form.is_valid(raise_exception=True)
        event = services.application_supervise(actor=user, number=number, note=form.validated_data["note"])
        return Response(SupervisionSerializer(event).data, status=201)


class UnstaffedSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    today = serializers.DateField()
    table = TableSerializer(help_text="与页面、Excel 相同的行；最后一行“合计”")


class UnstaffedView(APIView):
    @extend_schema(
        summary="待办无人办理的单位：有待办但没有可办理的在岗账号的单位（督导员：本辖区；系统管理员：全省）",
        parameters=[DashboardQuery],
        responses=UnstaffedSerializer,
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        user = staff(request)
        require(user, "staffing.view")
        query = query_of(DashboardQuery, request)
        unit = selectors.staffing_unit(user, query.get("unit") or None)
        scope = selectors.scope_for(unit)
        table = selectors.unstaffed_table(selectors.unstaffed(scope))
        return Response(
            UnstaffedSerializer(
                {
                    "unit": unit,
                    "today": scope.today,
                    "table": _table(table),
                }
            ).data
        )


class OutOfAreaQuery(DashboardQuery):
    # `from` is a Python keyword: the field is declared under it through the serializer's fields.
    to = serializers.DateField(required=False, help_text="截止日期（含），不晚于今天；不填为今天")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False, help_text="起始日期（含），期间最长 366 天；不填为本月 1 日"
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate()
        default = outofarea.default_period(today)
        start, end = attrs.get("from", default.start), attrs.get("to", default.end)
        problems = outofarea.period_problems(start, end, today=today)
        if problems:
            raise serializers.ValidationError(problems)
        return {**attrs, "period": outofarea.Period(start, end)}


class OutOfAreaSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    start = serializers.DateField(source="period.start", help_text="统计期间起（含）")
    end = serializers.DateField(source="period.end", help_text="统计期间止（含）")
    tables = TableSerializer(many=True)


class OutOfAreaView(APIView):
    @extend_schema(
        summary="异地办理统计：期间内异地、跨省申领的受理、签发、不予签发、制证、发放（与页面、Excel 相同）",
        parameters=[OutOfAreaQuery],
        responses=OutOfAreaSerializer,
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        user = staff(request)
        require(user, "supervision.view")
        query = query_of(OutOfAreaQuery, request)
        unit = selectors.dashboard_unit(user, query.get("unit") or None)
        data = outofarea.out_of_area(selectors.scope_for(unit), query["period"])
        return Response(
            OutOfAreaSerializer(
                {
                    "unit": unit,
                    "period": data.period,
                    "tables": [_table(t) for t in data.tables],
                }
            ).data
        )
