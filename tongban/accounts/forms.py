from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from tongban.accounts.models import User
from tongban.accounts.roles import ROLE_LABELS
from tongban.registry.models import Unit


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码不正确。请注意密码区分大小写。",
        "inactive": "该账号已停用，请联系系统管理员。",
        "activation_expired": "激活码已过期，请联系系统管理员重新签发。",
    }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["username"].label = "用户名"
        self.fields["password"].label = "密码"
        self.fields["password"].help_text = "首次登录请输入系统管理员交给您的激活码。"

    def get_invalid_login_error(self) -> ValidationError:
        # Say why only to whoever knows the secret: a right password of a deactivated account,
        # or a right activation code that has expired.
        from tongban.accounts.services import activation_code_expired

        username = (self.cleaned_data.get("username") or "").strip()
        password = self.cleaned_data.get("password") or ""
        if activation_code_expired(username, password):
            return ValidationError(self.error_messages["activation_expired"], code="activation_expired")
        user = User.objects.filter(username=username, is_active=False).first()
        if user is not None and user.check_password(password):
            return ValidationError(self.error_messages["inactive"], code="inactive")
        return super().get_invalid_login_error()


class PasswordSetForm(forms.Form):
    """设置密码 at first login or after a reset: typed twice."""

    password = forms.CharField(
        label="新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text="至少 10 位，不能全是数字，不能与用户名、姓名相近，不能是常见密码。",
        error_messages={"required": "请输入新密码。"},
    )
    password2 = forms.CharField(
        label="再次输入新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "请再次输入新密码。"},
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", "两次输入的密码不一致。")
        return data


class TokenForm(forms.Form):
    token = forms.RegexField(
        label="动态口令",
        regex=r"^\d{6}$",
        error_messages={"invalid": "请输入验证器应用显示的6位数字。", "required": "请输入动态口令。"},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


# ---------------------------------------------------------------------------------------------
# 账号管理 (administrators)

ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]


def _unit_choices(units: list[Unit], empty: str) -> list[tuple[str, str]]:
    top = min((unit.depth for unit in units), default=0)
    return [("", empty)] + [
        (unit.code, f"{'　' * (unit.depth - top)}{unit.name}（{unit.code}）") for unit in units
    ]


class UserFilterForm(forms.Form):
    q = forms.CharField(label="用户名、姓名或机构", required=False, max_length=50)
    unit = forms.ChoiceField(label="机构（含下级）", required=False)
    role = forms.ChoiceField(label="角色", required=False, choices=[("", "全部"), *ROLE_CHOICES])
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部"), *User.Status.choices])

    def __init__(self, *args: Any, units: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Stations are many; the tree filter offers the units above them, a station is found by
        # its name or code in the search box.
        cast(forms.ChoiceField, self.fields["unit"]).choices = _unit_choices(
            [unit for unit in units if unit.kind != Unit.Kind.STATION], "全部"
        )


class UserForm(forms.Form):
    """新建 / 修改账号. Fields are checked by the service (the same rules as the API and the
    import); the form only carries what was typed, so nothing is lost when it is refused."""

    username = forms.CharField(
        label="用户名",
        max_length=150,
        help_text="3–30 位小写字母、数字或 _ . -，如警号或姓名拼音；建成后不能修改。",
        error_messages={"required": "请填写用户名。"},
    )
    name = forms.CharField(label="姓名", max_length=60, required=False)
    role = forms.ChoiceField(label="角色", choices=[("", "请选择"), *ROLE_CHOICES], required=False)
    unit = forms.ChoiceField(label="所属机构", required=False)
    phone = forms.CharField(
        label="联系电话", max_length=40, required=False, help_text="手机号或带区号的固定电话，可不填。"
    )

    def __init__(self, *args: Any, units: list[Unit], editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["unit"]).choices = _unit_choices(units, "请选择")
        if editing:
            del self.fields["username"]


class DeactivateForm(forms.Form):
    reason = forms.CharField(
        label="停用原因",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如：调离、退休、长期离岗"}),
    )
