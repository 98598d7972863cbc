"""The receipt (票据) of a fee, as an A5 PDF with the receipt number in bars, printed at the
counter at acceptance. The font and barcode are the register's shared helpers (registry.pdf)."""

from __future__ import annotations

import io
from html import escape

from django.utils import timezone
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tongban.finance.models import Payment
from tongban.registry.pdf import barcode, pdf_font

RECEIPT_TITLE = "居民身份证工本费收费票据"
ITEM_LABELS = {
    "first": "首次申领（免费）",
    "renewal": "换领",
    "damaged": "损坏换领",
    "replacement": "补领",
    "temporary": "临时居民身份证",
}


def _amount(payment: Payment) -> str:
    if payment.waived:
        return f"0.00元（减免，依据：{payment.waiver_evidence}）"
    return f"{payment.amount:.2f}元"


def receipt_pdf(payment: Payment) -> bytes:
    """票据 of one payment."""
    font = pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=20, alignment=TA_CENTER)
    cell = ParagraphStyle("cell", fontName=font, fontSize=10, leading=13.5, wordWrap="CJK")

    def p(text: str) -> Paragraph:
        return Paragraph(escape(text, quote=False) or "&nbsp;", cell)

    charged = timezone.localtime(payment.charged_at)
    rows = [
        [p("票据号"), p(payment.receipt_number)],
        [p("受理号"), p(payment.application_number)],
        [p("缴款人"), p(payment.person.name)],
        [p("收费项目"), p(ITEM_LABELS.get(payment.item, payment.item))],
        [p("金额"), p(_amount(payment))],
        [p("收费单位"), p(payment.unit.name)],
        [p("收费时间"), p(f"{charged.year}年{charged.month}月{charged.day}日 {charged:%H:%M}")],
    ]
    table = Table(rows, colWidths=[30 * mm, 130 * mm])
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
