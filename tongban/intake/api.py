"""REST endpoints of the counter (受理): accept an application in one call, the station's lists,
withdrawal and the printed documents. The representation of an application is defined here and
reused by review's endpoints; the full record with its face comparisons is served by
tongban/review/api.py, because those come from review's selectors and intake never imports review.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import ApiError, Text, UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import ENGINE_CODES, FINGER_SAMPLE_CODES, errors
from tongban.audit.actions import AuditAction
from tongban.audit.labels import event_label
from tongban.audit.services import record
from tongban.biometrics.finger import FINGER_POSITION_NAMES
from tongban.intake import access, capture, documents, rules, selectors, services
from tongban.intake.models import Application, ApplicationEvent, Fingerprint
from tongban.listing import BadCursor
from tongban.notifications.models import Message
from tongban.notifications.selectors import application_messages
from tongban.registry.access import as_viewer
from tongban.registry.api import IdNumberField
from tongban.registry.pdf import PdfFontMissing
from tongban.registry.selectors import person_lookup

logger = logging.getLogger(__name__)

PHOTO_MAX_BYTES = 2 * 1024 * 1024
FINGER_IMAGE_MAX_BYTES = 2 * 1024 * 1024
FINGER_TEMPLATE_MAX_BYTES = 64 * 1024  # the ABIS stores nothing larger

# ---------------------------------------------------------------------------------------------
# Representation

STATUS_HELP = " / ".join(f"{value} {label}" for value, label in Application.Status.choices)


class FingerprintSerializer(serializers.ModelSerializer[Fingerprint]):
    """What was recorded per finger; the template itself never leaves the server."""

    position_name = serializers.SerializerMethodField()
    result_label = serializers.CharField(source="get_result_display")

    class Meta:
        model = Fingerprint
        fields = ["position", "position_name", "result", "result_label", "reason"]

    def get_position_name(self, finger: Fingerprint) -> str:
        return FINGER_POSITION_NAMES.get(finger.position, "")


class EventSerializer(serializers.ModelSerializer[ApplicationEvent]):
    """One line of the 办理记录."""

    actor = serializers.SerializerMethodField()
    action_label = serializers.SerializerMethodField(help_text="事项的中文名称（办理记录上显示的）")
    unit = UnitRefSerializer(allow_null=True)

    class Meta:
        model = ApplicationEvent
        fields = ["action", "action_label", "from_status", "to_status", "actor", "unit", "at", "note"]

    def get_action_label(self, event: ApplicationEvent) -> str:
        return event_label(event.action)

    def get_actor(self, event: ApplicationEvent) -> str:
        return event.actor.display_name if event.actor is not None else "系统"


class ChainStepSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    level = serializers.CharField()
    title = serializers.CharField()
    unit_name = serializers.CharField()


class ReviewPositionSerializer(serializers.Serializer):
    """Where the application stands in its review chain (审核签发)."""

    step = serializers.IntegerField(help_text="当前环节（从 1 起）")
    title = serializers.CharField(allow_null=True)
    unit = UnitRefSerializer(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    due = serializers.DateField(allow_null=True)
    due_provisional = serializers.BooleanField()
    assignee = serializers.CharField(allow_null=True, help_text="领取人姓名，未领取为 null")
    chain = ChainStepSerializer(many=True)


class FeeSerializer(serializers.Serializer):
    item = serializers.CharField()
    amount = serializers.DecimalField(max_digits=6, decimal_places=2)
    waived = serializers.BooleanField()
    waiver_evidence = serializers.CharField()


class RefusalSerializer(serializers.Serializer):
    """不予签发: the coded reason and the reviewer's remark."""

    code = serializers.CharField(help_text="不予签发原因代码")
    name = serializers.CharField(help_text="不予签发原因")
    remark = serializers.CharField(help_text="说明")


