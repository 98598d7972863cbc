"""The shared Excel export: what is written reads back the same."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from openpyxl import load_workbook

from tongban.registry.xlsx import Sheet, workbook_bytes, xlsx_response


def test_sheets_read_back_with_caption_header_and_rows() -> None:
    data = workbook_bytes(
        [
            Sheet(
                "按县统计",
                ["单位", "受理", "金额"],
                [["东湖区", 12, Decimal("240.00")], ["西湖区", 0, None]],
                caption=["南昌市 2026-11"],
            ),
            Sheet("明细", ["日期"], [[datetime.date(2026, 11, 2)]]),
        ]
    )
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["按县统计", "明细"]
    rows = list(book["按县统计"].values)
    assert rows[0] == ("南昌市 2026-11", None, None)
    assert rows[1] == ("单位", "受理", "金额")
    assert rows[2] == ("东湖区", 12, 240)
    assert rows[3] == ("西湖区", 0, None)
    assert book["按县统计"].freeze_panes == "A3"
    assert list(book["明细"].values)[1][0].date() == datetime.date(2026, 11, 2)


def test_response_names_the_file_in_chinese_and_ascii() -> None:
    response = xlsx_response("结算清单-2026Q3", [Sheet("s", ["a"], [])])
    disposition = response["Content-Disposition"]
    assert 'filename="-2026Q3.xlsx"' in disposition
    assert "filename*=UTF-8''%E7%BB%93" in disposition
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["s"]
