"""`POST /api/v1/public/progress`: 办理进度查询 for anyone, without a login (docs/api.md,
docs/progress.md). A POST, so that neither the 受理号 nor the digits or name typed with it ride
in a URL, a proxy's access log or a browser's history."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import ApiError, Text, rate_limited
from tongban.api_schema import errors
from tongban.audit.context import client_address
from tongban.core import typed
from tongban.intake.rules import is_acceptance_number
from tongban.portal.progress import rules
from tongban.portal.progress.services import NOT_FOUND_MESSAGE, Outcome, Progress, progress_lookup


class ProgressRequest(serializers.Serializer):
    number = Text(max_length=22, help_text="受理号：22 位数字，见《领证回执》")
    id_suffix = Text(
        max_length=6,
        required=False,
        allow_blank=True,
        help_text="申请人公民身份号码的后 6 位（末位 X 大小写均可）；与 name 二选一",
    )
    name = Text(
        max_length=rules.NAME_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="申请人姓名（与登记一致；少数民族姓名的间隔点“·”“•”均可）；与 id_suffix 二选一",
    )

    def validate_number(self, value: str) -> str:
        if not is_acceptance_number(value):
            raise serializers.ValidationError(rules.NUMBER_MESSAGE, code="invalid")
        return value

    def validate_id_suffix(self, value: str) -> str:
        if value and not typed.is_id_suffix(value):
            raise serializers.ValidationError(rules.SUFFIX_MESSAGE, code="invalid")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [field for field in ("id_suffix", "name") if attrs.get(field)]
        if len(given) != 1:
            field = given[-1] if given else "id_suffix"
            raise serializers.ValidationError({field: rules.ONE_OF_MESSAGE}, code="one_of")
        return attrs


STAGE_CHOICES = [(stage.value, stage.label) for stage in rules.Stage]


class ProgressEstimateSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="日期（按工作日和节假日安排计算）")
    provisional = serializers.BooleanField(help_text="暂估：计算跨过了尚未录入节假日安排的年份")


class ProgressStationSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="受理单位（领证地点）")
    address = serializers.CharField(help_text="地址；登记中没有时为空")
    phone = serializers.CharField(help_text="联系电话；登记中没有时为空")


class ProgressRefusalSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="不予签发原因的类别（面向群众的说法，不含审核意见）")
    advice = serializers.CharField(help_text="下一步怎么办")


class ProgressAnswerSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="受理号")
    stage = serializers.ChoiceField(choices=STAGE_CHOICES, help_text="当前环节（代码）")
    stage_label = serializers.CharField(
        help_text="当前环节：已受理、审核中、已签发、制证中、待领取、已邮寄、已领取、不予签发、已撤回"
    )
    summary = serializers.CharField(help_text="当前环节的说明")
    accepted_on = serializers.DateField(allow_null=True, help_text="受理日期")
    issued_on = serializers.DateField(allow_null=True, help_text="签发日期；未签发为 null")
    expected_issue = ProgressEstimateSerializer(allow_null=True, help_text="预计签发日期（审核中）")
    expected_ready = ProgressEstimateSerializer(
        allow_null=True, help_text="预计领证（邮寄的：寄出）日期；已到、已过或不再适用时为 null"
    )
    ready_label = serializers.CharField(help_text="expected_ready 的名称：预计领证日期或预计寄出日期")
    collection = serializers.CharField(help_text="领取方式：station 受理点领取，post 邮政寄递")
    station = ProgressStationSerializer(help_text="受理单位，也是领证地点")
    tracking_number = serializers.CharField(help_text="邮件号（邮政寄递的，寄出后）；否则为空")
    refusal = ProgressRefusalSerializer(allow_null=True, help_text="不予签发时的原因类别和办理建议")
    next_steps = serializers.ListField(child=serializers.CharField(), help_text="接下来需要您做的事")
    cross_province = serializers.BooleanField(help_text="跨省通办申请")
    notes = serializers.ListField(child=serializers.CharField(), help_text="其他提示")


def progress_data(progress: Progress) -> dict[str, Any]:
    def estimate(value: Any) -> dict[str, Any] | None:
        return None if value is None else {"date": value.date, "provisional": value.provisional}

    data = {
        "number": progress.number,
        "stage": progress.stage.value,
        "stage_label": progress.stage_label,
        "summary": progress.summary,
        "accepted_on": progress.accepted_on,
        "issued_on": progress.issued_on,
        "expected_issue": estimate(progress.expected_issue),
        "expected_ready": estimate(progress.expected_ready),
        "ready_label": progress.ready_label,
        "collection": progress.collection,
        "station": vars(progress.station) if progress.station else None,
        "tracking_number": progress.tracking_number,
        "refusal": vars(progress.refusal) if progress.refusal else None,
        "next_steps": list(progress.next_steps),
        "cross_province": progress.cross_province,
        "notes": list(progress.notes),
    }
    return dict(ProgressAnswerSerializer(data).data)


class ProgressView(APIView):
    """Public: no login, so no session and no CSRF token; the limits of the service are its guard."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [JSONParser]

    @extend_schema(
        summary="办理进度查询（无需登录）：受理号 + 公民身份号码后6位或姓名",
        description=(
            "受理号与公民身份号码后 6 位（或姓名）相符时答复办理进度；不符或受理号不存在时一律答复 "
            "404 not_found（“未查询到”），不说明哪一项不符。每个客户端地址在时间窗内的查询次数、"
            "每个受理号在时间窗内的失败次数有上限，超过时答复 429 rate_limited 并给出 Retry-After。"
        ),
        request=ProgressRequest,
        responses={200: ProgressAnswerSerializer},
        examples=[
            OpenApiExample(
                "按身份证号后6位",
                request_only=True,
                value={"number": "3601020012026120100001", "id_suffix": "17002X"},
            ),
            OpenApiExample(
                "按姓名", request_only=True, value={"number": "3601020012026120100001", "name": "刘晓燕"}
            ),
        ],
    )
    @errors("not_found", "rate_limited")
    def post(self, request: Request) -> Response:
        form = ProgressRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        lookup = progress_lookup(
            number=data["number"],
            id_suffix=data.get("id_suffix", ""),
            name=data.get("name", ""),
            address=client_address(request._request),
        )
        if lookup.outcome is Outcome.LIMITED:
            raise rate_limited(lookup.retry_at or timezone.now())
        if lookup.outcome is Outcome.NOT_FOUND or lookup.progress is None:
            raise ApiError("not_found", NOT_FOUND_MESSAGE, status=404)
        # Personal: no cache along the way keeps it.
        return Response(progress_data(lookup.progress), headers={"Cache-Control": "no-store"})
