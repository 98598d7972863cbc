"""Excel exports (what supervisors, campaign managers and finance officers send upward).

One helper for every stage: a workbook of named sheets, each a header row and data rows, with a
bold frozen header, column widths fitted to the content (CJK characters count double), and an
HTTP response whose file name may be Chinese (RFC 6266 `filename*`). Callers pass the rows their
page shows, from the same scoped query, so the page and the file always agree.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Cell = str | int | float | Decimal | datetime.date | datetime.datetime | None
MAX_WIDTH = 60


@dataclass
class Sheet:
    """One worksheet: a title (at most 31 characters, as Excel allows), headers and rows."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Cell]] = field(default_factory=list)
    # Lines above the table (e.g. the unit and period a report covers).
    caption: Sequence[str] = ()


def _width(value: Cell) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _plain(value: Cell) -> Cell:
    # Excel has no time zones: aware times are written as local wall-clock times.
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        from django.utils import timezone

        return timezone.localtime(value).replace(tzinfo=None)
    return value


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = book.create_sheet(title=sheet.title[:31])
        for line in sheet.caption:
            ws.append([line])
        ws.append(list(sheet.headers))
        header_row = ws.max_row
        for cell in ws[header_row]:
            cell.font = bold
        widths = [_width(h) for h in sheet.headers]
        for row in sheet.rows:
            values = [_plain(v) for v in row]
            ws.append(values)
            for i, value in enumerate(values[: len(widths)]):
                widths[i] = max(widths[i], _width(value))
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, width + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> HttpResponse:
    """An attachment named `filename` (".xlsx" added if missing); the name may be Chinese."""
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    response = HttpResponse(workbook_bytes(sheets), content_type=XLSX_TYPE)
    ascii_name = filename.encode("ascii", "ignore").decode() or "export.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response
