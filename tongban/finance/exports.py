"""The rows of each finance list as Excel sheets (registry.xlsx), built from the same selector
results the page shows, so the page and the file always agree. ID numbers are masked as on the
page: an export leaves the system and travels by e-mail.

导出 (`export_start`): the lists that grow with the subtree and the period (收费明细, 缴库记录,
免费首证结算 with its lines, 结算明细) are written by a background job (`tongban.finance.jobs`)
unless they hold at most `TONGBAN_EXPORT_INLINE_ROWS` rows, which the page answers at once. Both
are audited (`finance.export`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.finance import rules, selectors, services
from tongban.finance.documents import ITEM_LABELS
from tongban.finance.models import Payment, Remittance
from tongban.finance.services import Settlement, SettlementFigure, SettlementLine
from tongban.jobs.models import JobRun
from tongban.jobs.services import job_start
from tongban.registry.access import Viewer
from tongban.registry.models import Unit
from tongban.registry.xlsx import Cell, Sheet, workbook_bytes

PAYMENT_HEADERS = (
    "收费时间",
    "票据号",
    "受理号",
    "缴款人",
    "公民身份号码",
    "收费单位",
    "单位代码",
    "收费项目",
    "金额",
    "减免依据",
    "退费金额",
    "退费时间",
    "作废时间",
)


def payment_row(payment: Payment) -> list[Cell]:
    refund = getattr(payment, "refund", None)
    return [
        payment.charged_at,
        payment.receipt_number,
        payment.application_number,
        payment.person.name,
        mask_id_number(payment.person.id_number),
        payment.unit.name,
        payment.unit.code,
        selectors.item_label(payment.item),
        payment.amount,
        payment.waiver_evidence,
        refund.amount if refund is not None else None,
        refund.refunded_at if refund is not None else None,
        payment.voided_at,
    ]


DAY_HEADERS = (
    "日期",
    "单位",
    "单位代码",
    "票据张数",
    "收费笔数",
    "收费金额",
    "退费笔数",
    "退费金额",
    "净额",
    "缴库",
)


def day_row(total: selectors.DayTotal) -> list[Cell]:
    return [
        total.day,
        total.unit.name,
        total.unit.code,
        total.receipts,
        total.paid,
        total.charged,
        total.refunds,
        total.refunded,
        total.net,
        total.remittance.treasury_reference if total.remittance is not None else "未缴库",
    ]


def payments_sheets(
    caption: Sequence[str], payments: Iterable[Payment], totals: selectors.Totals
) -> list[Sheet]:
    day_rows: list[list[Cell]] = [day_row(total) for total in totals.days]
    day_rows.append(
        [
            "合计",
            "",
            "",
            totals.receipts,
            totals.paid,
            totals.charged,
            totals.refunds,
            totals.refunded,
            totals.net,
            "",
        ]
    )
    return [
        Sheet("收费明细", PAYMENT_HEADERS, (payment_row(payment) for payment in payments), caption=caption),
        Sheet("按单位按日汇总", DAY_HEADERS, day_rows, caption=caption),
    ]


UNREMITTED_HEADERS = (
    "收费日期",
    "派出所",
    "单位代码",
    "收费笔数",
    "收费金额",
    "退费笔数",
    "退费金额",
    "应缴库金额",
)


def unremitted_sheet(caption: Sequence[str], result: selectors.Unremitted) -> Sheet:
    rows: list[list[Cell]] = [
        [
            row.day,
            row.unit.name,
            row.unit.code,
            row.payments,
            row.charged,
            row.refunds,
            row.refunded,
            row.amount,
        ]
        for row in result.rows
    ]
    rows.append(
        ["合计", "", "", result.payments, result.charged, result.refunds, result.refunded, result.amount]
    )
    return Sheet("待缴库", UNREMITTED_HEADERS, rows, caption=caption)


REMITTANCE_HEADERS = (
    "收费日期",
    "派出所",
    "单位代码",
    "缴库金额",
    "收费笔数",
    "退费笔数",
    "缴款书号",
    "登记时间",
    "经办人",
)


def remittance_row(remittance: Remittance) -> list[Cell]:
    return [
        remittance.day,
        remittance.unit.name,
        remittance.unit.code,
        remittance.amount,
        remittance.payments,
        remittance.refunds,
        remittance.treasury_reference,
        remittance.remitted_at,
        remittance.remitted_by.get_full_name() or remittance.remitted_by.get_username(),
    ]


def remittances_sheet(caption: Sequence[str], rows: Iterable[Remittance]) -> Sheet:
    return Sheet("缴库记录", REMITTANCE_HEADERS, (remittance_row(row) for row in rows), caption=caption)


FIGURE_HEADERS = (
    "层级",
    "单位",
    "单位代码",
    "首次申领免费证件数",
    "结算金额",
    "其中：中央财政",
    "其中：省级财政",
)


def figure_row(level: str, figure: SettlementFigure) -> list[Cell]:
    return [
        level,
        figure.unit.name,
        figure.unit.code,
        figure.count,
        figure.amount,
        figure.central,
        figure.provincial,
    ]


def figure_rows(result: Settlement) -> list[list[Cell]]:
    rows = [figure_row("市", figure) for figure in result.cities]
    rows += [figure_row("县（市、区）", figure) for figure in result.counties]
    rows.append(figure_row("合计", result.total))
    return rows


LINE_HEADERS = (
    "收费日期",
    "受理号",
    "票据号",
    "姓名",
    "公民身份号码",
    "受理派出所",
    "单位代码",
    "结算标准（元/证）",
    "中央财政",
    "省级财政",
    "标准起始日期",
)


def line_row(line: SettlementLine) -> list[Cell]:
    return [
        line.day,
        line.application_number,
        line.receipt_number,
        line.name,
        mask_id_number(line.id_number),
        line.station.name,
        line.station.code,
        line.rate.amount,
        line.rate.central,
        line.rate.provincial,
        line.rate.effective_from,
    ]


def settlement_sheets(
    caption: Sequence[str], result: Settlement, lines: Iterable[SettlementLine]
) -> list[Sheet]:
    return [
        Sheet("结算汇总", FIGURE_HEADERS, figure_rows(result), caption=caption),
        lines_sheet(caption, lines),
    ]


def lines_sheet(caption: Sequence[str], lines: Iterable[SettlementLine]) -> Sheet:
    return Sheet("结算明细", LINE_HEADERS, (line_row(line) for line in lines), caption=caption)


def generated_caption(*lines: str) -> list[str]:
    return [*lines, f"导出时间：{timezone.localtime():%Y-%m-%d %H:%M}"]


def payments_caption(filters: selectors.PaymentFilters) -> list[str]:
    return [
        f"{filters.unit.name}（{filters.unit.code}）收费明细",
        f"期间：{filters.start:%Y-%m-%d} 至 {filters.end:%Y-%m-%d}"
        + (f"　项目：{selectors.item_label(filters.item)}" if filters.item else ""),
    ]


def settlement_caption(root: Unit, period: str, start: datetime.date, end: datetime.date) -> list[str]:
    return [
        f"{root.name}（{root.code}）首次申领居民身份证免费证件结算",
        f"结算期间：{rules.period_label(period)}（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）",
    ]


# ---------------------------------------------------------------------------------------------
# 导出


@dataclass(frozen=True)
class Export:
    """A list ready to be written: the file's name, its sheets (made when called, the long list
    read as it is written), how many rows the long list holds (counted, not read: what decides
    between answering at once and a job, and the job's progress total), the unit it covers (whose
    overseers see the job), the filters as the job gets them, and the audit row's detail."""

    list_name: str
    unit: Unit
    name: str
    rows: int
    params: dict[str, str]
    object_type: str
    detail: dict[str, str]
    sheets: Callable[[], list[Sheet]]

    @property
    def kind(self) -> str:
        return KIND_PREFIX + self.list_name


