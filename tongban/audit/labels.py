"""Chinese names of audit actions for the auditors' page; unknown actions show their code."""

ACTION_LABELS = {
    "auth.login": "登录",
    "auth.login_failed": "登录失败",
    "auth.login_locked": "登录被锁定",
    "auth.logout": "退出",
    "auth.otp_verified": "动态口令验证",
    "auth.totp_enrolled": "绑定动态口令",
    "auth.token_issued": "签发接口令牌",
    "auth.token_failed": "接口令牌申请失败",
    "person.view": "查看人员完整信息",
    "registry.import": "导入人口信息",
    "unit.load_province": "生成机构树",
    "admin.create": "后台新增",
    "admin.change": "后台修改",
    "admin.delete": "后台删除",
    "demo.seed": "生成演示数据",
    "staffing.override": "确认无人办理仍保存配置",
}
