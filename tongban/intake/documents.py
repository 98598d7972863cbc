"""The printed documents of an accepted application (受理): the 登记表 with its detachable
居民身份证领取凭证, the 告知承诺书 and the 领证回执, as A4 PDFs.

The 登记表 is the one that fits the application: the 居民身份证异地受理登记表 of the 全省通办
programme (seeds/000) for a first application away from the household only — its 填表说明 allows
no reason but 11 and 12 — and the 居民身份证申领登记表, whose 填表说明 lists the reasons of every
type, for a local first application and for every 换领 and 补领. Nothing is printed that the
system does not know: a unit's telephone or address that is not registered is left out, and a
date counted over a year whose holiday arrangement is not published is marked 暂估.

The input is plain frozen dataclasses that the caller builds from the application, so this module
knows no model and prints the same from a view, the API or a reprint job. The Chinese font
(settings.PDF_FONT, Debian's fonts-wqy-zenhei) is embedded as a subset: a form must print the same
on any workstation, and nothing is fetched at run time.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from django.conf import settings
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    Image,
    KeepInFrame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from tongban.registry.pdf import barcode, pdf_font

REGISTERED = "注册成功"
NUMBER_PATTERN = re.compile(r"\d{22}")


@dataclass(frozen=True)
class FingerLine:
    """One row of 指纹信息."""

    position: str  # GA code, e.g. "11"; "" when none
    position_name: str  # 右手拇指
    result: str  # 注册成功 / 注册失败 / 未注册
    reason: str = ""  # for 注册失败 / 未注册


@dataclass(frozen=True)
class Guardian:
    """The guardian (监护人) who comes along with an applicant under 16."""

    name: str
    id_number: str
    relation: str
    phone: str


@dataclass(frozen=True)
class ApplicationDocument:
    """What the printed documents of one accepted application (受理) show."""

    number: str  # 受理号, 22 digits
    application_type: str  # 首次申领 / 换领 / 补领
    reason: str  # 申领原因 label, e.g. "12 年满16周岁申领"
    name: str
    sex: str
    ethnicity: str
    birth_date: datetime.date
    id_number: str
    household_address: str  # 常住户口所在地住址
    residence_address: str  # 现居住地住址
    household_unit: str  # 户籍地公安机关
    acceptance_unit: str  # 受理单位
    acceptance_unit_phone: str  # the unit's own, "" when not registered
    cross_region: bool  # 异地受理: household in another county
    accepted_at: datetime.datetime  # aware
    clerk: str  # 受理人
    validity: str  # "10年", "2026.11.23-2036.11.23" or "长期"
    fingers: tuple[FingerLine, ...]
    photo_jpeg: bytes | None  # 358×441 standard photo, printed 26×32 mm
    phone: str  # 联系电话
    collection: str  # 领取方式: 受理点领取 / 邮政寄递
    postal_address: str = ""
    fee: str = ""  # "免费" / "20元"
    guardian: Guardian | None = None
    expected_ready: datetime.date | None = None  # 预计领证日期
    expected_ready_provisional: bool = False  # counted over a year without a holiday table: 暂估
    acceptance_unit_address: str = ""  # the unit's own, "" when not registered
    # 申领原因 by type for the 填表说明 of the 申领登记表: (("首次申领", ("11 未满16周岁申领", …)), …)
    reasons_by_type: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def is_cross_region_first(self) -> bool:
        """首次申领“全省通办”: the 异地受理登记表, the pledge of seeds/000."""
        return self.cross_region and self.application_type == "首次申领"

    def __post_init__(self) -> None:
        # The barcode is scanned at the production centre and the counter: a wrong number must
        # fail here, not print as a barcode that links to nothing.
        if not NUMBER_PATTERN.fullmatch(self.number):
            raise ValueError(f"受理号 must be 22 digits, got {self.number!r}")
        if timezone.is_naive(self.accepted_at):
            raise ValueError("accepted_at must be an aware datetime")


# ---------------------------------------------------------------------------------------------
# The form texts, from the 式样 of the 全省通办 implementation plan (seeds/000).

FORM_TITLE = "居民身份证异地受理登记表"
FORM_NOTES: tuple[str, ...] = (
    "一、本表为异地申请领取居民身份证专用表，是居民身份证管理的基础资料，应当由受理单位长期保存。",
    "二、本表登记的内容，应当与公民本人《常住人口登记表》、居民户口簿、人口信息管理系统中的相关信息一致。",
    "三、公安机关应当利用人口信息管理系统生成并打印此表。凡手工填写的，应使用钢笔书写，字迹必须工整、清晰；"
    "如有涂改，必须盖章，否则视为无效。",
    "四、“常住户口所在地住址”一栏中应当填写本人常住户口所在地住所的详细地址，住址前应当冠以省、自治区、"
    "直辖市的名称或通用简称。集体户口应当填写单位的详细地址，不能填写单位名称。",
    "五、“现居住地住址”一栏中应当填写本人现居住地详细地址，住址前应当冠以省、自治区、直辖市的名称或通用简称。",
    "六、“相片”使用符合居民身份证制作要求的公民近期彩色相片。",
    "七、“指纹信息”分为登记指位、未登记两种情形。“登记指位”一栏填写实际采集成功的指位，如：1、右手拇指 "
    "2、左手拇指；“未登记”一栏填写注册失败或未注册，“注册失败”是指能够采集指纹图像，但无法提取特征信息，"
    "“未注册”是指因公民手指残疾、受伤及其他原因无法采集指纹信息。",
    "八、“有效期限”分为5年、10年、20年和长期四种，用起始日期和截止日期表述。",
    "九、“申领原因”仅为未满或者年满16周岁申请领取居民身份证一种情形。",
    "十、“受理号”是指人口信息管理系统自动生成的用于技术制证的链接号。",
    "十一、本表中除“申请（监护）人签名”、“联系电话”、“领证人签名”及“领取时间”四栏由公民本人填写，"
    "其余内容由受理单位填写。居民身份证领取凭证的各项内容由受理单位填写。",
    "十二、“受理单位”填写内容后应当加盖户口专用章。",
)

LOCAL_FORM_TITLE = "居民身份证申领登记表"


def local_form_notes(reasons_by_type: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, ...]:
    """The 填表说明 of the 居民身份证申领登记表: the items of the 式样 above that hold for every
    application, with item 八 listing the reasons each 申领类型 allows."""
    listed = "；".join(f"{kind}为{'、'.join(reasons)}" for kind, reasons in reasons_by_type if reasons)
    return (
        "一、本表为申请领取、换领、补领居民身份证的登记表，是居民身份证管理的基础资料，应当由受理单位长期保存。",
        FORM_NOTES[1],
        FORM_NOTES[2],
        FORM_NOTES[3],
        FORM_NOTES[4],
        FORM_NOTES[5],
        FORM_NOTES[6],
        FORM_NOTES[7],
        f"九、“申领原因”按申领类型填写{'：' + listed if listed else ''}。",
        FORM_NOTES[9],
        FORM_NOTES[10],
        FORM_NOTES[11],
    )


def form_title(doc: ApplicationDocument) -> str:
    return FORM_TITLE if doc.is_cross_region_first else LOCAL_FORM_TITLE


def form_notes(doc: ApplicationDocument) -> tuple[str, ...]:
    if doc.is_cross_region_first:
        return FORM_NOTES
    return local_form_notes(doc.reasons_by_type or _shipped_reasons())


def _shipped_reasons() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The reason table as shipped (registry/codes.py), for a caller that passes none."""
    from tongban.registry.codes import APPLICATION_REASONS

    kinds = (("first", "首次申领"), ("renewal", "换领"), ("replacement", "补领"))
    return tuple(
        (label, tuple(f"{code} {name}" for code, name, of in APPLICATION_REASONS if of == kind))
        for kind, label in kinds
    )


