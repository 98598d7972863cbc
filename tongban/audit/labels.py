"""The Chinese names the pages show for the audit trail: of its actions (from the typed
vocabularies in `audit/actions.py`, where an action gets its name), of the groups of the
auditors' action picker, and of what a row is about (`object_type`).

Stored rows may hold a code no member has any more (old rows): `UNKNOWN_ACTION_LABEL` names it.
Pages, exports and the API never show the code itself.

Lives in `audit` (imports nothing outside it) so that every later stage can use it.
"""

from __future__ import annotations

from django.apps import apps

from tongban.audit.actions import AuditAction, EventAction

UNKNOWN_ACTION_LABEL = "其他操作"

# The groups of the auditors' action picker, by the part of the code before the first dot.
# Every member of AuditAction belongs to one (audit/tests/test_labels.py).
ACTION_GROUPS: dict[str, str] = {
    "auth": "登录与口令",
    "person": "人口信息",
    "registry": "人口信息",
    "unit": "机构",
    "calendar": "节假日安排",
    "user": "账号管理",
    "admin": "后台管理",
    "liaison": "联络人",
    "biometrics": "比对库",
    "application": "申领办理",
    "cardloss": "挂失招领",
    "exchange": "跨省通办",
    "cardcheck": "居民身份证核查",
    "ecert": "电子证照",
    "progress": "办理进度查询",
    "appointment": "网上预约",
    "fee": "收费",
    "temporary": "临时居民身份证",
    "finance": "收费",
    "production": "制证",
    "shipment": "分发",
    "campaign": "集中换发",
    "dataquality": "数据清理",
    "demo": "演示数据",
    "staffing": "流程配置",
    "review_chain": "流程配置",
    "distribution_rule": "流程配置",
    "job": "后台任务",
    "notification": "通知",
    "backup": "备份与恢复",
}
OTHER_GROUP = "其他"

# What the audit trail's `object_type` names, where it is not a model label ("intake.application"
# is named by the model's verbose_name).
OBJECT_TYPE_LABELS: dict[str, str] = {
    "person": "人员",
    "unit": "机构",
    "user": "用户",
    "file": "文件",
    "template": "生物特征模板",
    "demo": "演示数据",
    "backup": "备份文件",
    "finance.settlement": "免费证件结算",
    "progress": "受理号",  # 办理进度查询: the row names the 受理号 asked about
}


def event_label(code: str) -> str:
    """The Chinese name of a stored application event (办理记录 事项)."""
    try:
        return str(EventAction(code).label)
    except ValueError:
        return UNKNOWN_ACTION_LABEL


def action_label(code: str) -> str:
    """The Chinese name of a stored audit action."""
    try:
        return str(AuditAction(code).label)
    except ValueError:
        return UNKNOWN_ACTION_LABEL


def is_action(code: str) -> bool:
    """Whether `code` is an action of today's vocabulary."""
    return code in AuditAction.values


def action_group(action: AuditAction) -> str:
    """The picker's group of an action, by the part of its code before the first dot."""
    return ACTION_GROUPS.get(action.value.split(".", 1)[0], OTHER_GROUP)


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The auditors' action picker: each group (its prefix as the value, "…（全部）") and its actions."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for action in sorted(AuditAction, key=lambda a: a.value):
        groups.setdefault(action_group(action), []).append((action.value, str(action.label)))
    return list(groups.items())


def action_group_prefixes(group: str) -> list[str]:
    """The code prefixes ("application.") of one group of the picker."""
    return [f"{prefix}." for prefix, name in ACTION_GROUPS.items() if name == group]


def object_type_label(object_type: str) -> str:
    """The Chinese name of what an audit row is about: a model label names its model."""
    if object_type in OBJECT_TYPE_LABELS:
        return OBJECT_TYPE_LABELS[object_type]
    if object_type.count(".") == 1:
        try:
            return str(apps.get_model(object_type)._meta.verbose_name)
        except LookupError:
            pass
    return "记录" if object_type else ""
