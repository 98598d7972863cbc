"""The feedback formats (production.feedback) in the centre's own words: Chinese headers, results
and reasons beside the codes, in CSV (UTF-8 with or without BOM, GB18030, UTF-16, tab-separated)
and JSON. Pure: no database."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tongban.production.feedback import (
    FeedbackFormatError,
    parse_csv,
    parse_file,
    parse_json,
    read_reason,
    read_result,
    template_rows,
)

BATCH = "360000901202603020000012"
N1, N2, N3, N4 = (f"36010200120260302{n:05d}" for n in range(1, 5))

CHINESE = f"""批次号,受理号,结果,证件序列号,原因,备注
{BATCH},{N1},已制证,CS-0001,,
{BATCH},{N2},制证失败,,相片不合格,背景偏灰
{BATCH},{N3},制证失败,,芯片故障,
{BATCH},{N4},制证失败,,数据错误：住址有误,
"""

EXPECTED = [
    (2, N1, "produced", "CS-0001", "", ""),
    (3, N2, "failed", "", "photo_quality", "背景偏灰"),
    (4, N3, "failed", "", "chip_error", ""),
    (5, N4, "failed", "", "data_error", "住址有误"),
]


def _rows(lines: list) -> list[tuple]:
    assert all(not line.error for line in lines), [line.error for line in lines]
    return [(line.line, line.number, line.result, line.card_serial, line.reason, line.note) for line in lines]


@pytest.mark.parametrize(
    "raw",
    [
        CHINESE.encode("utf-8"),
        CHINESE.encode("utf-8-sig"),
        CHINESE.encode("gb18030"),
        CHINESE.replace("\n", "\r\n").encode("gb18030"),
        CHINESE.encode("utf-16"),
        CHINESE.replace(",", "\t").encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030", "gb18030-crlf", "utf-16", "tab-gb18030"],
)
def test_a_chinese_file_reads_the_same_in_every_encoding(raw: bytes) -> None:
    source, lines = parse_file(raw)
    assert source == "csv"
    assert _rows(lines) == EXPECTED


def test_codes_and_chinese_words_give_the_same_lines() -> None:
    english = CHINESE.replace(
        "批次号,受理号,结果,证件序列号,原因,备注", "batch,number,result,card_serial,reason,note"
    )
    for word, code in [("已制证", "produced"), ("制证失败", "failed"), ("相片不合格", "photo_quality"),
                       ("芯片故障", "chip_error"), ("数据错误：住址有误", "data_error")]:  # fmt: skip
        english = english.replace(word, code)
    english = english.replace("data_error,", "data_error,住址有误")
    assert _rows(parse_csv(english.encode())) == EXPECTED


@pytest.mark.parametrize(
    ("text", "code"),
    [("已制证", "produced"), ("制证成功", "produced"), ("PRODUCED", "produced"), (" 已 制 证 ", "produced"),
     ("制证失败", "failed"), ("失败", "failed"), ("failed", "failed"), ("完成了", "")],
)  # fmt: skip
def test_results_in_the_centres_words(text: str, code: str) -> None:
    assert read_result(text) == code


@pytest.mark.parametrize(
    ("text", "code", "rest"),
    [
        ("相片质量", "photo_quality", ""),
        ("相片不合格", "photo_quality", ""),
        ("相片质量不合格（背景偏灰）", "photo_quality", "背景偏灰"),
        ("照片不合格", "photo_quality", ""),
        ("数据错误", "data_error", ""),
        ("芯片故障", "chip_error", ""),
        ("芯片写入失败", "chip_error", ""),
        ("chip_error", "chip_error", ""),
        ("相片质量差不多", "", ""),
        ("卡面划伤", "", ""),
    ],
)
def test_reasons_in_the_centres_words(text: str, code: str, rest: str) -> None:
    assert read_reason(text) == (code, rest)


def test_a_line_in_words_nobody_knows_is_rejected_in_chinese() -> None:
    raw = (
        f"批次号,受理号,结果,卡号,原因\n{BATCH},{N1},做好了,,\n"
        f"{BATCH},{N2},制证失败,,卡面划伤\n{BATCH},{N3},已制证,,\n"
    )
    first, second, third = parse_csv(raw.encode("gb18030"))
    assert "结果为“做好了”，应为“已制证”或“制证失败”" in first.error
    assert "制证失败须填写原因（“卡面划伤”无法识别）" in second.error and "相片质量不合格" in second.error
    assert "已制证须填写证件序列号" in third.error
    assert (first.line, second.line, third.line) == (2, 3, 4)


def test_comment_and_blank_lines_are_skipped_and_lines_keep_the_file_numbering() -> None:
    raw = f"# 说明\n批次号,受理号,结果,卡号\n# 这一行也是说明\n\n{BATCH},{N1},已制证,CS-0001\n"
    (line,) = parse_csv(raw.encode())
    assert (line.line, line.result) == (5, "produced")


def test_full_width_digits_and_spaces_are_folded() -> None:
    wide = "".join(chr(ord(c) + 0xFEE0) for c in N1)
    (line,) = parse_csv(
        f"批次号,受理号,结果,卡号\n{BATCH}, {wide} ,已制证,ＣＳ－０００１\n".encode("gb18030")
    )
    assert (line.number, line.card_serial, line.error) == (N1, "CS-0001", "")


def test_missing_columns_are_named_in_chinese() -> None:
    with pytest.raises(FeedbackFormatError, match="缺少列：结果"):
        parse_csv("批次号,受理号,卡号\n".encode("gb18030"))
    with pytest.raises(FeedbackFormatError, match="文件为空"):
        parse_csv(b"# only a comment\n")
    with pytest.raises(FeedbackFormatError, match="UTF-8 或 GB18030"):
        parse_csv(b"\x81\x30\xff\xfe\x00")


def test_json_with_chinese_keys_and_words() -> None:
    data = [
        {"批次号": BATCH, "受理号": N1, "结果": "已制证", "证件序列号": "CS-0001"},
        {"batch": BATCH, "number": N2, "result": "制证失败", "reason": "相片不合格", "备注": "背景偏灰"},
        "not an object",
    ]
    first, second, third = parse_json({"lines": data})
    assert (first.result, first.card_serial, first.error) == ("produced", "CS-0001", "")
    assert (second.result, second.reason, second.note, second.error) == (
        "failed",
        "photo_quality",
        "背景偏灰",
        "",
    )
    assert "不是对象" in third.error
    source, lines = parse_file(json.dumps(data[:2], ensure_ascii=False).encode("gb18030"))
    assert source == "json" and [line.result for line in lines] == ["produced", "failed"]


def test_the_template_has_chinese_headers_says_what_to_write_and_reads_back() -> None:
    rows = template_rows(BATCH, [N1, N2])
    assert rows[0] == ["批次号", "受理号", "结果", "证件序列号", "原因", "备注"]
    assert rows[1][0].startswith("#") and "已制证" in rows[1][0] and "芯片写入失败" in rows[1][0]
    rows[2][2:4] = ["已制证", "CS-0001"]
    rows[3][2:5] = ["制证失败", "", "相片质量不合格"]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    first, second = parse_csv(out.getvalue().encode("utf-8-sig"))
    assert (first.result, first.card_serial, first.line) == ("produced", "CS-0001", 3)
    assert (second.result, second.reason, second.error) == ("failed", "photo_quality", "")


def test_a_file_is_told_apart_by_its_content_and_no_text_is_refused() -> None:
    csv_bytes = f"批次号,受理号,结果,证件序列号\n{BATCH},{N1},已制证,CS-0001\n".encode()
    assert parse_file(csv_bytes)[0] == "csv"
    utf16 = json.dumps([{"batch": BATCH, "number": N1, "result": "已制证", "card_serial": "CS-1"}])
    assert parse_file(utf16.encode("utf-16"))[0] == "json"
    with pytest.raises(FeedbackFormatError, match="CSV 或 JSON 文本文件"):
        parse_file(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00")  # a spreadsheet (xlsx)