PLEDGE_TITLE = "首次申领居民身份证“全省通办”告知承诺书"
PLEDGE_SALUTATION = "办理首次申领居民身份证“全省通办”业务的群众："
# (kind, text): "p" an indented paragraph, "h" a section heading.
PLEDGE_BODY: tuple[tuple[str, str], ...] = (
    (
        "p",
        "您好！首次申领居民身份证“全省通办”业务，是公安机关贯彻落实党中央、国务院关于加快推进“放管服”"
        "改革的重要内容，是便利群众办理居民身份证的又一服务举措。您可向现居住地公安机关提出首次申领居民"
        "身份证“全省通办”申请，现就有关事项告知如下：",
    ),
    ("h", "一、所需材料"),
    (
        "p",
        "（一）年满16周岁公民申请办证，需提供申请人《居民户口簿》以及合法稳定就业、就学、居住的其中一种"
        "证明材料。",
    ),
    (
        "p",
        "（二）未满16周岁公民申请办证，需提供申请人居民户口簿（如未登记与监护人亲属关系还需提交出生医学"
        "证明等其他证明监护关系的材料）；监护人居民身份证；监护人合法稳定就业、居住或者申请人合法稳定"
        "就学的其中一种证明材料。",
    ),
    ("h", "二、注意事项"),
    ("p", "（一）未满16周岁公民申请办证，受理地公安机关将拍照留存与监护人同框的图像信息。"),
    (
        "p",
        "（二）证件审核签发前，常住户口所在地公安机关可能会对申请人身份信息进一步核实确认，请您积极予以配合。",
    ),
    ("p", "（三）如证件不予签发，请您回常住户口所在地公安机关办理居民身份证首次申领手续。"),
    (
        "p",
        "本人自愿申请办理首次申领居民身份证“全省通办”业务，并已知晓上述内容。本人承诺从未申领过居民身份证，"
        "所提交的材料真实、准确、有效，若违反承诺或者作出不实承诺，愿意承担相应的法律责任。",
    ),
)
PLEDGE_SIGNATURE = "承诺人（签名）：＿＿＿＿＿＿＿＿"
PLEDGE_DATE = "＿＿＿＿年＿＿月＿＿日"

