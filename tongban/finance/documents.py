"""The receipt (票据) of a fee, as an A5 PDF with the receipt number in bars, printed at the
counter at acceptance: 票据号, the amount in 大写 and 小写, the collecting unit with its own
address and telephone, who collected it. The font and barcode are the register's shared helpers
(registry.pdf)."""

from __future__ import annotations

import io
from decimal import Decimal
from html import escape

from django.utils import timezone
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tongban.core.money import amount_in_words
from tongban.finance.models import Payment
from tongban.registry.models import Unit
from tongban.registry.pdf import barcode, pdf_font

RECEIPT_TITLE = "居民身份证工本费收费票据"
ITEM_LABELS = {
    "first": "首次申领（免费）",
    "renewal": "换领",
    "damaged": "损坏换领",
    "replacement": "补领",
    "temporary": "临时居民身份证",
}


def _amount_words(payment: Payment) -> str:
    """The amount in 大写, as a receipt states it (core.money)."""
    if payment.waived:
        return f"零元整（减免，依据：{payment.waiver_evidence}）"
    return amount_in_words(payment.amount)


def _contact(unit: Unit) -> str:
    """The collecting unit's own address and telephone, as registered; blank when it has none
    (nothing invented: the missing ones are listed for administrators)."""
    return "　".join(part for part in (unit.address, f"电话 {unit.phone}" if unit.phone else "") if part)


def receipt_pdf(payment: Payment) -> bytes:
    """票据 of one payment."""
    font = pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, alignment=TA_CENTER)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10, leading=13.5, wordWrap="CJK")

    def p(text: str) -> Paragraph:
        return Paragraph(escape(text, quote=False) or "&nbsp;", cell)

    charged = timezone.localtime(payment.charged_at)
    amount = Decimal(0) if payment.waived else payment.amount
    rows = [
        [p("票据号"), p(payment.receipt_number)],
        [p("受理号"), p(payment.application_number)],
        [p("缴款人"), p(payment.person.name)],
        [p("收费项目"), p(ITEM_LABELS.get(payment.item, "其他"))],
        [p("金额（大写）"), p(_amount_words(payment))],
        [p("金额（小写）"), p(f"¥{amount:.2f}")],
        [p("收费单位"), p(payment.unit.name)],
    ]
    contact = _contact(payment.unit)
    if contact:
        rows.append([p("单位地址、电话"), p(contact)])
    rows += [
        [p("收费时间"), p(f"{charged.year}年{charged.month}月{charged.day}日 {charged:%H:%M}")],
        [p("收费人"), p(payment.charged_by.get_full_name() or "—")],
    ]
    table = Table(rows, colWidths=[32 * mm, 128 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, "black"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A5),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"{RECEIPT_TITLE} {payment.receipt_number}",
    )
    doc.build(
        [
            Paragraph(RECEIPT_TITLE, title),
            Spacer(1, 4 * mm),
            barcode(payment.receipt_number),
            Spacer(1, 3 * mm),
            table,
        ]
    )
    return out.getvalue()