def review_position(application: Application) -> dict[str, Any] | None:
    if not application.review_chain:
        return None
    current = application.current_step or {}
    return {
        "step": application.review_step,
        "title": current.get("title"),
        "unit": application.review_unit,
        "arrived_at": application.review_arrived_at,
        "due": application.review_due,
        "due_provisional": application.review_due_provisional,
        "assignee": application.assignee.display_name if application.assignee else None,
        "chain": [
            {"step": number, "level": step["level"], "title": step["title"], "unit_name": step["unit_name"]}
            for number, step in enumerate(application.review_chain, start=1)
        ],
    }


class NoticeSerializer(serializers.Serializer):
    """A notification the application caused (the outbox), with its delivery state."""

    kind = serializers.CharField()
    kind_label = serializers.CharField()
    to = serializers.CharField(source="recipient", help_text="接收单位代码，或脱敏的手机号")
    status = serializers.ChoiceField(choices=Message.Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True, help_text="待发送的下次发送时间")
    error = serializers.CharField(source="last_error", help_text="最近一次失败的原因，没有为空")


EXCHANGE_HELP = (
    "跨省通办：空为本省办理；out 跨省受理·外省户籍（本省受理、户籍地省份审核签发）；"
    "in 跨省受理·本省户籍（外省受理、本省审核签发）"
)