RECEIPT_TITLE = "居民身份证领证回执"


# ---------------------------------------------------------------------------------------------
# The font


# ---------------------------------------------------------------------------------------------
# Shared pieces

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 12 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN
GRID = colors.black


class _Styles:
    def __init__(self, font: str) -> None:
        def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
            return ParagraphStyle(
                name, fontName=font, fontSize=size, leading=size * 1.35, wordWrap="CJK", **kw
            )

        self.title = style("title", 18, alignment=TA_CENTER, spaceAfter=4 * mm)
        self.subtitle = style("subtitle", 13, alignment=TA_CENTER, spaceAfter=2 * mm)
        self.label = style("label", 9, alignment=TA_CENTER)
        self.cell = style("cell", 9.5)
        self.small = style("small", 8)
        self.center = style("center", 9.5, alignment=TA_CENTER)
        self.number = style("number", 10, alignment=TA_CENTER)
        self.notes_heading = style("notes_heading", 8, alignment=TA_CENTER, spaceBefore=2.5 * mm)
        self.note = style("note", 6.6)
        self.body = style("body", 11.5, firstLineIndent=23, spaceAfter=1.5 * mm)
        self.heading = style("heading", 11.5, spaceBefore=1.5 * mm, spaceAfter=1.5 * mm)
        self.text = style("text", 11.5)
        self.right = style("right", 11.5, alignment=TA_RIGHT)
        self.reminder = style("reminder", 11.5, spaceAfter=1.5 * mm)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """Data goes through escape(): an address is text, never markup."""
    return Paragraph(escape(text, quote=False) or "&nbsp;", style)


def _date(value: datetime.date | None, *, missing: str = "") -> str:
    if value is None:
        return missing
    return f"{value.year}年{value.month}月{value.day}日"


def _expected_ready(doc: ApplicationDocument) -> str:
    """预计领证日期; 暂估 when counted over a year whose holiday arrangement is not published."""
    text = _date(doc.expected_ready, missing="以受理单位通知为准")
    return text + ("（暂估）" if doc.expected_ready and doc.expected_ready_provisional else "")


def _unit_contact(doc: ApplicationDocument) -> str:
    """The acceptance unit's own telephone and address, as registered; "" when it has neither."""
    parts = (
        f"电话 {doc.acceptance_unit_phone}" if doc.acceptance_unit_phone else "",
        doc.acceptance_unit_address,
    )
    return "，".join(part for part in parts if part)


def _datetime(value: datetime.datetime) -> str:
    local = timezone.localtime(value)
    return f"{_date(local.date())} {local:%H:%M}"


