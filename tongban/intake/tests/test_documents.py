"""The printed documents of an accepted application, read back from the PDF bytes."""

from __future__ import annotations

import dataclasses
import datetime
import io
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from PIL import Image
from pypdf import PdfReader
from reportlab.graphics.barcode.code128 import _patterns as CODE128_PATTERNS

from tongban.intake import documents
from tongban.intake.documents import (
    ApplicationDocument,
    FingerLine,
    Guardian,
    pledge_pdf,
    receipt_pdf,
    registration_form_pdf,
)
from tongban.registry import pdf
from tongban.registry.pdf import PdfFontMissing

CST = datetime.timezone(datetime.timedelta(hours=8))
Render = Callable[[ApplicationDocument], bytes]
ALL = pytest.mark.parametrize("render", [registration_form_pdf, pledge_pdf, receipt_pdf])


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (358, 441), (230, 236, 242)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


PHOTO = _photo()


def adult(**changes: Any) -> ApplicationDocument:
    doc = ApplicationDocument(
        number="3601020012026112300017",
        application_type="首次申领",
        reason="12 年满16周岁申领",
        name="刘晓燕",
        sex="女",
        ethnicity="汉族",
        birth_date=datetime.date(2004, 3, 9),
        id_number="360702200403090024",
        household_address="江西省赣州市章贡区红旗大道18号",
        residence_address="江西省南昌市东湖区八一大道333号",
        household_unit="赣州市公安局章贡分局解放派出所",
        acceptance_unit="南昌市公安局东湖分局城关派出所",
        acceptance_unit_phone="0791-86781234",
        cross_region=True,
        accepted_at=datetime.datetime(2026, 11, 23, 9, 40, tzinfo=CST),
        clerk="王建国",
        validity="10年",
        fingers=(
            FingerLine("11", "右手拇指", "注册成功"),
            FingerLine("16", "左手拇指", "注册失败", "指纹磨损"),
        ),
        photo_jpeg=PHOTO,
        phone="13807910001",
        collection="受理点领取",
        fee="免费",
        expected_ready=datetime.date(2026, 12, 14),
    )
    return dataclasses.replace(doc, **changes)


def minor(**changes: Any) -> ApplicationDocument:
    fields: dict[str, Any] = {
        "name": "刘子涵",
        "reason": "11 未满16周岁申领",
        "birth_date": datetime.date(2014, 7, 1),
        "id_number": "360702201407010018",
        "validity": "5年",
        "collection": "邮政寄递",
        "postal_address": "江西省南昌市东湖区八一大道333号2栋501室",
        "guardian": Guardian("刘志强", "360702198001010035", "父亲", "13907970002"),
    }
    return adult(**(fields | changes))


def _pages(pdf: bytes) -> list[Any]:
    return list(PdfReader(io.BytesIO(pdf)).pages)


def _raw_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in _pages(pdf))


def _text(pdf: bytes) -> str:
    """Without whitespace: a wrapped cell reads as one string again."""
    return re.sub(r"\s+", "", _raw_text(pdf))


def _flat(value: str) -> str:
    return re.sub(r"\s+", "", value)


# ---------------------------------------------------------------------------------------------
# Content


FORM_LABELS = (
    "居民身份证异地受理登记表",
    "姓名",
    "性别",
    "民族",
    "出生日期",
    "公民身份号码",
    "常住户口所在地住址",
    "现居住地住址",
    "指纹信息",
    "登记指位",
    "未登记",
    "有效期限",
    "申领原因",
    "受理号",
    "受理单位",
    "户口专用章",
    "受理人",
    "受理时间",
    "申请（监护）人签名",
    "联系电话",
    "领证人签名",
    "领取时间",
    "填表说明",
    "居民身份证领取凭证",
)


@pytest.mark.parametrize("make", [adult, minor])
def test_registration_form_has_every_column_and_the_notes(make: Callable[..., ApplicationDocument]) -> None:
    doc = make()
    pdf = registration_form_pdf(doc)
    text = _text(pdf)
    assert len(_pages(pdf)) == 1  # the form and its stub on one sheet
    for label in FORM_LABELS:
        assert label in text, label
    for value in (doc.number, doc.name, doc.id_number, doc.household_address, doc.residence_address):
        assert value in text
    assert text.count(doc.number) == 2  # the form and the 领取凭证
    assert "2026年11月23日09:40" in text  # accepted_at in local time
    assert "1、右手拇指" in text and "左手拇指：注册失败（指纹磨损）" in text
    assert "（11）" not in text  # no raw finger codes
    for note in documents.FORM_NOTES:
        assert _flat(note) in text
    assert _flat("十、“受理号”是指人口信息管理系统自动生成的用于技术制证的链接号。") in text


