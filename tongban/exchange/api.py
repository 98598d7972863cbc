"""REST endpoints of 跨省通办 (docs/exchange.md): the one endpoint other provinces' systems POST
their signed messages to (no staff login: the signature is the authentication), and the
operators' operations of the 跨省通办 page (messages, 重发, 连通检查, the directory)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import Text, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.exchange import selectors, services
from tongban.exchange.handlers import REFUSALS
from tongban.exchange.models import InboundMessage, OutboundMessage, Peer
from tongban.exchange.protocol import KINDS, STATUS

# ---------------------------------------------------------------------------------------------
# Other provinces' systems.

ACKNOWLEDGEMENT = inline_serializer(
    name="ExchangeAcknowledgement",
    fields={
        "id": serializers.CharField(help_text="所答消息的编号"),
        "outcome": serializers.ChoiceField(choices=["accepted"]),
        "answer": serializers.DictField(help_text="按消息类型的应答内容"),
        "from": serializers.CharField(help_text="应答方（本省）区划代码"),
        "to": serializers.CharField(help_text="发送方区划代码"),
        "signature": serializers.CharField(
            help_text="本省交换密钥的 SM2 签名（base64），覆盖其余字段的规范 JSON"
        ),
    },
)


class MessagesView(APIView):
    """The sender is authenticated by its signature (docs/exchange.md), not by a staff login or a
    session: nothing here reads a cookie, so nothing needs a CSRF token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []

    @extend_schema(
        summary="跨省通办：接收另一省系统发来的签名消息（无需登录，以签名认证）",
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: ACKNOWLEDGEMENT},
        examples=[
            OpenApiExample("连通检查", request_only=True, value={"version": 1, "kind": "exchange.ping"})
        ],
    )
    @errors(*STATUS, *REFUSALS)
    def post(self, request: Request) -> Response:
        # Read at most one byte over the limit: a larger body is refused (and recorded) unread.
        raw = request._request.read(settings.EXCHANGE_MAX_BYTES + 1)
        receipt = services.message_receive(raw)
        return Response(receipt.document, status=receipt.status)


messages_view = csrf_exempt(MessagesView.as_view())

# ---------------------------------------------------------------------------------------------
# Operators.


class PeerSerializer(serializers.ModelSerializer[Peer]):
    class Meta:
        model = Peer
        fields = [
            "id",
            "prefix",
            "name",
            "endpoint",
            "public_key",
            "fingerprint",
            "active",
            "created_at",
            "updated_at",
        ]


class PeerInput(serializers.Serializer):
    prefix = Text(max_length=2, help_text="对方省级区划代码，如 44")
    name = Text(max_length=50)
    endpoint = Text(max_length=200, help_text="对方系统地址，如 https://tongban.gd.example")
    public_key = Text(max_length=2000, help_text="对方交换公钥：十六进制（128 位）或 PEM")


class PeerPatch(serializers.Serializer):
    name = Text(max_length=50, required=False)
    endpoint = Text(max_length=200, required=False)
    public_key = Text(max_length=2000, required=False, help_text="对方更换密钥后的新公钥")
    active = serializers.BooleanField(required=False, help_text="false：停用（不收不发）")


class OutboundSerializer(serializers.ModelSerializer[OutboundMessage]):
    kind_label = serializers.CharField()
    peer = serializers.CharField(source="peer.prefix", help_text="接收方区划代码")
    status_label = serializers.CharField(source="get_status_display")
    application = serializers.CharField(
        source="application.number", allow_null=True, default=None, help_text="所涉申领的受理号"
    )

    class Meta:
        model = OutboundMessage
        fields = [
            "id",
            "message_id",
            "kind",
            "kind_label",
            "peer",
            "size",
            "status",
            "status_label",
            "attempts",
            "next_attempt_at",
            "last_code",
            "last_error",
            "created_at",
            "sent_at",
            "application",
        ]