def _barcode_block(number: str, st: _Styles, *, height: float = 9 * mm) -> list[Flowable]:
    """The bars over the digits; the table cell holding them centres both (ALIGN)."""
    return [barcode(number, height=height), _p(number, st.number)]


def _grid_style(*extra: tuple[Any, ...]) -> TableStyle:
    return TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.7, GRID),
            ("BOX", (0, 0), (-1, -1), 1.4, GRID),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            *extra,
        ]
    )


def _render(
    doc: ApplicationDocument,
    title: str,
    frames: Sequence[Frame],
    story: list[Flowable],
    on_page: Callable[[Any, Any], None] | None = None,
) -> bytes:
    buffer = io.BytesIO()
    template = BaseDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{title} {doc.number}",
        author=doc.acceptance_unit,
        creator="通办 居民身份证业务系统",
        # Same input, same bytes: no creation date or random ids in the file.
        invariant=1,
    )
    page = PageTemplate(id="page", frames=list(frames), onPage=on_page or (lambda canvas, _doc: None))
    template.addPageTemplates([page])
    template.build(story)
    return buffer.getvalue()


def _full_frame() -> Frame:
    return Frame(MARGIN, MARGIN, CONTENT_WIDTH, PAGE_HEIGHT - 2 * MARGIN, 0, 0, 0, 0, id="body")


# ---------------------------------------------------------------------------------------------
# 居民身份证异地受理登记表

STUB_HEIGHT = 62 * mm  # the 领取凭证 below the cut line
CUT_GAP = 8 * mm
# Left for the citizen to write in; markup, since a Paragraph collapses plain spaces.
BLANK_DATE = "&nbsp;" * 10 + "年" + "&nbsp;" * 6 + "月" + "&nbsp;" * 6 + "日"


def _finger_texts(fingers: Sequence[FingerLine]) -> tuple[str, str]:
    """(登记指位, 未登记) as the 填表说明 item 七 wants them."""
    registered = [f for f in fingers if f.result == REGISTERED]
    others = [f for f in fingers if f.result != REGISTERED]
    taken = "　".join(f"{i}、{f.position_name}" for i, f in enumerate(registered, start=1))
    not_taken = "；".join(
        f"{f.position_name or '指位不详'}：{f.result}" + (f"（{f.reason}）" if f.reason else "")
        for f in others
    )
    return taken or "—", not_taken or "—"


