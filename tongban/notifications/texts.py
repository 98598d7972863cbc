"""The texts of the notifications (通知模板): one template per message a service sends, with the
variables it may use. Administrators may replace a template's text (MessageTemplate, page 通知模板);
the default below stands until they do and comes back when they 恢复默认. Pure Python: rendering
and checking a text need no database.

A variable is written `{name}`. Rendering substitutes only the listed names (never Python's
str.format, which would let a template reach into the values' attributes), and a text is refused
when it names anything else or leaves out a required variable (a message to an applicant without
its 受理号 tells them nothing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_LENGTH = 300  # about four SMS segments; the outbox's row takes any length

APPLICANT = "applicant"
UNIT = "unit"
AUDIENCE_LABELS = {APPLICANT: "申请人（短信）", UNIT: "单位工作人员"}

NUMBER = {"number": "受理号"}
DUE = {"due": "期限（年-月-日）"}
TEMPORARY_NUMBER = {"number": "临时证号"}
APPOINTMENT = {
    "booking": "预约码",
    "when": "预约时段（如 2026年12月8日上午 08:30–12:00）",
    "station": "受理单位",
    "type": "申领类型",
}


@dataclass(frozen=True)
class Template:
    code: str
    kind: str  # the message's kind (notifications.models.KIND_LABELS)
    label: str
    audience: str  # APPLICANT or UNIT
    default: str
    variables: dict[str, str]  # name → what it holds, as the template page lists it
    required: tuple[str, ...] = ("number",)
    # For a unit's message: the staff of that unit who receive it (by e-mail and on 通知), as the
    # actions they hold; empty means every member of the unit.
    staff_actions: tuple[str, ...] = field(default=())


class TemplateError(ValueError):
    """A text the template cannot take; the message is Chinese, for the form and the API."""


def placeholders(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def check(template: Template, text: str) -> str:
    """`text` as it will be kept (trimmed), or TemplateError saying what is wrong with it."""
    text = text.strip()
    if not text:
        raise TemplateError("请填写通知内容。")
    if len(text) > MAX_LENGTH:
        raise TemplateError(f"通知内容不能超过 {MAX_LENGTH} 个字（现 {len(text)} 个）。")
    if "{" in PLACEHOLDER.sub("", text) or "}" in PLACEHOLDER.sub("", text):
        raise TemplateError("花括号须成对使用，写作 {变量名}。")
    unknown = [name for name in placeholders(text) if name not in template.variables]
    if unknown:
        allowed = "、".join(f"{{{name}}}" for name in template.variables)
        raise TemplateError(f"不能使用变量 {'、'.join(f'{{{n}}}' for n in unknown)}；可用的变量：{allowed}。")
    missing = [name for name in template.required if name not in placeholders(text)]
    if missing:
        needed = "、".join(f"{{{name}}}（{template.variables[name]}）" for name in missing)
        raise TemplateError(f"通知内容须包含 {needed}。")
    return text


def render(text: str, values: Mapping[str, object]) -> str:
    return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), match.group(0))), text)


def sample(template: Template) -> dict[str, str]:
    """Values for the page's preview."""
    examples = {
        "number": "3601020012026120700001",
        "due": "2026-12-14",
        "station": "南昌市公安局东湖分局公园派出所",
        "tracking": "1180000000000",
        "reason": "照片与人口信息照片比对不一致",
        "status": "待审核",
        "note": "请今日办结",
        "by": "南昌市公安局",
        "shipment": "128",
        "count": "50",
        "sender": "江西省公安厅制证中心",
        "what": "损坏",
        "year": "2027",
        "station_phone": "0791-86201234",
        "keep_until": "2027-03-07",
        "booking": "K7QM-4T2X",
        "when": "2026年12月8日上午 08:30–12:00",
        "type": "首次申领",
    }
    return {name: examples.get(name, name) for name in template.variables}