KIND_PREFIX = "finance.export."


def _unit(viewer: Viewer, code: str, *, kinds: tuple[str, ...] = ()) -> Unit:
    # A job has no request to answer 404 to: the refusal is a ServiceError, with the same code.
    try:
        return selectors.finance_unit(viewer, code, kinds=kinds)
    except Http404 as outside:
        raise ServiceError("not_found", "未找到该单位，或不在本辖区。", status=404) from outside


def _day(value: Any, field: str) -> datetime.date | None:
    if isinstance(value, datetime.date) or not value:
        return value or None
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as bad:
        message = "日期格式应为 YYYY-MM-DD。"
        raise ServiceError("invalid", message, fields={field: message}) from bad


def _period(value: Any) -> tuple[str, datetime.date, datetime.date]:
    period = str(value or "").strip().upper()
    try:
        start, end = rules.period_bounds(period)
    except ValueError as bad:
        message = "结算期间应为月份（如 2026-03）或季度（如 2026Q1）。"
        raise ServiceError("invalid", message, fields={"period": message}) from bad
    return period, start, end


def payments_export(viewer: Viewer, params: Mapping[str, Any]) -> Export:
    """收费明细 of `unit` (default: the viewer's) from `start` to `end` (default: this month to
    today), of one `item` or all: the payments and the per-unit-and-day totals."""
    root = _unit(viewer, str(params.get("unit") or ""))
    default_start, default_end = selectors.default_period()
    start = _day(params.get("start"), "start") or default_start
    end = _day(params.get("end"), "end") or default_end
    if end < start:
        raise ServiceError("bad_period", "截止日期不能早于起始日期。", fields={"end": "早于起始日期"})
    item = str(params.get("item") or "")
    if item and item not in ITEM_LABELS:
        raise ServiceError("invalid", "无此收费项目。", fields={"item": "无此收费项目。"})
    filters = selectors.PaymentFilters(unit=root, start=start, end=end, item=item)
    return Export(
        list_name="payments",
        unit=root,
        name=f"收费明细-{root.code}-{start:%Y%m%d}-{end:%Y%m%d}",
        rows=selectors.payments_count(viewer, filters),
        params={"unit": root.code, "start": start.isoformat(), "end": end.isoformat(), "item": item},
        object_type="finance.payment",
        detail={"list": "payments", "unit": root.code, "start": str(start), "end": str(end)},
        sheets=lambda: payments_sheets(
            generated_caption(*payments_caption(filters)),
            selectors.payments_all(viewer, filters),
            selectors.day_totals(viewer, filters),
        ),
    )


