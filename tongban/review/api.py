"""REST endpoints of review and issue (审核签发): the work queue, take / release / decide, and the
full application by 受理号. The full record is served here, not in intake/api.py, because
reviewers see it with the face comparisons of review's selectors and intake never imports review
(STYLE.md, "Dependency direction")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import Text, UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import errors
from tongban.intake import selectors as intake_selectors
from tongban.intake.api import NUMBER_PARAMETER, STATUS_HELP, ApplicationSerializer
from tongban.intake.models import Application
from tongban.intake.services import application_open
from tongban.registry.access import as_viewer
from tongban.registry.codes import REFUSAL_REASONS
from tongban.review import selectors, services
from tongban.review.models import VerificationNote


class FaceCandidateSerializer(serializers.Serializer):
    """One 1:N (or the 1:1 self) comparison hit; never the photo itself."""

    gallery = serializers.CharField()
    gallery_label = serializers.CharField()
    ref_id = serializers.CharField()
    score = serializers.FloatField()
    is_self = serializers.BooleanField()
    kind = serializers.CharField(
        help_text="person 常住人口 / application 另一申领 / wanted 在逃人员 / floating 流动人口 / "
        "missing 已不在比对库中"
    )
    name = serializers.CharField(help_text="候选人姓名")
    id_number = serializers.CharField(help_text="候选人公民身份号码（脱敏）")
    number = serializers.CharField(help_text="另一申领的受理号（其他候选为空）")
    unit = serializers.CharField(help_text="户籍地派出所、受理单位或居住地派出所")
    # DRF fields have a `label` attribute of their own; the declared field only shadows it in stubs.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="候选人的中文说明：姓名（号码脱敏）及户籍地、受理号或案件编号"
    )


class ApplicationDetailSerializer(ApplicationSerializer):
    face_hits = serializers.SerializerMethodField()

    @extend_schema_field(FaceCandidateSerializer(many=True, allow_null=True))
    def get_face_hits(self, application: Application) -> list[Any] | None:
        """人像比对: only for callers who review (review.decide); null for everybody else."""
        if not self.context.get("reviewer"):
            return None
        candidates = selectors.face_candidates(application, self.context.get("viewer"))
        return list(FaceCandidateSerializer(candidates, many=True).data)


class ApplicationDetailView(APIView):
    @extend_schema(
        responses=ApplicationDetailSerializer,
        summary="按受理号查看申领（含办理记录；审核签发员另见人像比对结果；留痕）",
        parameters=[NUMBER_PARAMETER],
    )
    def get(self, request: Request, number: str) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "application.view")
        application = intake_selectors.application_by_number(viewer, number)
        application_open(viewer=viewer, application=application, how="api")
        context = {"reviewer": viewer.can("review.decide"), "viewer": viewer}
        return Response(ApplicationDetailSerializer(application, context=context).data)


# ---------------------------------------------------------------------------------------------
# The work queue (待办)


class QueueRowSerializer(serializers.ModelSerializer[Application]):
    """A queue row: the ID number is masked."""

    id_number = serializers.CharField(source="masked_id_number")
    type_label = serializers.CharField(source="get_type_display")
    status = serializers.CharField(help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display")
    acceptance_unit = UnitRefSerializer()
    review_unit = UnitRefSerializer()
    step = serializers.IntegerField(source="review_step")
    step_title = serializers.SerializerMethodField()
    due = serializers.DateField(source="review_due")
    due_provisional = serializers.BooleanField(source="review_due_provisional")
    due_state = serializers.SerializerMethodField(help_text="overdue / due_today / at_risk / 空")
    assignee = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = [
            "number",
            "name",
            "id_number",
            "type",
            "type_label",
            "status",
            "status_label",
            "acceptance_unit",
            "cross_region",
            "exchange",
            "remote_province",
            "remote_unit_name",
            "review_unit",
            "step",
            "step_title",
            "accepted_at",
            "due",
            "due_provisional",
            "due_state",
            "assignee",
        ]

    def get_step_title(self, application: Application) -> str:
        return str((application.current_step or {}).get("title", ""))

    def get_due_state(self, application: Application) -> str:
        return selectors.due_state(application, self.context["days"])

    def get_assignee(self, application: Application) -> str | None:
        return application.assignee.display_name if application.assignee else None


SORT_CHOICES = [key for name in selectors.SORTS for key in (name, f"-{name}")]


class QueueQuery(serializers.Serializer):
    """The queue's query, declared in the schema as it is validated."""

    scope = serializers.ChoiceField(
        choices=list(selectors.SCOPES),
        required=False,
        default="mine",
        help_text="mine 我的待办（本人领取的和本单位未领取的，默认）/ subtree 辖区在办（本辖区审核中的全部）",
    )
    bucket = serializers.ChoiceField(
        choices=list(selectors.BUCKETS),
        required=False,
        default="all",
        help_text="all 全部 / overdue 已超期 / due_today 今日到期 / at_risk 临近到期 / mine 我领取的"
        " / verification 核实中",
    )
    sort = serializers.ChoiceField(
        choices=SORT_CHOICES,
        required=False,
        default="due",
        help_text="due 办理期限（默认）/ accepted 受理时间 / name 姓名；前加 - 为倒序",
    )
    q = Text(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text="受理号（22 位）或公民身份号码：在辖区在办中精确查询，忽略 scope 和 bucket；"
        "其他内容 400（fields.q 为 bad_search）",
    )
    after = Text(
        required=False, allow_blank=True, max_length=80, help_text="上一页的 next_after（“排序值:id”）"
    )

    def validate_q(self, value: str) -> str:
        if value.strip():
            try:
                selectors.search_filter(value)
            except selectors.SearchError as error:
                raise serializers.ValidationError(str(error), code="bad_search") from error
        return value.strip()