class ApplicationSerializer(serializers.Serializer):
    """An application with its full ID number, fingers and history (only on audited reads and
    on the answers to the caller's own actions)."""

    number = serializers.CharField(allow_null=True, help_text="受理号（22 位）")
    status = serializers.CharField(help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display")
    type = serializers.CharField()
    type_label = serializers.CharField(source="get_type_display")
    reason = serializers.CharField(source="reason_id", help_text="申领原因代码")
    reason_name = serializers.CharField(source="reason.name")
    name = serializers.CharField()
    id_number = serializers.CharField()
    sex = serializers.CharField(source="sex_id")
    sex_name = serializers.CharField(source="sex.name")
    ethnicity = serializers.CharField(source="ethnicity_id")
    ethnicity_name = serializers.CharField(source="ethnicity.name")
    birth_date = serializers.DateField()
    household_address = serializers.CharField()
    residence_address = serializers.CharField()
    phone = serializers.CharField()
    collection = serializers.CharField()
    collection_label = serializers.CharField(source="get_collection_display")
    postal_recipient = serializers.CharField()
    postal_phone = serializers.CharField()
    postal_address = serializers.CharField()
    guardianship = serializers.CharField()
    guardian_name = serializers.CharField()
    guardian_id_number = serializers.CharField()
    guardian_relation = serializers.CharField()
    guardian_phone = serializers.CharField()
    materials_shown = serializers.ListField(child=serializers.CharField())
    pledge_signed = serializers.BooleanField()
    acceptance_unit = UnitRefSerializer()
    household_unit = UnitRefSerializer()
    cross_region = serializers.BooleanField(help_text="异地受理")
    exchange = serializers.CharField(help_text=EXCHANGE_HELP)
    exchange_label = serializers.CharField(source="get_exchange_display")
    remote_province = serializers.CharField(help_text="跨省通办的对方省份代码（两位），本省办理为空")
    remote_unit_name = serializers.CharField(
        help_text="跨省通办的对方办理单位：本省户籍为外省受理点，外省户籍为户籍地签发机关（未签发时为该省公安机关）"
    )
    accepted_at = serializers.DateTimeField(allow_null=True)
    accepted_by = serializers.SerializerMethodField()
    validity = serializers.CharField(help_text="5 / 10 / 20 / long")
    validity_label = serializers.CharField(help_text="签发前为“10年”，签发后为“2026.11.23-2036.11.23”")
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    fee = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    refusal_reason = serializers.CharField(
        help_text="不予签发原因及说明（一行文字，即受理单位告知申请人的内容）"
    )
    refusal = serializers.SerializerMethodField()
    refusal_notified_at = serializers.DateTimeField(allow_null=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    issuing_authority = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    fingerprints = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()
    notifications = serializers.SerializerMethodField()

    def get_accepted_by(self, application: Application) -> str | None:
        return application.accepted_by.display_name if application.accepted_by else None

    @extend_schema_field(FeeSerializer)
    def get_fee(self, application: Application) -> dict[str, Any]:
        fee = {
            "item": application.fee_item,
            "amount": application.fee_amount,
            "waived": application.fee_waived,
            "waiver_evidence": application.fee_waiver_evidence,
        }
        return dict(FeeSerializer(fee).data)

    @extend_schema_field(RefusalSerializer(allow_null=True))
    def get_refusal(self, application: Application) -> dict[str, Any] | None:
        """不予签发原因（代码、名称）和说明; null unless refused."""
        reason = application.refusal_code
        if reason is None:
            return None
        return {"code": reason.code, "name": reason.name, "remark": application.refusal_remark}

    @extend_schema_field(ReviewPositionSerializer(allow_null=True))
    def get_review(self, application: Application) -> dict[str, Any] | None:
        position = review_position(application)
        return dict(ReviewPositionSerializer(position).data) if position is not None else None

    @extend_schema_field(FingerprintSerializer(many=True))
    def get_fingerprints(self, application: Application) -> list[Any]:
        return list(FingerprintSerializer(selectors.fingerprints(application), many=True).data)

    @extend_schema_field(EventSerializer(many=True))
    def get_events(self, application: Application) -> list[Any]:
        return list(EventSerializer(selectors.application_events(application), many=True).data)

    @extend_schema_field(NoticeSerializer(many=True))
    def get_notifications(self, application: Application) -> list[Any]:
        return list(NoticeSerializer(application_messages(application), many=True).data)


class ApplicationRowSerializer(serializers.ModelSerializer[Application]):
    """A list row: the ID number is masked."""

    id_number = serializers.CharField(source="masked_id_number")
    status = serializers.CharField(help_text=STATUS_HELP)
    status_label = serializers.CharField(source="get_status_display")
    type_label = serializers.CharField(source="get_type_display")
    reason = serializers.CharField(source="reason_id")
    acceptance_unit = UnitRefSerializer()
    household_unit = UnitRefSerializer()

    class Meta:
        model = Application
        fields = [
            "id",
            "number",
            "status",
            "status_label",
            "type",
            "type_label",
            "reason",
            "name",
            "id_number",
            "acceptance_unit",
            "household_unit",
            "cross_region",
            "exchange",
            "remote_province",
            "remote_unit_name",
            "accepted_at",
            "review_due",
            "review_due_provisional",
            "refusal_reason",
            "created_at",
        ]


# ---------------------------------------------------------------------------------------------
# Input


# Blank is refused: the schema says so, as the field does (base64's alphabet has no spaces).
@extend_schema_field({"type": "string", "format": "byte", "minLength": 1})
class Base64Field(serializers.Field):
    """Binary content sent as base64 text (line breaks and a `data:…;base64,` prefix allowed),
    decoded strictly and capped in size before it is decoded."""

    default_error_messages = {
        "blank": "不能为空。",
        "invalid_base64": "不是有效的 Base64 编码。",
        "too_large": "超过大小上限（{limit}）。",
    }

    def __init__(self, *, max_bytes: int, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, str):
            self.fail("invalid_base64")
        text = data.strip()
        if text.startswith("data:"):
            text = text.partition(",")[2]
        text = re.sub(r"\s+", "", text)
        if not text:
            self.fail("blank")
        limit = f"{self.max_bytes / (1024 * 1024):g} MB"
        if len(text) > 4 * ((self.max_bytes + 2) // 3):
            self.fail("too_large", limit=limit)
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid_base64")
        if len(raw) > self.max_bytes:
            self.fail("too_large", limit=limit)
        return raw

    def to_representation(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")


class FingerInput(serializers.Serializer):
    position = Text(max_length=2, help_text="指位代码 11–20")
    result = serializers.ChoiceField(choices=Fingerprint.Result.choices)
    image = Base64Field(
        max_bytes=FINGER_IMAGE_MAX_BYTES, required=False, help_text="指纹图像（PNG/BMP/JPEG），≤ 2 MB"
    )
    template = Base64Field(
        max_bytes=FINGER_TEMPLATE_MAX_BYTES, required=False, help_text="采集端提取的特征模板"
    )
    reason = Text(max_length=200, required=False, allow_blank=True)


def _text(max_length: int) -> Text:
    return Text(max_length=max_length, required=False, allow_blank=True)


class ApplicationCreateRequest(serializers.Serializer):
    """Everything the counter takes, in one call; fields left out keep what the register says."""

    id_number = IdNumberField(help_text="公民身份号码：18 位（末位 x 可小写）或 15 位旧号码")
    type = serializers.ChoiceField(choices=[(t.value, t.label) for t in rules.ApplicationType])
    reason = Text(max_length=2, help_text="申领原因代码，如 12")
    name = _text(50)
    sex = _text(1)
    ethnicity = _text(2)
    birth_date = serializers.DateField(required=False)
    household_address = _text(200)
    residence_address = _text(200)
    phone = _text(20)
    collection = serializers.ChoiceField(choices=Application.Collection.choices, required=False)
    postal_recipient = _text(50)
    postal_phone = _text(20)
    postal_address = _text(200)
    guardianship = serializers.ChoiceField(
        choices=[case.value for case in rules.GuardianshipCase], required=False, allow_blank=True
    )
    guardian_name = _text(50)
    guardian_id_number = _text(40)
    guardian_relation = _text(20)
    guardian_phone = _text(20)
    materials_shown = serializers.ListField(child=Text(max_length=40), required=False, max_length=20)
    pledge_signed = serializers.BooleanField(required=False)
    fee_waived = serializers.BooleanField(required=False)
    fee_waiver_evidence = _text(200)
    photo = Base64Field(max_bytes=PHOTO_MAX_BYTES, help_text="相片 JPEG，≤ 2 MB；非标准尺寸时自动裁切")
    guardian_photo = Base64Field(
        max_bytes=PHOTO_MAX_BYTES, required=False, help_text="未满16周岁：申请人与监护人同框相片"
    )
    fingers = FingerInput(many=True, help_text="按采集顺序：右手拇指 11、左手拇指 16……")

    def validate_fingers(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        positions = [finger["position"] for finger in value]
        if len(positions) != len(set(positions)):
            raise serializers.ValidationError("同一指位只能出现一次。", code="duplicate_position")
        return value


COUNTER_SORT_CHOICES = [f"{prefix}{key}" for key in selectors.COUNTER_SORTS for prefix in ("", "-")]


class CounterQuery(serializers.Serializer):
    """The query of 受理台账, declared in the schema as it is validated."""

    view = serializers.ChoiceField(
        choices=[*selectors.COUNTER_VIEWS, "refused_unnotified", "all"],
        required=False,
        allow_blank=True,
        help_text="draft 草稿 / in_review 审核中 / refused 不予签发 / refused_unnotified 不予签发且未告知"
        " / recollect 待重新采集 / issued 签发制证 / distribution 分发待领 / handed_over 已发放"
        " / withdrawn 已撤销；不填或 all 为全部",
    )
    q = Text(
        required=False,
        allow_blank=True,
        max_length=60,
        help_text="受理号（22 位；不足 22 位的数字按受理号开头）、公民身份号码（18 位或 15 位）"
        "或姓名，精确查询",
    )
    sort = serializers.ChoiceField(
        choices=COUNTER_SORT_CHOICES,
        required=False,
        allow_blank=True,
        help_text="accepted 受理时间 / name 姓名；前加 - 为降序；默认 -accepted（草稿按开始受理的时间）",
    )
    after = Text(
        required=False,
        allow_blank=True,
        max_length=400,
        help_text="上一页的 next_after（键集分页游标，须与 sort 相同；否则 400，fields.after 为 bad_cursor）",
    )


class ApplicationListSerializer(serializers.Serializer):
    """One keyset page of 受理台账."""

    count = serializers.IntegerField(help_text="符合条件的申领总数（整个列表，不只本页）")
    results = ApplicationRowSerializer(many=True)
    next_after = serializers.CharField(
        allow_null=True, help_text="下一页的游标，作为 after 传回；最后一页为 null"
    )


class AbandonRequest(serializers.Serializer):
    reason = Text(max_length=500, required=False, allow_blank=True, help_text="放弃原因（可不填）")


class WithdrawRequest(serializers.Serializer):
    # Blank is left to the service, which says what is missing in its own words.
    reason = Text(max_length=500, required=False, allow_blank=True, help_text="撤销原因")


class RefusalNotifiedRequest(serializers.Serializer):
    note = Text(
        max_length=200, required=False, allow_blank=True, help_text="告知情况（可不填），如“电话告知本人”"
    )


class PhotoRequest(serializers.Serializer):
    photo = Base64Field(max_bytes=PHOTO_MAX_BYTES, help_text="新相片 JPEG，≤ 2 MB；非标准尺寸时自动裁切")


# ---------------------------------------------------------------------------------------------
# Views


# What taking and checking a photo can answer (the engine's refusals and failures included).
PHOTO_ERRORS = ("photo_rejected", "no_face", "several_faces", "not_jpeg", "bad_template", *ENGINE_CODES)
# What recording the fingers can answer, beside `PHOTO_ERRORS`' engine failures.
FINGER_ERRORS = ("reason_required", "finger_missing", "finger_order", *FINGER_SAMPLE_CODES)


class ApplicationsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="本辖区的申领列表（受理台账；号码脱敏）",
        parameters=[CounterQuery],
        responses=ApplicationListSerializer,
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "application.view")
        data = query_of(CounterQuery, request)
        try:
            page = selectors.counter_page(
                viewer,
                data.get("view") or "",
                q=data.get("q", ""),
                sort=data.get("sort") or None,
                after=data.get("after") or None,
            )
        except BadCursor as exc:
            message = "游标无效：请传回上一页的 next_after，且 sort 不变。"
            raise serializers.ValidationError({"after": [ErrorDetail(message, code="bad_cursor")]}) from exc
        return Response(
            {
                "count": page.total,
                **page_answer(page, ApplicationRowSerializer(page.rows, many=True).data),
            }
        )

    @extend_schema(
        request=ApplicationCreateRequest,
        responses={201: ApplicationSerializer},
        summary="受理申领（一次提交：登记、相片、指纹、受理）",
    )
    @errors(
        "province_not_connected",
        "duplicate_number",
        "number_changed",
        "bad_reason",
        "reason_age_mismatch",
        "not_eligible",
        "application_open",
        *PHOTO_ERRORS,
        *FINGER_ERRORS,
        "incomplete",
        "waiver_evidence_required",
        "receipt_limit",
        "daily_limit",
        "no_review_unit",
        "not_draft",
    )
    def post(self, request: Request) -> Response:
        actor = staff(request)
        access.require_counter(actor)  # before reading the body
        form = ApplicationCreateRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        application = services.application_accept_at_once(
            actor=actor,
            person=person_lookup(as_viewer(actor), data["id_number"]),
            application_type=rules.ApplicationType(data["type"]),
            reason_code=data["reason"],
            birth_date=data.get("birth_date"),
            changes={key: data[key] for key in sorted(services.EDITABLE_FIELDS) if key in data},
            photo=data["photo"],
            guardian_photo=data.get("guardian_photo"),
            fingers=[
                capture.FingerCapture(
                    position=finger["position"],
                    outcome=rules.FingerOutcome(finger["result"]),
                    image=finger.get("image"),
                    template=finger.get("template"),
                    reason=finger.get("reason", ""),
                )
                for finger in data["fingers"]
            ],
        )
        return Response(ApplicationSerializer(application).data, status=201)


class AbandonView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=AbandonRequest,
        responses=ApplicationSerializer,
        summary="放弃本次受理（草稿转为已撤销，相片和指纹删除）",
        parameters=[
            OpenApiParameter("id", int, OpenApiParameter.PATH, description="草稿的 id（见列表 view=draft）")
        ],
    )
    @errors("not_draft")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        access.require_counter(actor)
        form = AbandonRequest(data=request.data)
        form.is_valid(raise_exception=True)
        application = selectors.application_get(as_viewer(actor), pk)
        application = services.application_abandon(
            actor=actor,
            application=application,
            reason=form.validated_data.get("reason", ""),
        )
        return Response(ApplicationSerializer(application).data)


NUMBER_PARAMETER = OpenApiParameter(
    "number", str, OpenApiParameter.PATH, pattern=r"^[0-9]{22}$", description="受理号（22 位）"
)


class WithdrawView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=WithdrawRequest,
        responses=ApplicationSerializer,
        summary="撤销申领（签发前）",
        parameters=[NUMBER_PARAMETER],
    )
    @errors("reason_required", "not_withdrawable", "bad_transition", "province_not_connected")
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        require(actor, "application.withdraw")
        form = WithdrawRequest(data=request.data)
        form.is_valid(raise_exception=True)
        application = selectors.application_by_number(as_viewer(actor), number)
        application = services.application_withdraw(
            actor=actor,
            application=application,
            reason=form.validated_data.get("reason", ""),
        )
        return Response(ApplicationSerializer(application).data)


class RefusalNotifiedView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=RefusalNotifiedRequest,
        responses=ApplicationSerializer,
        summary="登记已告知申请人不予签发（并告知回户口所在地办理）",
        parameters=[NUMBER_PARAMETER],
    )
    @errors("not_refused")
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        access.require_counter(actor)
        form = RefusalNotifiedRequest(data=request.data)
        form.is_valid(raise_exception=True)
        application = selectors.application_by_number(as_viewer(actor), number)
        application = services.application_refusal_notified(
            actor=actor,
            application=application,
            note=form.validated_data.get("note", ""),
        )
        return Response(ApplicationSerializer(application).data)


class PhotoRecollectView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=PhotoRequest,
        responses=ApplicationSerializer,
        summary="重新采集相片（制证中心质量回馈“待重新采集”后；合格即重新进入制证队列）",
        parameters=[NUMBER_PARAMETER],
    )
    @errors("not_recollect", *PHOTO_ERRORS)
    def post(self, request: Request, number: str) -> Response:
        actor = staff(request)
        access.require_counter(actor)
        form = PhotoRequest(data=request.data)
        form.is_valid(raise_exception=True)
        viewer = as_viewer(actor)
        application = selectors.application_by_number(viewer, number)
        with capture.biometric_refusals("photo"):
            outcome = capture.application_photo_recollect(
                actor=actor,
                application=application,
                image=form.validated_data["photo"],
            )
        if not outcome.passed:
            raise capture.photo_refusal("photo", outcome)
        return Response(ApplicationSerializer(selectors.application_by_number(viewer, number)).data)


