"""The Chinese name of every action a user can meet: the one place to add one.

- `EVENT_LABELS`: the 办理记录 of an application (`ApplicationEvent.action`, written by
  `intake.services.application_event` and `application_transition`). Each event is also written
  to the audit trail as `application.<action>` and shown there under the same name.
- `ACTION_LABELS`: every other audit action (`audit.services.record(action=...)`).

A new action gets its line here in the same change that writes it: `audit/tests/test_labels.py`
reads every `application_event(`, `application_transition(` and `record(` call in the code and
fails for an action without a label. Pages, exports and the API never show the code itself;
`UNKNOWN_ACTION_LABEL` stands in for a code found only in old rows.

Lives in `audit` (imports nothing of ours) so that every later stage can use it.
"""

from __future__ import annotations

from django.apps import apps

EVENT_LABELS: dict[str, str] = {
    # 受理 (intake)
    "created": "开始受理",
    "updated": "修改申请信息",
    "photo_checked": "相片检测",
    "guardian_photo_checked": "同框相片",
    "fingers_recorded": "指纹采集",
    "accepted": "受理",
    "routed": "流转审核",
    "withdrawn": "撤销",
    "abandoned": "放弃受理",
    "refusal_notified": "已告知申请人",
    "deadline_recounted": "重新计算期限",
    "photo_recollected": "重新采集相片",
    # 审核签发 (review)
    "taken": "领取办理",
    "released": "退回待办",
    "verification_noted": "核实",
    "passed": "审核通过",
    "issued": "签发",
    "refused": "不予签发",
    # 制证 (production)
    "authority_corrected": "签发机关更正",
    "batched": "调度打包",
    "produced": "制证完成",
    "quality_failed": "质量问题",
    "reprint": "重新制证",
    # 分发 and 核验发放 (handover)
    "shipped": "分发",
    "county_received": "县局签收质检",
    "forwarded": "转发派出所",
    "received": "签收待领取",
    "delivered": "邮政妥投",
    "finger_mismatch": "指纹比对未通过",
    "handed_over": "核验发放",
    "handed_over_proxy": "亲属代领",
    "verified": "本人核验",
    # 督导 (supervision)
    "supervised": "督办",
}

# Audit actions written as `application.<event>` by application_event; the others below.
APPLICATION_EVENT_PREFIX = "application."

