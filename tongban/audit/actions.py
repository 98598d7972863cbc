"""The audit actions and the application events: two typed vocabularies, each member with its
Chinese name. The one place to add an action: a writer names a member, never a string.

- `EventAction`: the 办理记录 of an application (`ApplicationEvent.action`, written by
  `intake.transitions.application_event` and `application_transition`). Each event is also written
  to the audit trail as its `AuditAction` (`application.<event>`, `EventAction.audit_action`),
  shown there under the same name.
- `AuditAction`: every action of the audit trail (`audit.services.record(action=...)`), the
  application events included.

The values are the codes stored in the rows: never change one (old rows keep theirs). Pages,
exports and the API never show a code: `labels.action_label` and `labels.event_label` name it,
`UNKNOWN_ACTION_LABEL` standing in for a code found only in old rows.

Lives in `audit` (imports nothing of ours) so that every later stage can use it.
"""

from __future__ import annotations

from django.db import models

# The audit action of an application event is its code under this prefix.
APPLICATION_EVENT_PREFIX = "application."


class EventAction(models.TextChoices):
    """An entry of an application's 办理记录 (事项)."""

    # 受理 (intake)
    CREATED = "created", "开始受理"
    UPDATED = "updated", "修改申请信息"
    PHOTO_CHECKED = "photo_checked", "相片检测"
    GUARDIAN_PHOTO_CHECKED = "guardian_photo_checked", "同框相片"
    FINGERS_RECORDED = "fingers_recorded", "指纹采集"
    ACCEPTED = "accepted", "受理"
    ROUTED = "routed", "流转审核"
    WITHDRAWN = "withdrawn", "撤销"
    ABANDONED = "abandoned", "放弃受理"
    REFUSAL_NOTIFIED = "refusal_notified", "已告知申请人"
    DEADLINE_RECOUNTED = "deadline_recounted", "重新计算期限"
    PHOTO_RECOLLECTED = "photo_recollected", "重新采集相片"
    # 审核签发 (review)
    TAKEN = "taken", "领取办理"
    RELEASED = "released", "退回待办"
    VERIFICATION_NOTED = "verification_noted", "核实"
    PASSED = "passed", "审核通过"
    ISSUED = "issued", "签发"
    REFUSED = "refused", "不予签发"
    # 制证 (production)
    AUTHORITY_CORRECTED = "authority_corrected", "签发机关更正"
    BATCHED = "batched", "调度打包"
    PRODUCED = "produced", "制证完成"
    QUALITY_FAILED = "quality_failed", "质量问题"
    REPRINT = "reprint", "重新制证"
    # 分发 and 核验发放 (handover)
    SHIPPED = "shipped", "分发"
    COUNTY_RECEIVED = "county_received", "县局签收质检"
    FORWARDED = "forwarded", "转发派出所"
    RECEIVED = "received", "签收待领取"
    DELIVERED = "delivered", "邮政妥投"
    FINGER_MISMATCH = "finger_mismatch", "指纹比对未通过"
    HANDED_OVER = "handed_over", "核验发放"
    HANDED_OVER_PROXY = "handed_over_proxy", "亲属代领"
    VERIFIED = "verified", "本人核验"
    # 跨省通办: what the other province did to its copy, or what came from it
    REMOTE_RECEIVED = "remote_received", "跨省受理接收"
    REMOTE_ISSUED = "remote_issued", "户籍地签发"
    REMOTE_REFUSED = "remote_refused", "户籍地不予签发"
    REMOTE_WITHDRAWN = "remote_withdrawn", "受理地撤销"
    REMOTE_PRODUCED = "remote_produced", "受理地制证"
    REMOTE_SHIPPED = "remote_shipped", "受理地分发"
    REMOTE_AT_SITE = "remote_at_site", "受理地签收待领取"
    REMOTE_DELIVERED = "remote_delivered", "受理地邮政妥投"
    REMOTE_HANDED_OVER = "remote_handed_over", "受理地核验发放"
    REMOTE_HANDED_OVER_PROXY = "remote_handed_over_proxy", "受理地亲属代领"
    REMOTE_VERIFIED = "remote_verified", "受理地本人核验"
    REMOTE_REPRINT = "remote_reprint", "受理地重新制证"
    # 督导 (supervision)
    SUPERVISED = "supervised", "督办"

    @property
    def audit_action(self) -> AuditAction:
        """The audit trail's action for this event (`application.<event>`)."""
        return AuditAction(APPLICATION_EVENT_PREFIX + self.value)