def test_the_minor_form_names_the_guardian_and_the_postal_address() -> None:
    doc = minor()
    text = _text(registration_form_pdf(doc))
    assert "监护人" in text and "刘志强（父亲）" in text and "360702198001010035" in text
    assert "邮政寄递" in text and _flat(doc.postal_address) in text
    assert "刘志强" not in _text(registration_form_pdf(adult()))


@pytest.mark.parametrize(
    ("changes", "title"),
    [
        ({}, "居民身份证异地受理登记表"),  # 首次申领“全省通办”
        ({"cross_region": False}, "居民身份证申领登记表"),
        ({"application_type": "换领", "reason": "21 有效期满换领"}, "居民身份证申领登记表"),
        (
            {"application_type": "补领", "reason": "31 证件丢失补领", "cross_region": False},
            "居民身份证申领登记表",
        ),
    ],
)
def test_the_form_that_fits_the_application(changes: dict[str, Any], title: str) -> None:
    doc = adult(**changes)
    text = _text(registration_form_pdf(doc))
    assert text.startswith(title) or title in text[:40]
    other = ({"居民身份证异地受理登记表", "居民身份证申领登记表"} - {title}).pop()
    assert other not in text
    receipt = _text(receipt_pdf(doc))
    assert f"《{title}》" in receipt
    if title == "居民身份证申领登记表":
        # Its 填表说明 allows the reasons of every type, the one printed among them.
        assert "异地申请领取居民身份证专用表" not in text
        assert _flat("九、“申领原因”按申领类型填写：首次申领为11未满16周岁申领") in text
        assert "换领为21有效期满换领" in text and "补领为31证件丢失补领" in text
        assert _flat(doc.reason) in text
    else:
        assert _flat(documents.FORM_NOTES[8]) in text  # 仅为未满或者年满16周岁申领


def test_the_units_own_phone_and_address_or_nothing() -> None:
    doc = adult(acceptance_unit_address="江西省南昌市东湖区八一大道288号")
    form, receipt = _text(registration_form_pdf(doc)), _text(receipt_pdf(doc))
    for text in (form, receipt):
        assert "0791-86781234" in text and "八一大道288号" in text
    bare = adult(acceptance_unit_phone="")
    form, receipt = _text(registration_form_pdf(bare)), _text(receipt_pdf(bare))
    assert "联系电话：" not in form and "地址：" not in form
    assert _flat(f"如有疑问，请联系受理单位：{bare.acceptance_unit}。") in receipt
    assert "电话" not in receipt.split("如有疑问")[1]


def test_a_provisional_expected_date_is_marked() -> None:
    assert "2026年12月14日（暂估）" in _text(receipt_pdf(adult(expected_ready_provisional=True)))
    assert "2026年12月14日（暂估）" in _text(registration_form_pdf(adult(expected_ready_provisional=True)))
    assert "暂估" not in _text(receipt_pdf(adult()))


# The 式样 of seeds/000, word for word.
PLEDGE_SEED = """
办理首次申领居民身份证“全省通办”业务的群众：
您好！首次申领居民身份证“全省通办”业务，是公安机关贯彻落实党中央、国务院关于加快推进“放管服”改革的重要内容，是便利群众办理居民身份证的又一服务举措。您可向现居住地公安机关提出首次申领居民身份证“全省通办”申请，现就有关事项告知如下：
一、所需材料
（一）年满16周岁公民申请办证，需提供申请人《居民户口簿》以及合法稳定就业、就学、居住的其中一种证明材料。
（二）未满16周岁公民申请办证，需提供申请人居民户口簿（如未登记与监护人亲属关系还需提交出生医学证明等其他证明监护关系的材料）；监护人居民身份证；监护人合法稳定就业、居住或者申请人合法稳定就学的其中一种证明材料。
二、注意事项
（一）未满16周岁公民申请办证，受理地公安机关将拍照留存与监护人同框的图像信息。
（二）证件审核签发前，常住户口所在地公安机关可能会对申请人身份信息进一步核实确认，请您积极予以配合。
（三）如证件不予签发，请您回常住户口所在地公安机关办理居民身份证首次申领手续。
本人自愿申请办理首次申领居民身份证“全省通办”业务，并已知晓上述内容。本人承诺从未申领过居民身份证，所提交的材料真实、准确、有效，若违反承诺或者作出不实承诺，愿意承担相应的法律责任。
"""


