"""The token endpoint (`POST /api/v1/auth/token`) and the administration of staff accounts
(`/api/v1/users`, 账号管理)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import cast

from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.accounts import selectors, services
from tongban.accounts.models import User
from tongban.accounts.roles import ROLE_CHOICES
from tongban.api import FIRST_LOGIN_CODE, FIRST_LOGIN_MESSAGE, ApiError, Text, page_answer, query_of, require
from tongban.api_schema import errors
from tongban.audit.actions import AuditAction
from tongban.audit.context import client_address
from tongban.audit.services import record
from tongban.core.masking import mask_phone


class TokenRequest(serializers.Serializer):
    username = Text(max_length=150)
    password = Text(max_length=128, trim_whitespace=False)
    otp = serializers.RegexField(
        r"^\d{6}$", required=False, help_text="6-digit TOTP code (accounts with a second factor)"
    )


class TokenView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=TokenRequest,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        summary="获取接口令牌",
    )
    @errors(
        "invalid_credentials",
        "second_factor_required",
        "invalid_otp",
        "password_change_required",
        "login_locked",
    )
    def post(self, request: Request) -> Response:
        form = TokenRequest(data=request.data)
        form.is_valid(raise_exception=True)
        username, address = form.validated_data["username"], client_address(request._request)
        until = services.login_locked_until(username=username, address=address)
        if until is not None:
            record(actor=None, action=AuditAction.AUTH_LOGIN_LOCKED, detail={"username": username})
            wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
            raise ApiError("login_locked", services.login_lock_message(until), status=429, retry_after=wait)
        user = authenticate(request._request, username=username, password=form.validated_data["password"])
        if not isinstance(user, User) or user.unit_id is None:
            services.login_failed(username=username, address=address)
            record(actor=None, action=AuditAction.AUTH_TOKEN_FAILED, detail={"username": username})
            raise ApiError("invalid_credentials", "用户名或密码不正确。", status=401)
        services.login_succeeded(username)
        if user.must_set_password:
            # Signed in with an activation code, or the password was reset: the password is set
            # on the web page first (首次登录), and only then are tokens issued.
            record(
                actor=user,
                action=AuditAction.AUTH_TOKEN_REFUSED,
                object_type="user",
                object_id=user.pk,
                detail={"reason": "password_change_required"},
            )
            raise ApiError(FIRST_LOGIN_CODE, FIRST_LOGIN_MESSAGE, status=403)
        if user.requires_second_factor or services.totp_device_for(user) is not None:
            code = form.validated_data.get("otp")
            if not code:
                raise ApiError(
                    "second_factor_required",
                    "该账号须提供动态口令。",
                    status=401,
                    fields={"otp": [{"code": "required", "message": "请输入动态口令。"}]},
                )
            if services.totp_verify(user=user, token=code) is None:
                raise ApiError("invalid_otp", "动态口令不正确或已过期。", status=401)
        return Response({"token": services.api_token_issue(user=user)})


# ---------------------------------------------------------------------------------------------
# Users (账号管理): administrators (`user.manage`) over the accounts of their unit's subtree.
# The same selectors and services as the pages (docs/api.md, "Users (账号管理)").


class UserUnitSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()


class UserSerializer(serializers.ModelSerializer[User]):
    """An account. In lists the phone is masked; one account (`GET /users/{username}`, and the
    answer to every action) shows it in full."""

    name = serializers.CharField(source="get_full_name", help_text="姓名")
    role_label = serializers.CharField(help_text="角色名称")
    unit = UserUnitSerializer(allow_null=True)
    phone = serializers.SerializerMethodField(help_text="联系电话（列表中脱敏）")
    status = serializers.ChoiceField(
        choices=User.Status.choices, help_text="active 在用 / pending 待激活 / inactive 已停用"
    )
    status_label = serializers.CharField()
    has_second_factor = serializers.SerializerMethodField(help_text="已绑定动态口令")
    activation_expires = serializers.DateTimeField(allow_null=True, help_text="待激活账号的激活码有效期")

    class Meta:
        model = User
        fields = [
            "username",
            "name",
            "role",
            "role_label",
            "unit",
            "phone",
            "status",
            "status_label",
            "is_active",
            "must_set_password",
            "has_second_factor",
            "activation_expires",
            "last_login",
            "date_joined",
        ]

    def get_phone(self, user: User) -> str:
        return user.phone if self.context.get("full") else mask_phone(user.phone) if user.phone else ""

    def get_has_second_factor(self, user: User) -> bool:
        known = getattr(user, "has_second_factor", None)
        return bool(known) if known is not None else services.totp_device_for(user) is not None


class UserWithCodeSerializer(UserSerializer):
    activation_code = serializers.CharField(help_text="一次性激活码：只在此次应答中出现，请交给本人")

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "activation_code"]


class UserPageSerializer(serializers.Serializer):
    results = UserSerializer(many=True)
    next_after = serializers.CharField(allow_null=True, help_text="下一页：作为 after 传回；无更多时为 null")
    count = serializers.IntegerField(help_text="符合条件的账号总数")


class UserQuery(serializers.Serializer):
    """The filters of the account list, declared in the schema as they are validated."""

    unit = Text(
        required=False, default="", allow_blank=True, max_length=12, help_text="机构代码：该机构及其下级"
    )
    role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False, default="", allow_blank=True)
    status = serializers.ChoiceField(choices=User.Status.values, required=False, default="", allow_blank=True)
    q = Text(
        required=False,
        default="",
        allow_blank=True,
        max_length=50,
        help_text="用户名、姓名或机构名称（包含），或机构代码",
    )
    after = Text(
        required=False, default="", allow_blank=True, max_length=150, help_text="上一页的 next_after"
    )


class UserCreate(serializers.Serializer):
    username = Text(max_length=150, help_text="3–30 位小写字母、数字或 _ . -（大写按小写保存）")
    name = Text(max_length=60, allow_blank=True, help_text="姓名")
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    unit = Text(max_length=12, allow_blank=True, help_text="所属机构代码（本辖区内）")
    phone = Text(max_length=40, required=False, default="", allow_blank=True)


class UserChange(serializers.Serializer):
    name = Text(max_length=60, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False)
    unit = Text(max_length=12, required=False, allow_blank=True)
    phone = Text(max_length=40, required=False, allow_blank=True)


class DeactivateInput(serializers.Serializer):
    reason = Text(max_length=200, required=False, default="", allow_blank=True, help_text="停用原因")


@contextmanager
def _per_field_codes() -> Iterator[None]:
    """A refused account input answers with each field's own reason code (`bad_phone`,
    `role_unit_mismatch` …), also when several fields are refused at once (`invalid`)."""
    try:
        yield
    except services.AccountRefused as refused:
        fields = {
            name: [{"code": refused.field_codes.get(name, refused.code), "message": message}]
            for name, message in refused.fields.items()
        }
        raise ApiError(refused.code, refused.message, status=refused.status, fields=fields) from refused


def _manager(request: Request) -> User:
    user = cast(User, request.user)
    require(user, "user.manage")
    return user


def _answer(user: User, *, code: str | None = None, status: int = 200) -> Response:
    data = dict(UserSerializer(user, context={"full": True}).data)
    if code is not None:
        data["activation_code"] = code
    return Response(data, status=status)


# The refusals of an account's fields, each its own code (`fields` names the field; several
# fields refused at once answer `invalid`).
ACCOUNT_FIELD_ERRORS = ("empty_name", "bad_name", "unknown_unit", "role_unit_mismatch", "bad_phone")


class UsersView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="本辖区账号列表（按机构、角色、状态筛选，按用户名、姓名或机构查找）",
        parameters=[UserQuery],
        responses=UserPageSerializer,
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        viewer = _manager(request)
        data = query_of(UserQuery, request)
        unit = selectors.scope_unit(viewer, data["unit"]) if data["unit"] else None
        page = selectors.users_page(
            viewer,
            selectors.UserFilters(unit=unit, role=data["role"], status=data["status"], q=data["q"]),
            after=data["after"],
        )
        return Response(
            {
                **page_answer(page, UserSerializer(page.rows, many=True).data),
                "count": page.total,
            }
        )

    @extend_schema(
        summary="新建账号（返回一次性激活码）",
        request=UserCreate,
        responses={201: UserWithCodeSerializer},
    )
    @errors("bad_username", "username_taken", *ACCOUNT_FIELD_ERRORS)
    def post(self, request: Request) -> Response:
        viewer = _manager(request)
        body = UserCreate(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with _per_field_codes():
            user, code = services.user_create(
                actor=viewer,
                username=data["username"],
                data=services.AccountInput(
                    name=data["name"], role=data["role"], unit=data["unit"], phone=data["phone"]
                ),
            )
        return _answer(user, code=code, status=201)


class UserDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="账号详情（查看留痕）", responses=UserSerializer)
    def get(self, request: Request, username: str) -> Response:
        viewer = _manager(request)
        user = selectors.user_get(viewer, username)
        record(actor=viewer, action=AuditAction.USER_VIEW, object_type="user", object_id=user.pk)
        return _answer(user)

    @extend_schema(
        summary="修改账号的姓名、电话、角色或所属机构",
        request=UserChange,
        responses=UserSerializer,
    )
    @errors("own_account", *ACCOUNT_FIELD_ERRORS)
    def patch(self, request: Request, username: str) -> Response:
        viewer = _manager(request)
        user = selectors.user_get(viewer, username)
        body = UserChange(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with _per_field_codes():
            user = services.user_update(
                actor=viewer,
                user=user,
                name=data.get("name"),
                role=data.get("role"),
                unit=data.get("unit"),
                phone=data.get("phone"),
            )
        return _answer(selectors.user_get(viewer, user.username))


class UserDeactivateView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="停用账号（立即注销其令牌和全部会话）", request=DeactivateInput, responses=UserSerializer
    )
    @errors("own_account", "already_inactive")
    def post(self, request: Request, username: str) -> Response:
        viewer = _manager(request)
        user = selectors.user_get(viewer, username)
        body = DeactivateInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.user_deactivate(actor=viewer, user=user, reason=body.validated_data["reason"])
        return _answer(selectors.user_get(viewer, username))


class UserReactivateView(APIView):
    @extend_schema(summary="启用已停用的账号", request=None, responses=UserSerializer)
    @errors("already_active")
    def post(self, request: Request, username: str) -> Response:
        viewer = _manager(request)
        user = selectors.user_get(viewer, username)
        services.user_reactivate(actor=viewer, user=user)
        return _answer(selectors.user_get(viewer, username))


class UserResetSecondFactorView(APIView):
    @extend_schema(
        summary="重置第二因子（删除动态口令，下次登录重新绑定；注销其令牌和会话）",
        request=None,
        responses=UserSerializer,
    )
    @errors("own_account", "no_second_factor")
    def post(self, request: Request, username: str) -> Response:
        viewer = _manager(request)
        user = selectors.user_get(viewer, username)
        services.user_reset_second_factor(actor=viewer, user=user)
        return _answer(selectors.user_get(viewer, username))


class UserResetPasswordView(APIView):
    @extend_schema(
        summary="重置密码（返回新的一次性激活码；下次登录须设置新密码；注销其令牌和会话）",
        request=None,
        responses=UserWithCodeSerializer,
    )
    @errors("own_account")
    def post(self, request: Request, username: str) -> Response:
        viewer = _manager(request)
        user = selectors.user_get(viewer, username)
        user, code = services.user_reset_password(actor=viewer, user=user)
        return _answer(selectors.user_get(viewer, username), code=code)