TEMPLATES: dict[str, Template] = {
    template.code: template
    for template in (
        Template(
            "application.accepted",
            "application.accepted",
            "受理通知",
            APPLICANT,
            "您的居民身份证申领已受理，受理号 {number}，请妥善保管领证回执。",
            NUMBER,
        ),
        Template(
            "review.arrived",
            "review.arrived",
            "审核签发待办",
            UNIT,
            "新的审核签发事项：受理号 {number}，办理期限 {due}。",
            NUMBER | DUE,
            staff_actions=("review.decide",),
        ),
        Template(
            "application.withdrawn",
            "application.withdrawn",
            "撤销通知",
            APPLICANT,
            "您的居民身份证申领（受理号 {number}）已撤销。",
            NUMBER,
        ),
        Template(
            "review.withdrawn",
            "review.withdrawn",
            "审核事项撤回",
            UNIT,
            "受理号 {number} 已由受理单位撤销，无需审核。",
            NUMBER,
            staff_actions=("review.decide",),
        ),
        Template(
            "application.issued",
            "application.issued",
            "签发通知",
            APPLICANT,
            "您的居民身份证申领（受理号 {number}）已审核签发，证件制作完成后将通知您领取。",
            NUMBER,
        ),
        Template(
            "application.refused",
            "application.refused",
            "不予签发通知",
            APPLICANT,
            "您的居民身份证申领（受理号 {number}）未予签发，请回户口所在地公安机关办理。详情请咨询受理单位。",
            NUMBER,
        ),
        Template(
            "application.refused.station",
            "application.refused",
            "不予签发通知（受理单位）",
            UNIT,
            "受理号 {number} 不予签发：{reason}。请告知申请人回户口所在地公安机关办理。",
            NUMBER | {"reason": "不予签发的理由"},
            staff_actions=("application.accept",),
        ),
        Template(
            "application.supervised",
            "application.supervised",
            "督办通知",
            UNIT,
            "督办：受理号 {number}（{status}）请尽快办理。督办意见：{note}（{by}）",
            NUMBER | {"status": "申领当前状态", "note": "督办意见", "by": "督办单位"},
        ),
        Template(
            "review.deadline.at_risk",
            "review.deadline",
            "审核期限提醒：临近到期",
            UNIT,
            "临近到期：受理号 {number} 审核签发期限 {due}，请尽快办理。",
            NUMBER | DUE,
            staff_actions=("review.decide", "supervision.view"),
        ),
        Template(
            "review.deadline.due_today",
            "review.deadline",
            "审核期限提醒：今日到期",
            UNIT,
            "今日到期：受理号 {number} 审核签发期限为今天（{due}），请今日办结。",
            NUMBER | DUE,
            staff_actions=("review.decide", "supervision.view"),
        ),
        Template(
            "review.deadline.overdue",
            "review.deadline",
            "审核期限提醒：已超期",
            UNIT,
            "已超期：受理号 {number} 审核签发期限 {due} 已过，请立即办理。",
            NUMBER | DUE,
            staff_actions=("review.decide", "supervision.view"),
        ),
        Template(
            "production.recollect",
            "production.recollect",
            "重新采集相片通知",
            APPLICANT,
            "您的居民身份证（受理号 {number}）制证相片不合格，请到受理单位重新采集相片。",
            NUMBER,
        ),
        Template(
            "production.recollect.station",
            "production.recollect",
            "重新采集相片通知（受理单位）",
            UNIT,
            "受理号 {number} 制证相片不合格，请通知申请人到受理单位重新采集相片。",
            NUMBER,
            staff_actions=("application.accept",),
        ),
        Template(
            "card.reprint",
            "card.reprint",
            "重新制证通知",
            UNIT,
            "受理号 {number} 证件{what}，请重新制证。",
            NUMBER | {"what": "证件的情况（如：损坏、缺失）"},
            staff_actions=("production.batch",),
        ),
        Template(
            "shipment.sent",
            "shipment.sent",
            "分发到达通知",
            UNIT,
            "分发单 {shipment}：{count} 张居民身份证已由{sender}发出，请注意签收。",
            {"shipment": "分发单号", "count": "证件张数", "sender": "发出单位"},
            required=("shipment",),
            staff_actions=("shipment.receive",),
        ),
        Template(
            "card.ready",
            "card.ready",
            "领证通知",
            APPLICANT,
            "您的居民身份证（受理号 {number}）已到{station}，请本人携带领证回执领取，"
            "或委托亲属持本人居民身份证和领证回执代领。",
            NUMBER | {"station": "领证单位"},
        ),
        Template(
            "card.posted",
            "card.posted",
            "邮寄通知",
            APPLICANT,
            "您的居民身份证（受理号 {number}）已通过邮政寄出，邮件号 {tracking}。"
            "收到后请于30个工作日内到受理地或户籍地公安机关核验。",
            NUMBER | {"tracking": "邮件号"},
        ),
        Template(
            "verification.due.post",
            "verification.due",
            "核验通知（邮寄妥投）",
            APPLICANT,
            "您的居民身份证（受理号 {number}）已妥投。请于 {due} 前携带证件到受理地或户籍地公安机关"
            "核验证件信息和指纹。",
            NUMBER | DUE,
        ),
        Template(
            "verification.due.proxy",
            "verification.due",
            "核验通知（亲属代领）",
            APPLICANT,
            "您的居民身份证（受理号 {number}）已由亲属代领。请于 {due} 前本人到受理地或户籍地公安机关"
            "核验证件信息和指纹。",
            NUMBER | DUE,
        ),
        Template(
            "verification.reminder",
            "verification.reminder",
            "核验提醒",
            APPLICANT,
            "提醒：您的居民身份证（受理号 {number}）须于 {due} 前携带证件到受理地或户籍地公安机关"
            "核验证件信息和指纹。",
            NUMBER | DUE,
        ),
        Template(
            "verification.overdue",
            "verification.overdue",
            "核验逾期通知",
            UNIT,
            "核验逾期：受理号 {number} 核验期限 {due} 已过，申请人尚未核验，请联系申请人。",
            NUMBER | DUE,
            staff_actions=("verification.perform",),
        ),
        Template(
            "card.found",
            "card.found",
            "拾获证件领取通知",
            APPLICANT,
            "您已挂失的居民身份证已被拾获，现保管在{station}（电话 {station_phone}），请于 {keep_until} 前"
            "本人携带身份证明到该单位领取；逾期未领取的将予以销毁。",
            {"station": "保管单位", "station_phone": "保管单位电话", "keep_until": "保管期限（年-月-日）"},
            required=("station",),
        ),
        Template(
            "temporary.arrived",
            "temporary.arrived",
            "临时居民身份证签发待办",
            UNIT,
            "新的临时居民身份证签发事项：临时证号 {number}，签发期限 {due}。",
            TEMPORARY_NUMBER | DUE,
            staff_actions=("temporary.issue",),
        ),
        Template(
            "temporary.issued",
            "temporary.issued",
            "临时居民身份证签发通知",
            APPLICANT,
            "您申领的临时居民身份证（临时证号 {number}）已签发，请到受理单位领取。",
            TEMPORARY_NUMBER,
        ),
        Template(
            "temporary.refused",
            "temporary.refused",
            "临时居民身份证不予签发通知",
            APPLICANT,
            "您申领的临时居民身份证（临时证号 {number}）不予签发：{reason}。",
            TEMPORARY_NUMBER | {"reason": "不予签发原因"},
        ),
        Template(
            "appointment.booked",
            "appointment.booked",
            "预约成功通知",
            APPLICANT,
            "您已预约{when}到{station}办理居民身份证（{type}），预约码 {booking}。"
            "请按时携带居民户口簿等材料到场；如需取消或改约，请凭预约码和公民身份号码后6位办理。",
            APPOINTMENT,
            required=("booking",),
        ),
        Template(
            "appointment.reminder",
            "appointment.reminder",
            "预约提醒",
            APPLICANT,
            "提醒：您预约了{when}到{station}办理居民身份证（{type}），预约码 {booking}。"
            "请按时到场，不能前往请提前取消。",
            APPOINTMENT,
            required=("booking",),
        ),
        Template(
            "appointment.cancelled",
            "appointment.cancelled",
            "预约取消通知",
            APPLICANT,
            "您{when}在{station}办理居民身份证（{type}）的预约（预约码 {booking}）已取消。",
            APPOINTMENT,
            required=("booking",),
        ),
        Template(
            "calendar.missing",
            "calendar.missing",
            "节假日安排未录入提醒",
            UNIT,
            "{year} 年节假日安排尚未录入：涉及 {year} 年的办理期限（审核签发、核验等）暂只按周末计算，"
            "显示为“暂估”。请在系统管理的“节假日安排”中录入该年的放假和调休上班日期，"
            "再在“节假日安排年度”中添加 {year} 年（或运行 tongban calendar load --year {year}）；"
            "录入后本提醒停止。",
            {"year": "尚未录入的年份"},
            required=("year",),
            staff_actions=("reference.manage",),
        ),
    )
}