class QueueCountsSerializer(serializers.Serializer):
    all = serializers.IntegerField()
    overdue = serializers.IntegerField()
    due_today = serializers.IntegerField()
    at_risk = serializers.IntegerField()
    mine = serializers.IntegerField()
    verification = serializers.IntegerField()


class ScopeCountsSerializer(serializers.Serializer):
    mine = serializers.IntegerField(help_text="我的待办")
    subtree = serializers.IntegerField(help_text="辖区在办")


class QueuePageSerializer(serializers.Serializer):
    scope = serializers.CharField()
    bucket = serializers.CharField()
    sort = serializers.CharField()
    q = serializers.CharField()
    today = serializers.DateField()
    total = serializers.IntegerField(help_text="该范围和分类（或查询）的事项总数")
    results = QueueRowSerializer(many=True)
    next_after = serializers.CharField(allow_null=True)
    counts = QueueCountsSerializer(help_text="本范围各分类的数量")
    scope_counts = ScopeCountsSerializer()


class QueueView(APIView):
    @extend_schema(
        summary="审核签发待办：我的待办 / 辖区在办，按受理号或公民身份号码查询，可排序，含总数和各分类数量",
        parameters=[QueueQuery],
        responses=QueuePageSerializer,
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "review.decide")
        data = query_of(QueueQuery, request)
        page = selectors.review_queue(
            viewer,
            data["bucket"],
            after=data.get("after") or None,
            scope=data["scope"],
            sort=data["sort"],
            q=data.get("q", ""),
        )
        rows = QueueRowSerializer(page.rows, many=True, context={"days": page.days}).data
        return Response(
            {
                "scope": page.scope,
                "bucket": page.bucket,
                "sort": page.sort.param,
                "q": page.q,
                "today": page.days.today,
                "total": page.total,
                **page_answer(page, rows),
                "counts": page.counts,
                "scope_counts": page.scope_counts,
            }
        )


# ---------------------------------------------------------------------------------------------
# Actions on one item


DECISION_LABELS = {
    services.Decision.ISSUE: "签发",
    services.Decision.REFUSE: "不予签发",
    services.Decision.VERIFY: "核实",
}


class DecisionRequest(serializers.Serializer):
    step = serializers.IntegerField(min_value=1, help_text="作出决定时看到的环节（防止重复办结）")
    decision = serializers.ChoiceField(
        choices=[(decision.value, DECISION_LABELS[decision]) for decision in services.Decision],
        help_text="issue 签发（非末环节为审核通过）/ refuse 不予签发 / verify 记录核实情况",
    )
    reason = Text(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="签发意见、不予签发的说明（原因为“其他”时必填，至多 400 字）或核实情况",
    )
    refusal_reason = Text(
        max_length=10,
        required=False,
        allow_blank=True,
        help_text="不予签发原因代码（refuse 时必填）："
        + " / ".join(f"{code} {name}" for code, name, _ in REFUSAL_REASONS)
        + "（随系统安装；以系统管理中启用的代码为准）",
    )
    method = serializers.ChoiceField(
        choices=VerificationNote.Method.choices, required=False, allow_blank=True, help_text="核实方式"
    )


# Whether the item is still the caller's to act on (status, unit, holder).
OPEN_ERRORS = ("already_decided", "other_unit", "taken", "not_routed")


class TakeView(APIView):
    @extend_schema(
        request=None, responses=ApplicationSerializer, summary="领取审核事项", parameters=[NUMBER_PARAMETER]
    )
    @errors(*OPEN_ERRORS)
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        require(actor, "review.decide")
        application = intake_selectors.application_by_number(actor, number)
        application = services.review_take(actor=actor, application=application)
        return Response(ApplicationSerializer(application).data)


class ReleaseView(APIView):
    @extend_schema(
        request=None,
        responses=ApplicationSerializer,
        summary="退回待办（放弃领取）",
        parameters=[NUMBER_PARAMETER],
    )
    @errors("not_holder", "already_decided", "other_unit")
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        require(actor, "review.decide")
        application = intake_selectors.application_by_number(actor, number)
        application = services.review_release(actor=actor, application=application)
        return Response(ApplicationSerializer(application).data)


class DecideView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=DecisionRequest,
        responses=ApplicationSerializer,
        summary="审核签发决定：签发 / 不予签发 / 核实",
        parameters=[NUMBER_PARAMETER],
    )
    @errors(
        "reason_too_long",
        "refusal_reason_required",
        "bad_refusal_reason",
        "refusal_reason_inactive",
        "reason_required",
        "note_required",
        "bad_method",
        *OPEN_ERRORS,
        "step_decided",
        "bad_transition",
        "province_not_connected",
    )
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        require(actor, "review.decide")
        form = DecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        application = intake_selectors.application_by_number(actor, number)
        step, reason = data["step"], data.get("reason", "")
        match services.Decision(data["decision"]):
            case services.Decision.REFUSE:
                application = services.review_refuse(
                    actor=actor,
                    application=application,
                    step=step,
                    refusal_reason=data.get("refusal_reason", ""),
                    remark=reason,
                )
            case services.Decision.VERIFY:
                application = services.review_record_verification(
                    actor=actor,
                    application=application,
                    step=step,
                    method=data.get("method", ""),
                    note=reason,
                )
            case services.Decision.ISSUE:
                application = services.review_approve(
                    actor=actor, application=application, step=step, reason=reason
                )
        return Response(ApplicationSerializer(application).data)