@pytest.mark.parametrize("make", [adult, minor])
def test_pledge_is_the_seed_text_with_the_applicant(make: Callable[..., ApplicationDocument]) -> None:
    doc = make()
    pdf = pledge_pdf(doc)
    text = _text(pdf)
    assert "首次申领居民身份证“全省通办”告知承诺书" in text
    for line in PLEDGE_SEED.strip().splitlines():
        assert _flat(line) in text, line
    assert doc.name in text and doc.id_number in text and doc.number in text
    assert "承诺人（签名）" in text and "年＿＿月＿＿日" in text
    assert ("监护人（签名）" in text) == (doc.guardian is not None)


def test_only_a_first_application_has_a_pledge() -> None:
    with pytest.raises(ValueError, match="首次申领"):
        pledge_pdf(adult(application_type="换领"))


@pytest.mark.parametrize("make", [adult, minor])
def test_receipt_tells_how_to_collect(make: Callable[..., ApplicationDocument]) -> None:
    doc = make()
    text = _text(receipt_pdf(doc))
    for value in (
        "居民身份证领证回执",
        doc.number,
        doc.name,
        doc.id_number,
        doc.acceptance_unit,
        doc.acceptance_unit_phone,
        "2026年11月23日09:40",
        "预计领证日期2026年12月14日",
        doc.collection,
        "携带本回执",
        "代领人须出示本人居民身份证和本回执",
        "30个工作日内，到受理地公安机关或户籍地公安机关核验证件信息",
    ):
        assert _flat(value) in text, value


def test_receipt_without_a_date_says_the_unit_will_tell() -> None:
    assert "以受理单位通知为准" in _text(receipt_pdf(adult(expected_ready=None)))


def test_receipt_uses_the_configured_verification_period(settings: Any) -> None:
    settings.DEADLINES = dataclasses.replace(settings.DEADLINES, post_verification_days=20)
    assert "20个工作日内" in _text(receipt_pdf(adult()))


def test_long_addresses_wrap_inside_their_cells() -> None:
    address = "江西省赣州市章贡区" + "水东镇虎岗村委会第三村民小组某某路某某巷" * 8 + "88号"
    doc = minor(household_address=address, residence_address=address, postal_address=address)
    for render in (registration_form_pdf, receipt_pdf):
        pdf = render(doc)
        assert _flat(address) in _text(pdf)
        assert address not in _raw_text(pdf)  # broken over several lines
    assert len(_pages(registration_form_pdf(doc))) == 1


def test_without_a_photo_the_box_is_left_for_one() -> None:
    text = _text(registration_form_pdf(adult(photo_jpeg=None)))
    assert "相片" in text


def test_the_photo_is_embedded_as_a_jpeg() -> None:
    page = _pages(registration_form_pdf(adult()))[0]
    images = page["/Resources"]["/XObject"]
    filters = [image.get_object()["/Filter"] for image in images.values()]
    assert len(filters) == 1 and "/DCTDecode" in filters[0]  # the JPEG as taken, not re-encoded


def test_the_input_is_checked() -> None:
    with pytest.raises(ValueError, match="22 digits"):
        adult(number="36010200120261123")
    with pytest.raises(ValueError, match="aware"):
        adult(accepted_at=datetime.datetime(2026, 11, 23, 9, 40))  # noqa: DTZ001


@ALL
def test_markup_in_the_data_is_printed_as_text(render: Render) -> None:
    doc = adult(name="<b>刘晓燕</b> & Co", residence_address="江西省南昌市<br/>东湖区")
    assert "<b>刘晓燕</b>&Co" in _text(render(doc))


@ALL
def test_same_input_same_bytes(render: Render) -> None:
    assert render(adult()) == render(adult())


# ---------------------------------------------------------------------------------------------
# Font


@ALL
def test_the_chinese_font_is_embedded(render: Render) -> None:
    for page in _pages(render(minor())):
        fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
        cjk = [font for font in fonts if "WenQuanYi" in font["/BaseFont"]]
        assert cjk, [font["/BaseFont"] for font in fonts]
        for font in cjk:
            assert "/FontFile2" in font["/FontDescriptor"].get_object()  # the glyphs travel with the file
            assert "/ToUnicode" in font  # and copy-paste gives Chinese back


def test_the_font_is_registered_once() -> None:
    name = pdf.pdf_font()
    registered = dict(pdf._fonts)
    registration_form_pdf(adult())
    assert pdf.pdf_font() == name and pdf._fonts == registered


def test_a_missing_font_file_is_a_clear_error(tmp_path: Path) -> None:
    registration_form_pdf(adult())  # the default font is registered: the cache must not hide the error
    with override_settings(PDF_FONT=tmp_path / "wqy-zenhei.ttc"):
        for render in (registration_form_pdf, pledge_pdf, receipt_pdf):
            with pytest.raises(PdfFontMissing, match="fonts-wqy-zenhei") as error:
                render(adult())
            assert "TONGBAN_PDF_FONT" in str(error.value) and str(tmp_path) in str(error.value)
    not_a_font = tmp_path / "broken.ttf"
    not_a_font.write_bytes(b"not a font")
    with override_settings(PDF_FONT=not_a_font), pytest.raises(PdfFontMissing, match="TONGBAN_PDF_FONT"):
        receipt_pdf(adult())
    assert registration_form_pdf(adult())  # and the configured font still works afterwards


