"""REST endpoints of 居民身份证核查 (docs/cardcheck.md): the relying parties' check, authenticated
by the institution's key (no staff login), and the provincial department's operations on the
institutions (docs/api.md)."""

from __future__ import annotations

import datetime
from typing import Any, cast

from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.accounts import limits
from tongban.api import Text, query_of, rate_limited, require, staff
from tongban.api_schema import errors
from tongban.cardcheck import selectors, services
from tongban.cardcheck.auth import InstitutionKeyAuthentication
from tongban.cardcheck.models import Institution
from tongban.cardcheck.rules import OUTCOME_CHOICES, Outcome

# ---------------------------------------------------------------------------------------------
# The relying parties.


def minute_limit(institution: Institution) -> limits.Limit:
    return limits.Limit("cardcheck.minute", institution.per_minute_limit, datetime.timedelta(minutes=1))


def daily_limit(institution: Institution) -> limits.Limit:
    return limits.Limit("cardcheck.day", institution.daily_limit, datetime.timedelta(days=1))


def take_limits(institution: Institution) -> None:
    """Count the knock against the institution's limits: `429 rate_limited` past either."""
    key = str(institution.pk)
    for limit in (minute_limit(institution), daily_limit(institution)):
        until = limits.take(limit, key)
        if until is not None:
            raise rate_limited(until)


class CheckInput(serializers.Serializer):
    id_number = Text(max_length=18, help_text="公民身份号码（18 位，末位可为 X）")
    name = Text(max_length=50, help_text="姓名（与证件一致；少数民族姓名的间隔点写法不限）")
    card_serial = Text(max_length=32, help_text="卡号（证件芯片中读出的卡序列号）")


class CheckAnswer(serializers.Serializer):
    check_id = serializers.CharField(help_text="本次核查编号，查询或申诉时引用")
    result = serializers.ChoiceField(choices=[o.value for o in Outcome], help_text="核查结果代码")
    result_label = serializers.ChoiceField(choices=[o.label for o in Outcome], help_text="核查结果")
    checked_at = serializers.DateTimeField(help_text="核查时间")


