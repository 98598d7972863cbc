"""REST endpoints of 临时居民身份证: the 登记簿 and a new card, one card (audited), the county
bureau's 签发 queue, the 未收回 list, and each action of the pages (签发, 不予签发, 打印, 发放, 收回,
作废). Thin: selectors read, services act."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import ApiError, Text, UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.core.masking import mask_id_number
from tongban.intake.api import PHOTO_MAX_BYTES, Base64Field
from tongban.registry.api import IdNumberField
from tongban.registry.pdf import PdfFontMissing
from tongban.registry.selectors import person_lookup
from tongban.temporary import rules, selectors, services
from tongban.temporary.models import TemporaryCard, TemporaryCardEvent

logger = logging.getLogger(__name__)


class TemporaryCardRowSerializer(serializers.ModelSerializer[TemporaryCard]):
    """A line of the 登记簿: the number masked."""

    id_number = serializers.SerializerMethodField(help_text="公民身份号码（脱敏）")
    state = serializers.ChoiceField(
        source="current_state", choices=rules.STATE_CHOICES, help_text="当前状态（已过期由有效期限推算）"
    )
    state_label = serializers.CharField(source="current_state_label")
    unit = UnitRefSerializer(help_text="受理单位")
    issuing_unit = UnitRefSerializer(help_text="签发单位（受理单位所属县级公安机关）")
    application_number = serializers.CharField(source="application.number", help_text="居民身份证申领受理号")

    class Meta:
        model = TemporaryCard
        fields = [
            "id",
            "number",
            "name",
            "id_number",
            "state",
            "state_label",
            "unit",
            "issuing_unit",
            "application_number",
            "accepted_at",
            "due",
            "due_provisional",
            "valid_from",
            "valid_until",
            "receipt_number",
            "fee_amount",
            "fee_waived",
        ]

    def get_id_number(self, card: TemporaryCard) -> str:
        return mask_id_number(card.id_number)


class TemporaryCardEventSerializer(serializers.ModelSerializer[TemporaryCardEvent]):
    action_label = serializers.CharField(source="get_action_display")
    actor = serializers.CharField(source="actor.display_name")

    class Meta:
        model = TemporaryCardEvent
        fields = ["action", "action_label", "note", "actor", "at"]


class TemporaryCardSerializer(TemporaryCardRowSerializer):
    """One card in full (its view is audited)."""

    id_number = serializers.CharField(help_text="公民身份号码")  # type: ignore[assignment]
    photo_source = serializers.ChoiceField(choices=TemporaryCard.PhotoSource.choices)
    events = TemporaryCardEventSerializer(many=True, help_text="办理记录")

    class Meta(TemporaryCardRowSerializer.Meta):
        fields = [
            *TemporaryCardRowSerializer.Meta.fields,
            "sex",
            "ethnicity",
            "birth_date",
            "address",
            "photo_source",
            "issuing_authority",
            "decided_at",
            "refusal_reason",
            "printed_at",
            "handed_out_at",
            "formal_collected_at",
            "unreturned_reason",
            "returned_at",
            "void_reason",
            "voided_at",
            "events",
        ]


class IssueWaitingSerializer(serializers.Serializer):
    card = TemporaryCardRowSerializer()
    days_left = serializers.IntegerField(help_text="距签发期限的工作日数：0 为今日到期，负数为已逾期")
    overdue = serializers.BooleanField()


class TemporaryOwedSerializer(serializers.Serializer):
    card = TemporaryCardRowSerializer()
    due = serializers.DateField(help_text="应收回日期：正式证件领取日，或有效期满次日")
    reason = serializers.CharField(help_text="未收回情形")


class RegisterQuery(serializers.Serializer):
    unit = Text(max_length=12, required=False, allow_blank=True, help_text="本辖区内的单位代码；不填为全辖区")
    state = serializers.ChoiceField(choices=rules.STATE_CHOICES, required=False, allow_blank=True)
    start = serializers.DateField(required=False, help_text="受理日期起")
    end = serializers.DateField(required=False, help_text="受理日期止")
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class CreateRequest(serializers.Serializer):
    id_number = IdNumberField(help_text="申请人公民身份号码（须有办理中的居民身份证申领）")
    photo = Base64Field(
        max_bytes=PHOTO_MAX_BYTES, required=False, help_text="新采集相片 JPEG，≤ 2 MB；不填沿用申领相片"
    )
    phone = Text(max_length=20, required=False, allow_blank=True, help_text="联系电话；不填沿用申领的")
    waived = serializers.BooleanField(required=False, default=False, help_text="减免工本费")
    waiver_evidence = Text(max_length=200, required=False, allow_blank=True, help_text="减免依据")


class ReasonRequest(serializers.Serializer):
    reason = Text(max_length=500, allow_blank=True)


def _answer(request: Request, card: TemporaryCard, status: int = 200) -> Response:
    viewer = staff(request)
    card = selectors.card_get(viewer, card.pk)
    selectors.card_open(viewer=viewer, card=card, how="api")
    return Response(TemporaryCardSerializer(card).data, status=status)


class TemporaryCardsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="临时居民身份证登记簿：本辖区的，新的在前（身份号码脱敏）",
        parameters=[RegisterQuery],
        responses=page_of(
            "TemporaryCardPage", TemporaryCardRowSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    @errors("not_found")  # a `unit` outside the caller's subtree
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "temporary.view")
        query = query_of(RegisterQuery, request)
        unit = selectors.unit_of_subtree(viewer, query["unit"]) if query.get("unit") else None
        filters = selectors.Filters(
            unit=unit, state=query.get("state", ""), start=query.get("start"), end=query.get("end")
        )
        page = selectors.register_page(viewer, filters, after=query.get("after"))
        return Response(page_answer(page, TemporaryCardRowSerializer(page.rows, many=True).data))

    @extend_schema(
        summary="受理临时居民身份证（收取工本费 10 元，可减免）",
        request=CreateRequest,
        responses={201: TemporaryCardSerializer},
    )
    @errors(
        "no_pending_application",
        "temporary_in_force",
        "photo_required",
        "photo_rejected",
        "not_eligible",
        "waiver_evidence_required",
        "duplicate_number",
        "daily_limit",
        "receipt_limit",
        "not_found",
    )
    def post(self, request: Request) -> Response:
        actor = staff(request)
        require(actor, "temporary.accept")
        form = CreateRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        card = services.temporary_accept(
            actor=actor,
            person=person_lookup(actor, data["id_number"]),
            photo=data.get("photo"),
            phone=data.get("phone", ""),
            waived=data["waived"],
            waiver_evidence=data.get("waiver_evidence", ""),
        )
        return _answer(request, card, status=201)


class TemporaryCardDetailView(APIView):
    @extend_schema(summary="一张临时居民身份证（完整信息，留痕）", responses=TemporaryCardSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "temporary.view")
        return _answer(request, selectors.card_get(viewer, pk))


class IssueQueueView(APIView):
    @extend_schema(
        summary="临时居民身份证待签发（本县级公安机关，期限早的在前）",
        responses=IssueWaitingSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "temporary.issue")
        return Response(IssueWaitingSerializer(selectors.issue_queue(viewer), many=True).data)


class UnreturnedView(APIView):
    @extend_schema(
        summary="临时居民身份证未收回清单（正式证件已领取或已过期而未交回）",
        responses=TemporaryOwedSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "temporary.view")
        return Response(TemporaryOwedSerializer(selectors.unreturned(viewer), many=True).data)


class IssueView(APIView):
    @extend_schema(
        summary="签发临时居民身份证（有效期三个月）", request=None, responses=TemporaryCardSerializer
    )
    @errors("bad_state")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "temporary.issue")
        card = services.temporary_issue(actor=actor, card=selectors.card_get(actor, pk, "temporary.issue"))
        return _answer(request, card)


class RefuseView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="不予签发临时居民身份证（须填原因）", request=ReasonRequest, responses=TemporaryCardSerializer
    )
    @errors("bad_state", "reason_required")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "temporary.issue")
        form = ReasonRequest(data=request.data)
        form.is_valid(raise_exception=True)
        card = selectors.card_get(actor, pk, "temporary.issue")
        card = services.temporary_refuse(actor=actor, card=card, reason=form.validated_data["reason"])
        return _answer(request, card)


class PrintView(APIView):
    @extend_schema(
        summary="打印临时居民身份证（PDF，正反面；记录打印）",
        request=None,
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @errors("bad_state", "printing_unavailable")
    def post(self, request: Request, pk: int) -> HttpResponse:
        actor = staff(request)
        require(actor, "temporary.accept")
        card = selectors.card_get(actor, pk, "temporary.accept")
        try:
            pdf = services.temporary_print(actor=actor, card=card)
        except PdfFontMissing:
            logger.exception("cannot print temporary card %s", card.pk)
            raise ApiError(
                "printing_unavailable", "服务器暂时无法生成证件，请联系系统管理员。", status=503
            ) from None
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="temporary-{card.number}.pdf"'
        response["Cache-Control"] = "no-store"
        return response


class HandOutView(APIView):
    @extend_schema(summary="发放临时居民身份证（须已打印）", request=None, responses=TemporaryCardSerializer)
    @errors("bad_state", "not_printed")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "temporary.accept")
        card = services.temporary_hand_out(
            actor=actor, card=selectors.card_get(actor, pk, "temporary.accept")
        )
        return _answer(request, card)


class ReturnView(APIView):
    @extend_schema(summary="收回临时居民身份证", request=None, responses=TemporaryCardSerializer)
    @errors("bad_state")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "temporary.accept")
        card = services.temporary_return(actor=actor, card=selectors.card_get(actor, pk, "temporary.accept"))
        return _answer(request, card)


class VoidView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="作废临时居民身份证（如丢失；须填原因）",
        request=ReasonRequest,
        responses=TemporaryCardSerializer,
    )
    @errors("bad_state", "reason_required")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "temporary.accept")
        form = ReasonRequest(data=request.data)
        form.is_valid(raise_exception=True)
        card = selectors.card_get(actor, pk, "temporary.accept")
        card = services.temporary_void(actor=actor, card=card, reason=form.validated_data["reason"])
        return _answer(request, card)
