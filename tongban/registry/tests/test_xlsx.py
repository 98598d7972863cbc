"""The shared Excel export: what is written reads back the same, streamed row by row."""

from __future__ import annotations

import datetime
import io
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tongban.registry.xlsx import WIDTH_SAMPLE, Sheet, workbook_bytes, write_workbook, xlsx_response


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


def test_rows_are_streamed_with_progress_in_chunks(tmp_path: Path) -> None:
    produced: list[int] = []
    reports: list[tuple[int, int]] = []

    def rows() -> Iterator[list[int]]:
        for n in range(2500):
            produced.append(n)
            yield [n]

    def progress(done: int) -> None:
        # Only the rows written and the few read ahead to fit the widths are in memory.
        reports.append((done, len(produced)))
        assert len(produced) - done <= WIDTH_SAMPLE

    target = tmp_path / "big.xlsx"
    written = write_workbook(target, [Sheet("明细", ["序号"], rows(), caption=["标题"])], progress=progress)
    assert written == 2500 and [done for done, _ in reports] == [1000, 2000, 2500]
    values = [row[0] for row in load_workbook(target)["明细"].iter_rows(min_row=3, values_only=True)]
    assert values == list(range(2500))


def test_a_write_stopped_half_way_leaves_no_temporary_file(tmp_path: Path) -> None:
    class Stop(Exception):
        pass

    def stop(done: int) -> None:
        if done >= 2:
            raise Stop

    before = set(Path(tempfile.gettempdir()).glob("openpyxl.*"))
    target = tmp_path / "stopped.xlsx"
    with pytest.raises(Stop):
        write_workbook(target, [Sheet("a", ["n"], ([n] for n in range(10)))], progress=stop, every=1)
    assert set(Path(tempfile.gettempdir()).glob("openpyxl.*")) == before and not target.exists()
