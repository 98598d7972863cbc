"""电子证照's API (docs/api.md, docs/ecert.md), each page action an operation. Public (no login): the
holder's proof and a fresh code (亮证), the online check of a code, and the province's public keys
for offline checks — counted per client address and audited. Staff: a certificate of the
jurisdiction and the code printed at the counter, audited as a full record."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.accounts import limits
from tongban.api import ApiError, Text, rate_limited, require, service_error, staff
from tongban.api_schema import errors
from tongban.audit.context import client_address
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_name
from tongban.ecert import keys, selectors, services
from tongban.ecert.models import ElectronicCertificate
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
        except limits.Limited as limited:
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


# ---------------------------------------------------------------------------------------------
# The certificate and its code: the holder's page (亮证) and the staff's (查询, 打印二维码)

CODE = inline_serializer(
    name="EcertCode",
    fields={
        "token": serializers.CharField(help_text="二维码内容的令牌 EC1.…（不含个人信息）"),
        "verify_url": serializers.CharField(help_text="二维码所含的核验网址（…/guide/ecert/verify/?t=令牌）"),
        "expires_at": serializers.DateTimeField(help_text="二维码有效至"),
    },
    allow_null=True,
    help_text="新生成的二维码；证照已失效时为 null",
)
CERTIFICATE = inline_serializer(
    name="EcertCertificate",
    fields={
        "number": serializers.CharField(help_text="证照编号"),
        "masked_name": serializers.CharField(help_text="姓名（脱敏）"),
        "state": serializers.ChoiceField(choices=sorted(STATE_LABELS), help_text="按证件此刻的状态"),
        "state_label": serializers.CharField(),
        "valid_from": serializers.DateField(),
        "valid_until": serializers.DateField(allow_null=True, help_text="null 表示长期"),
        "issuing_authority": serializers.CharField(help_text="签发机关"),
        "code": CODE,
    },
)


class HolderInput(serializers.Serializer[Any]):
    id_number = Text(max_length=18, help_text="公民身份号码")
    name = Text(max_length=50, help_text="姓名")
    reference = Text(max_length=32, help_text="《领证回执》上的受理号，或证件卡号")
    print = serializers.BooleanField(
        default=False,
        help_text="true：打印用二维码（有效 TONGBAN_ECERT_PRINT_HOURS 小时）；否则屏幕用（几分钟）",
    )


def certificate_json(
    request: Request, certificate: ElectronicCertificate, *, printed: bool, actor: Any
) -> dict[str, Any]:
    """The certificate as its holder may show it, with a fresh code while it is valid."""
    state = selectors.certificate_state(certificate)
    code = None
    if state == selectors.VALID:
        lifetime = services.print_lifetime() if printed else services.screen_lifetime()
        issued = services.code_issue(
            certificate=certificate, lifetime=lifetime, actor=actor, kind="print" if printed else "screen"
        )
        url = request.build_absolute_uri(reverse("ecert_public:verify")) + "?t=" + issued.token
        code = {"token": issued.token, "verify_url": url, "expires_at": issued.expires_at.isoformat()}
    return {
        "number": certificate.number,
        "masked_name": mask_name(certificate.holder_name),
        "state": state,
        "state_label": selectors.state_label(state),
        "valid_from": certificate.valid_from.isoformat(),
        "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
        "issuing_authority": certificate.issuing_authority,
        "code": code,
    }


class HolderView(APIView):
    """亮证 without a session: each call proves again, and counts against the same limits as the
    page (per address; failures per 公民身份号码 lock it for the hour)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        summary="电子证照：持证人凭公民身份号码、姓名和受理号（或卡号）亮证，取新的二维码（无需登录，限流）",
        request=HolderInput,
        responses={200: CERTIFICATE},
    )
    @errors("not_found", "rate_limited")
    def post(self, request: Request) -> Response:
        data = HolderInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            certificate = services.holder_open(
                id_number=values["id_number"],
                name=values["name"],
                reference=values["reference"],
                address=client_address(request._request),
            )
        except limits.Limited as limited:
            raise rate_limited(limited.until) from limited
        except ServiceError as error:
            raise service_error(error) from error
        response = Response(certificate_json(request, certificate, printed=values["print"], actor=None))
        response["Cache-Control"] = "no-store"
        return response


def _staff_certificate(request: Request, reference: str) -> ElectronicCertificate:
    user = staff(request)
    require(user, "person.view")
    found = selectors.certificate_find(user, reference)
    if found is None:
        raise ApiError(
            "not_found", "未找到电子证照：该证件尚未发放（或待核验），或不在本单位辖区。", status=404
        )
    return found


class CertificateView(APIView):
    @extend_schema(
        summary="电子证照：按证照编号、受理号或卡号查询本辖区的电子证照（留痕）",
        responses={200: CERTIFICATE},
    )
    @errors("not_found")
    def get(self, request: Request, certificate: str) -> Response:
        found = _staff_certificate(request, certificate)
        services.certificate_open(viewer=staff(request), certificate=found, how="detail")
        body = certificate_json(request, found, printed=False, actor=None)
        body["code"] = None  # reading is not showing: a code only through …/code
        return Response(body)


class CertificateCodeView(APIView):
    @extend_schema(
        summary="电子证照：为没有手机的持证人打印二维码（有效一天，留痕）",
        request=None,
        responses={200: CERTIFICATE},
    )
    @errors("not_found", "certificate_not_valid")
    def post(self, request: Request, certificate: str) -> Response:
        found = _staff_certificate(request, certificate)
        state = selectors.certificate_state(found)
        if state != selectors.VALID:
            raise ApiError(
                "certificate_not_valid",
                f"该电子证照{selectors.state_label(state)}，不能打印二维码。",
                status=409,
            )
        user = staff(request)
        services.certificate_open(viewer=user, certificate=found, how="print")
        response = Response(certificate_json(request, found, printed=True, actor=user))
        response["Cache-Control"] = "no-store"
        return response