class CardChecksView(APIView):
    """The institution is authenticated by its key on every request; it never has a session."""

    authentication_classes = [InstitutionKeyAuthentication]
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [JSONParser]

    @extend_schema(
        summary="居民身份证核查：核对公民身份号码、姓名与卡号，只答一致且有效、已挂失、已换领作废、已过期或不一致",
        request=CheckInput,
        responses={200: CheckAnswer},
        examples=[
            OpenApiExample(
                "核查",
                request_only=True,
                value={"id_number": "360102199001011234", "name": "张三", "card_serial": "CS0001"},
            ),
            OpenApiExample(
                "一致且有效",
                response_only=True,
                value={
                    "check_id": "6f1c0a2e9b7d4c3f8a5e1d2c3b4a5f6e",
                    "result": "valid",
                    "result_label": "一致且有效",
                    "checked_at": "2026-12-07T10:30:00+08:00",
                },
            ),
        ],
    )
    @errors("institution_key_required", "institution_key_invalid", "institution_suspended", "rate_limited")
    def post(self, request: Request) -> Response:
        institution = cast(Institution, request.auth)  # InstitutionKeyAuthentication's
        take_limits(institution)
        body = CheckInput(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.card_check(institution=institution, **body.validated_data)
        answer = {
            "check_id": result.check_id,
            "result": result.outcome.value,
            "result_label": result.label,
            "checked_at": result.checked_at,
        }
        return Response(CheckAnswer(answer).data, headers={"Cache-Control": "no-store"})


card_checks_view = csrf_exempt(CardChecksView.as_view())

# ---------------------------------------------------------------------------------------------
# The provincial department.


class InstitutionSerializer(serializers.ModelSerializer[Institution]):
    kind_label = serializers.CharField(source="get_kind_display")
    state_label = serializers.CharField(source="get_state_display")
    month_total = serializers.IntegerField(default=0, help_text="本月核查次数")

    class Meta:
        model = Institution
        fields = [
            "id",
            "name",
            "kind",
            "kind_label",
            "credit_code",
            "purpose",
            "contact",
            "state",
            "state_label",
            "state_reason",
            "per_minute_limit",
            "daily_limit",
            "key_prefix",
            "key_issued_at",
            "created_at",
            "month_total",
        ]


class InstitutionInput(serializers.Serializer):
    name = Text(max_length=100)
    kind = serializers.ChoiceField(choices=Institution.Kind.choices)
    credit_code = Text(max_length=30, help_text="统一社会信用代码（18 位，GB 32100 校验）")
    purpose = Text(max_length=200, help_text="核查用途，每条核查审计记录都载明")
    contact = Text(max_length=100, help_text="联系人及电话")
    per_minute_limit = serializers.IntegerField(min_value=1, max_value=services.MAX_PER_MINUTE, default=60)
    daily_limit = serializers.IntegerField(min_value=1, max_value=services.MAX_PER_DAY, default=10000)


class InstitutionPatch(serializers.Serializer):
    name = Text(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=Institution.Kind.choices, required=False)
    credit_code = Text(max_length=30, required=False)
    purpose = Text(max_length=200, required=False)
    contact = Text(max_length=100, required=False)
    per_minute_limit = serializers.IntegerField(
        min_value=1, max_value=services.MAX_PER_MINUTE, required=False
    )
    daily_limit = serializers.IntegerField(min_value=1, max_value=services.MAX_PER_DAY, required=False)


class KeyAnswer(InstitutionSerializer):
    key = serializers.CharField(help_text="新密钥：仅此一次返回，请立即交给机构妥善保存")

    class Meta(InstitutionSerializer.Meta):
        fields = [*InstitutionSerializer.Meta.fields, "key"]


class ReasonInput(serializers.Serializer):
    reason = Text(max_length=services.MAX_REASON, help_text="暂停或恢复的原因")


class CountsQuery(serializers.Serializer):
    months = serializers.IntegerField(min_value=1, max_value=36, required=False, default=12)


MONTHS = inline_serializer(
    many=True,
    name="CardcheckMonth",
    fields={
        "month": serializers.CharField(help_text="YYYY-MM"),
        "counts": inline_serializer(
            name="CardcheckOutcomeCounts",
            fields={value: serializers.IntegerField(help_text=label) for value, label in OUTCOME_CHOICES},
        ),
        "total": serializers.IntegerField(),
    },
)


def month_answer(row: selectors.MonthCounts) -> dict[str, Any]:
    return {"month": f"{row.month:%Y-%m}", "counts": dict(row.by_outcome), "total": row.total}


def _entry(data: dict[str, Any], base: Institution | None = None) -> services.InstitutionEntry:
    fields = ("name", "kind", "credit_code", "purpose", "contact", "per_minute_limit", "daily_limit")
    values = {name: data[name] if name in data else getattr(base, name) for name in fields}
    return services.InstitutionEntry(**values)


def _one(institution: Institution) -> dict[str, Any]:
    return dict(InstitutionSerializer(institution).data)


class InstitutionsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="居民身份证核查：核查机构（状态、密钥前缀、限额、本月核查次数）",
        responses=InstitutionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.view")
        return Response(InstitutionSerializer(selectors.institutions(viewer), many=True).data)

    @extend_schema(
        request=InstitutionInput,
        responses={201: InstitutionSerializer},
        summary="居民身份证核查：登记核查机构",
    )
    @errors("institution_exists")
    def post(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.manage")
        body = InstitutionInput(data=request.data)
        body.is_valid(raise_exception=True)
        institution = services.institution_add(actor=viewer, entry=_entry(body.validated_data))
        return Response(_one(institution), status=201)


class InstitutionView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="居民身份证核查：核查机构", responses=InstitutionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.view")
        institution = selectors.institutions(viewer).filter(pk=pk).first()
        return Response(_one(institution or selectors.institution_for(viewer, pk)))

    @extend_schema(
        request=InstitutionPatch,
        responses=InstitutionSerializer,
        summary="居民身份证核查：修改核查机构（用途、联系人、限额等）",
    )
    @errors("institution_exists")
    def patch(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.manage")
        institution = selectors.institution_for(viewer, pk, "cardcheck.manage")
        body = InstitutionPatch(data=request.data)
        body.is_valid(raise_exception=True)
        entry = _entry(body.validated_data, institution)
        return Response(_one(services.institution_update(actor=viewer, institution=institution, entry=entry)))


class InstitutionKeyView(APIView):
    @extend_schema(
        request=None,
        responses=KeyAnswer,
        summary="居民身份证核查：签发或更换机构密钥（新密钥仅返回一次，旧密钥立即失效）",
    )
    def post(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.manage")
        institution = selectors.institution_for(viewer, pk, "cardcheck.manage")
        institution, key = services.key_issue(actor=viewer, institution=institution)
        return Response({**_one(institution), "key": key}, headers={"Cache-Control": "no-store"})


class InstitutionSuspendView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=ReasonInput,
        responses=InstitutionSerializer,
        summary="居民身份证核查：暂停机构核查（下一次请求起拒绝）",
    )
    @errors("reason_required", "reason_too_long", "already_suspended")
    def post(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.manage")
        institution = selectors.institution_for(viewer, pk, "cardcheck.manage")
        body = ReasonInput(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        return Response(
            _one(services.institution_suspend(actor=viewer, institution=institution, reason=reason))
        )


class InstitutionResumeView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=ReasonInput, responses=InstitutionSerializer, summary="居民身份证核查：恢复机构核查"
    )
    @errors("reason_required", "reason_too_long", "not_suspended")
    def post(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.manage")
        institution = selectors.institution_for(viewer, pk, "cardcheck.manage")
        body = ReasonInput(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["reason"]
        return Response(
            _one(services.institution_resume(actor=viewer, institution=institution, reason=reason))
        )


class InstitutionCountsView(APIView):
    @extend_schema(
        summary="居民身份证核查：机构按月核查次数（按核查结果，新的月份在前）",
        parameters=[CountsQuery],
        responses=inline_serializer(name="CardcheckCounts", fields={"months": MONTHS}),
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardcheck.view")
        institution = selectors.institution_for(viewer, pk)
        query = query_of(CountsQuery, request)
        rows = selectors.monthly_counts(institution, months=query["months"])
        return Response({"months": [month_answer(row) for row in rows]})
