"""PDF helpers shared by the printed documents of every stage (受理 forms, 票据): the embedded
Chinese font and the Code128 barcode. Kept in the register, below intake and finance alike, so
both print with one font registration."""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

BAR_WIDTH = 0.3 * mm  # X-dimension: 156 modules for 22 digits, about 47 mm of bars


class PdfFontMissing(ImproperlyConfigured):
    """The configured TrueType font is not there; the forms cannot be printed without it."""


_fonts: dict[Path, str] = {}
_fonts_lock = threading.Lock()


def pdf_font() -> str:
    """The reportlab name of settings.PDF_FONT, registered once per process and font file.

    Keyed by path, so a missing file is checked on every call until it is there (a test that
    points PDF_FONT elsewhere sees the error whatever ran before it)."""
    path = Path(settings.PDF_FONT)
    name = _fonts.get(path)
    if name is not None:
        return name
    with _fonts_lock:
        if path in _fonts:
            return _fonts[path]
        if not path.is_file():
            raise PdfFontMissing(
                f"PDF font {path} not found: install the Debian package fonts-wqy-zenhei or point "
                "the TONGBAN_PDF_FONT setting (settings.PDF_FONT) at a TrueType font with Chinese glyphs."
            )
        name = f"TongbanCJK{len(_fonts)}"
        try:
            # subfontIndex picks WenQuanYi Zen Hei out of the .ttc collection (a .ttf ignores it).
            pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
        except Exception as exc:  # reportlab raises TTFError and plain errors alike
            raise PdfFontMissing(
                f"PDF font {path} cannot be read as a TrueType font ({exc}): install the Debian package "
                "fonts-wqy-zenhei or fix the TONGBAN_PDF_FONT setting (settings.PDF_FONT)."
            ) from exc
        _fonts[path] = name
        return name


def barcode(number: str, *, height: float = 9 * mm) -> Code128:
    """Code128 of a number (受理号, 票据号); digits encode in code set C, two digits a symbol."""
    return Code128(number, barWidth=BAR_WIDTH, barHeight=height, humanReadable=False)