ACTION_LABELS: dict[str, str] = {
    # Sign-in and credentials
    "auth.login": "登录",
    "auth.login_failed": "登录失败",
    "auth.login_locked": "登录被锁定",
    "auth.logout": "退出",
    "auth.otp_verified": "动态口令验证",
    "auth.totp_enrolled": "绑定动态口令",
    "auth.token_issued": "签发接口令牌",
    "auth.token_failed": "接口令牌申请失败",
    "auth.token_refused": "接口令牌被拒（须先设置密码）",
    # Accounts (账号管理)
    "user.created": "新建账号",
    "user.updated": "修改账号",
    "user.deactivated": "停用账号",
    "user.reactivated": "启用账号",
    "user.second_factor_reset": "重置第二因子",
    "user.password_reset": "重置密码",
    "user.password_set": "设置密码",
    "user.view": "查看账号信息",
    "liaison.updated": "修改联络人",
    # Register (人口信息) and reference data
    "person.view": "查看人员完整信息",
    "registry.import": "导入人口信息",
    "registry.photos_imported": "导入户籍相片",
    "unit.load_province": "生成机构树",
    "unit.contact_updated": "维护机构联系电话和地址",
    "calendar.load_year": "载入节假日安排",
    "admin.create": "后台新增",
    "admin.change": "后台修改",
    "admin.delete": "后台删除",
    # Biometric galleries (比对库)
    "biometrics.insert": "写入比对库",
    "biometrics.delete": "移出比对库",
    # Applications, besides their 办理记录 events
    "application.view": "查看申领",
    "application.print": "打印申领文书",
    # Fees (工本费)
    "fee.charged": "收取工本费",
    "fee.refunded": "退还工本费",
    "fee.remitted": "上缴国库",
    "fee.receipt_printed": "打印收费票据",
    "finance.export": "导出财务报表",
    # Production (制证)
    "production.system_key_generated": "生成系统签名密钥",
    "production.centre_key_generated": "生成制证中心密钥",
    "production.batch_created": "建立制证批次",
    "production.batch_packaged": "生成制证数据包",
    "production.package_downloaded": "下载制证数据包",
    "production.feedback_uploaded": "上传制证结果",
    "production.batch_closed": "制证批次完成",
    "production.authority_report": "生成签发机关核对清单",
    # Distribution (分发)
    "shipment.create": "发出分发批次",
    "shipment.receive": "签收分发批次",
    "shipment.forward": "转发派出所",
    # Campaigns (集中换发)
    "campaign.create": "新建集中换发",
    "campaign.update": "修改集中换发",
    "campaign.targets": "生成换发目标",
    "campaign.duty": "修改责任分工",
    "campaign.configure": "修改换发期间配置",
    "campaign.configuration_apply": "应用换发期间配置",
    "campaign.start": "启动集中换发",
    "campaign.close": "结束集中换发",
    "campaign.reports_generate": "生成派出所报表",
    "campaign.report_sign": "签收派出所报表",
    # Register clean-up (数据清理)
    "dataquality.scan": "数据清理扫描",
    "dataquality.case.view": "查看清理问题",
    "dataquality.case.decide": "处理清理问题",
    "dataquality.change.view": "查看变更更正申请",
    "dataquality.change.request": "提出变更更正申请",
    "dataquality.change.decide": "审批变更更正申请",
    "dataquality.addresses.import": "导入标准地址",
    "dataquality.addresses.match": "匹配标准地址",
    "dataquality.address.decide": "确认标准地址",
    # Demo data
    "demo.seed": "生成演示数据",
    # Configuration checks (accounts/staffing.py)
    "staffing.override": "确认无人办理仍保存配置",
}

UNKNOWN_ACTION_LABEL = "其他操作"

# The groups of the auditors' action picker, by the part of the code before the first dot.
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
    "fee": "收费",
    "finance": "收费",
    "production": "制证",
    "shipment": "分发",
    "campaign": "集中换发",
    "dataquality": "数据清理",
    "demo": "演示数据",
    "staffing": "流程配置",
}

# What the audit trail's `object_type` names, where it is not a model label ("intake.application"
# is named by the model's verbose_name).
OBJECT_TYPE_LABELS: dict[str, str] = {
    "person": "人员",
    "unit": "机构",
    "user": "用户",
    "file": "文件",
    "template": "生物特征模板",
    "demo": "演示数据",
    "finance.settlement": "免费证件结算",
}


def event_label(action: str) -> str:
    """The Chinese name of an application event (办理记录 事项)."""
    return EVENT_LABELS.get(action, UNKNOWN_ACTION_LABEL)


def action_label(action: str) -> str:
    """The Chinese name of an audit action."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith(APPLICATION_EVENT_PREFIX):
        return event_label(action.removeprefix(APPLICATION_EVENT_PREFIX))
    return UNKNOWN_ACTION_LABEL


def is_labelled(action: str) -> bool:
    return action_label(action) != UNKNOWN_ACTION_LABEL


def all_action_labels() -> dict[str, str]:
    """Every audit action with its name, the application events included (for pickers)."""
    labels = dict(ACTION_LABELS)
    for event, label in EVENT_LABELS.items():
        labels.setdefault(APPLICATION_EVENT_PREFIX + event, label)
    return labels


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The auditors' action picker: each group (its prefix as the value, "…（全部）") and its actions."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in sorted(all_action_labels().items()):
        group = ACTION_GROUPS.get(code.split(".", 1)[0], "其他")
        groups.setdefault(group, []).append((code, label))
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