class InboundSerializer(serializers.ModelSerializer[InboundMessage]):
    kind_label = serializers.CharField()
    outcome_label = serializers.CharField(source="get_outcome_display")
    application = serializers.CharField(
        source="application.number", allow_null=True, default=None, help_text="所涉申领的受理号"
    )

    class Meta:
        model = InboundMessage
        fields = [
            "id",
            "sender",
            "message_id",
            "kind",
            "kind_label",
            "digest",
            "size",
            "verified",
            "received_at",
            "outcome",
            "outcome_label",
            "code",
            "message",
            "application",
        ]


class MessagesQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(KINDS), required=False, default="")
    peer = Text(required=False, default="", allow_blank=True, max_length=2, help_text="对方区划代码")
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class OutboundQuery(MessagesQuery):
    status = serializers.ChoiceField(choices=OutboundMessage.Status.choices, required=False, default="")


class InboundQuery(MessagesQuery):
    status = serializers.ChoiceField(choices=InboundMessage.Outcome.choices, required=False, default="")


def _filters(query: dict[str, Any]) -> selectors.Filters:
    return selectors.Filters(status=query["status"], kind=query["kind"], peer=query["peer"])


class OutboundView(APIView):
    @extend_schema(
        summary="跨省通办：发出的消息（新的在前；按状态、类型、对方筛选）",
        parameters=[OutboundQuery],
        responses=page_of(
            "ExchangeOutboundPage", OutboundSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.view")
        query = query_of(OutboundQuery, request)
        page = selectors.outbound_page(viewer, _filters(query), after=query.get("after"))
        return Response(page_answer(page, OutboundSerializer(page.rows, many=True).data))


class InboundView(APIView):
    @extend_schema(
        summary="跨省通办：收到的消息（新的在前；拒收的带代码与原因）",
        parameters=[InboundQuery],
        responses=page_of(
            "ExchangeInboundPage", InboundSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.view")
        query = query_of(InboundQuery, request)
        page = selectors.inbound_page(viewer, _filters(query), after=query.get("after"))
        return Response(page_answer(page, InboundSerializer(page.rows, many=True).data))


class OutboundRetryView(APIView):
    @extend_schema(request=None, responses=OutboundSerializer, summary="跨省通办：重发被拒收或失败的消息")
    @errors("not_retryable", "peer_inactive", "bad_exchange_key")
    def post(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.manage")
        message = selectors.outbound_for(viewer, pk, "exchange.manage")
        return Response(OutboundSerializer(services.message_retry(actor=viewer, message=message)).data)


class PeersView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="跨省通办：交换目录", responses=PeerSerializer(many=True))
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.view")
        return Response(PeerSerializer(selectors.peers(viewer), many=True).data)

    @extend_schema(request=PeerInput, responses={201: PeerSerializer}, summary="跨省通办：添加交换对象")
    @errors("peer_exists", "invalid_public_key")
    def post(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.manage")
        body = PeerInput(data=request.data)
        body.is_valid(raise_exception=True)
        peer = services.peer_add(actor=viewer, **body.validated_data)
        return Response(PeerSerializer(peer).data, status=201)


class PeerView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="跨省通办：交换对象", responses=PeerSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.view")
        return Response(PeerSerializer(selectors.peer_for(viewer, pk)).data)

    @extend_schema(request=PeerPatch, responses=PeerSerializer, summary="跨省通办：修改、停用或启用交换对象")
    @errors("invalid_public_key")
    def patch(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.manage")
        peer = selectors.peer_for(viewer, pk, "exchange.manage")
        body = PeerPatch(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(
            PeerSerializer(services.peer_update(actor=viewer, peer=peer, **body.validated_data)).data
        )


class PeerPingView(APIView):
    @extend_schema(
        request=None,
        responses=OutboundSerializer,
        summary="跨省通办：连通检查（立即发送一条 exchange.ping，返回发送结果）",
    )
    @errors("peer_inactive", "bad_exchange_key")
    def post(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "exchange.manage")
        peer = selectors.peer_for(viewer, pk, "exchange.manage")
        message = services.ping_now(actor=viewer, peer=peer)
        return Response(OutboundSerializer(message).data)
