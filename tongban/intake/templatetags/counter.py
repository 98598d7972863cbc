"""Small template helpers for the counter and review pages."""

from __future__ import annotations

from typing import Any

from django import forms, template

from tongban.intake.models import Application

register = template.Library()


@register.filter
def split_words(value: str) -> list[str]:
    return value.split()


@register.filter
def field(form: forms.Form, name: str) -> forms.BoundField:
    return form[name]


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


EVENT_LABELS = {
    "created": "开始受理",
    "updated": "修改申请信息",
    "photo_checked": "相片检测",
    "guardian_photo_checked": "同框相片",
    "fingers_recorded": "指纹采集",
    "accepted": "受理",
    "routed": "流转审核",
    "taken": "领取办理",
    "released": "退回待办",
    "verification_noted": "核实",
    "passed": "审核通过",
    "issued": "签发",
    "refused": "不予签发",
    "withdrawn": "撤销",
    "abandoned": "放弃受理",
    "refusal_notified": "已告知申请人",
    "deadline_recounted": "重新计算期限",
    "batched": "调度打包",
    "produced": "制证完成",
    "quality_failed": "质量问题",
    "reprint": "重新制证",
    "photo_recollected": "重新采集相片",
    "shipped": "分发",
    "county_received": "县局签收质检",
    "forwarded": "转发派出所",
    "received": "签收待领取",
    "delivered": "邮政妥投",
    "finger_mismatch": "指纹比对未通过",
    "handed_over": "核验发放",
    "handed_over_proxy": "亲属代领",
    "verified": "本人核验",
    "supervised": "督办",
}


@register.filter
def event_label(action: str) -> str:
    return EVENT_LABELS.get(action, action)


@register.filter
def status_label(status: str) -> str:
    return str(Application.Status(status).label) if status in Application.Status.values else ""
