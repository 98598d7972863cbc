"""The feedback file formats (制证回馈/质量回馈), CSV and JSON: parsing and per-line checks.
Pure Python (no Django); docs/production.md documents the formats.

A centre writes feedback in its own words: the column names may be the codes (`batch`, `number`
…) or Chinese (批次号, 受理号, 结果, 证件序列号 …), the result `produced` / `failed` or 已制证 /
制证失败, the reason a code or the centre's wording (相片不合格, 芯片写入失败 …). Every accepted
spelling maps to one code here, so what is stored and reported is the same whichever was used.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

FIELDS = ("batch", "number", "result", "card_serial", "reason", "note")
FIELD_LABELS = {
    "batch": "批次号",
    "number": "受理号",
    "result": "结果",
    "card_serial": "证件序列号",
    "reason": "原因",
    "note": "备注",
}
# The column names a centre's spreadsheet may carry, besides the codes (any case).
HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "batch": ("批次号", "批次", "批次编号", "制证批次号"),
    "number": ("受理号", "受理编号", "申领受理号"),
    "result": ("结果", "制证结果", "回馈结果", "制证状态", "状态"),
    "card_serial": (
        "证件序列号",
        "卡号",
        "序列号",
        "卡序列号",
        "证件卡号",
        "卡片序列号",
        "card_no",
        "serial",
    ),
    "reason": ("原因", "失败原因", "不合格原因", "质量问题", "原因代码"),
    "note": ("备注", "说明", "备注说明"),
}
CHINESE_FIELDS = {word: name for name, words in HEADER_WORDS.items() for word in words}

RESULTS = ("produced", "failed")
RESULT_LABELS = {"produced": "已制证", "failed": "制证失败"}
RESULT_WORDS: dict[str, tuple[str, ...]] = {
    "produced": ("已制证", "制证成功", "成功", "已制成", "制证完成", "合格"),
    "failed": ("制证失败", "失败", "未制成", "不合格", "质量不合格"),
}
REASONS = ("photo_quality", "data_error", "chip_error")
REASON_LABELS = {"photo_quality": "相片质量不合格", "data_error": "数据错误", "chip_error": "芯片写入失败"}
REASON_WORDS: dict[str, tuple[str, ...]] = {
    "photo_quality": (
        "相片质量不合格",
        "相片质量",
        "相片不合格",
        "照片质量不合格",
        "照片质量",
        "照片不合格",
        "人像不合格",
        "相片问题",
    ),
    "data_error": ("数据错误", "数据有误", "数据异常", "信息错误", "数据问题"),
    "chip_error": ("芯片写入失败", "芯片故障", "芯片错误", "写芯失败", "芯片失效", "芯片问题"),
}
MAX_LINES = 20_000
_NUMBER = re.compile(r"^\d{22}$")
_SERIAL = re.compile(r"^[0-9A-Za-z-]{4,32}$")
# After a known reason word, what follows a separator is kept as the note: "相片不合格：背景偏灰".
_SEPARATORS = "：:，,；;（(—- "


class FeedbackFormatError(ValueError):
    """The file as a whole cannot be read (encoding, columns, JSON shape); nothing was applied."""


@dataclass(frozen=True)
class FeedbackLine:
    line: int  # CSV: the line of the file (the header is line 1); JSON: the array index + 1
    batch: str
    number: str
    result: str
    card_serial: str = ""
    reason: str = ""
    note: str = ""
    error: str = ""  # set when the line itself is malformed: it is rejected with this message

    def key(self) -> dict[str, str]:
        return {"line": str(self.line), "batch": self.batch, "number": self.number}


def _fold(text: str) -> str:
    """Full-width to half-width, no spaces inside, lower case: how words are compared."""
    return "".join(unicodedata.normalize("NFKC", text).split()).lower()


def _lookup(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table = {_fold(code): code for code in words}
    for code, spellings in words.items():
        table.update({_fold(word): code for word in spellings})
    return table


_RESULTS = _lookup(RESULT_WORDS)
_REASONS = _lookup(REASON_WORDS)
_HEADERS = {**_lookup(HEADER_WORDS), **{_fold(label): name for name, label in FIELD_LABELS.items()}}


def column_of(header: str) -> str:
    """The field a column name stands for (the name itself when it is none of them)."""
    name = header.strip().lstrip("\ufeff")
    return _HEADERS.get(_fold(name), name)


def read_result(text: str) -> str:
    """`produced` / `failed` for any accepted spelling, "" otherwise."""
    return _RESULTS.get(_fold(text), "")


def read_reason(text: str) -> tuple[str, str]:
    """(code, rest): the reason code for an accepted spelling, and what followed it after a
    separator (kept as the note). ("", "") when the text names no reason."""
    folded = _fold(text)
    if folded in _REASONS:
        return _REASONS[folded], ""
    plain = unicodedata.normalize("NFKC", text).strip()
    for word in sorted(_REASONS, key=len, reverse=True):
        if plain.lower().startswith(word) and len(plain) > len(word) and plain[len(word)] in _SEPARATORS:
            return _REASONS[word], plain[len(word) :].strip(_SEPARATORS + "）)")
    return "", ""


def _accepted(words: dict[str, tuple[str, ...]], labels: dict[str, str]) -> str:
    return " / ".join(f"{labels[code]}（{code}）" for code in words)


def check_line(line: int, raw: dict[str, Any]) -> FeedbackLine:
    values = {name: unicodedata.normalize("NFKC", str(raw.get(name) or "")).strip() for name in FIELDS}
    values["number"] = "".join(values["number"].split())
    values["batch"] = "".join(values["batch"].split())
    problems = []
    if not values["batch"]:
        problems.append("缺少批次号")
    if not _NUMBER.match(values["number"]):
        problems.append("受理号应为 22 位数字")
    result = read_result(values["result"])
    reason, rest = read_reason(values["reason"]) if values["reason"] else ("", "")
    if rest and not values["note"]:
        values["note"] = rest
    if not result:
        shown = f"“{values['result']}”" if values["result"] else "空白"
        problems.append(f"结果为{shown}，应为“已制证”或“制证失败”（也可写 produced / failed）")
    elif result == "produced":
        if not _SERIAL.match(values["card_serial"]):
            problems.append("已制证须填写证件序列号（4–32 位字母、数字或连字符）")
        if values["reason"]:
            problems.append("已制证不应填写失败原因")
    elif not reason:
        shown = f"“{values['reason']}”无法识别" if values["reason"] else "未填写"
        problems.append(f"制证失败须填写原因（{shown}）：{_accepted(REASON_WORDS, REASON_LABELS)}")
    if len(values["note"]) > 200:
        problems.append("备注不能超过 200 个字")
    values["result"] = result or values["result"]
    values["reason"] = reason if result == "failed" and reason else values["reason"]
    return FeedbackLine(line=line, **values, error="；".join(problems))


def parse_json(data: Any) -> list[FeedbackLine]:
    """A JSON array of line objects, or an object with such an array under "lines"; the keys
    are the codes or their Chinese names."""
    rows = data.get("lines") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise FeedbackFormatError("JSON 回馈应为数组，或含 lines 数组的对象。")
    if len(rows) > MAX_LINES:
        raise FeedbackFormatError(f"一次最多回馈 {MAX_LINES} 行。")
    return [
        check_line(index, {column_of(str(key)): value for key, value in row.items()})
        if isinstance(row, dict)
        else FeedbackLine(index, "", "", "", error='该行不是对象（应为 {"批次号": …, "受理号": …}）')
        for index, row in enumerate(rows, start=1)
    ]


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # "Unicode text" saved by a spreadsheet
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FeedbackFormatError("文件编码无法识别：应为 UTF-8、GB18030 或 UTF-16。") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # saved from a Chinese-locale spreadsheet
        except UnicodeDecodeError as exc:
            raise FeedbackFormatError("文件编码应为 UTF-8 或 GB18030。") from exc
    if "\x00" in text:  # GB18030 decodes almost any bytes: an image or a spreadsheet is no text
        raise FeedbackFormatError("回馈文件应为 CSV 或 JSON 文本文件。")
    return text


def _delimiter(header: str) -> str:
    """Comma, or the tab or semicolon of a spreadsheet's other text exports."""
    counts = {delimiter: header.count(delimiter) for delimiter in (",", "\t", ";", "，")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def parse_csv(raw: bytes) -> list[FeedbackLine]:
    """A header row, then one line per card. Lines whose first cell starts with `#` are
    comments (the template explains the values in one) and blank lines are skipped."""
    text = _decode(raw)
    first = next(
        (line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), ""
    )
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first))
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#"):
            header = row
            break
    if header is None:
        raise FeedbackFormatError("文件为空。")
    columns = [column_of(name) for name in header]
    missing = [FIELD_LABELS[name] for name in ("batch", "number", "result") if name not in columns]
    if missing:
        expected = ",".join(FIELD_LABELS[name] for name in FIELDS)
        raise FeedbackFormatError(
            f"缺少列：{'、'.join(missing)}（表头应为 {expected}，或 {','.join(FIELDS)}）。"
        )
    lines: list[FeedbackLine] = []
    for row in reader:
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(lines) >= MAX_LINES:
            raise FeedbackFormatError(f"一次最多回馈 {MAX_LINES} 行。")
        lines.append(check_line(reader.line_num, dict(zip(columns, row, strict=False))))
    return lines


