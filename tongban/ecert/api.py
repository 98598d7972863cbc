"""电子证照's public API (docs/api.md, docs/ecert.md): the online check of a code and the
province's public keys for offline checks. No login: a relying party has no staff account. The
check is counted per client address and audited."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import Text, rate_limited
from tongban.api_schema import errors
from tongban.audit.context import client_address
from tongban.ecert import keys, services
from tongban.ecert.selectors import CHECK_LABELS, STATE_LABELS

STATES = sorted({*STATE_LABELS, *CHECK_LABELS})


class VerifyInput(serializers.Serializer[Any]):
    token = Text(max_length=2000, help_text="二维码内容：令牌 EC1.… 或含 ?t= 的核验网址")


VERDICT = inline_serializer(
    name="EcertVerdict",
    fields={
        "result": serializers.ChoiceField(
            choices=["valid", "revoked", "invalid"],
            help_text=(
                "valid 有效；revoked 已失效（挂失、换领、注销、过期）；"
                "invalid 无法核验（二维码本身有误或已过期）"
            ),
        ),
        "label": serializers.ChoiceField(choices=["有效", "已失效", "无法核验"]),
        "state": serializers.ChoiceField(choices=STATES, help_text="原因代码（docs/ecert.md）"),
        "reason": serializers.CharField(help_text="原因，如 已挂失、已换领作废、二维码已过期"),
        "number": serializers.CharField(help_text="二维码所称的证照编号；无法读出时为空"),
        "certificate": inline_serializer(
            name="EcertFacts",
            fields={
                "masked_name": serializers.CharField(help_text="姓名（脱敏）"),
                "photo_sm3": serializers.CharField(help_text="证件相片的 SM3 摘要（十六进制），无相片时为空"),
                "valid_from": serializers.DateField(),
                "valid_until": serializers.DateField(allow_null=True, help_text="null 表示长期"),
                "issuing_authority": serializers.CharField(help_text="签发机关"),
            },
            allow_null=True,
            help_text="仅在有效时给出",
        ),
        "code_expires_at": serializers.DateTimeField(allow_null=True, help_text="二维码有效至（仅在有效时）"),
        "checked_at": serializers.DateTimeField(),
    },
)

PUBLIC_KEYS = inline_serializer(
    name="EcertPublicKey",
    many=True,
    fields={
        "key_id": serializers.CharField(help_text="密钥标识：指纹的前 16 位"),
        "public_key": serializers.CharField(help_text="SM2 公钥 x‖y（128 位十六进制）"),
        "fingerprint": serializers.CharField(help_text="SM3(04‖x‖y)，十六进制"),
        "pem": serializers.CharField(help_text="SubjectPublicKeyInfo PEM"),
        "status": serializers.ChoiceField(choices=["current", "retired"]),
        "created_at": serializers.CharField(),
        "retired_at": serializers.CharField(),
    },
)
KEYS = inline_serializer(
    name="EcertPublicKeys",
    fields={
        "kind": serializers.CharField(),
        "province": serializers.CharField(help_text="省级区划代码"),
        "name": serializers.CharField(),
        "keys": PUBLIC_KEYS,
    },
)


def verdict_json(verdict: Any) -> dict[str, Any]:
    facts = None
    if verdict.valid:
        facts = {
            "masked_name": verdict.masked_name,
            "photo_sm3": verdict.photo_sm3,
            "valid_from": verdict.valid_from.isoformat() if verdict.valid_from else None,
            "valid_until": verdict.valid_until.isoformat() if verdict.valid_until else None,
            "issuing_authority": verdict.issuing_authority,
        }
    return {
        "result": verdict.result,
        "label": verdict.label,
        "state": verdict.state,
        "reason": verdict.reason,
        "number": verdict.number,
        "certificate": facts,
        "code_expires_at": verdict.code_expires_at.isoformat() if verdict.code_expires_at else None,
        "checked_at": verdict.checked_at.isoformat() if verdict.checked_at else None,
    }


class VerifyView(APIView):
    """No login and no session: nothing here reads a cookie, so nothing needs a CSRF token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        summary="电子证照：在线核验二维码（无需登录，按来源地址限流）",
        request=VerifyInput,
        responses={200: VERDICT},
        examples=[OpenApiExample("核验", request_only=True, value={"token": "EC1.eyJ…"})],
    )
    @errors("rate_limited")
    def post(self, request: Request) -> Response:
        data = VerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            verdict = services.code_verify(
                text=data.validated_data["token"], channel="api", address=client_address(request._request)
            )
        except services.Limited as limited:
            raise rate_limited(limited.until) from limited
        return Response(verdict_json(verdict))


class KeysView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        summary="电子证照：本省签名公钥（当前与已停用的），供离线核验",
        responses={200: KEYS},
    )
    def get(self, request: Request) -> Response:
        return Response(keys.keys_document())