DOCUMENTS = {
    "form": documents.registration_form_pdf,  # 居民身份证异地受理登记表 with the 领取凭证
    "pledge": documents.pledge_pdf,  # 告知承诺书 (first applications only)
    "receipt": documents.receipt_pdf,  # 领证回执
}


class DocumentView(APIView):
    @extend_schema(
        summary="下载受理单据 PDF（登记表 form / 告知承诺书 pledge / 领证回执 receipt，留痕）",
        parameters=[
            NUMBER_PARAMETER,
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=list(DOCUMENTS)),
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @errors("printing_unavailable")
    def get(self, request: Request, number: str, kind: str) -> HttpResponse:
        viewer = as_viewer(request.user)
        require(viewer, "application.view")
        if kind not in DOCUMENTS:
            raise Http404("没有这种单据")
        application = selectors.application_by_number(viewer, number)
        if kind == "pledge" and application.type != rules.ApplicationType.FIRST:
            raise Http404("只有首次申领签署告知承诺书")
        try:
            pdf = DOCUMENTS[kind](selectors.application_document(application))
        except PdfFontMissing:
            # A broken install, not a broken request: said to the operator in the log.
            logger.exception("cannot print %s of %s", kind, application.number)
            raise ApiError(
                "printing_unavailable", "服务器暂时无法生成单据，请联系系统管理员。", status=503
            ) from None
        record(
            actor=viewer,
            action=AuditAction.APPLICATION_PRINT,
            object_type="intake.application",
            object_id=application.pk,
            detail={"document": kind, "how": "api"},
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{application.number}-{kind}.pdf"'
        return response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A client asking for application/pdf gets the PDF, and its errors in JSON, not a 406.
        return super().perform_content_negotiation(request, force=True)