def remittances_export(viewer: Viewer, params: Mapping[str, Any]) -> Export:
    """缴库记录 of `unit`'s subtree, latest registered first."""
    root = _unit(viewer, str(params.get("unit") or ""))
    rows = Remittance.objects.visible_to(viewer).filter(unit_id__in=Unit.objects.subtree_ids(root))
    return Export(
        list_name="remittances",
        unit=root,
        name=f"缴库记录-{root.code}",
        rows=rows.count(),
        params={"unit": root.code},
        object_type="finance.remittance",
        detail={"list": "remittances", "unit": root.code},
        sheets=lambda: [
            remittances_sheet(
                generated_caption(f"{root.name}（{root.code}）缴库记录"),
                rows.select_related("unit", "remitted_by").order_by("-pk").iterator(chunk_size=2000),
            )
        ],
    )


def settlement_export(viewer: Viewer, params: Mapping[str, Any]) -> Export:
    """免费首证结算 of `unit` (a province, city or county) for `period`: the figures, then every
    line behind them (read twice: once to count, once as they are written)."""
    root = _unit(viewer, str(params.get("unit") or ""), kinds=selectors.SETTLEMENT_KINDS)
    period, start, end = _period(params.get("period"))
    caption = settlement_caption(root, period, start, end)
    return Export(
        list_name="settlement",
        unit=root,
        name=f"免费首证结算-{root.code}-{period}",
        rows=services.settlement_line_count(root, start, end),
        params={"unit": root.code, "period": period},
        object_type="finance.settlement",
        detail={"list": "settlement", "unit": root.code, "period": period},
        sheets=lambda: settlement_sheets(
            generated_caption(*caption),
            services.settlement(root, start, end, keep_lines=False),
            services.iter_settlement_lines(root, start, end),
        ),
    )


