"""REST endpoints of finance (财政): payments with their receipts, the takings not yet paid over
to the treasury, the remittances (缴库登记) and the settlement of free first cards with the lines
behind each figure. The same selectors and services as the pages; ID numbers masked."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.finance import documents, rules, selectors, services
from tongban.finance.documents import ITEM_LABELS
from tongban.finance.models import Payment, Remittance
from tongban.intake.api import UnitRefSerializer, staff
from tongban.registry.access import as_viewer
from tongban.registry.models import Unit

# ---------------------------------------------------------------------------------------------
# Representation


class RefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)
    reason = serializers.CharField()
    refunded_at = serializers.DateTimeField()


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    """A payment as the 收费明细 lists it: the payer's ID number masked."""

    unit = UnitRefSerializer()
    name = serializers.CharField(source="person.name")
    id_number = serializers.SerializerMethodField()
    item_label = serializers.SerializerMethodField()
    refund = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = [
            "receipt_number",
            "application_number",
            "name",
            "id_number",
            "unit",
            "item",
            "item_label",
            "amount",
            "waived",
            "waiver_evidence",
            "charged_at",
            "voided_at",
            "refund",
        ]

    def get_id_number(self, payment: Payment) -> str:
        return mask_id_number(payment.person.id_number)

    def get_item_label(self, payment: Payment) -> str:
        return selectors.item_label(payment.item)

    @extend_schema_field(RefundSerializer(allow_null=True))
    def get_refund(self, payment: Payment) -> dict[str, Any] | None:
        refund = getattr(payment, "refund", None)
        return dict(RefundSerializer(refund).data) if refund is not None else None


class StationDaySerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    day = serializers.DateField()
    payments = serializers.IntegerField(help_text="收费笔数")
    charged = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="收费金额")
    refunds = serializers.IntegerField(help_text="退费笔数")
    refunded = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="退费金额")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="应缴库金额")


class RemittanceSerializer(serializers.ModelSerializer[Remittance]):
    unit = UnitRefSerializer()
    remitted_by = serializers.CharField(source="remitted_by.username")

    class Meta:
        model = Remittance
        fields = [
            "id",
            "unit",
            "day",
            "amount",
            "payments",
            "refunds",
            "treasury_reference",
            "remitted_at",
            "remitted_by",
        ]


class FigureSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    count = serializers.IntegerField(help_text="首次申领免费证件数")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="结算金额")
    central = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="其中中央财政")
    provincial = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="其中省级财政")


class RateSerializer(serializers.Serializer):
    effective_from = serializers.DateField()
    amount = serializers.DecimalField(max_digits=8, decimal_places=2)
    central = serializers.DecimalField(max_digits=8, decimal_places=2)
    provincial = serializers.DecimalField(max_digits=8, decimal_places=2)


class LineSerializer(serializers.Serializer):
    application_number = serializers.CharField()
    receipt_number = serializers.CharField()
    name = serializers.CharField()
    id_number = serializers.SerializerMethodField()
    station = UnitRefSerializer()
    day = serializers.DateField()
    rate = RateSerializer()

    def get_id_number(self, line: services.SettlementLine) -> str:
        return mask_id_number(line.id_number)


class SettlementSerializer(serializers.Serializer):
    unit = UnitRefSerializer()
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    cities = FigureSerializer(many=True)
    counties = FigureSerializer(many=True)
    total = FigureSerializer()


# ---------------------------------------------------------------------------------------------
# Input


class PaymentsQuery(serializers.Serializer):
    unit = serializers.CharField(required=False, default="")
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    item = serializers.ChoiceField(choices=list(ITEM_LABELS), required=False, default="")
    after = serializers.CharField(required=False, default="")


class UnitQuery(serializers.Serializer):
    unit = serializers.CharField(required=False, default="")
    after = serializers.IntegerField(required=False, min_value=1)


class SettlementQuery(serializers.Serializer):
    unit = serializers.CharField(required=False, default="", help_text="省、市或县（市、区）公安机关代码")
    period = serializers.CharField(help_text="月份 2026-03 或季度 2026Q1")
    within = serializers.CharField(required=False, default="", help_text="明细范围：结算单位辖区内的单位代码")

    def validate_period(self, value: str) -> str:
        try:
            rules.period_bounds(value)
        except ValueError as bad:
            raise serializers.ValidationError("结算期间应为月份（如 2026-03）或季度（如 2026Q1）。") from bad
        return value.strip().upper()


class RemittanceRequest(serializers.Serializer):
    unit = serializers.CharField(help_text="派出所代码")
    day = serializers.DateField(help_text="收费日期（今日以前）")
    treasury_reference = serializers.CharField(max_length=60, help_text="缴款书号")


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# ---------------------------------------------------------------------------------------------
# Views


