"""REST endpoints of review and issue (审核签发): the work queue, take / release / decide, and the
full application by 受理号. The full record is served here, not in intake/api.py, because
reviewers see it with the face comparisons of review's selectors and intake never imports review
(STYLE.md, "Dependency direction")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.audit.services import record
from tongban.intake import selectors as intake_selectors
from tongban.intake.api import STATUS_HELP, ApplicationSerializer, UnitRefSerializer, staff
from tongban.intake.models import Application
from tongban.registry.access import as_viewer
from tongban.review import selectors, services
from tongban.review.models import VerificationNote


class FaceCandidateSerializer(serializers.Serializer):
    """One 1:N (or the 1:1 self) comparison hit; never the photo itself."""

    gallery = serializers.CharField()
    gallery_label = serializers.CharField()
    ref_id = serializers.CharField()
    score = serializers.FloatField()
    is_self = serializers.BooleanField()
    # DRF fields have a `label` attribute of their own; the declared field only shadows it in stubs.
    label = serializers.CharField(help_text="候选人（号码脱敏）或另一申领的受理号")  # type: ignore[assignment]


class ApplicationDetailSerializer(ApplicationSerializer):
    face_hits = serializers.SerializerMethodField()

    @extend_schema_field(FaceCandidateSerializer(many=True, allow_null=True))
    def get_face_hits(self, application: Application) -> list[Any] | None:
        """人像比对: only for callers who review (review.decide); null for everybody else."""
        if not self.context.get("reviewer"):
            return None
        return list(FaceCandidateSerializer(selectors.face_candidates(application), many=True).data)


class ApplicationDetailView(APIView):
    @extend_schema(
        responses=ApplicationDetailSerializer,
        summary="按受理号查看申领（含办理记录；审核签发员另见人像比对结果；留痕）",
    )
    def get(self, request: Request, number: str) -> Response:
        viewer = as_viewer(request.user)
        application = intake_selectors.application_by_number(viewer, number)
        record(
            actor=viewer,
            action="application.view",
            object_type="intake.application",
            object_id=application.pk,
            detail={"how": "api"},
            request=request._request,
        )
        context = {"reviewer": viewer.can("review.decide")}
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


class QueueQuery(serializers.Serializer):
    bucket = serializers.ChoiceField(choices=list(selectors.BUCKETS), required=False, default="all")
    after = serializers.CharField(required=False, allow_blank=True, max_length=40)


class QueueView(APIView):
    @extend_schema(
        summary="审核签发待办（按办理期限，含各分类数量）",
        parameters=[
            OpenApiParameter(
                "bucket",
                str,
                enum=list(selectors.BUCKETS),
                description="all 全部 / overdue 已超期 / due_today 今日到期 / at_risk 临近到期 / "
                "mine 我领取的 / verification 核实中",
            ),
            OpenApiParameter("after", str, description="上一页的 next_after（“期限:id”）"),
        ],
        responses=QueueRowSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = QueueQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        bucket = query.validated_data["bucket"]
        page = selectors.review_queue(
            as_viewer(request.user), bucket, after=query.validated_data.get("after") or None
        )
        rows = QueueRowSerializer(page.rows, many=True, context={"days": page.days}).data
        return Response(
            {
                "bucket": bucket,
                "today": page.days.today,
                "results": rows,
                "next_after": page.next_after,
                "counts": page.counts,
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
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="意见、不予签发原因或核实情况"
    )
    method = serializers.ChoiceField(
        choices=VerificationNote.Method.choices, required=False, allow_blank=True, help_text="核实方式"
    )


class TakeView(APIView):
    @extend_schema(request=None, responses=ApplicationSerializer, summary="领取审核事项")
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        application = intake_selectors.application_by_number(actor, number)
        application = services.review_take(actor=actor, application=application, request=request._request)
        return Response(ApplicationSerializer(application).data)


class ReleaseView(APIView):
    @extend_schema(request=None, responses=ApplicationSerializer, summary="退回待办（放弃领取）")
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        application = intake_selectors.application_by_number(actor, number)
        application = services.review_release(actor=actor, application=application, request=request._request)
        return Response(ApplicationSerializer(application).data)


class DecideView(APIView):
    @extend_schema(
        request=DecisionRequest,
        responses=ApplicationSerializer,
        summary="审核签发决定：签发 / 不予签发 / 核实",
    )
    def post(self, request: Request, number: str) -> Response:
        form = DecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        actor = staff(request)
        application = intake_selectors.application_by_number(actor, number)
        application = services.review_decide(
            actor=actor,
            application=application,
            step=data["step"],
            decision=services.Decision(data["decision"]),
            reason=data.get("reason", ""),
            method=data.get("method", ""),
            request=request._request,
        )
        return Response(ApplicationSerializer(application).data)