def parse_file(raw: bytes) -> tuple[str, list[FeedbackLine]]:
    """("csv" | "json", lines) of an uploaded file, told apart by what it holds (JSON opens with
    `[` or `{`), never by its name or declared type; anything else must parse as the CSV."""
    text = _decode(raw)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        try:
            return "json", parse_json(json.loads(text))
        except json.JSONDecodeError as exc:
            raise FeedbackFormatError(f"JSON 格式错误：第 {exc.lineno} 行。") from exc
    return "csv", parse_csv(raw)


TEMPLATE_NOTE = (
    "# 填写说明（以 # 开头的行不读取，可删除）：结果填 已制证 或 制证失败；已制证须填证件序列号"
    "（4–32 位字母、数字或连字符）；制证失败须填原因：相片质量不合格 / 数据错误 / 芯片写入失败"
    "（原因后可加“：”写明情况）；备注不超过 200 字。文件可存为 UTF-8 或 GB18030（GBK）编码的 CSV。"
)


def template_rows(batch: str = "", numbers: list[str] | None = None) -> list[list[str]]:
    """The rows of a feedback template: the Chinese header, the note on what to write, and one
    line per card with the batch and 受理号 filled."""
    rows = [[FIELD_LABELS[name] for name in FIELDS], [TEMPLATE_NOTE, "", "", "", "", ""]]
    rows.extend([batch, number, "", "", "", ""] for number in numbers or [])
    return rows