def _photo(doc: ApplicationDocument, st: _Styles) -> Flowable:
    if doc.photo_jpeg:
        image = Image(io.BytesIO(doc.photo_jpeg), width=26 * mm, height=32 * mm)
        image.hAlign = "CENTER"
        return image
    box = Table([[_p("相片", st.center)]], colWidths=[26 * mm], rowHeights=[32 * mm])
    box.setStyle(
        TableStyle([("BOX", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    )
    return box


def _form_table(doc: ApplicationDocument, st: _Styles) -> Table:
    lb = st.label
    c = st.cell
    taken, not_taken = _finger_texts(doc.fingers)
    collection = doc.collection + (f"（寄递地址：{doc.postal_address}）" if doc.postal_address else "")
    unit_cell: list[Flowable] = [_p(doc.acceptance_unit, c)]
    if doc.acceptance_unit_phone:
        unit_cell.append(_p(f"联系电话：{doc.acceptance_unit_phone}", st.small))
    if doc.acceptance_unit_address:
        unit_cell.append(_p(f"地址：{doc.acceptance_unit_address}", st.small))
    unit_cell += [Spacer(1, 13 * mm), _p("（户口专用章）", st.small)]  # room for the stamp
    photo = _photo(doc, st)
    rows: list[list[Any]] = [
        # 0-4: identity beside the photo
        [
            _p("姓名", lb),
            _p(doc.name, c),
            _p("性别", lb),
            _p(doc.sex, c),
            _p("民族", lb),
            _p(doc.ethnicity, c),
            photo,
        ],
        [
            _p("出生日期", lb),
            _p(_date(doc.birth_date), c),
            _p("公民身份号码", lb),
            _p(doc.id_number, c),
            "",
            "",
            "",
        ],
        [_p("常住户口所在地住址", lb), _p(doc.household_address, c), "", "", "", "", ""],
        [_p("现居住地住址", lb), _p(doc.residence_address, c), "", "", "", "", ""],
        [_p("户籍地公安机关", lb), _p(doc.household_unit, c), "", "", "", "", ""],
        # 5-6: fingerprints
        [_p("指纹信息", lb), _p("登记指位", lb), _p(taken, c), "", "", "", ""],
        ["", _p("未登记", lb), _p(not_taken, c), "", "", "", ""],
        # 7
        [
            _p("有效期限", lb),
            _p(doc.validity, c),
            _p("申领类型", lb),
            _p(doc.application_type, c),
            _p("申领原因", lb),
            _p(doc.reason, c),
            "",
        ],
        # 8
        [_p("受理号", lb), _barcode_block(doc.number, st), "", "", "", "", ""],
        # 9-10: the unit with room for its stamp
        [_p("受理单位", lb), unit_cell, "", "", _p("受理人", lb), _p(doc.clerk, c), ""],
        ["", "", "", "", _p("受理时间", lb), _p(_datetime(doc.accepted_at), c), ""],
        # 11
        [_p("领取方式", lb), _p(collection, c), "", "", _p("工本费", lb), _p(doc.fee or "—", c), ""],
    ]
    spans: list[tuple[Any, ...]] = [
        ("SPAN", (6, 0), (6, 4)),
        ("SPAN", (3, 1), (5, 1)),
        ("SPAN", (1, 2), (5, 2)),
        ("SPAN", (1, 3), (5, 3)),
        ("SPAN", (1, 4), (5, 4)),
        ("SPAN", (0, 5), (0, 6)),
        ("SPAN", (2, 5), (6, 5)),
        ("SPAN", (2, 6), (6, 6)),
        ("SPAN", (5, 7), (6, 7)),
        ("SPAN", (1, 8), (6, 8)),
        ("SPAN", (0, 9), (0, 10)),
        ("SPAN", (1, 9), (3, 10)),
        ("SPAN", (5, 9), (6, 9)),
        ("SPAN", (5, 10), (6, 10)),
        ("SPAN", (1, 11), (3, 11)),
        ("SPAN", (5, 11), (6, 11)),
    ]
    if doc.guardian is not None:
        g = doc.guardian
        row = len(rows)
        rows.append(
            [
                _p("监护人", lb),
                _p(f"{g.name}（{g.relation}）　公民身份号码：{g.id_number}　联系电话：{g.phone}", c),
                *[""] * 5,
            ]
        )
        spans.append(("SPAN", (1, row), (6, row)))
    signature_rows = len(rows)
    rows += [
        [_p("申请（监护）人签名", lb), "", "", "", _p("联系电话", lb), _p(doc.phone, c), ""],
        [_p("领证人签名", lb), "", "", "", _p("领取时间", lb), Paragraph(BLANK_DATE, c), ""],
    ]
    for row in (signature_rows, signature_rows + 1):
        spans += [("SPAN", (1, row), (3, row)), ("SPAN", (5, row), (6, row))]
    widths = [w * mm for w in (25, 33, 22, 22, 16, 28)]
    widths.append(CONTENT_WIDTH - sum(widths))
    heights: list[float | None] = [None] * len(rows)
    heights[signature_rows] = heights[signature_rows + 1] = 11 * mm
    table = Table(rows, colWidths=widths, rowHeights=heights)
    table.setStyle(
        _grid_style(*spans, ("ALIGN", (6, 0), (6, 4), "CENTER"), ("ALIGN", (1, 8), (1, 8), "CENTER"))
    )
    return table


def _stub(doc: ApplicationDocument, st: _Styles) -> list[Flowable]:
    lb, c = st.label, st.cell
    rows: list[list[Any]] = [
        [_p("姓名", lb), _p(doc.name, c), _p("公民身份号码", lb), _p(doc.id_number, c)],
        [_p("受理号", lb), _barcode_block(doc.number, st, height=8 * mm), "", ""],
        [
            _p("受理单位", lb),
            _p(doc.acceptance_unit, c),
            _p("联系电话", lb),
            _p(doc.acceptance_unit_phone or "—", c),
        ],
        [
            _p("受理时间", lb),
            _p(_datetime(doc.accepted_at), c),
            _p("预计领证日期", lb),
            _p(_expected_ready(doc), c),
        ],
        [_p("领取方式", lb), _p(doc.collection, c), _p("经办人", lb), _p(doc.clerk, c)],
    ]
    widths = [w * mm for w in (25, 65, 25)]
    widths.append(CONTENT_WIDTH - sum(widths))
    table = Table(rows, colWidths=widths)
    table.setStyle(
        _grid_style(
            ("SPAN", (1, 1), (3, 1)),
            ("ALIGN", (1, 1), (1, 1), "CENTER"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        )
    )
    return [
        _p("居民身份证领取凭证", st.subtitle),
        table,
        Spacer(1, 1.5 * mm),
        _p("凭此凭证领取居民身份证；委托亲属代领的，代领人须同时出示本人居民身份证。", st.small),
    ]


def registration_form_pdf(doc: ApplicationDocument) -> bytes:
    """The 登记表 that fits the application (`form_title`) on one A4 page, its 领取凭证 below a
    cut line."""
    st = _Styles(pdf_font())
    main_height = PAGE_HEIGHT - 2 * MARGIN - STUB_HEIGHT - CUT_GAP
    main = Frame(
        MARGIN, PAGE_HEIGHT - MARGIN - main_height, CONTENT_WIDTH, main_height, 0, 0, 0, 0, id="form"
    )
    stub = Frame(MARGIN, MARGIN, CONTENT_WIDTH, STUB_HEIGHT, 0, 0, 0, 0, id="stub")
    title = form_title(doc)
    form: list[Flowable] = [
        _p(title, st.title),
        _form_table(doc, st),
        _p("填表说明", st.notes_heading),
        *(_p(note, st.note) for note in form_notes(doc)),
    ]
    story: list[Flowable] = [
        # One page whatever the addresses: an official form shrinks rather than spill over.
        KeepInFrame(CONTENT_WIDTH, main_height, form, mode="shrink"),
        FrameBreak(),
        KeepInFrame(CONTENT_WIDTH, STUB_HEIGHT, _stub(doc, st), mode="shrink"),
    ]
    font = st.note.fontName

    def cut_line(canvas: Any, _doc: Any) -> None:
        y = MARGIN + STUB_HEIGHT + CUT_GAP / 2
        canvas.saveState()
        canvas.setDash(4, 3)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, y, PAGE_WIDTH - MARGIN, y)
        canvas.setDash()
        canvas.setFillColor(colors.white)
        canvas.rect(PAGE_WIDTH / 2 - 18 * mm, y - 2 * mm, 36 * mm, 4 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        canvas.setFont(font, 7.5)
        canvas.drawCentredString(PAGE_WIDTH / 2, y - 1.2 * mm, "（沿此线剪下）")
        canvas.restoreState()

    return _render(doc, title, [main, stub], story, cut_line)


# ---------------------------------------------------------------------------------------------
# 告知承诺书


def pledge_pdf(doc: ApplicationDocument) -> bytes:
    """The 告知承诺书 of a first application, the seed's text word for word, with who signs it.

    Only a first application (首次申领) carries the pledge (rules.PLEDGE)."""
    if doc.application_type != "首次申领":
        raise ValueError(f"告知承诺书 is signed for 首次申领 only, not {doc.application_type}")
    st = _Styles(pdf_font())
    head = Table(
        [
            [
                [
                    _p(f"申请人：{doc.name}", st.text),
                    _p(f"公民身份号码：{doc.id_number}", st.text),
                    _p(f"受理单位：{doc.acceptance_unit}", st.text),
                ],
                _barcode_block(doc.number, st),
            ]
        ],
        colWidths=[CONTENT_WIDTH - 75 * mm, 75 * mm],
    )
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.7, GRID),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    story: list[Flowable] = [head, Spacer(1, 8 * mm), _p(PLEDGE_TITLE, st.title), Spacer(1, 2 * mm)]
    story.append(_p(PLEDGE_SALUTATION, st.text))
    story.append(Spacer(1, 2 * mm))
    for kind, text in PLEDGE_BODY:
        story.append(_p(text, st.heading if kind == "h" else st.body))
    story += [Spacer(1, 10 * mm), _p(PLEDGE_SIGNATURE, st.right), Spacer(1, 6 * mm)]
    if doc.guardian is not None:
        # An applicant under 16 signs together with the guardian who came along.
        story += [
            _p(f"监护人（签名）：＿＿＿＿＿＿＿＿（{doc.guardian.relation}）", st.right),
            Spacer(1, 6 * mm),
        ]
    story.append(_p(PLEDGE_DATE, st.right))
    return _render(doc, PLEDGE_TITLE, [_full_frame()], story)


# ---------------------------------------------------------------------------------------------
# 领证回执


def receipt_reminders(doc: ApplicationDocument) -> tuple[str, ...]:
    days = settings.DEADLINES.post_verification_days
    return (
        "请妥善保管本回执。领证时请携带本回执到受理单位领取居民身份证，现场核验证件信息、比对指纹信息，"
        f"并在《{form_title(doc)}》上签字确认。",
        "委托亲属代为领取的，代领人须出示本人居民身份证和本回执，并签字确认。",
        f"通过亲属代领或邮政寄递方式领取居民身份证的，申请人须在收到证件{days}个工作日内，"
        "到受理地公安机关或户籍地公安机关核验证件信息、比对指纹信息。",
        "证件审核签发前，户籍地公安机关可能会对申请人身份信息进一步核实确认，请积极予以配合；"
        "如证件不予签发，受理单位将及时告知您。",
        f"如有疑问，请联系受理单位：{doc.acceptance_unit}"
        + (f"（{contact}）" if (contact := _unit_contact(doc)) else "")
        + "。",
    )


def receipt_pdf(doc: ApplicationDocument) -> bytes:
    """The 领证回执 the applicant keeps and brings back to collect the card."""
    st = _Styles(pdf_font())
    lb, c = st.label, st.cell
    collection = doc.collection + (f"（寄递地址：{doc.postal_address}）" if doc.postal_address else "")
    rows: list[list[Any]] = [
        [_p("受理号", lb), _barcode_block(doc.number, st, height=11 * mm), "", ""],
        [_p("姓名", lb), _p(doc.name, c), _p("公民身份号码", lb), _p(doc.id_number, c)],
        [_p("申领类型", lb), _p(doc.application_type, c), _p("工本费", lb), _p(doc.fee or "—", c)],
        [
            _p("受理单位", lb),
            _p(doc.acceptance_unit, c),
            _p("联系电话", lb),
            _p(doc.acceptance_unit_phone or "—", c),
        ],
        [
            _p("受理时间", lb),
            _p(_datetime(doc.accepted_at), c),
            _p("预计领证日期", lb),
            _p(_expected_ready(doc), c),
        ],
        [_p("领取方式", lb), _p(collection, c), "", ""],
    ]
    spans: list[tuple[Any, ...]] = [("SPAN", (1, 0), (3, 0)), ("SPAN", (1, 5), (3, 5))]
    if doc.acceptance_unit_address:
        spans.append(("SPAN", (1, len(rows)), (3, len(rows))))
        rows.append([_p("受理单位地址", lb), _p(doc.acceptance_unit_address, c), "", ""])
    if doc.guardian is not None:
        row = len(rows)
        rows.append([_p("监护人", lb), _p(f"{doc.guardian.name}（{doc.guardian.relation}）", c), "", ""])
        spans.append(("SPAN", (1, row), (3, row)))
    widths = [w * mm for w in (28, 62, 28)]
    widths.append(CONTENT_WIDTH - sum(widths))
    table = Table(rows, colWidths=widths)
    table.setStyle(
        _grid_style(
            *spans,
            ("ALIGN", (1, 0), (1, 0), "CENTER"),
            ("TOPPADDING", (0, 0), (-1, -1), 6),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
        )
    )
    story: list[Flowable] = [
        _p(RECEIPT_TITLE, st.title),
        table,
        Spacer(1, 6 * mm),
        _p("温馨提示", st.heading),
    ]
    story += [_p(f"{i}. {text}", st.reminder) for i, text in enumerate(receipt_reminders(doc), start=1)]
    story += [Spacer(1, 10 * mm), _p(f"受理单位（盖章）：{doc.acceptance_unit}", st.right)]
    story.append(_p(_date(timezone.localtime(doc.accepted_at).date()), st.right))
    return _render(doc, RECEIPT_TITLE, [_full_frame()], story)