class PaymentsView(APIView):
    @extend_schema(
        summary="收费明细（本辖区，号码脱敏；按收费时间倒序）",
        parameters=[
            OpenApiParameter("unit", str, description="单位代码，默认本单位"),
            OpenApiParameter("start", OpenApiTypes.DATE, description="起始日期，默认本月1日"),
            OpenApiParameter("end", OpenApiTypes.DATE, description="截止日期，默认今日"),
            OpenApiParameter("item", str, enum=list(ITEM_LABELS)),
            OpenApiParameter("after", str, description="上一页的 next_after"),
        ],
        responses=PaymentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = _valid(PaymentsQuery, request.query_params)
        viewer = as_viewer(request.user)
        start, end = selectors.default_period()
        filters = selectors.PaymentFilters(
            unit=selectors.finance_unit(viewer, query["unit"]),
            start=query.get("start") or start,
            end=query.get("end") or end,
            item=query["item"],
        )
        if filters.end < filters.start:
            raise ServiceError("bad_period", "截止日期不能早于起始日期。", fields={"end": "早于起始日期"})
        page = selectors.payments_page(viewer, filters, after=query["after"])
        return Response(
            {"results": PaymentSerializer(page.rows, many=True).data, "next_after": page.next_after}
        )


class UnremittedView(APIView):
    @extend_schema(
        summary="待缴库：各派出所今日以前未登记缴库的每日收支",
        parameters=[OpenApiParameter("unit", str, description="单位代码，默认本单位")],
        responses=StationDaySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = _valid(UnitQuery, request.query_params)
        root = selectors.finance_unit(as_viewer(request.user), query["unit"])
        result = selectors.unremitted(root)
        return Response(
            {
                "unit": UnitRefSerializer(root).data,
                "results": StationDaySerializer(result.rows, many=True).data,
                "amount": f"{result.amount:.2f}",
            }
        )


class RemittancesView(APIView):
    @extend_schema(
        summary="缴库记录（本辖区，新登记在前）",
        parameters=[
            OpenApiParameter("unit", str, description="单位代码，默认本单位"),
            OpenApiParameter("after", int, description="上一页的 next_after"),
        ],
        responses=RemittanceSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        query = _valid(UnitQuery, request.query_params)
        viewer = as_viewer(request.user)
        root = selectors.finance_unit(viewer, query["unit"])
        page = selectors.remittances_page(viewer, root, after=query.get("after"))
        return Response(
            {"results": RemittanceSerializer(page.rows, many=True).data, "next_after": page.next_after}
        )

    @extend_schema(
        request=RemittanceRequest,
        responses={201: RemittanceSerializer},
        summary="登记缴库：某派出所某日的收费已缴入国库（金额由系统计算）",
    )
    def post(self, request: Request) -> Response:
        data = _valid(RemittanceRequest, request.data)
        actor = staff(request)
        unit = selectors.finance_unit(actor, data["unit"])
        remittance = services.remittance_record(
            actor=actor, unit=unit, day=data["day"], treasury_reference=data["treasury_reference"]
        )
        return Response(RemittanceSerializer(remittance).data, status=201)


def _settlement_scope(request: Request) -> tuple[Unit, str, Any, Any, str]:
    query = _valid(SettlementQuery, request.query_params)
    root = selectors.finance_unit(as_viewer(request.user), query["unit"], kinds=selectors.SETTLEMENT_KINDS)
    start, end = rules.period_bounds(query["period"])
    return root, query["period"], start, end, query["within"]


class SettlementView(APIView):
    @extend_schema(
        summary="首次申领免费证件结算：按市、县（市、区）统计证件数与结算金额（中央、省级分列）",
        parameters=[
            OpenApiParameter("unit", str, description="省、市或县（市、区）公安机关代码，默认本单位"),
            OpenApiParameter("period", str, required=True, description="月份 2026-03 或季度 2026Q1"),
        ],
        responses=SettlementSerializer,
    )
    def get(self, request: Request) -> Response:
        root, period, start, end, _within = _settlement_scope(request)
        result = services.settlement(root, start, end)
        body = {
            "unit": root,
            "period": period,
            "period_start": result.period_start,
            "period_end": result.period_end,
            "cities": result.cities,
            "counties": result.counties,
            "total": result.total,
        }
        return Response(SettlementSerializer(body).data)


class SettlementLinesView(APIView):
    @extend_schema(
        summary="结算明细：某一结算数字背后的受理（号码脱敏）",
        parameters=[
            OpenApiParameter("unit", str, description="结算单位代码，默认本单位"),
            OpenApiParameter("period", str, required=True, description="月份 2026-03 或季度 2026Q1"),
            OpenApiParameter("within", str, description="明细范围（市、县或派出所代码），默认结算单位"),
        ],
        responses=LineSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        root, _period, start, end, within_code = _settlement_scope(request)
        within = selectors.finance_unit(as_viewer(request.user), within_code or root.code)
        if not root.contains(within):
            raise Http404
        lines = services.settlement_lines(root, start, end, within=within)
        return Response({"results": LineSerializer(lines, many=True).data, "count": len(lines)})


class ReceiptView(APIView):
    @extend_schema(
        summary="票据 PDF（财政人员：本辖区；受理员：本所收费；留痕）",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, receipt_number: str) -> HttpResponse:
        viewer = as_viewer(request.user)
        payment = selectors.receipt_get(viewer, receipt_number)
        pdf = documents.receipt_pdf(payment)
        record(
            actor=viewer,
            action="fee.receipt_printed",
            object_type="finance.payment",
            object_id=payment.pk,
            detail={"receipt": payment.receipt_number, "how": "api"},
            request=request._request,
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_number}.pdf"'
        response["Cache-Control"] = "no-store"
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for application/pdf gets the PDF, and its errors in JSON, not a 406.
        return super().perform_content_negotiation(request, force=True)
