"""`POST /api/v1/auth/token`: exchange credentials (and a TOTP code where required) for a token."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from tongban.accounts import services
from tongban.accounts.models import User
from tongban.api import ApiError
from tongban.audit.services import record


class LoginThrottle(AnonRateThrottle):
    rate = "20/min"


class TokenRequest(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    otp = serializers.RegexField(
        r"^\d{6}$", required=False, help_text="6-digit TOTP code (admins and auditors)"
    )


class TokenView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=TokenRequest,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        summary="获取接口令牌",
    )
    def post(self, request: Request) -> Response:
        form = TokenRequest(data=request.data)
        form.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=form.validated_data["username"],
            password=form.validated_data["password"],
        )
        if not isinstance(user, User) or user.unit_id is None:
            record(
                actor=None,
                action="auth.token_failed",
                detail={"username": form.validated_data["username"]},
                request=request._request,
            )
            raise ApiError("invalid_credentials", "用户名或密码不正确。", status=401)
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
        return Response({"token": services.api_token_issue(user=user, request=request._request)})
