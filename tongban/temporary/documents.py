"""The printed temporary card (临时居民身份证), as a PDF the station prints on its card stock:
both sides at the card's size (85.6 × 54 mm) on one A4 page — front: 姓名, 性别, 民族, 出生,
住址, 公民身份号码 and the photo; back: the title, 签发机关 and 有效期限. Drawn with reportlab and
the embedded Chinese font (registry.pdf), like the other printed documents.

The input is a frozen dataclass, so this module knows no model."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from tongban.registry.pdf import pdf_font

CARD_WIDTH = 85.6 * mm
CARD_HEIGHT = 54 * mm
TITLE = "中华人民共和国临时居民身份证"


@dataclass(frozen=True)
class CardDocument:
    number: str  # 临时证号
    name: str
    sex: str
    ethnicity: str
    birth_date: datetime.date
    address: str
    id_number: str
    photo: bytes
    issuing_authority: str
    validity: str  # 2026.12.07-2027.03.06


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)] or [""]


def _front(canvas: Canvas, doc: CardDocument, x: float, y: float, font: str) -> None:
    canvas.roundRect(x, y, CARD_WIDTH, CARD_HEIGHT, 3 * mm)
    label = colors.HexColor("#2a5caa")
    top = y + CARD_HEIGHT - 8 * mm

    def line(row_y: float, caption: str, value: str, value_x: float = x + 16 * mm) -> None:
        canvas.setFillColor(label)
        canvas.setFont(font, 7)
        canvas.drawString(x + 5 * mm, row_y, caption)
        canvas.setFillColor(colors.black)
        canvas.setFont(font, 9)
        canvas.drawString(value_x, row_y, value)

    line(top, "姓　名", doc.name)
    line(top - 6 * mm, "性　别", doc.sex)
    canvas.setFillColor(label)
    canvas.setFont(font, 7)
    canvas.drawString(x + 30 * mm, top - 6 * mm, "民　族")
    canvas.setFillColor(colors.black)
    canvas.setFont(font, 9)
    canvas.drawString(x + 40 * mm, top - 6 * mm, doc.ethnicity)
    born = f"{doc.birth_date.year} 年 {doc.birth_date.month} 月 {doc.birth_date.day} 日"
    line(top - 12 * mm, "出　生", born)
    address = _wrap(doc.address, 11)[:3]
    line(top - 18 * mm, "住　址", address[0])
    for index, rest in enumerate(address[1:], start=1):
        canvas.drawString(x + 16 * mm, top - (18 + 4.5 * index) * mm, rest)
    line(y + 6 * mm, "公民身份号码", doc.id_number, x + 27 * mm)
    photo_w, photo_h = 22 * mm, 28 * mm
    canvas.drawImage(
        ImageReader(io.BytesIO(doc.photo)),
        x + CARD_WIDTH - photo_w - 4 * mm,
        y + CARD_HEIGHT - photo_h - 6 * mm,
        width=photo_w,
        height=photo_h,
        preserveAspectRatio=True,
    )


def _back(canvas: Canvas, doc: CardDocument, x: float, y: float, font: str) -> None:
    canvas.roundRect(x, y, CARD_WIDTH, CARD_HEIGHT, 3 * mm)
    canvas.setFont(font, 12)
    canvas.drawCentredString(x + CARD_WIDTH / 2, y + CARD_HEIGHT - 16 * mm, TITLE)
    canvas.setFont(font, 8)
    canvas.drawString(x + 10 * mm, y + 16 * mm, "签发机关")
    canvas.drawString(x + 26 * mm, y + 16 * mm, doc.issuing_authority)
    canvas.drawString(x + 10 * mm, y + 9 * mm, "有效期限")
    canvas.drawString(x + 26 * mm, y + 9 * mm, doc.validity)
    canvas.setFont(font, 6)
    canvas.drawRightString(x + CARD_WIDTH - 4 * mm, y + 3 * mm, f"No. {doc.number}")


def card_pdf(doc: CardDocument) -> bytes:
    """Front above back, each inside its cutting outline, near the top of an A4 page."""
    font = pdf_font()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"{TITLE} {doc.number}")
    canvas.setAuthor(doc.issuing_authority)
    canvas.setLineWidth(0.4)
    x = (A4[0] - CARD_WIDTH) / 2
    _front(canvas, doc, x, A4[1] - 30 * mm - CARD_HEIGHT, font)
    _back(canvas, doc, x, A4[1] - 45 * mm - 2 * CARD_HEIGHT, font)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
