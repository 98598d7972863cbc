"""REST endpoints of campaigns (集中换发): the list, one campaign (phases, targets, configuration
in force, late duties), its progress per county (or per station of one county) with the daily
series and forecast, the periodic reports of a period, and a station's sign-off."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import ApiError
from tongban.campaigns import rules, selectors, services
from tongban.campaigns.models import Campaign, CampaignConfiguration, StationReport
from tongban.handover.models import DistributionRule
from tongban.intake.api import UnitRefSerializer, staff
from tongban.intake.models import ReviewChain, ReviewChainStep
from tongban.registry.access import as_viewer


class PhaseSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    start = serializers.DateField()
    end = serializers.DateField()


class CampaignRowSerializer(serializers.ModelSerializer[Campaign]):
    area = UnitRefSerializer()
    status_label = serializers.CharField(source="get_status_display")
    phases = PhaseSerializer(many=True, source="phases.all")

    class Meta:
        model = Campaign
        fields = ["id", "name", "area", "status", "status_label", "target_entered", "phases"]


class TargetSerializer(serializers.Serializer):
    county = UnitRefSerializer()
    eligible = serializers.IntegerField(help_text="登记人口中的目标人数")
    target = serializers.IntegerField(help_text="任务数")


class StepSerializer(serializers.Serializer):
    level = serializers.CharField()
    title = serializers.CharField()


class ConfigurationSerializer(serializers.Serializer):
    review_steps = StepSerializer(many=True, help_text="本次集中换发配置的审核签发环节")
    county_quality_check = serializers.BooleanField()
    in_force = serializers.BooleanField()
    applied_at = serializers.DateTimeField(allow_null=True)
    restored_at = serializers.DateTimeField(allow_null=True)
    city_chain = StepSerializer(many=True, help_text="本市现行审核签发流程（空：默认户籍派出所审核签发）")
    city_route = serializers.CharField(allow_null=True, help_text="本市现行分发路由（空：直接分发）")
    unstaffed_override = serializers.JSONField(
        allow_null=True,
        help_text="保存时确认的无人办理单位：{units: [机构代码], reason, by, by_name, at}；无则为 null",
    )


def configuration_data(campaign: Campaign) -> dict[str, Any]:
    """The campaign's configuration and what is in force for its city (ConfigurationSerializer)."""
    config = CampaignConfiguration.objects.get(campaign=campaign)
    chain = ReviewChain.objects.filter(region_prefix=campaign.area.code).first()
    rule = DistributionRule.objects.filter(region_prefix=campaign.area.code).first()
    return {
        "review_steps": config.review_steps,
        "county_quality_check": config.county_quality_check,
        "in_force": config.in_force,
        "applied_at": config.applied_at,
        "restored_at": config.restored_at,
        "city_chain": [{"level": s.level, "title": s.title} for s in chain.steps.all()] if chain else [],
        "city_route": rule.route if rule else None,
        "unstaffed_override": config.unstaffed_override,
    }


class CampaignSerializer(CampaignRowSerializer):
    reference_date = serializers.DateField()
    min_age = serializers.IntegerField()
    include_first_generation = serializers.BooleanField()
    include_without_card = serializers.BooleanField()
    expiring_before = serializers.DateField(allow_null=True)
    application_types = serializers.ListField(child=serializers.CharField())
    targets = serializers.SerializerMethodField()
    configuration = serializers.SerializerMethodField()
    late_duties = serializers.SerializerMethodField()

    class Meta(CampaignRowSerializer.Meta):
        fields = [
            *CampaignRowSerializer.Meta.fields,
            "reference_date",
            "min_age",
            "include_first_generation",
            "include_without_card",
            "expiring_before",
            "application_types",
            "targets",
            "configuration",
            "late_duties",
        ]

    @extend_schema_field(TargetSerializer(many=True))
    def get_targets(self, campaign: Campaign) -> list[Any]:
        rows = campaign.county_targets.select_related("county")
        return list(TargetSerializer(rows, many=True).data)

    @extend_schema_field(ConfigurationSerializer)
    def get_configuration(self, campaign: Campaign) -> dict[str, Any]:
        return configuration_data(campaign)

    @extend_schema_field(serializers.IntegerField(help_text="逾期未完成的职责任务数"))
    def get_late_duties(self, campaign: Campaign) -> int:
        return selectors.late_duties(campaign, self.context["today"], self.context.get("scope")).count()


class RowSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    target = serializers.IntegerField()
    eligible = serializers.IntegerField()
    accepted = serializers.IntegerField()
    issued = serializers.IntegerField()
    handed_over = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    accepted = serializers.IntegerField()
    issued = serializers.IntegerField()
    handed_over = serializers.IntegerField()
    cum_accepted = serializers.IntegerField()
    cum_issued = serializers.IntegerField()
    cum_handed_over = serializers.IntegerField()


class ForecastSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True)
    done = serializers.BooleanField()
    pace = serializers.FloatField(help_text="近期每工作日发放数")
    window_days = serializers.IntegerField()
    remaining = serializers.IntegerField()
    text = serializers.CharField(source="label", help_text="预计完成日期或无法预测的原因")


class ProgressSerializer(serializers.Serializer):
    scope = UnitRefSerializer()
    today = serializers.DateField()
    total = RowSerializer()
    rows = RowSerializer(many=True, help_text="各分（县）局；指定 county 时为该局各派出所")
    days = DaySerializer(many=True)
    forecast = ForecastSerializer()


