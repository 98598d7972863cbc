"""REST endpoints of finance (财政): payments with their receipts, the takings not yet paid over
to the treasury, the remittances (缴库登记) and the settlement of free first cards with the lines
behind each figure. The same selectors and services as the pages; ID numbers masked. A role
without `finance.view` is refused with 403 `permission_denied`, a unit outside the caller's
subtree is 404 `not_found`."""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import UnitRefSerializer, page_answer, query_of, staff
from tongban.api_schema import errors, page_of
from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.finance import documents, exports, rules, selectors, services
from tongban.finance.documents import ITEM_LABELS
from tongban.finance.models import Payment, Remittance
from tongban.jobs.api import JobSerializer
from tongban.jobs.selectors import job_get
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

UNIT_HELP = "单位代码（本辖区内），默认本单位"
PERIOD_HELP = "结算期间：月份 2026-03 或季度 2026Q1"


def _unit(help_text: str = UNIT_HELP) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=12, help_text=help_text)


class PaymentsFilter(serializers.Serializer):
    unit = _unit()
    start = serializers.DateField(required=False, help_text="起始日期，默认本月1日")
    end = serializers.DateField(required=False, help_text="截止日期，默认今日")
    item = serializers.ChoiceField(
        choices=list(ITEM_LABELS), required=False, allow_blank=True, help_text="收费项目；不填为全部"
    )


class PaymentsQuery(PaymentsFilter):
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        trim_whitespace=False,
        validators=[RegexValidator(r"^[0-9]+:[0-9]+$", "无效的分页位置，请使用上一页返回的 next_after。")],
        help_text="上一页的 next_after",
    )


class UnitQuery(serializers.Serializer):
    unit = _unit()


class RemittancesQuery(UnitQuery):
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class SettlementQuery(serializers.Serializer):
    unit = _unit("省、市或县（市、区）公安机关代码，默认本单位")
    period = serializers.CharField(
        trim_whitespace=False,
        validators=[
            RegexValidator(rules.PERIOD_PATTERN, "结算期间应为月份（如 2026-03）或季度（如 2026Q1）。")
        ],
        help_text=PERIOD_HELP,
    )


class SettlementLinesQuery(SettlementQuery):
    within = _unit("明细范围（结算单位辖区内的市、县或派出所代码），默认结算单位")


class RemittanceRequest(serializers.Serializer):
    unit = serializers.CharField(max_length=12, help_text="派出所代码")
    day = serializers.DateField(help_text="收费日期（今日以前）")
    treasury_reference = serializers.CharField(
        max_length=60, validators=[RegexValidator(r"\S", "须填写缴款书号。")], help_text="缴款书号"
    )


# ---------------------------------------------------------------------------------------------
# Views


class PaymentsView(APIView):
    @extend_schema(
        summary="收费明细（本辖区，号码脱敏；按收费时间倒序）",
        parameters=[PaymentsQuery],
        responses=page_of("PaymentPage", PaymentSerializer(many=True)),
    )
    @errors("not_found", "bad_period")
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        selectors.finance_unit(viewer)
        query = query_of(PaymentsQuery, request)
        start, end = selectors.default_period()
        filters = selectors.PaymentFilters(
            unit=selectors.finance_unit(viewer, query.get("unit", "")),
            start=query.get("start") or start,
            end=query.get("end") or end,
            item=query.get("item", ""),
        )
        if filters.end < filters.start:
            raise ServiceError("bad_period", "截止日期不能早于起始日期。", fields={"end": "早于起始日期"})
        page = selectors.payments_page(viewer, filters, after=query.get("after", ""))
        return Response(page_answer(page, PaymentSerializer(page.rows, many=True).data))


