"""The campaign's documents: the progress table as Excel, and the 总结 report (PDF and Excel)
with the totals, the per-county and per-station table, the duty matrix status and the timeline.
Both are built from the same selectors as the pages."""

from __future__ import annotations

import datetime
import io
from collections import Counter
from html import escape

from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tongban.campaigns import selectors
from tongban.campaigns.models import Campaign, DutyTask
from tongban.registry.pdf import pdf_font
from tongban.registry.xlsx import Cell, Sheet

PROGRESS_HEADERS = ("单位代码", "单位", "任务数", "受理", "签发", "发放", "完成率")
DAILY_HEADERS = ("日期", "当日受理", "当日签发", "当日发放", "累计受理", "累计签发", "累计发放")
DUTY_HEADERS = ("部门", "责任单位", "职责", "所属阶段", "完成期限", "状态", "逾期")


def _row(row: selectors.Row) -> list[Cell]:
    return [row.code, row.name, row.target, row.accepted, row.issued, row.handed_over, row.rate_label]


def progress_sheets(result: selectors.Progress) -> list[Sheet]:
    caption = [f"{result.campaign.name}　统计范围：{result.scope.name}　截至 {result.today:%Y-%m-%d}"]
    counties: list[list[Cell]] = [_row(r) for r in result.counties] + [["", "合计", *_row(result.total)[2:]]]
    stations: list[list[Cell]] = [
        [county.name, *_row(row)]
        for county in result.counties
        for row in result.stations.get(county.unit_id or 0, [])
    ]
    daily: list[list[Cell]] = [
        [d.day, d.accepted, d.issued, d.handed_over, d.cum_accepted, d.cum_issued, d.cum_handed_over]
        for d in result.days
    ]
    return [
        Sheet("分县进度", PROGRESS_HEADERS, counties, caption=caption),
        Sheet("派出所进度", ("分（县）局", *PROGRESS_HEADERS), stations, caption=caption),
        Sheet("逐日进度", DAILY_HEADERS, daily, caption=caption),
    ]


def _duty_rows(campaign: Campaign, today: datetime.date) -> list[list[Cell]]:
    return [
        [
            t.department_label,
            t.owner_name,
            t.text,
            t.get_phase_display(),
            t.due,
            t.get_status_display(),
            "是" if t.due < today and t.status != DutyTask.Status.DONE else "",
        ]
        for t in selectors.duties(campaign).order_by("department", "owner_unit__path", "code")
    ]


def _timeline(campaign: Campaign) -> list[list[Cell]]:
    rows: list[list[Cell]] = [
        [p.get_kind_display(), p.start, p.end] for p in campaign.phases.order_by("start")
    ]
    return rows


def summary_sheets(campaign: Campaign, result: selectors.Progress) -> list[Sheet]:
    today = result.today
    t = result.total
    totals: list[list[Cell]] = [
        ["地市", campaign.area.name],
        ["状态", campaign.get_status_display()],
        ["任务数", t.target],
        ["登记目标人数", t.eligible],
        ["受理", t.accepted],
        ["签发", t.issued],
        ["发放", t.handed_over],
        ["完成率", t.rate_label],
        ["预计完成日期", result.forecast.label],
        ["统计截至", today],
    ]
    duty_status = Counter(selectors.duties(campaign).values_list("status", flat=True))
    late = selectors.late_duties(campaign, today).count()
    duties_total: list[list[Cell]] = [
        [DutyTask.Status(k).label, duty_status.get(k, 0)] for k in DutyTask.Status.values
    ]
    duties_total.append(["逾期未完成", late])
    return [
        Sheet("总体情况", ("项目", "数值"), totals, caption=[f"{campaign.name} 工作总结"]),
        *progress_sheets(result)[:2],
        Sheet("时间安排", ("阶段", "开始日期", "结束日期"), _timeline(campaign)),
        Sheet("职责落实汇总", ("状态", "任务数"), duties_total),
        Sheet("职责落实明细", DUTY_HEADERS, _duty_rows(campaign, today)),
    ]


def summary_pdf(campaign: Campaign, result: selectors.Progress) -> bytes:
    """总结 report: A4, the embedded Chinese font, tables that repeat their header rows."""
    font = pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11, wordWrap="CJK")
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")

    def p(value: object) -> Paragraph:
        return Paragraph(escape(str(value), quote=False) or "&nbsp;", cell)

    def table(rows: list[list[Cell]], widths: list[float]) -> Table:
        flow = Table([[p(v) for v in row] for row in rows], colWidths=[w * mm for w in widths], repeatRows=1)
        flow.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, "#555555"),
                    ("BACKGROUND", (0, 0), (-1, 0), "#e8edf2"),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        return flow

    today = result.today
    t = result.total
    story: list[object] = [
        Paragraph(escape(f"{campaign.name} 工作总结"), title),
        Spacer(1, 4 * mm),
        Paragraph(
            escape(
                f"{campaign.area.name}，统计截至 {today:%Y年%m月%d日}。"
                f"任务数 {t.target} 人，受理 {t.accepted} 人，"
                f"签发 {t.issued} 人，发放 {t.handed_over} 人，完成率 {t.rate_label}；"
                f"按近期进度预计完成日期：{result.forecast.label}。"
            ),
            body,
        ),
        Paragraph("一、时间安排", h2),
        table([["阶段", "开始日期", "结束日期"], *_timeline(campaign)], [50, 50, 50]),
        Paragraph("二、分县完成情况", h2),
        table(
            [list(PROGRESS_HEADERS), *[_row(r) for r in result.counties], ["", "合计", *_row(t)[2:]]],
            [22, 50, 22, 20, 20, 20, 20],
        ),
        Paragraph("三、派出所完成情况", h2),
        table(
            [
                ["分（县）局", *PROGRESS_HEADERS],
                *[
                    [county.name, *_row(row)]
                    for county in result.counties
                    for row in result.stations.get(county.unit_id or 0, [])
                ],
            ],
            [36, 22, 40, 18, 16, 16, 16, 16],
        ),
        Paragraph("四、职责落实情况", h2),
        table([list(DUTY_HEADERS), *_duty_rows(campaign, today)], [22, 30, 62, 16, 20, 14, 10]),
    ]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=f"{campaign.name} 工作总结",
        author=campaign.area.name,
        creationDate=timezone.now(),
    )
    doc.build(story)
    return buffer.getvalue()
