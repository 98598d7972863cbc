"""REST endpoints of 挂失招领: one operation per page action (docs/api.md, “Card loss and found
cards”). Lists mask the ID numbers; opening a record answers the full one and is audited."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import Text, UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.cardloss import selectors, services
from tongban.cardloss.models import Event, FoundCard, LossReport
from tongban.core.masking import mask_id_number
from tongban.registry.api import IdNumberField
from tongban.registry.models import Card
from tongban.registry.selectors import person_lookup


class CardlossEventSerializer(serializers.ModelSerializer[Event]):
    action_label = serializers.CharField(source="get_action_display")
    actor = serializers.CharField(source="actor.display_name", allow_null=True, default=None)
    unit = serializers.CharField(source="unit.name", allow_null=True, default=None)

    class Meta:
        model = Event
        fields = ["action", "action_label", "actor", "unit", "at", "note"]


class CardlossCardSerializer(serializers.ModelSerializer[Card]):
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = Card
        fields = ["card_serial", "valid_from", "valid_until", "state", "state_label"]


class LossReportRowSerializer(serializers.ModelSerializer[LossReport]):
    """A loss report in a list: the ID number masked."""

    name = serializers.CharField(source="person.name")
    id_number = serializers.SerializerMethodField(help_text="公民身份号码（脱敏）")
    unit = UnitRefSerializer()
    channel_label = serializers.CharField(source="get_channel_display")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = LossReport
        fields = [
            "id",
            "name",
            "id_number",
            "unit",
            "channel",
            "channel_label",
            "status",
            "status_label",
            "reported_at",
            "application_number",
        ]

    def get_id_number(self, report: LossReport) -> str:
        return mask_id_number(report.person.id_number)


class LossReportSerializer(LossReportRowSerializer):
    """A loss report opened: the full number, the card and the 办理记录."""

    id_number = serializers.CharField(source="person.id_number")  # type: ignore[assignment]
    card = CardlossCardSerializer()
    reported_by = serializers.CharField(source="reported_by.display_name")
    closed_by = serializers.CharField(source="closed_by.display_name", allow_null=True, default=None)
    events = CardlossEventSerializer(many=True)

    class Meta(LossReportRowSerializer.Meta):
        fields = [
            *LossReportRowSerializer.Meta.fields,
            "card",
            "phone",
            "verification",
            "reported_by",
            "closed_at",
            "closed_by",
            "close_reason",
            "events",
        ]


class FoundCardRowSerializer(serializers.ModelSerializer[FoundCard]):
    """A found card in a list: the ID number masked."""

    id_number = serializers.SerializerMethodField(help_text="公民身份号码（脱敏）")
    unit = UnitRefSerializer()
    status_label = serializers.CharField(source="get_status_display")
    matched = serializers.SerializerMethodField(help_text="人口信息中有对应证件")

    class Meta:
        model = FoundCard
        fields = [
            "id",
            "name",
            "id_number",
            "unit",
            "found_on",
            "registered_at",
            "keep_until",
            "due_since",
            "matched",
            "owner_notified",
            "status",
            "status_label",
        ]

    def get_id_number(self, found: FoundCard) -> str:
        return mask_id_number(found.id_number)

    def get_matched(self, found: FoundCard) -> bool:
        return found.card_id is not None


class FoundCardSerializer(FoundCardRowSerializer):
    """A found card opened: the full number, the matching card, who handed it in and who closed it."""

    id_number = serializers.CharField()  # type: ignore[assignment]
    card = CardlossCardSerializer(allow_null=True)
    registered_by = serializers.CharField(source="registered_by.display_name")
    closed_by = serializers.CharField(source="closed_by.display_name", allow_null=True, default=None)
    events = CardlossEventSerializer(many=True)

    class Meta(FoundCardRowSerializer.Meta):
        fields = [
            *FoundCardRowSerializer.Meta.fields,
            "card_serial",
            "card",
            "found_place",
            "handed_in_by",
            "handed_in_phone",
            "registered_by",
            "closed_at",
            "closed_by",
            "collector_name",
            "collector_id_number",
            "identity_note",
            "reactivated",
            "witness",
            "note",
            "events",
        ]


class LossReportsQuery(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=list(selectors.REPORT_VIEWS.items()),
        required=False,
        default="open",
        help_text="open 挂失中 / closed 已办结",
    )
    after = serializers.IntegerField(required=False, min_value=0, help_text="上一页的 next_after")


class FoundCardsQuery(serializers.Serializer):
    view = serializers.ChoiceField(
        choices=list(selectors.FOUND_VIEWS.items()),
        required=False,
        default="waiting",
        help_text="waiting 待领取 / due 待销毁（保管期满） / closed 已办结",
    )
    after = serializers.IntegerField(required=False, min_value=0, help_text="上一页的 next_after")


class LossReportRequest(serializers.Serializer):
    id_number = IdNumberField(help_text="持证人的公民身份号码（全省精确查询）")
    channel = serializers.ChoiceField(choices=LossReport.Channel.choices)
    phone = Text(max_length=30, help_text="本人或来电人的电话")
    verification = Text(
        max_length=200, required=False, default="", allow_blank=True, help_text="电话申报：核实情况"
    )
    card_serial = Text(
        max_length=32, required=False, default="", allow_blank=True, help_text="卡号（知道时）"
    )


class LossRestoreRequest(serializers.Serializer):
    reason = Text(max_length=200, help_text="撤销原因")


class FoundCardRequest(serializers.Serializer):
    id_number = Text(max_length=30, help_text="证件上的公民身份号码")
    name = Text(max_length=50)
    card_serial = Text(max_length=32, required=False, default="", allow_blank=True)
    found_place = Text(max_length=200)
    found_on = serializers.DateField()
    handed_in_by = Text(max_length=50)
    handed_in_phone = Text(max_length=30, required=False, default="", allow_blank=True)


class FoundCollectRequest(serializers.Serializer):
    collector_name = Text(max_length=50)
    collector_id_number = Text(max_length=30)
    identity_checked = serializers.BooleanField(help_text="已核对领取人为证件上的本人")
    identity_note = Text(max_length=200, required=False, default="", allow_blank=True)
    destroy = serializers.BooleanField(required=False, default=False, help_text="证件已失效时当场销毁")
    witness = Text(
        max_length=50, required=False, default="", allow_blank=True, help_text="监销人（当场销毁时）"
    )


class FoundDestroyRequest(serializers.Serializer):
    witness = Text(max_length=50, help_text="监销人")
    note = Text(max_length=200, required=False, default="", allow_blank=True)


def _body(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    form = serializer(data=request.data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


class ReportsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="挂失申报列表（本辖区，号码脱敏）",
        parameters=[LossReportsQuery],
        responses=page_of(
            "LossReportPage", LossReportRowSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "cardloss.view")
        query = query_of(LossReportsQuery, request)
        page = selectors.reports_page(viewer, query["view"], after=query.get("after"))
        return Response(page_answer(page, LossReportRowSerializer(page.rows, many=True).data))

    @extend_schema(
        request=LossReportRequest,
        responses={201: LossReportSerializer},
        summary="挂失申报（派出所；证件即时失效）",
    )
    @errors("not_found", "duplicate_number", "number_changed", "already_reported", "no_valid_card")
    def post(self, request: Request) -> Response:
        actor = staff(request)
        require(actor, "cardloss.report")
        data = _body(LossReportRequest, request)
        person = person_lookup(actor, data.pop("id_number"))
        report = services.loss_report(actor=actor, person=person, **data)
        return Response(LossReportSerializer(selectors.report_get(actor, report.pk)).data, status=201)


class ReportDetailView(APIView):
    @extend_schema(summary="挂失申报详情（完整号码，查看留痕）", responses=LossReportSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardloss.view")
        report = selectors.report_get(viewer, pk)
        services.record_open(viewer=viewer, kind="lossreport", pk=report.pk)
        return Response(LossReportSerializer(report).data)


class ReportRestoreView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=LossRestoreRequest, responses=LossReportSerializer, summary="撤销挂失（申报单位或其上级）"
    )
    @errors("not_revivable")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "cardloss.report")
        report = selectors.report_get(actor, pk)
        data = _body(LossRestoreRequest, request)
        services.loss_restore(actor=actor, report=report, reason=data["reason"])
        return Response(LossReportSerializer(selectors.report_get(actor, pk)).data)


class FoundListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="拾获证件列表（本辖区，号码脱敏；待领取、待销毁按保管期限）",
        parameters=[FoundCardsQuery],
        responses=page_of(
            "FoundCardPage", FoundCardRowSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "cardloss.view")
        query = query_of(FoundCardsQuery, request)
        page = selectors.found_page(viewer, query["view"], after=query.get("after"))
        return Response(page_answer(page, FoundCardRowSerializer(page.rows, many=True).data))

    @extend_schema(
        request=FoundCardRequest,
        responses={201: FoundCardSerializer},
        summary="登记拾获证件（已挂失的即时通知失主）",
    )
    def post(self, request: Request) -> Response:
        actor = staff(request)
        require(actor, "cardloss.report")
        entry = services.FoundEntry(**_body(FoundCardRequest, request))
        found = services.found_register(actor=actor, entry=entry)
        return Response(FoundCardSerializer(selectors.found_get(actor, found.pk)).data, status=201)


class FoundDetailView(APIView):
    @extend_schema(summary="拾获证件详情（完整号码，查看留痕）", responses=FoundCardSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "cardloss.view")
        found = selectors.found_get(viewer, pk)
        services.record_open(viewer=viewer, kind="foundcard", pk=found.pk)
        return Response(FoundCardSerializer(found).data)


class FoundCollectView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=FoundCollectRequest,
        responses=FoundCardSerializer,
        summary="失主领取拾获证件（核对身份；仍有效的恢复有效）",
    )
    @errors("not_waiting", "identity_unchecked", "not_owner")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "cardloss.report")
        found = selectors.found_get(actor, pk)
        services.found_collect(actor=actor, found=found, **_body(FoundCollectRequest, request))
        return Response(FoundCardSerializer(selectors.found_get(actor, pk)).data)


class FoundDestroyView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=FoundDestroyRequest,
        responses=FoundCardSerializer,
        summary="销毁保管期满的拾获证件（记录监销人）",
    )
    @errors("not_waiting", "not_due")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "cardloss.report")
        found = selectors.found_get(actor, pk)
        services.found_destroy(actor=actor, found=found, **_body(FoundDestroyRequest, request))
        return Response(FoundCardSerializer(selectors.found_get(actor, pk)).data)