class UnremittedView(APIView):
    @extend_schema(
        summary="待缴库：各派出所今日以前未登记缴库的每日收支",
        parameters=[UnitQuery],
        responses=inline_serializer(
            "Unremitted",
            fields={
                "unit": UnitRefSerializer(),
                "results": StationDaySerializer(many=True),
                "amount": serializers.DecimalField(max_digits=12, decimal_places=2, help_text="合计"),
            },
        ),
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        selectors.finance_unit(viewer)
        query = query_of(UnitQuery, request)
        root = selectors.finance_unit(viewer, query.get("unit", ""))
        result = selectors.unremitted(root)
        return Response(
            {
                "unit": UnitRefSerializer(root).data,
                "results": StationDaySerializer(result.rows, many=True).data,
                "amount": f"{result.amount:.2f}",
            }
        )


class RemittancesView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="缴库记录（本辖区，新登记在前）",
        parameters=[RemittancesQuery],
        responses=page_of("RemittancePage", RemittanceSerializer(many=True), cursor=serializers.IntegerField),
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        selectors.finance_unit(viewer)
        query = query_of(RemittancesQuery, request)
        root = selectors.finance_unit(viewer, query.get("unit", ""))
        page = selectors.remittances_page(viewer, root, after=query.get("after"))
        return Response(page_answer(page, RemittanceSerializer(page.rows, many=True).data))

    @extend_schema(
        request=RemittanceRequest,
        responses={201: RemittanceSerializer},
        summary="登记缴库：某派出所某日的收费已缴入国库（金额由系统计算）",
    )
    @errors("not_found", "not_a_station", "day_not_closed", "already_remitted", "nothing_to_remit")
    def post(self, request: Request) -> Response:
        actor = staff(request)
        selectors.finance_unit(actor)
        form = RemittanceRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        unit = selectors.finance_unit(actor, data["unit"])
        remittance = services.remittance_record(
            actor=actor, unit=unit, day=data["day"], treasury_reference=data["treasury_reference"]
        )
        return Response(RemittanceSerializer(remittance).data, status=201)


def _settlement_scope(
    request: Request, query_class: type[SettlementQuery]
) -> tuple[Unit, str, Any, Any, dict[str, Any]]:
    viewer = as_viewer(request.user)
    selectors.finance_unit(viewer)
    query = query_of(query_class, request)
    root = selectors.finance_unit(viewer, query.get("unit", ""), kinds=selectors.SETTLEMENT_KINDS)
    start, end = rules.period_bounds(query["period"])
    return root, query["period"], start, end, query


class SettlementView(APIView):
    @extend_schema(
        summary="首次申领免费证件结算：按市、县（市、区）统计证件数与结算金额（中央、省级分列）",
        parameters=[SettlementQuery],
        responses=SettlementSerializer,
    )
    @errors("not_found", "no_settlement_rate")
    def get(self, request: Request) -> Response:
        root, period, start, end, _query = _settlement_scope(request, SettlementQuery)
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
        parameters=[SettlementLinesQuery],
        responses=inline_serializer(
            "SettlementLines",
            fields={"results": LineSerializer(many=True), "count": serializers.IntegerField()},
        ),
    )
    @errors("not_found", "no_settlement_rate")
    def get(self, request: Request) -> Response:
        root, _period, start, end, query = _settlement_scope(request, SettlementLinesQuery)
        within = selectors.finance_unit(as_viewer(request.user), query.get("within") or root.code)
        if not root.contains(within):
            raise Http404
        lines = services.settlement_lines(root, start, end, within=within)
        return Response({"results": LineSerializer(lines, many=True).data, "count": len(lines)})


def _export(request: Request, list_name: str, filters: type[serializers.Serializer]) -> Response:
    actor = staff(request)
    selectors.finance_unit(actor)
    form = filters(data=request.data)
    form.is_valid(raise_exception=True)
    job = exports.export_request(actor=actor, list_name=list_name, params=form.validated_data)
    return Response(JobSerializer(job_get(actor, job.pk)).data, status=202)


EXPORT_HELP = "，后台任务，返回 202 与任务；进度见 GET /jobs/{id}，完成后 GET /jobs/{id}/result 下载（留痕）"


class PaymentsExportView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=PaymentsFilter,
        responses={202: JobSerializer},
        summary="导出收费明细（Excel，含按单位按日汇总）" + EXPORT_HELP,
    )
    @errors("not_found", "bad_period")
    def post(self, request: Request) -> Response:
        return _export(request, "payments", PaymentsFilter)


class RemittancesExportView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=UnitQuery, responses={202: JobSerializer}, summary="导出缴库记录（Excel）" + EXPORT_HELP
    )
    @errors("not_found")
    def post(self, request: Request) -> Response:
        return _export(request, "remittances", UnitQuery)


class SettlementExportView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=SettlementQuery,
        responses={202: JobSerializer},
        summary="导出免费首证结算（Excel，结算汇总与结算明细）" + EXPORT_HELP,
    )
    @errors("not_found")
    def post(self, request: Request) -> Response:
        return _export(request, "settlement", SettlementQuery)


class SettlementLinesExportView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=SettlementLinesQuery,
        responses={202: JobSerializer},
        summary="导出免费首证结算明细（Excel，号码脱敏）" + EXPORT_HELP,
    )
    @errors("not_found")
    def post(self, request: Request) -> Response:
        return _export(request, "settlement_lines", SettlementLinesQuery)


class ReceiptView(APIView):
    @extend_schema(
        summary="票据 PDF（财政人员：本辖区；受理员：本所收费；留痕）",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, receipt_number: str) -> HttpResponse:
        viewer = as_viewer(request.user)
        if not any(viewer.can(action) for action in selectors.RECEIPT_ACTIONS):
            raise ServiceError("permission_denied", "无权打印票据。", status=403)
        payment = selectors.receipt_get(viewer, receipt_number)
        pdf = documents.receipt_pdf(payment)
        record(
            actor=viewer,
            action=AuditAction.FEE_RECEIPT_PRINTED,
            object_type="finance.payment",
            object_id=payment.pk,
            detail={"receipt": payment.receipt_number, "how": "api"},
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt_number}.pdf"'
        response["Cache-Control"] = "no-store"
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for application/pdf gets the PDF, and its errors in JSON, not a 406.
        return super().perform_content_negotiation(request, force=True)
