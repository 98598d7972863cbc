"""REST endpoints of distribution (分发) and handover (核验发放): shipments (create, list, detail,
receive, county forwarding, postal delivery), the 待领取 list, handover in person or by a
relative, verification and the due/overdue verification list. The centre and the postal service
integrate through them. Bodies are JSON. A role without the action is refused with 403
`permission_denied`; a record outside the caller's jurisdiction is 404 `not_found`."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import ENGINE_CODES, FINGER_SAMPLE_CODES, errors
from tongban.handover import selectors, services
from tongban.handover.models import FingerCheck, Handover, Shipment, ShipmentItem, Verification
from tongban.intake import selectors as intake_selectors
from tongban.intake.api import (
    FINGER_IMAGE_MAX_BYTES,
    FINGER_TEMPLATE_MAX_BYTES,
    STATUS_HELP,
    ApplicationSerializer,
    Base64Field,
)
from tongban.intake.models import Application
from tongban.registry.access import as_viewer
from tongban.registry.worklist import KeysetPage, list_query, page_schema

# ---------------------------------------------------------------------------------------------
# Representation


class ShipmentItemSerializer(serializers.ModelSerializer[ShipmentItem]):
    number = serializers.CharField(source="application.number")
    name = serializers.CharField(source="application.name")
    status = serializers.CharField(source="application.status", help_text=STATUS_HELP)
    acceptance_unit = UnitRefSerializer(source="application.acceptance_unit")
    card_serial = serializers.CharField(source="card.card_serial")
    outcome_label = serializers.CharField(source="get_outcome_display")

    class Meta:
        model = ShipmentItem
        fields = [
            "number",
            "name",
            "status",
            "acceptance_unit",
            "card_serial",
            "tracking_number",
            "outcome",
            "outcome_label",
            "note",
            "forwarded_at",
        ]


class ShipmentRowSerializer(serializers.ModelSerializer[Shipment]):
    method_label = serializers.CharField(source="get_method_display")
    state_label = serializers.CharField(source="get_state_display")
    origin = UnitRefSerializer()
    destination = UnitRefSerializer(allow_null=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "method",
            "method_label",
            "state",
            "state_label",
            "origin",
            "destination",
            "created_at",
        ]


class ShipmentSerializer(ShipmentRowSerializer):
    items = serializers.SerializerMethodField()

    class Meta(ShipmentRowSerializer.Meta):
        fields = [*ShipmentRowSerializer.Meta.fields, "received_at", "note", "items"]

    @extend_schema_field(ShipmentItemSerializer(many=True))
    def get_items(self, shipment: Shipment) -> list[Any]:
        return list(ShipmentItemSerializer(selectors.shipment_items(shipment), many=True).data)


class ReadyRowSerializer(serializers.ModelSerializer[Application]):
    """A 待领取 row: the ID number is masked."""

    id_number = serializers.CharField(source="masked_id_number")
    type_label = serializers.CharField(source="get_type_display")
    acceptance_unit = UnitRefSerializer()

    class Meta:
        model = Application
        fields = ["number", "name", "id_number", "type", "type_label", "acceptance_unit", "phone"]


class HandoverSerializer(serializers.ModelSerializer[Handover]):
    """What was recorded at the handover; the signature image never leaves the server."""

    way_label = serializers.CharField(source="get_way_display")
    finger_check_label = serializers.CharField(source="get_finger_check_display")
    unit = UnitRefSerializer(allow_null=True)
    card_serial = serializers.CharField(source="card.card_serial")
    signature_captured = serializers.SerializerMethodField()
    due = serializers.SerializerMethodField(help_text="代领、邮寄：核验期限")
    application = serializers.SerializerMethodField()

    class Meta:
        model = Handover
        fields = [
            "way",
            "way_label",
            "unit",
            "at",
            "card_serial",
            "relative_name",
            "finger_check",
            "finger_check_label",
            "finger_position",
            "finger_score",
            "finger_note",
            "signature_captured",
            "paper_signed",
            "tracking_number",
            "due",
            "application",
        ]

    def get_signature_captured(self, handover: Handover) -> bool:
        return handover.signature is not None

    def get_due(self, handover: Handover) -> str | None:
        """The verification the handover opened, through the application it belongs to."""
        try:
            return handover.application.verification.due.isoformat()
        except Verification.DoesNotExist:
            return None

    @extend_schema_field(ApplicationSerializer)
    def get_application(self, handover: Handover) -> dict[str, Any]:
        return dict(ApplicationSerializer(handover.application).data)


class VerificationRowSerializer(serializers.ModelSerializer[Verification]):
    number = serializers.CharField(source="application.number")
    name = serializers.CharField(source="application.name")
    id_number = serializers.CharField(source="application.masked_id_number")
    phone = serializers.CharField(source="application.phone")
    acceptance_unit = UnitRefSerializer(source="application.acceptance_unit")
    household_unit = UnitRefSerializer(source="application.household_unit")
    overdue = serializers.SerializerMethodField()
    finger_check_label = serializers.CharField(source="get_finger_check_display")

    class Meta:
        model = Verification
        fields = [
            "number",
            "name",
            "id_number",
            "phone",
            "acceptance_unit",
            "household_unit",
            "due",
            "due_provisional",
            "overdue",
            "verified_at",
            "finger_check",
            "finger_check_label",
            "finger_score",
        ]

    def get_overdue(self, verification: Verification) -> bool:
        return verification.verified_at is None and verification.due < self.context["today"]


# ---------------------------------------------------------------------------------------------
# Input

NUMBER_PATTERN = RegexValidator(r"^\d{22}$", "受理号应为 22 位数字。")
NOT_BLANK = RegexValidator(r"\S", "不能为空。")


def _numbers(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=22, validators=[NUMBER_PATTERN]), **kwargs
    )


class ShipmentCreateRequest(serializers.Serializer):
    applications = _numbers(min_length=1, max_length=services.MAX_ITEMS, help_text="受理号")
    tracking_numbers = serializers.DictField(
        child=serializers.CharField(max_length=40, validators=[NOT_BLANK]),
        required=False,
        help_text="邮政寄递的证件：{受理号: 邮件号}",
    )


class ReceiveRequest(serializers.Serializer):
    missing = _numbers(required=False, max_length=services.MAX_ITEMS, help_text="缺失")
    damaged = _numbers(required=False, max_length=services.MAX_ITEMS, help_text="损坏（县局：质检不合格）")
    notes = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        help_text="{受理号: 说明}",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, help_text="签收说明")


class ForwardRequest(serializers.Serializer):
    applications = _numbers(
        required=False,
        min_length=1,
        max_length=services.MAX_ITEMS,
        help_text="受理号；不填为全部待转发",
    )


class DeliveredRequest(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=40, validators=[NOT_BLANK], help_text="邮件号")


class FingerProbeInput(serializers.Serializer):
    position = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="指位 11–20")
    image = Base64Field(max_bytes=FINGER_IMAGE_MAX_BYTES, required=False, help_text="指纹图像，≤ 2 MB")
    template = Base64Field(
        max_bytes=FINGER_TEMPLATE_MAX_BYTES, required=False, help_text="采集端提取的特征模板"
    )


def _probe(data: dict[str, Any] | None) -> services.FingerProbe | None:
    if not data:
        return None
    return services.FingerProbe(
        position=data.get("position", ""), image=data.get("image"), template=data.get("template")
    )


class HandoverRequest(serializers.Serializer):
    way = serializers.ChoiceField(
        choices=[Handover.Way.IN_PERSON, Handover.Way.PROXY], help_text="in_person 本人领取 / proxy 亲属代领"
    )
    finger = FingerProbeInput(required=False, help_text="本人领取：现场采集的指纹")
    signature = Base64Field(
        max_bytes=services.SIGNATURE_MAX_BYTES, required=False, help_text="签名图像 PNG，≤ 512 KB"
    )
    paper_signed = serializers.BooleanField(required=False, default=False, help_text="已在登记表上签字")
    relative_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    relative_id_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    override_reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="指纹比对未通过时人工核对放行的理由"
    )
    temporary_returned = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="申请人持有已发放的临时居民身份证时必填：true 已收回 / false 未收回（须填原因）",
    )
    temporary_reason = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="临时居民身份证未收回的原因"
    )


class VerificationRequest(serializers.Serializer):
    finger = FingerProbeInput(required=False)
    card_checked = serializers.BooleanField(help_text="证件信息已核对")
    override_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


ReadyQuery = list_query("ReadyQuery", selectors.READY_SORTING)
ShipmentsQuery = list_query(
    "ShipmentsQuery",
    selectors.SHIPMENT_SORTING,
    view=serializers.ChoiceField(
        choices=list(selectors.SHIPMENT_VIEWS),
        required=False,
        allow_blank=True,
        help_text="incoming 待签收 / outgoing 已发出 / all 全部（默认）；带 q 时查询全部",
    ),
)
VerificationsQuery = list_query(
    "VerificationsQuery",
    selectors.VERIFICATION_SORTING,
    view=serializers.ChoiceField(
        choices=list(selectors.VERIFICATION_VIEWS),
        required=False,
        allow_blank=True,
        help_text="due 待核验（默认）/ overdue 已逾期 / done 已核验；带 q 时查询全部",
    ),
)


# What comparing a fingerprint can answer: no finger, a sample or template the engine refuses,
# the engine down, no match.
FINGER_CODES = ("finger_required", *FINGER_SAMPLE_CODES, "unsupported", *ENGINE_CODES, "finger_mismatch")


def _page(page: KeysetPage[Any], rows: Any) -> dict[str, Any]:
    return {"count": page.total, **page_answer(page, rows)}


# ---------------------------------------------------------------------------------------------
# Views


class ShipmentsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="分发单列表（可按受理号、公民身份号码查找含该证件的分发单）",
        parameters=[ShipmentsQuery],
        responses=page_schema("ShipmentPage", ShipmentRowSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "shipment.view", "shipment.create")
        query = query_of(ShipmentsQuery, request)
        data = query
        page = selectors.shipments_page(
            viewer,
            data.get("view") or "all",
            search=data["search"],
            order=data["order"],
            after=data.get("after") or None,
        )
        return Response(_page(page, ShipmentRowSerializer(page.rows, many=True).data))

    @extend_schema(
        request=ShipmentCreateRequest,
        responses={201: ShipmentSerializer(many=True)},
        summary="制证中心分发已制证的证件（按受理单位、县局或邮政寄递自动分单）",
    )
    @errors(
        "not_found", "cannot_ship", "tracking_taken", "already_shipped", "no_card", "province_not_connected"
    )
    def post(self, request: Request) -> Response:
        services.require_centre(staff(request))  # a role that may not ship is told before its input
        form = ShipmentCreateRequest(data=request.data)
        form.is_valid(raise_exception=True)
        shipments = services.shipments_create(
            actor=staff(request),
            numbers=form.validated_data["applications"],
            tracking_numbers=form.validated_data.get("tracking_numbers") or {},
        )
        return Response(ShipmentSerializer(shipments, many=True).data, status=201)


class ShipmentDetailView(APIView):
    @extend_schema(responses=ShipmentSerializer, summary="分发单详情（含明细）")
    def get(self, request: Request, pk: int) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "shipment.view", "shipment.create")
        return Response(ShipmentSerializer(selectors.shipment_get(viewer, pk)).data)


class ReceiveView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=ReceiveRequest, responses=ShipmentSerializer, summary="签收分发单（登记缺失、损坏）"
    )
    @errors("already_received", "province_not_connected")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "shipment.receive")
        form = ReceiveRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        shipment = services.shipment_receive(
            actor=actor,
            shipment=selectors.shipment_get(actor, pk),
            missing=data.get("missing", []),
            damaged=data.get("damaged", []),
            notes=data.get("notes") or {},
            note=data.get("note", ""),
        )
        return Response(ShipmentSerializer(shipment).data)


class ForwardView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=ForwardRequest,
        responses={201: ShipmentSerializer(many=True)},
        summary="县局质检后转发至受理单位",
    )
    @errors("nothing_to_forward", "cannot_forward")
    def post(self, request: Request) -> Response:
        form = ForwardRequest(data=request.data)
        form.is_valid(raise_exception=True)
        numbers = form.validated_data.get("applications")
        shipments = services.shipments_forward(actor=staff(request), numbers=numbers)
        return Response(ShipmentSerializer(shipments, many=True).data, status=201)


class DeliveredView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=DeliveredRequest,
        responses=ApplicationSerializer,
        summary="邮政妥投确认（制证中心或邮政接口账号）",
    )
    @errors("not_found", "already_delivered", "province_not_connected")
    def post(self, request: Request) -> Response:
        services.require_centre(staff(request))  # a role that may not ship is told before its input
        form = DeliveredRequest(data=request.data)
        form.is_valid(raise_exception=True)
        application = services.postal_delivered(
            actor=staff(request),
            tracking_number=form.validated_data["tracking_number"],
        )
        return Response(ApplicationSerializer(application).data)


class ReadyView(APIView):
    @extend_schema(
        summary="待领取列表（号码脱敏；可按受理号、公民身份号码、姓名查询）",
        parameters=[ReadyQuery],
        responses=page_schema("ReadyPage", ReadyRowSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "handover.perform")
        query = query_of(ReadyQuery, request)
        data = query
        page = selectors.ready_page(
            viewer,
            search=data["search"],
            order=data["order"],
            after=data.get("after") or None,
        )
        return Response(_page(page, ReadyRowSerializer(page.rows, many=True).data))


class HandoverView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=HandoverRequest,
        responses={201: HandoverSerializer},
        summary="发放：本人领取（比对指纹）或亲属代领；签名或勾选已签字",
    )
    @errors(
        "signature_required",
        "bad_signature",
        "not_at_site",
        "no_card",
        "temporary_return_required",
        "temporary_reason_required",
        "province_not_connected",
        *FINGER_CODES,
    )
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        require(actor, "handover.perform")
        form = HandoverRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        application = intake_selectors.application_by_number(actor, number)
        relative = None
        if data["way"] == Handover.Way.PROXY:
            relative = services.Relative(data.get("relative_name", ""), data.get("relative_id_number", ""))
        handover = services.handover_perform(
            actor=actor,
            application=application,
            way=data["way"],
            finger=_probe(data.get("finger")),
            signature=data.get("signature"),
            paper_signed=data["paper_signed"],
            relative=relative,
            override_reason=data.get("override_reason", ""),
            temporary_returned=data["temporary_returned"],
            temporary_reason=data.get("temporary_reason", ""),
        )
        handover.application.refresh_from_db()
        return Response(HandoverSerializer(handover).data, status=201)


class VerifyView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=VerificationRequest, responses=ApplicationSerializer, summary="核验（比对指纹、核对证件）"
    )
    @errors("card_not_checked", "not_pending", "province_not_connected", *FINGER_CODES)
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        require(actor, "verification.perform")
        form = VerificationRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        application = intake_selectors.application_by_number(actor, number)
        verification = services.verification_perform(
            actor=actor,
            application=application,
            finger=_probe(data.get("finger")),
            card_checked=data["card_checked"],
            override_reason=data.get("override_reason", ""),
        )
        body = dict(ApplicationSerializer(verification.application).data)
        body["verification"] = {
            "finger_check": verification.finger_check,
            "finger_check_label": FingerCheck(verification.finger_check).label,
            "finger_score": verification.finger_score,
            "due": verification.due.isoformat(),
        }
        return Response(body)


class VerificationsView(APIView):
    @extend_schema(
        summary="核验待办：待核验 / 已逾期 / 已核验（默认按期限；可按受理号、公民身份号码、姓名查询）",
        parameters=[VerificationsQuery],
        responses=page_schema(
            "VerificationPage",
            VerificationRowSerializer(many=True),
            view=serializers.CharField(help_text="所查的分类；带 q 时为 all"),
            today=serializers.DateField(),
            counts=inline_serializer(
                "VerificationCounts",
                fields={"due": serializers.IntegerField(), "overdue": serializers.IntegerField()},
            ),
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "verification.perform")
        query = query_of(VerificationsQuery, request)
        data = query
        view = data.get("view") or "due"
        page = selectors.verifications_page(
            viewer, view, search=data["search"], order=data["order"], after=data.get("after") or None
        )
        today = timezone.localdate()
        rows = VerificationRowSerializer(page.rows, many=True, context={"today": today}).data
        return Response(
            {
                "view": "all" if data["search"] else view,
                "today": today,
                **_page(page, rows),
                "counts": selectors.verification_counts(viewer),
            }
        )
