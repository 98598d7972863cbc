"""The rows of each finance list as Excel sheets (registry.xlsx), built from the same selector
results the page shows, so the page and the file always agree. ID numbers are masked as on the
page: an export leaves the system and travels by e-mail."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils import timezone

from tongban.core.masking import mask_id_number
from tongban.finance import selectors
from tongban.finance.models import Payment, Remittance
from tongban.finance.services import Settlement, SettlementFigure, SettlementLine
from tongban.registry.xlsx import Cell, Sheet

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


def payment_status(payment: Payment) -> str:
    refund = getattr(payment, "refund", None)
    if refund is not None:
        return "已退费"
    if payment.voided_at is not None:
        return "已作废"
    if payment.waived:
        return "减免"
    return ""


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


def settlement_sheets(caption: Sequence[str], result: Settlement) -> list[Sheet]:
    return [
        Sheet("结算汇总", FIGURE_HEADERS, figure_rows(result), caption=caption),
        Sheet("结算明细", LINE_HEADERS, [line_row(line) for line in result.total.lines], caption=caption),
    ]


def lines_sheet(caption: Sequence[str], lines: Iterable[SettlementLine]) -> Sheet:
    return Sheet("结算明细", LINE_HEADERS, [line_row(line) for line in lines], caption=caption)


def generated_caption(*lines: str) -> list[str]:
    return [*lines, f"导出时间：{timezone.localtime():%Y-%m-%d %H:%M}"]