class ReportSerializer(serializers.ModelSerializer[StationReport]):
    station = UnitRefSerializer()
    county = UnitRefSerializer()
    signed_by = serializers.CharField(source="signed_by.display_name", allow_null=True, default=None)

    class Meta:
        model = StationReport
        fields = [
            "id",
            "station",
            "county",
            "period",
            "period_start",
            "period_end",
            "figures",
            "generated_at",
            "signed_by",
            "signed_at",
        ]


def _context(request: Request, campaign: Campaign) -> dict[str, Any]:
    from django.utils import timezone

    return {"today": timezone.localdate(), "scope": selectors.scope_unit(as_viewer(request.user), campaign)}


class CampaignsView(APIView):
    @extend_schema(summary="集中换发列表", responses=CampaignRowSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = selectors.campaigns(as_viewer(request.user)).prefetch_related("phases")
        return Response({"results": CampaignRowSerializer(rows, many=True).data})


class CampaignDetailView(APIView):
    @extend_schema(
        summary="集中换发详情（实施步骤、分县任务、流程配置、逾期职责数）", responses=CampaignSerializer
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = selectors.campaign_get(as_viewer(request.user), pk)
        return Response(CampaignSerializer(campaign, context=_context(request, campaign)).data)


class ProgressView(APIView):
    @extend_schema(
        summary="集中换发进度：分县（或某县各派出所）的任务数、受理、签发、发放，逐日与累计，预计完成日期",
        parameters=[OpenApiParameter("county", str, description="分（县）局机构代码：返回其各派出所")],
        responses=ProgressSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = as_viewer(request.user)
        campaign = selectors.campaign_get(viewer, pk)
        result = selectors.progress(campaign, scope=selectors.scope_unit(viewer, campaign))
        rows = result.counties
        county = request.query_params.get("county")
        if county:
            match = next((r for r in result.counties if r.code == county), None)
            if match is None:
                raise ApiError("not_found", "未找到该分（县）局。", status=404)
            rows = result.stations.get(match.unit_id or 0, [])
        data = {
            "scope": result.scope,
            "today": result.today,
            "total": result.total,
            "rows": rows,
            "days": result.days,
            "forecast": result.forecast,
        }
        return Response(ProgressSerializer(data).data)


class ReportsQuery(serializers.Serializer):
    period = serializers.CharField(help_text="报告期：2026-W45（周）或 2026-11（月）")

    def validate_period(self, value: str) -> rules.Period:
        try:
            return rules.parse_period(value)
        except ValueError as exc:
            raise serializers.ValidationError("报告期格式为 2026-W45 或 2026-11。") from exc


class ReportsView(APIView):
    @extend_schema(
        summary="某报告期的各派出所定期上报（本人可见范围）",
        parameters=[OpenApiParameter("period", str, required=True, description="2026-W45 或 2026-11")],
        responses=ReportSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = as_viewer(request.user)
        campaign = selectors.campaign_get(viewer, pk)
        query = ReportsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.reports(viewer, campaign, query.validated_data["period"])
        return Response({"results": ReportSerializer(rows, many=True).data})


class ReportSignView(APIView):
    @extend_schema(
        request=None,
        summary="派出所签报本所的定期上报（签报后冻结；重复签报 409，他所报表 404）",
        responses=ReportSerializer,
    )
    def post(self, request: Request, pk: int, report_pk: int) -> Response:
        user = staff(request)
        campaign = selectors.campaign_get(as_viewer(user), pk)
        report = selectors.report_get(as_viewer(user), report_pk)
        if report.campaign_id != campaign.pk:
            raise ApiError("not_found", "未找到。", status=404)
        signed = services.report_sign(actor=user, report=report, request=request._request)
        return Response(ReportSerializer(signed).data)


class StepInput(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=ReviewChainStep.Level.choices, help_text="station 户籍派出所 / county 分（县）局 / city 市局"
    )
    title = serializers.CharField(max_length=20, help_text="环节名称，如 初审、审核签发、复核")


class ConfigurationRequest(serializers.Serializer):
    review_steps = StepInput(many=True, help_text=f"审核签发环节，按顺序，1 至 {services.MAX_STEPS} 个")
    county_quality_check = serializers.BooleanField(help_text="成品证件经分（县）局质检后分发")
    override_unstaffed = serializers.BooleanField(
        required=False,
        default=False,
        help_text="确认无人办理仍保存：配置落在没有可办理在岗账号的单位时须为 true 并填写 override_reason",
    )
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="确认无人办理仍保存的原因（记入审计日志）",
    )


class ConfigurationView(APIView):
    @extend_schema(
        request=ConfigurationRequest,
        responses=ConfigurationSerializer,
        summary="保存集中换发的流程配置（审核签发环节、分（县）局质检）；已生效的立即更新",
        description=(
            "配置使待办落在没有可办理在岗账号的单位时拒绝：409 unstaffed_units，fields 中 units.<机构代码> "
            "逐一列出单位，review_steps.<环节序号> / county_quality_check 指出相应环节；确需保存时以 "
            "override_unstaffed=true 并填写 override_reason 再次提交（记入审计日志）。"
        ),
    )
    def put(self, request: Request, pk: int) -> Response:
        user = staff(request)
        campaign = selectors.campaign_get(as_viewer(user), pk, "campaign.manage")
        form = ConfigurationRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        services.configuration_update(
            actor=user,
            campaign=campaign,
            review_steps=[dict(step) for step in data["review_steps"]],
            county_quality_check=data["county_quality_check"],
            override_unstaffed=data["override_unstaffed"],
            override_reason=data["override_reason"],
            request=request._request,
        )
        return Response(ConfigurationSerializer(configuration_data(campaign)).data)