# ---------------------------------------------------------------------------------------------
# Barcode: decode the bars drawn on the page back into the 受理号.

START_C, STOP = 105, 106
DECODE = {pattern: value for value, pattern in CODE128_PATTERNS.items()}
Matrix = tuple[float, float, float, float, float, float]


def _fill_rects(page: Any) -> list[tuple[float, float, float, float]]:
    """Every filled rectangle of the page as (x, y, width, height) in page space."""
    ops = page.get_contents().operations
    matrix: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack: list[Matrix] = []
    pending: list[tuple[float, float, float, float]] = []
    rects: list[tuple[float, float, float, float]] = []
    for operands, op in ops:
        if op == b"q":
            stack.append(matrix)
        elif op == b"Q":
            matrix = stack.pop()
        elif op == b"cm":
            a, b, c, d, e, f = (float(v) for v in operands)
            ma, mb, mc, md, me, mf = matrix
            matrix = (
                a * ma + b * mc,
                a * mb + b * md,
                c * ma + d * mc,
                c * mb + d * md,
                e * ma + f * mc + me,
                e * mb + f * md + mf,
            )
        elif op == b"re":
            x, y, w, h = (float(v) for v in operands)
            ma, _, _, md, me, mf = matrix
            pending.append((ma * x + me, md * y + mf, ma * w, md * h))
        elif op in (b"f", b"f*", b"F", b"B", b"B*"):
            rects += pending
            pending = []
        elif op in (b"n", b"S"):
            pending = []
    return rects


def _decode_code128(bars: list[tuple[float, float]]) -> str:
    """Code set C: bars as (left, width), sorted; returns the digits, checking start, check and stop."""
    module = min(width for _, width in bars)
    elements: list[int] = []
    for i, (left, width) in enumerate(bars):
        if i:
            previous_left, previous_width = bars[i - 1]
            elements.append(round((left - previous_left - previous_width) / module))
        elements.append(round(width / module))
    pattern = "".join(
        chr((ord("a") if i % 2 else ord("A")) + n - 1) for i, n in enumerate(elements)
    )  # bars upper case, spaces lower case, as reportlab's table writes them
    assert len(pattern) % 6 == 1, pattern
    symbols = [DECODE[pattern[i : i + 6]] for i in range(0, len(pattern) - 7, 6)]
    symbols.append(DECODE[pattern[-7:]])
    start, *data, check, stop = symbols
    assert (start, stop) == (START_C, STOP)
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check
    return "".join(f"{v:02d}" for v in data)


def _barcodes(pdf: bytes) -> list[str]:
    found = []
    for page in _pages(pdf):
        rows: dict[tuple[float, float], list[tuple[float, float]]] = {}
        for x, y, w, h in _fill_rects(page):
            rows.setdefault((round(y, 1), round(h, 1)), []).append((x, w))
        found += [_decode_code128(sorted(bars)) for bars in rows.values() if len(bars) >= 20]
    return found


def test_the_code128_table_is_the_standard_one() -> None:
    # ISO/IEC 15417 widths: START C 211232, STOP 2331112, value 0 212222, value 99 113141.
    widths = {105: "211232", 106: "2331112", 0: "212222", 99: "113141"}
    for value, expected in widths.items():
        pattern = CODE128_PATTERNS[value]
        assert "".join(str(ord(ch.lower()) - ord("a") + 1) for ch in pattern) == expected


@pytest.mark.parametrize(("render", "count"), [(registration_form_pdf, 2), (pledge_pdf, 1), (receipt_pdf, 1)])
def test_the_barcode_reads_back_as_the_number(render: Render, count: int) -> None:
    doc = minor(number="3607020030202612310042")
    assert _barcodes(render(doc)) == [doc.number] * count


def test_a_barcode_of_another_number_reads_differently() -> None:
    assert _barcodes(receipt_pdf(adult(number="3607020030202612310043"))) == ["3607020030202612310043"]


# ---------------------------------------------------------------------------------------------
# Speed


@ALL
def test_a_page_renders_well_under_a_second(render: Render) -> None:
    doc = minor()
    render(doc)  # font registration is once per process, not per page
    started = time.perf_counter()
    for _ in range(5):
        render(doc)
    assert (time.perf_counter() - started) / 5 < 0.5