class AuditAction(models.TextChoices):
    """An action of the audit trail (审计日志)."""

    # Sign-in and credentials
    AUTH_LOGIN = "auth.login", "登录"
    AUTH_LOGIN_FAILED = "auth.login_failed", "登录失败"
    AUTH_LOGIN_LOCKED = "auth.login_locked", "登录被锁定"
    AUTH_LOGOUT = "auth.logout", "退出"
    AUTH_SESSION_IDLE = "auth.session_idle", "会话超时退出"
    AUTH_OTP_VERIFIED = "auth.otp_verified", "动态口令验证"
    AUTH_TOTP_ENROLLED = "auth.totp_enrolled", "绑定动态口令"
    AUTH_TOKEN_ISSUED = "auth.token_issued", "签发接口令牌"
    AUTH_TOKEN_FAILED = "auth.token_failed", "接口令牌申请失败"
    AUTH_TOKEN_REFUSED = "auth.token_refused", "接口令牌被拒（须先设置密码）"
    # Accounts (账号管理)
    USER_CREATED = "user.created", "新建账号"
    USER_UPDATED = "user.updated", "修改账号"
    USER_DEACTIVATED = "user.deactivated", "停用账号"
    USER_REACTIVATED = "user.reactivated", "启用账号"
    USER_SECOND_FACTOR_RESET = "user.second_factor_reset", "重置第二因子"
    USER_PASSWORD_RESET = "user.password_reset", "重置密码"
    USER_PASSWORD_SET = "user.password_set", "设置密码"
    USER_VIEW = "user.view", "查看账号信息"
    LIAISON_UPDATED = "liaison.updated", "修改联络人"
    # Register (人口信息) and reference data
    PERSON_VIEW = "person.view", "查看人员完整信息"
    REGISTRY_IMPORT = "registry.import", "导入人口信息"
    REGISTRY_PHOTOS_IMPORTED = "registry.photos_imported", "导入户籍相片"
    UNIT_LOAD_PROVINCE = "unit.load_province", "生成机构树"
    UNIT_CONTACT_UPDATED = "unit.contact_updated", "维护机构联系电话和地址"
    UNIT_EXTERNAL_SET = "unit.external_set", "登记外省公安机关"
    PERSON_GUEST_REGISTERED = "person.guest_registered", "登记外省户籍人员"
    CALENDAR_LOAD_YEAR = "calendar.load_year", "载入节假日安排"
    ADMIN_CREATE = "admin.create", "后台新增"
    ADMIN_CHANGE = "admin.change", "后台修改"
    ADMIN_DELETE = "admin.delete", "后台删除"
    # Biometric galleries (比对库)
    BIOMETRICS_INSERT = "biometrics.insert", "写入比对库"
    BIOMETRICS_DELETE = "biometrics.delete", "移出比对库"
    # 挂失招领 (cardloss)
    CARDLOSS_REPORTED = "cardloss.reported", "挂失申报"
    CARDLOSS_RESTORED = "cardloss.restored", "撤销挂失"
    CARDLOSS_REPLACED = "cardloss.replaced", "挂失转补领"
    CARDLOSS_RECOVERED = "cardloss.recovered", "挂失证件找回"
    CARDLOSS_FOUND_REGISTERED = "cardloss.found_registered", "登记拾获证件"
    CARDLOSS_FOUND_COLLECTED = "cardloss.found_collected", "拾获证件领取"
    CARDLOSS_FOUND_DESTROYED = "cardloss.found_destroyed", "销毁拾获证件"
    CARDLOSS_FOUND_DUE = "cardloss.found_due", "拾获证件列入待销毁"
    CARDLOSS_VIEW = "cardloss.view", "查看挂失招领记录"
    # 网上预约 (appointments)
    APPOINTMENT_BOOKED = "appointment.booked", "网上预约"
    APPOINTMENT_REBOOKED = "appointment.rebooked", "改约"
    APPOINTMENT_CANCELLED = "appointment.cancelled", "取消预约"
    APPOINTMENT_LOOKUP = "appointment.lookup", "查询预约"
    APPOINTMENT_ARRIVED = "appointment.arrived", "预约到场受理"
    APPOINTMENT_NO_SHOW = "appointment.no_show", "预约未到场"
    APPOINTMENT_VIEW = "appointment.view", "查看预约"
    APPOINTMENT_SETTINGS = "appointment.settings", "修改预约设置"
    # Applications, besides their 办理记录 events
    APPLICATION_VIEW = "application.view", "查看申领"
    APPLICATION_PRINT = "application.print", "打印申领文书"
    # `tongban applications chip-photos` (2026-12-07, replaced by card-images): labels older rows.
    APPLICATION_CHIP_PHOTO_DERIVED = "application.chip_photo_derived", "补生成芯片相片"
    APPLICATION_CARD_IMAGES_MADE = "application.card_images_made", "补生成制证相片"
    # Applications: each 办理记录 event (EventAction) under the same name
    # 受理 (intake)
    APPLICATION_CREATED = "application.created", EventAction.CREATED.label
    APPLICATION_UPDATED = "application.updated", EventAction.UPDATED.label
    APPLICATION_PHOTO_CHECKED = "application.photo_checked", EventAction.PHOTO_CHECKED.label
    APPLICATION_GUARDIAN_PHOTO_CHECKED = (
        "application.guardian_photo_checked",
        EventAction.GUARDIAN_PHOTO_CHECKED.label,
    )
    APPLICATION_FINGERS_RECORDED = "application.fingers_recorded", EventAction.FINGERS_RECORDED.label
    APPLICATION_ACCEPTED = "application.accepted", EventAction.ACCEPTED.label
    APPLICATION_ROUTED = "application.routed", EventAction.ROUTED.label
    APPLICATION_WITHDRAWN = "application.withdrawn", EventAction.WITHDRAWN.label
    APPLICATION_ABANDONED = "application.abandoned", EventAction.ABANDONED.label
    APPLICATION_REFUSAL_NOTIFIED = "application.refusal_notified", EventAction.REFUSAL_NOTIFIED.label
    APPLICATION_DEADLINE_RECOUNTED = "application.deadline_recounted", EventAction.DEADLINE_RECOUNTED.label
    APPLICATION_PHOTO_RECOLLECTED = "application.photo_recollected", EventAction.PHOTO_RECOLLECTED.label
    # 审核签发 (review)
    APPLICATION_TAKEN = "application.taken", EventAction.TAKEN.label
    APPLICATION_RELEASED = "application.released", EventAction.RELEASED.label
    APPLICATION_VERIFICATION_NOTED = "application.verification_noted", EventAction.VERIFICATION_NOTED.label
    APPLICATION_PASSED = "application.passed", EventAction.PASSED.label
    APPLICATION_ISSUED = "application.issued", EventAction.ISSUED.label
    APPLICATION_REFUSED = "application.refused", EventAction.REFUSED.label
    # 制证 (production)
    APPLICATION_AUTHORITY_CORRECTED = "application.authority_corrected", EventAction.AUTHORITY_CORRECTED.label
    APPLICATION_BATCHED = "application.batched", EventAction.BATCHED.label
    APPLICATION_PRODUCED = "application.produced", EventAction.PRODUCED.label
    APPLICATION_QUALITY_FAILED = "application.quality_failed", EventAction.QUALITY_FAILED.label
    APPLICATION_REPRINT = "application.reprint", EventAction.REPRINT.label
    # 分发 and 核验发放 (handover)
    APPLICATION_SHIPPED = "application.shipped", EventAction.SHIPPED.label
    APPLICATION_COUNTY_RECEIVED = "application.county_received", EventAction.COUNTY_RECEIVED.label
    APPLICATION_FORWARDED = "application.forwarded", EventAction.FORWARDED.label
    APPLICATION_RECEIVED = "application.received", EventAction.RECEIVED.label
    APPLICATION_DELIVERED = "application.delivered", EventAction.DELIVERED.label
    APPLICATION_FINGER_MISMATCH = "application.finger_mismatch", EventAction.FINGER_MISMATCH.label
    APPLICATION_HANDED_OVER = "application.handed_over", EventAction.HANDED_OVER.label
    APPLICATION_HANDED_OVER_PROXY = "application.handed_over_proxy", EventAction.HANDED_OVER_PROXY.label
    APPLICATION_VERIFIED = "application.verified", EventAction.VERIFIED.label
    # 跨省通办
    APPLICATION_REMOTE_RECEIVED = "application.remote_received", EventAction.REMOTE_RECEIVED.label
    APPLICATION_REMOTE_ISSUED = "application.remote_issued", EventAction.REMOTE_ISSUED.label
    APPLICATION_REMOTE_REFUSED = "application.remote_refused", EventAction.REMOTE_REFUSED.label
    APPLICATION_REMOTE_WITHDRAWN = "application.remote_withdrawn", EventAction.REMOTE_WITHDRAWN.label
    APPLICATION_REMOTE_PRODUCED = "application.remote_produced", EventAction.REMOTE_PRODUCED.label
    APPLICATION_REMOTE_SHIPPED = "application.remote_shipped", EventAction.REMOTE_SHIPPED.label
    APPLICATION_REMOTE_AT_SITE = (
        "application.remote_at_site",
        EventAction.REMOTE_AT_SITE.label,
    )
    APPLICATION_REMOTE_DELIVERED = "application.remote_delivered", EventAction.REMOTE_DELIVERED.label
    APPLICATION_REMOTE_HANDED_OVER = "application.remote_handed_over", EventAction.REMOTE_HANDED_OVER.label
    APPLICATION_REMOTE_HANDED_OVER_PROXY = (
        "application.remote_handed_over_proxy",
        EventAction.REMOTE_HANDED_OVER_PROXY.label,
    )
    APPLICATION_REMOTE_VERIFIED = "application.remote_verified", EventAction.REMOTE_VERIFIED.label
    APPLICATION_REMOTE_REPRINT = "application.remote_reprint", EventAction.REMOTE_REPRINT.label
    # 督导 (supervision)
    APPLICATION_SUPERVISED = "application.supervised", EventAction.SUPERVISED.label
    # Fees (工本费)
    FEE_CHARGED = "fee.charged", "收取工本费"
    FEE_REFUNDED = "fee.refunded", "退还工本费"
    FEE_REMITTED = "fee.remitted", "上缴国库"
    FEE_RECEIPT_PRINTED = "fee.receipt_printed", "打印收费票据"
    FINANCE_EXPORT = "finance.export", "导出财务报表"
    # 临时居民身份证 (temporary)
    TEMPORARY_VIEW = "temporary.view", "查看临时居民身份证"
    TEMPORARY_ACCEPTED = "temporary.accepted", "受理临时居民身份证"
    TEMPORARY_ISSUED = "temporary.issued", "签发临时居民身份证"
    TEMPORARY_REFUSED = "temporary.refused", "不予签发临时居民身份证"
    TEMPORARY_PRINTED = "temporary.printed", "打印临时居民身份证"
    TEMPORARY_HANDED_OUT = "temporary.handed_out", "发放临时居民身份证"
    TEMPORARY_RETURNED = "temporary.returned", "收回临时居民身份证"
    TEMPORARY_NOT_RETURNED = "temporary.not_returned", "临时居民身份证未收回"
    TEMPORARY_VOIDED = "temporary.voided", "作废临时居民身份证"
    TEMPORARY_EXPORT = "temporary.export", "导出临时居民身份证登记簿"
    # Production (制证)
    PRODUCTION_SYSTEM_KEY_GENERATED = "production.system_key_generated", "生成系统签名密钥"
    PRODUCTION_CENTRE_KEY_GENERATED = "production.centre_key_generated", "生成制证中心密钥"
    PRODUCTION_CENTRE_KEY_ROTATED = "production.centre_key_rotated", "更换制证中心密钥"
    PRODUCTION_KEY_ENCRYPTED = "production.key_encrypted", "加密私钥文件"
    PRODUCTION_BATCH_CREATED = "production.batch_created", "建立制证批次"
    PRODUCTION_BATCH_PACKAGED = "production.batch_packaged", "生成制证数据包"
    PRODUCTION_PACKAGE_DOWNLOADED = "production.package_downloaded", "下载制证数据包"
    PRODUCTION_FEEDBACK_UPLOADED = "production.feedback_uploaded", "上传制证结果"
    PRODUCTION_BATCH_CLOSED = "production.batch_closed", "制证批次完成"
    PRODUCTION_AUTHORITY_REPORT = "production.authority_report", "生成签发机关核对清单"
    # Distribution (分发)
    SHIPMENT_CREATE = "shipment.create", "发出分发批次"
    SHIPMENT_RECEIVE = "shipment.receive", "签收分发批次"
    SHIPMENT_FORWARD = "shipment.forward", "转发派出所"
    # Campaigns (集中换发)
    CAMPAIGN_CREATE = "campaign.create", "新建集中换发"
    CAMPAIGN_UPDATE = "campaign.update", "修改集中换发"
    CAMPAIGN_TARGETS = "campaign.targets", "生成换发目标"
    CAMPAIGN_DUTY = "campaign.duty", "修改责任分工"
    CAMPAIGN_CONFIGURE = "campaign.configure", "修改换发期间配置"
    CAMPAIGN_CONFIGURATION_APPLY = "campaign.configuration_apply", "应用换发期间配置"
    CAMPAIGN_START = "campaign.start", "启动集中换发"
    CAMPAIGN_CLOSE = "campaign.close", "结束集中换发"
    CAMPAIGN_REPORTS_GENERATE = "campaign.reports_generate", "生成派出所报表"
    CAMPAIGN_REPORT_SIGN = "campaign.report_sign", "签收派出所报表"
    # Register clean-up (数据清理)
    DATAQUALITY_SCAN = "dataquality.scan", "数据清理扫描"
    DATAQUALITY_CASE_VIEW = "dataquality.case.view", "查看清理问题"
    DATAQUALITY_CASE_DECIDE = "dataquality.case.decide", "处理清理问题"
    DATAQUALITY_CHANGE_VIEW = "dataquality.change.view", "查看变更更正申请"
    DATAQUALITY_CHANGE_REQUEST = "dataquality.change.request", "提出变更更正申请"
    DATAQUALITY_CHANGE_DECIDE = "dataquality.change.decide", "审批变更更正申请"
    DATAQUALITY_ADDRESSES_IMPORT = "dataquality.addresses.import", "导入标准地址"
    DATAQUALITY_ADDRESSES_MATCH = "dataquality.addresses.match", "匹配标准地址"
    DATAQUALITY_ADDRESS_DECIDE = "dataquality.address.decide", "确认标准地址"
    # Background jobs (后台任务)
    JOB_START = "job.start", "提交后台任务"
    JOB_CANCEL = "job.cancel", "取消后台任务"
    JOB_RETRY = "job.retry", "重试后台任务"
    JOB_RESULT_DOWNLOAD = "job.result_download", "下载任务结果"
    NOTIFICATION_TEMPLATE_UPDATE = "notification.template_update", "修改通知模板"
    NOTIFICATION_TEMPLATE_RESET = "notification.template_reset", "恢复默认通知模板"
    # 跨省通办 (tongban/exchange)
    EXCHANGE_KEY_GENERATED = "exchange.key_generated", "生成跨省交换密钥"
    EXCHANGE_PEER_ADDED = "exchange.peer_added", "添加交换对象"
    EXCHANGE_PEER_UPDATED = "exchange.peer_updated", "修改交换对象"
    EXCHANGE_MESSAGE_SENT = "exchange.message_sent", "发出跨省消息"
    EXCHANGE_MESSAGE_DELIVERY = "exchange.message_delivery", "跨省消息发送结果"
    EXCHANGE_MESSAGE_RETRY = "exchange.message_retry", "重发跨省消息"
    EXCHANGE_MESSAGE_RECEIVED = "exchange.message_received", "收到跨省消息"
    # 居民身份证核查 (tongban/cardcheck)
    CARDCHECK_INSTITUTION_ADDED = "cardcheck.institution_added", "登记核查机构"
    CARDCHECK_INSTITUTION_UPDATED = "cardcheck.institution_updated", "修改核查机构"
    CARDCHECK_KEY_ISSUED = "cardcheck.key_issued", "签发核查密钥"
    CARDCHECK_SUSPENDED = "cardcheck.suspended", "暂停核查机构"
    CARDCHECK_RESUMED = "cardcheck.resumed", "恢复核查机构"
    CARDCHECK_CHECK = "cardcheck.check", "居民身份证核查"
    # 电子证照 (tongban/ecert)
    ECERT_KEY_GENERATED = "ecert.key_generated", "生成电子证照签名密钥"
    ECERT_ISSUED = "ecert.issued", "生成电子证照"
    ECERT_ISSUE_FAILED = "ecert.issue_failed", "电子证照未能生成"
    ECERT_CODE_ISSUED = "ecert.code_issued", "生成电子证照二维码"
    ECERT_HOLDER_OPENED = "ecert.holder_opened", "持证人查看电子证照"
    ECERT_HOLDER_REFUSED = "ecert.holder_refused", "持证人查询电子证照未通过"
    ECERT_VERIFIED = "ecert.verified", "核验电子证照"
    ECERT_VIEW = "ecert.view", "查看电子证照"
    # Backups (备份与恢复)
    BACKUP_CREATED = "backup.created", "备份系统数据"
    BACKUP_RESTORED = "backup.restored", "恢复系统数据"
    # 办理进度查询 (portal): one row per lookup, with the 受理号 and never what was typed with it
    PROGRESS_FOUND = "progress.found", "办理进度查询"
    PROGRESS_NOT_FOUND = "progress.not_found", "办理进度查询（未查询到）"
    PROGRESS_LIMITED = "progress.limited", "办理进度查询（超过次数限制）"
    # Demo data
    DEMO_SEED = "demo.seed", "生成演示数据"
    # Configuration checks (accounts/staffing.py)
    STAFFING_OVERRIDE = "staffing.override", "确认无人办理仍保存配置"
    # Routing configuration (流程配置), by a campaign (集中换发)
    REVIEW_CHAIN_SET = "review_chain.set", "设置审核签发流程"
    REVIEW_CHAIN_REMOVE = "review_chain.remove", "删除审核签发流程"
    DISTRIBUTION_RULE_SET = "distribution_rule.set", "设置分发路由规则"
    DISTRIBUTION_RULE_REMOVE = "distribution_rule.remove", "删除分发路由规则"
