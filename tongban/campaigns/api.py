"""REST endpoints of campaigns (集中换发), the same services as the pages: the list, one campaign
(phases, targets, configuration in force, late duties), creating and editing it, starting and
closing it, deriving its targets, its configuration saved and put in force, its progress per
county (or per station of one county) with the daily series and forecast, the duty tasks with
their 落实情况, the periodic reports of a period generated and signed off.

A role without the action answers 403 `permission_denied`; a campaign, task or report outside the
caller's part of the campaign 404 `not_found` (docs/api.md)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.accounts.models import User
from tongban.api import ApiError, UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.campaigns import rules, selectors, services
from tongban.campaigns.forms import TYPE_CHOICES
from tongban.campaigns.models import Campaign, CampaignConfiguration, CampaignPhase, DutyTask, StationReport
from tongban.handover.models import DistributionRule
from tongban.intake.models import ReviewChain, ReviewChainStep
from tongban.jobs.api import JobSerializer
from tongban.jobs.selectors import job_get
from tongban.registry.models import Unit


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


class DutySerializer(serializers.ModelSerializer[DutyTask]):
    department_label = serializers.CharField()
    owner_unit = UnitRefSerializer(allow_null=True, help_text="责任单位（公安机关）；外部部门为 null")
    phase_label = serializers.CharField(source="get_phase_display")
    status_label = serializers.CharField(source="get_status_display")
    late = serializers.SerializerMethodField(help_text="已过完成期限且未完成")

    class Meta:
        model = DutyTask
        fields = [
            "id",
            "department",
            "department_label",
            "code",
            "text",
            "owner_unit",
            "owner_name",
            "phase",
            "phase_label",
            "due",
            "status",
            "status_label",
            "done_at",
            "late",
        ]

    def get_late(self, task: DutyTask) -> bool:
        return task.due < self.context["today"] and task.status != DutyTask.Status.DONE


class DutyNoteSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    author = serializers.CharField(source="author.display_name")
    text = serializers.CharField()
    from_status = serializers.CharField(help_text="状态变更前（未变更为空）")
    to_status = serializers.CharField(help_text="状态变更后（未变更为空）")


class DutyDetailSerializer(DutySerializer):
    notes = DutyNoteSerializer(many=True, source="notes.all", help_text="落实情况，按时间顺序")
    may_update = serializers.SerializerMethodField(help_text="调用者可填写落实情况")

    class Meta(DutySerializer.Meta):
        fields = [*DutySerializer.Meta.fields, "notes", "may_update"]

    def get_may_update(self, task: DutyTask) -> bool:
        return _may_update(self.context["user"], task)


def _may_update(user: User, task: DutyTask) -> bool:
    return selectors.may_update_duty(user, task) and task.campaign.status != Campaign.Status.CLOSED


# ---------------------------------------------------------------------------------------------
# Input

# Dates a campaign may use: far enough either way for any real one, and away from the ends of
# the calendar, where counting ages and working days has nowhere to go.
EARLIEST, LATEST = datetime.date(1990, 1, 1), datetime.date(2099, 12, 31)


class BoundedDate(serializers.DateField):
    def to_internal_value(self, value: Any) -> datetime.date:
        day: datetime.date = super().to_internal_value(value)
        if not EARLIEST <= day <= LATEST:
            raise serializers.ValidationError(f"日期须在 {EARLIEST} 至 {LATEST} 之间。", code="out_of_range")
        return day


class SpanInput(serializers.Serializer):
    start = BoundedDate()
    end = BoundedDate()


class PhasesInput(serializers.Serializer):
    prepare = SpanInput(help_text="工作准备")
    replace = SpanInput(help_text="集中换发")
    summary = SpanInput(help_text="工作总结")


class CampaignRequest(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    reference_date = BoundedDate(help_text="年龄计算基准日")
    min_age = serializers.IntegerField(min_value=0, max_value=120, default=16, help_text="年满周岁")
    include_first_generation = serializers.BooleanField(default=True, help_text="持第一代居民身份证的列入")
    include_without_card = serializers.BooleanField(default=True, help_text="无有效居民身份证的列入")
    expiring_before = BoundedDate(
        required=False, allow_null=True, default=None, help_text="有效期在此日前（含）届满的也列入"
    )
    target_entered = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=100_000_000,
        help_text="下达任务数：不填以登记人口中的目标人数为任务数；填写则按各县目标人数比例分解",
    )
    application_types = serializers.ListField(
        child=serializers.ChoiceField(choices=TYPE_CHOICES),
        min_length=1,
        default=list(services.DEFAULT_TYPES),
        help_text="计入的申领类型：first 首次申领 / renewal 换领 / replacement 补领",
    )
    note = serializers.CharField(max_length=300, allow_blank=True, default="", help_text="说明")
    phases = PhasesInput(help_text="实施步骤，各阶段起止日期（含）")

    def values(self) -> dict[str, Any]:
        """The service's keyword arguments: the rule's values and the phases."""
        data = dict(self.validated_data)
        spans = data.pop("phases")
        data.pop("area", None)
        phases = {kind: (spans[kind]["start"], spans[kind]["end"]) for kind in CampaignPhase.Kind.values}
        return {**data, "phases": phases}


class CampaignCreateRequest(CampaignRequest):
    area = serializers.CharField(max_length=12, help_text="实施地市公安局的机构代码（本辖区）")


class PeriodQuery(serializers.Serializer):
    period = serializers.RegexField(
        r"\A[0-9]{4}-(?:W[0-9]{2}|[0-9]{2})\Z",
        trim_whitespace=False,
        help_text="报告期：2026-W45（周）或 2026-11（月）",
    )

    def validate_period(self, value: str) -> rules.Period:
        try:
            return rules.parse_period(value)
        except ValueError as exc:
            raise serializers.ValidationError("没有这个报告期。", code="invalid") from exc


class ProgressQuery(serializers.Serializer):
    county = serializers.CharField(
        required=False, allow_blank=True, max_length=12, help_text="分（县）局机构代码：返回其各派出所"
    )


DUTY_LATE = "late"


class DutiesQuery(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*DutyTask.Status.choices, (DUTY_LATE, "逾期未完成")],
        required=False,
        allow_blank=True,
        help_text="todo 未开始 / doing 推进中 / done 已完成 / late 逾期未完成；不填为全部",
    )
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class DutyNoteRequest(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="落实情况")
    status = serializers.ChoiceField(
        choices=DutyTask.Status.choices, required=False, help_text="新状态；不填不变"
    )
    due = BoundedDate(required=False, help_text="新的完成期限（仅换发工作负责人）；不填不变")


class StepInput(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=ReviewChainStep.Level.choices, help_text="station 户籍派出所 / county 分（县）局 / city 市局"
    )
    title = serializers.CharField(max_length=20, help_text="环节名称，如 初审、审核签发、复核")


class ConfigurationRequest(serializers.Serializer):
    review_steps = serializers.ListField(
        child=StepInput(),
        min_length=1,
        max_length=services.MAX_STEPS,
        help_text=f"审核签发环节，按顺序，1 至 {services.MAX_STEPS} 个",
    )
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


# ---------------------------------------------------------------------------------------------
# Views


def _context(user: User, campaign: Campaign) -> dict[str, Any]:
    return {"today": timezone.localdate(), "scope": selectors.scope_unit(user, campaign), "user": user}


def _campaign(user: User, campaign: Campaign) -> Response:
    campaign = selectors.campaign_get(user, campaign.pk)
    return Response(CampaignSerializer(campaign, context=_context(user, campaign)).data)


class CampaignsView(APIView):
    @extend_schema(
        summary="集中换发列表（覆盖本单位的）",
        responses=inline_serializer("CampaignList", fields={"results": CampaignRowSerializer(many=True)}),
    )
    def get(self, request: Request) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        rows = selectors.campaigns(user).prefetch_related("phases")
        return Response({"results": CampaignRowSerializer(rows, many=True).data})

    @extend_schema(
        request=CampaignCreateRequest,
        responses={201: CampaignSerializer},
        summary="新建集中换发（筹备）：按登记人口测算任务数，生成职责分工和默认流程配置",
    )
    @errors("unknown_unit", "not_a_city", "bad_phases", "already_open")
    def post(self, request: Request) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        form = CampaignCreateRequest(data=request.data)
        form.is_valid(raise_exception=True)
        area = (
            Unit.objects.visible_to(user, "campaign.manage").filter(code=form.validated_data["area"]).first()
        )
        if area is None:
            raise ApiError(
                "unknown_unit",
                "本辖区没有该机构。",
                fields={"area": [{"code": "unknown_unit", "message": "请填写本辖区地市公安局的机构代码。"}]},
            )
        campaign = services.campaign_create(actor=user, area=area, **form.values())
        response = _campaign(user, campaign)
        response.status_code = 201
        return response


class CampaignDetailView(APIView):
    @extend_schema(
        summary="集中换发详情（实施步骤、分县任务、流程配置、逾期职责数）", responses=CampaignSerializer
    )
    def get(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        return _campaign(user, selectors.campaign_get(user, pk))

    @extend_schema(
        request=CampaignRequest,
        responses=CampaignSerializer,
        summary="修改集中换发的目标人群规则、任务数和实施步骤（任务数重新测算）",
    )
    @errors("bad_phases", "closed")
    def put(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        campaign = selectors.campaign_get(user, pk, "campaign.manage")
        form = CampaignRequest(data=request.data)
        form.is_valid(raise_exception=True)
        services.campaign_update(actor=user, campaign=campaign, **form.values())
        return _campaign(user, campaign)


class CampaignStartView(APIView):
    @extend_schema(
        request=None,
        responses=CampaignSerializer,
        summary="启动集中换发（筹备 → 进行中）：流程配置随即生效",
    )
    @errors("not_preparing", "unstaffed_units")
    def post(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        campaign = selectors.campaign_get(user, pk, "campaign.manage")
        services.campaign_start(actor=user, campaign=campaign)
        return _campaign(user, campaign)


class CampaignCloseView(APIView):
    @extend_schema(
        request=None,
        responses=CampaignSerializer,
        summary="结束集中换发：恢复原有的审核签发流程和分发路由",
    )
    @errors("closed")
    def post(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        campaign = selectors.campaign_get(user, pk, "campaign.manage")
        services.campaign_close(actor=user, campaign=campaign)
        return _campaign(user, campaign)


class TargetsView(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer(
            "CampaignTargetsDerived",
            fields={
                "eligible": serializers.IntegerField(help_text="登记人口中的目标人数"),
                "target": serializers.IntegerField(help_text="任务数"),
            },
        ),
        summary="按登记人口重新测算目标人数和任务数（如户口核对之后）",
    )
    @errors("closed")
    def post(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        campaign = selectors.campaign_get(user, pk, "campaign.manage")
        eligible, target = services.targets_derive(actor=user, campaign=campaign)
        return Response({"eligible": eligible, "target": target})


class ProgressView(APIView):
    @extend_schema(
        summary="集中换发进度：分县（或某县各派出所）的任务数、受理、签发、发放，逐日与累计，预计完成日期",
        parameters=[ProgressQuery],
        responses=ProgressSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        campaign = selectors.campaign_get(user, pk)
        query = query_of(ProgressQuery, request)
        result = selectors.progress(campaign, scope=selectors.scope_unit(user, campaign))
        rows = result.counties
        county = query.get("county")
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


class DutiesView(APIView):
    @extend_schema(
        summary="职责任务（本人可见部分），按编号顺序，每页 100 条",
        parameters=[DutiesQuery],
        responses=page_of("CampaignDutyPage", DutySerializer(many=True), cursor=serializers.IntegerField),
    )
    def get(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        campaign = selectors.campaign_get(user, pk)
        query = query_of(DutiesQuery, request)
        context = _context(user, campaign)
        status = query.get("status", "")
        page = selectors.duties_page(
            campaign,
            context["scope"],
            status="" if status == DUTY_LATE else status,
            late_on=context["today"] if status == DUTY_LATE else None,
            after=query.get("after"),
        )
        return Response(page_answer(page, DutySerializer(page.rows, many=True, context=context).data))


class DutyDetailView(APIView):
    @extend_schema(summary="职责任务及其落实情况", responses=DutyDetailSerializer)
    def get(self, request: Request, pk: int, task_pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        campaign = selectors.campaign_get(user, pk)
        task = selectors.duty_get(user, campaign, task_pk)
        return Response(DutyDetailSerializer(task, context=_context(user, campaign)).data)


class DutyNotesView(APIView):
    @extend_schema(
        request=DutyNoteRequest,
        responses={201: DutyDetailSerializer},
        summary="填写落实情况（可同时改变状态；换发工作负责人可调整完成期限）",
    )
    @errors("note_required", "note_too_long", "closed")
    def post(self, request: Request, pk: int, task_pk: int) -> Response:
        user = staff(request)
        if not (user.can("campaign.duty") or user.can("campaign.manage")):
            raise exceptions.PermissionDenied()
        campaign = selectors.campaign_get(user, pk)
        task = selectors.duty_get(user, campaign, task_pk)
        form = DutyNoteRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        task = services.duty_update(
            actor=user,
            task=task,
            note=data["note"],
            status=data.get("status"),
            due=data.get("due"),
        )
        return Response(DutyDetailSerializer(task, context=_context(user, campaign)).data, status=201)


class ReportsView(APIView):
    @extend_schema(
        summary="某报告期的各派出所定期上报（本人可见范围）",
        parameters=[PeriodQuery],
        responses=inline_serializer("CampaignReportList", fields={"results": ReportSerializer(many=True)}),
    )
    def get(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        campaign = selectors.campaign_get(user, pk)
        query = query_of(PeriodQuery, request)
        rows = selectors.reports(user, campaign, query["period"])
        return Response({"results": ReportSerializer(rows, many=True).data})

    @extend_schema(
        request=PeriodQuery,
        responses={
            201: inline_serializer(
                "CampaignReportsGenerated", fields={"results": ReportSerializer(many=True)}
            )
        },
        summary="生成（或刷新未签报的）定期上报：换发工作负责人为全市各派出所，派出所为本所",
    )
    @errors("before_campaign", "future_period")
    def post(self, request: Request, pk: int) -> Response:
        user = staff(request)
        if not (user.can("campaign.manage") or user.can("campaign.report")):
            raise exceptions.PermissionDenied()
        campaign = selectors.campaign_get(user, pk)
        form = PeriodQuery(data=request.data)
        form.is_valid(raise_exception=True)
        own = [user.unit] if user.unit is not None and user.unit.kind == Unit.Kind.STATION else None
        made = services.reports_generate(
            actor=user,
            campaign=campaign,
            period=form.validated_data["period"],
            stations=own,
        )
        rows = StationReport.objects.filter(pk__in=[r.pk for r in made]).select_related(
            "station", "county", "signed_by"
        )
        return Response(
            {"results": ReportSerializer(rows.order_by("station__path"), many=True).data}, status=201
        )


class ReportSignView(APIView):
    @extend_schema(
        request=None,
        summary="派出所签报本所的定期上报（签报后冻结；重复签报 409，他所报表 404）",
        responses=ReportSerializer,
    )
    @errors("already_signed", "closed")
    def post(self, request: Request, pk: int, report_pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.report")
        campaign = selectors.campaign_get(user, pk)
        report = selectors.report_get(user, report_pk)
        if report.campaign_id != campaign.pk:
            raise ApiError("not_found", "未找到。", status=404)
        signed = services.report_sign(actor=user, report=report)
        return Response(ReportSerializer(signed).data)


class SummaryRequest(serializers.Serializer):
    format = serializers.ChoiceField(choices=list(services.SUMMARY_FORMATS), help_text="pdf 或 xlsx")


class SummaryView(APIView):
    @extend_schema(
        request=SummaryRequest,
        responses={202: JobSerializer},
        summary=(
            "工作总结（PDF 或 Excel，本人所见范围）：后台任务，返回 202 与任务；"
            "进度见 GET /jobs/{id}，完成后 GET /jobs/{id}/result 下载"
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.view")
        campaign = selectors.campaign_get(user, pk)
        form = SummaryRequest(data=request.data)
        form.is_valid(raise_exception=True)
        job = services.summary_request(actor=user, campaign_id=campaign.pk, fmt=form.validated_data["format"])
        return Response(JobSerializer(job_get(user, job.pk)).data, status=202)


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
    @errors("override_reason_required", "unstaffed_units", "closed")
    def put(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        campaign = selectors.campaign_get(user, pk, "campaign.manage")
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
        )
        return Response(ConfigurationSerializer(configuration_data(campaign)).data)


class ConfigurationApplyView(APIView):
    @extend_schema(
        request=None,
        responses=ConfigurationSerializer,
        summary="启用流程配置（不启动集中换发）：本市的审核签发流程和分发路由改为本配置",
    )
    @errors("already_applied", "unstaffed_units", "closed")
    def post(self, request: Request, pk: int) -> Response:
        user = staff(request)
        require(user, "campaign.manage")
        campaign = selectors.campaign_get(user, pk, "campaign.manage")
        services.configuration_apply(actor=user, campaign=campaign)
        return Response(ConfigurationSerializer(configuration_data(campaign)).data)
