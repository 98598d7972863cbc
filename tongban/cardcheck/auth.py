"""The relying parties' authentication: `Authorization: Institution <key>` (docs/cardcheck.md).

The institution is read from the database on every request (no cache), so a suspension or a new
key holds from the next request on. No session and no cookie are involved: nothing needs CSRF."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from tongban.api import ApiError
from tongban.cardcheck.models import Institution
from tongban.cardcheck.selectors import institution_by_key

SCHEME = "Institution"


class InstitutionKeyAuthentication(BaseAuthentication):
    """A request without the header, or with another scheme, is refused (`401
    institution_key_required`); an unknown or replaced key too (`401 institution_key_invalid`);
    the key of a suspended institution `403 institution_suspended`."""

    def authenticate(self, request: Request) -> tuple[Any, Institution]:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1").lower() != SCHEME.lower():
            raise exceptions.AuthenticationFailed(
                "缺少机构密钥：请在请求头 Authorization 中携带 “Institution 密钥”。",
                code="institution_key_required",
            )
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("机构密钥无效或已更换。", code="institution_key_invalid")
        institution = institution_by_key(parts[1].decode("latin-1"))
        if institution is None:
            raise exceptions.AuthenticationFailed("机构密钥无效或已更换。", code="institution_key_invalid")
        if not institution.active:
            raise ApiError("institution_suspended", "该机构的核查已暂停，请联系省公安厅。", status=403)
        return (None, institution)

    def authenticate_header(self, request: Request) -> str:
        return SCHEME


class InstitutionKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tongban.cardcheck.auth.InstitutionKeyAuthentication"
    name = "institutionKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Institution <机构密钥>（由省公安厅签发，见 docs/cardcheck.md）",
        }