def settlement_lines_export(viewer: Viewer, params: Mapping[str, Any]) -> Export:
    """结算明细 of `unit`'s settlement for `period`, within `within` (a unit inside it)."""
    root = _unit(viewer, str(params.get("unit") or ""), kinds=selectors.SETTLEMENT_KINDS)
    period, start, end = _period(params.get("period"))
    within = _unit(viewer, str(params.get("within") or root.code))
    if not root.contains(within):
        raise ServiceError("not_found", "明细范围不在结算单位辖区内。", status=404)
    caption = [*settlement_caption(root, period, start, end), f"明细范围：{within.name}（{within.code}）"]
    return Export(
        list_name="settlement_lines",
        unit=within,
        name=f"免费首证结算明细-{within.code}-{period}",
        rows=services.settlement_line_count(root, start, end, within=within),
        params={"unit": root.code, "period": period, "within": within.code},
        object_type="finance.settlement",
        detail={"list": "settlement_lines", "unit": within.code, "period": period},
        sheets=lambda: [
            lines_sheet(generated_caption(*caption), services.iter_settlement_lines(root, start, end, within))
        ],
    )


EXPORTS: dict[str, Callable[[Viewer, Mapping[str, Any]], Export]] = {
    "payments": payments_export,
    "remittances": remittances_export,
    "settlement": settlement_export,
    "settlement_lines": settlement_lines_export,
}


def export_of(viewer: Viewer, list_name: str, params: Mapping[str, Any]) -> Export:
    """The list `list_name` with the page's filters `params`, for `viewer`: their permission and
    their subtree, checked now (403 `permission_denied`, 404 `not_found` for a unit outside)."""
    build = EXPORTS.get(list_name)
    if build is None:
        raise ServiceError("not_found", "无此导出。", status=404)
    return build(viewer, params)


@dataclass(frozen=True)
class ExportFile:
    name: str
    content: bytes


def export_start(
    *, actor: Viewer, list_name: str, params: Mapping[str, Any], inline_rows: int
) -> ExportFile | JobRun:
    """导出 from a page: the workbook itself when the list holds at most `inline_rows` rows (0:
    never), otherwise a background job that writes it (its page shows the progress and offers the
    file). Audited (`finance.export`, with the job's number when there is one)."""
    export = export_of(actor, list_name, params)
    if inline_rows and export.rows <= inline_rows:
        content = workbook_bytes(export.sheets())
        _audit(actor, export)
        return ExportFile(name=f"{export.name}.xlsx", content=content)
    return _queue(actor, export)


def export_request(*, actor: Viewer, list_name: str, params: Mapping[str, Any]) -> JobRun:
    """导出 as a background job, whatever its size (the API: one answer, 202 with the job)."""
    return _queue(actor, export_of(actor, list_name, params))


def _queue(actor: Viewer, export: Export) -> JobRun:
    with transaction.atomic():
        job = job_start(actor=actor, kind=export.kind, unit=export.unit, params=export.params)
        _audit(actor, export, job=job.pk)
    return job


def _audit(actor: Viewer, export: Export, **extra: Any) -> None:
    record(
        actor=actor,
        action=AuditAction.FINANCE_EXPORT,
        object_type=export.object_type,
        detail={**export.detail, **extra},
    )
