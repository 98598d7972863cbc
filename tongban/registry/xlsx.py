"""Excel exports (what supervisors, campaign managers and finance officers send upward).

One helper for every stage: a workbook of named sheets, each a header row and data rows, with a
bold frozen header, column widths fitted to the header and the first rows (CJK characters count
double), and an HTTP response whose file name may be Chinese (RFC 6266 `filename*`). Callers pass
the rows their page shows, from the same scoped query, so the page and the file always agree.

The workbook is written in openpyxl's write-only mode: each row goes to the file as it comes (inline
strings, no shared-string table), so a sheet of a million rows takes the memory of a few hundred;
`write_workbook` writes to a file for background exports (tongban.jobs), `workbook_bytes` to memory
for the small ones a page answers at once.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
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


# Rows read ahead of a sheet to fit its column widths: openpyxl's write-only mode needs the
# widths before the first row, and a sample this size fits them as well as the whole list would.
WIDTH_SAMPLE = 200


def write_workbook(
    target: str | Path | IO[bytes],
    sheets: Sequence[Sheet],
    *,
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> int:
    """Write `sheets` to `target` (a path or a binary file), streaming each sheet's rows; call
    `progress(rows written so far)` after every `every` data rows and once at the end (a
    background job reports, and is cancelled, there). Returns the number of data rows."""
    book = Workbook(write_only=True)
    try:
        written = _write_sheets(book, sheets, progress, every)
        book.save(target)
    except BaseException:
        _discard(book)
        raise
    return written


def _write_sheets(
    book: Workbook, sheets: Sequence[Sheet], progress: Callable[[int], None] | None, every: int
) -> int:
    bold = Font(bold=True)
    written = 0
    for sheet in sheets:
        ws = book.create_sheet(title=sheet.title[:31])
        rows = iter(sheet.rows)
        ahead = [[_plain(v) for v in row] for row in itertools.islice(rows, WIDTH_SAMPLE)]
        widths = [_width(h) for h in sheet.headers]
        for values in ahead:
            for i, value in enumerate(values[: len(widths)]):
                widths[i] = max(widths[i], _width(value))
        for i, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(MAX_WIDTH, width + 2)
        ws.freeze_panes = f"A{len(sheet.caption) + 2}"
        for line in sheet.caption:
            ws.append([line])
        ws.append([_bold(ws, header, bold) for header in sheet.headers])
        for values in itertools.chain(ahead, ([_plain(v) for v in row] for row in rows)):
            ws.append(values)
            written += 1
            if progress is not None and written % every == 0:
                progress(written)
    if progress is not None:
        progress(written)
    return written


def _discard(book: Workbook) -> None:
    """Remove the temporary files of a workbook left half-written (a cancelled export): openpyxl
    removes a write-only sheet's file only when the workbook is saved, or when the process ends,
    which a worker does not."""
    for ws in book.worksheets:
        writer = ws._writer  # openpyxl offers no public way to it
        if writer is None:
            continue
        with contextlib.suppress(Exception):
            ws.close()
        writer.cleanup()


def _bold(ws: Any, value: str, font: Font) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    cell.font = font
    return cell


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    buffer = io.BytesIO()
    write_workbook(buffer, sheets)
    return buffer.getvalue()


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> HttpResponse:
    """An attachment named `filename` (".xlsx" added if missing); the name may be Chinese."""
    return xlsx_attachment(filename, workbook_bytes(sheets))


def xlsx_attachment(filename: str, content: bytes) -> HttpResponse:
    """A workbook already written, as `xlsx_response` answers it."""
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    response = HttpResponse(content, content_type=XLSX_TYPE)
    ascii_name = filename.encode("ascii", "ignore").decode() or "export.xlsx"
    response["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    return response
