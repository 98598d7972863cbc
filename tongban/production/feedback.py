"""The feedback file formats (制证回馈/质量回馈), CSV and JSON: parsing and per-line checks.
Pure Python (no Django); docs/production.md documents the formats."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any

FIELDS = ("batch", "number", "result", "card_serial", "reason", "note")
# A centre's spreadsheet may carry the Chinese column names instead.
CHINESE_FIELDS = {
    "批次号": "batch",
    "受理号": "number",
    "结果": "result",
    "卡号": "card_serial",
    "原因": "reason",
}
CHINESE_FIELDS["备注"] = "note"
RESULTS = ("produced", "failed")
REASONS = ("photo_quality", "data_error", "chip_error")
MAX_LINES = 20_000
_NUMBER = re.compile(r"^\d{22}$")
_SERIAL = re.compile(r"^[0-9A-Za-z-]{4,32}$")


class FeedbackFormatError(ValueError):
    """The file as a whole cannot be read (encoding, columns, JSON shape); nothing was applied."""


@dataclass(frozen=True)
class FeedbackLine:
    line: int  # 1-based data line (CSV: not counting the header), or the JSON array index + 1
    batch: str
    number: str
    result: str
    card_serial: str = ""
    reason: str = ""
    note: str = ""
    error: str = ""  # set when the line itself is malformed: it is rejected with this message

    def key(self) -> dict[str, str]:
        return {"line": str(self.line), "batch": self.batch, "number": self.number}


def check_line(line: int, raw: dict[str, Any]) -> FeedbackLine:
    values = {name: str(raw.get(name) or "").strip() for name in FIELDS}
    problems = []
    if not values["batch"]:
        problems.append("缺少批次号")
    if not _NUMBER.match(values["number"]):
        problems.append("受理号应为 22 位数字")
    if values["result"] not in RESULTS:
        problems.append("结果应为 produced 或 failed")
    elif values["result"] == "produced":
        if not _SERIAL.match(values["card_serial"]):
            problems.append("已制证须填写卡号（4–32 位字母、数字或连字符）")
        if values["reason"]:
            problems.append("已制证不应填写失败原因")
    elif values["reason"] not in REASONS:
        problems.append("制证失败须填写原因 photo_quality / data_error / chip_error")
    if len(values["note"]) > 200:
        problems.append("备注不能超过 200 个字")
    return FeedbackLine(line=line, **values, error="；".join(problems))


def parse_json(data: Any) -> list[FeedbackLine]:
    """A JSON array of line objects, or an object with such an array under "lines"."""
    rows = data.get("lines") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise FeedbackFormatError("JSON 回馈应为数组，或含 lines 数组的对象。")
    if len(rows) > MAX_LINES:
        raise FeedbackFormatError(f"一次最多回馈 {MAX_LINES} 行。")
    return [
        check_line(index, row) if isinstance(row, dict) else FeedbackLine(index, "", "", "", error="不是对象")
        for index, row in enumerate(rows, start=1)
    ]


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")  # saved from a Chinese-locale spreadsheet
        except UnicodeDecodeError as exc:
            raise FeedbackFormatError("文件编码应为 UTF-8 或 GB18030。") from exc


def parse_csv(raw: bytes) -> list[FeedbackLine]:
    reader = csv.reader(io.StringIO(_decode(raw)))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise FeedbackFormatError("文件为空。") from exc
    columns = [CHINESE_FIELDS.get(name.strip(), name.strip()) for name in header]
    missing = [name for name in ("batch", "number", "result") if name not in columns]
    if missing:
        raise FeedbackFormatError(f"缺少列：{', '.join(missing)}（表头应为 {','.join(FIELDS)}）。")
    lines = []
    for index, row in enumerate(reader, start=1):
        if not any(cell.strip() for cell in row):
            continue
        if index > MAX_LINES:
            raise FeedbackFormatError(f"一次最多回馈 {MAX_LINES} 行。")
        lines.append(check_line(index, dict(zip(columns, row, strict=False))))
    return lines


def parse_file(raw: bytes, filename: str = "") -> tuple[str, list[FeedbackLine]]:
    """("csv" | "json", lines) of an uploaded file: JSON when it looks like JSON."""
    text = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
    if filename.lower().endswith(".json") or text[:1] in (b"[", b"{"):
        try:
            return "json", parse_json(json.loads(_decode(raw)))
        except json.JSONDecodeError as exc:
            raise FeedbackFormatError(f"JSON 格式错误：第 {exc.lineno} 行。") from exc
    return "csv", parse_csv(raw)
