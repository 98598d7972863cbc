"""REST endpoints of 网上预约 (docs/api.md, "Appointments"): the public doors (no login; limited per
address and per booking code; a booking is proven by its code and the last 6 of the 公民身份号码,
and answers only what the citizen needs, masked) and the stations' own (the day's bookings, the
counter's draft from a code, 预约设置)."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.accounts import limits
from tongban.api import Text, UnitRefSerializer, page_answer, query_of, rate_limited, require, staff
from tongban.api_schema import errors, page_of
from tongban.appointments import doors, rules, selectors, services
from tongban.appointments.models import STATE_CHOICES, Booking
from tongban.audit.context import client_address
from tongban.intake.models import Application

HALF_CHOICES = [(h.value, h.label) for h in rules.HalfDay]
BOOKING_ERRORS = (
    "not_found",
    "not_in_register",
    "duplicate_number",
    "not_eligible",
    "bad_reason",
    "reason_age_mismatch",
    "application_open",
    "date_past",
    "slot_closed",
    "slot_full",
    "already_booked",
    "rate_limited",
)


def _body(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    form = serializer(data=request.data)
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


class PublicView(APIView):
    """No login, no session: nothing here reads a cookie, so nothing needs a CSRF token."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [JSONParser]

    def knock(self, request: Request, limit: Any) -> None:
        try:
            doors.knock(limit, client_address(request._request))
        except limits.Limited as limited:
            raise rate_limited(limited.until) from limited

    def proven(self, request: Request, code: str, id_tail: str) -> Booking:
        try:
            return doors.booking_for(address=client_address(request._request), code=code, id_tail=id_tail)
        except limits.Limited as limited:
            raise rate_limited(limited.until) from limited


# ---------------------------------------------------------------------------------------------
# Public


class StationSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    county = serializers.CharField(help_text="所属县（市、区）公安局")
    city = serializers.CharField(help_text="所属市公安局")


class StationsQuery(serializers.Serializer):
    q = Text(
        max_length=40, required=False, default="", allow_blank=True, help_text="名称、地址或所属地区的关键字"
    )
    area = serializers.RegexField(
        r"^\d{4}(\d{2})?$", required=False, default="", allow_blank=True, help_text="市（4位）或县（6位）代码"
    )


class SlotSerializer(serializers.Serializer):
    date = serializers.DateField()
    half = serializers.ChoiceField(choices=HALF_CHOICES, help_text="am 上午 / pm 下午")
    half_label = serializers.CharField(source="half.label")
    hours = serializers.CharField(source="half.hours_label", help_text="办理时间，如 08:30–12:00")
    capacity = serializers.IntegerField(help_text="可预约人数（0 为不办理）")
    free = serializers.IntegerField(help_text="余号")
    bookable = serializers.BooleanField(help_text="现在可以预约")
    provisional = serializers.BooleanField(help_text="该年节假日安排未公布，暂按周一至周五开放（暂估）")
    note = serializers.CharField(help_text="不办理的原因或说明")


SLOTS_ANSWER = inline_serializer(
    name="AppointmentSlots",
    fields={
        "station": StationSerializer(),
        "notice": serializers.CharField(help_text="受理单位的预约须知"),
        "days_ahead": serializers.IntegerField(),
        "slots": SlotSerializer(many=True),
    },
)


def _station_row(station: Any) -> dict[str, str]:
    choice = next(iter(selectors.public_stations(q="", area=station.code)), None)
    return {
        "code": station.code,
        "name": station.name,
        "address": station.address,
        "phone": station.phone,
        "county": choice.county if choice else "",
        "city": choice.city if choice else "",
    }


def slots_answer(station: Any) -> dict[str, Any]:
    own = services.station_settings(station)
    now = services.local_now()
    slots = services.slots_between(station, now.date(), now.date() + datetime.timedelta(days=own.days_ahead))
    rows = [
        {
            "date": slot.date,
            "half": slot.half,
            "capacity": slot.capacity,
            "free": slot.free,
            "bookable": rules.slot_problem(slot, now=now, days_ahead=own.days_ahead) is None,
            "provisional": slot.provisional,
            "note": slot.note,
        }
        for slot in slots
    ]
    return {
        "station": _station_row(station),
        "notice": selectors.station_notice(station),
        "days_ahead": own.days_ahead,
        "slots": SlotSerializer(rows, many=True).data,
    }


class PublicStationsView(PublicView):
    @extend_schema(
        summary="网上预约：可预约的受理单位（无需登录；按关键字或地区查找，最多50个）",
        parameters=[StationsQuery],
        responses=inline_serializer(
            name="AppointmentStations", fields={"results": StationSerializer(many=True)}
        ),
    )
    @errors("rate_limited")
    def get(self, request: Request) -> Response:
        self.knock(request, doors.SLOTS)
        query = query_of(StationsQuery, request)
        stations = selectors.public_stations(q=query["q"], area=query["area"])
        return Response({"results": StationSerializer(stations, many=True).data})


class PublicSlotsView(PublicView):
    @extend_schema(summary="网上预约：受理单位各日上午、下午的余号（无需登录）", responses=SLOTS_ANSWER)
    @errors("rate_limited")
    def get(self, request: Request, code: str) -> Response:
        self.knock(request, doors.SLOTS)
        return Response(slots_answer(selectors.public_station(code)))


class MaterialSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    alternatives = serializers.SerializerMethodField(help_text="其中一种即可")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_alternatives(self, material: Any) -> list[str]:
        return [label for _, label in material.alternatives]


class PublicBookingSerializer(serializers.ModelSerializer[Booking]):
    """A booking as its citizen sees it: what they need to come, the person masked."""

    code = serializers.CharField(source="display_code", help_text="预约码（凭此办理、取消或改约）")
    station = serializers.SerializerMethodField()
    half_label = serializers.CharField(source="half_day.label")
    hours = serializers.CharField(source="half_day.hours_label")
    state_label = serializers.CharField()
    type_label = serializers.CharField(source="get_type_display")
    reason_label = serializers.CharField(source="reason.name")
    name = serializers.CharField(source="masked_name")
    id_number = serializers.CharField(source="masked_id_number")
    phone = serializers.CharField(source="masked_phone")
    collection_label = serializers.CharField(source="get_collection_display")
    checklist = serializers.SerializerMethodField(help_text="所需材料（与受理窗口同一规则）")

    class Meta:
        model = Booking
        fields = [
            "code",
            "station",
            "date",
            "half",
            "half_label",
            "hours",
            "state",
            "state_label",
            "type",
            "type_label",
            "reason_label",
            "name",
            "id_number",
            "phone",
            "collection",
            "collection_label",
            "checklist",
        ]

    @extend_schema_field(StationSerializer)
    def get_station(self, booking: Booking) -> dict[str, str]:
        return _station_row(booking.station)

    @extend_schema_field(MaterialSerializer(many=True))
    def get_checklist(self, booking: Booking) -> Any:
        return MaterialSerializer(selectors.checklist(booking), many=True).data


class BookRequest(serializers.Serializer):
    station = Text(max_length=12, help_text="受理单位代码（9位）")
    date = serializers.DateField()
    half = serializers.ChoiceField(choices=HALF_CHOICES)
    name = Text(max_length=50, help_text="姓名（与户口簿一致）")
    id_number = Text(max_length=20, help_text="公民身份号码")
    type = serializers.ChoiceField(
        choices=[("first", "首次申领"), ("renewal", "换领"), ("replacement", "补领")]
    )
    reason = Text(max_length=4, help_text="申领原因代码（如 12 年满16周岁申领）")
    phone = Text(max_length=20, help_text="手机号码（接收预约码和提醒）")
    residence_address = Text(max_length=200, required=False, default="", allow_blank=True)
    collection = serializers.ChoiceField(
        choices=Application.Collection.choices, required=False, default="station"
    )
    postal_recipient = Text(max_length=50, required=False, default="", allow_blank=True)
    postal_phone = Text(max_length=20, required=False, default="", allow_blank=True)
    postal_address = Text(max_length=200, required=False, default="", allow_blank=True)
    guardianship = serializers.ChoiceField(
        choices=["same_household", "birth_certificate", "birth_certificate_and_marriage"],
        required=False,
        default="",
        allow_blank=True,
        help_text="未满16周岁：监护关系证明情形",
    )
    guardian_name = Text(max_length=50, required=False, default="", allow_blank=True)
    guardian_id_number = Text(max_length=20, required=False, default="", allow_blank=True)
    guardian_relation = Text(max_length=20, required=False, default="", allow_blank=True)
    guardian_phone = Text(max_length=20, required=False, default="", allow_blank=True)


class ProofRequest(serializers.Serializer):
    code = Text(max_length=20, help_text="预约码")
    id_tail = Text(max_length=6, help_text="公民身份号码后6位")


class RebookRequest(ProofRequest):
    date = serializers.DateField()
    half = serializers.ChoiceField(choices=HALF_CHOICES)


class PublicBookView(PublicView):
    @extend_schema(
        summary="网上预约、预申请（无需登录）：核对人口信息和受理规则后预约，短信发送预约码",
        request=BookRequest,
        responses={201: PublicBookingSerializer},
    )
    @errors(*BOOKING_ERRORS)
    def post(self, request: Request) -> Response:
        self.knock(request, doors.BOOK)
        data = _body(BookRequest, request)
        station, date, half = data.pop("station"), data.pop("date"), rules.HalfDay(data.pop("half"))
        booking = services.booking_create(
            station_code=station, date=date, half=half, pre=services.PreApplication(**data)
        )
        return Response(PublicBookingSerializer(booking).data, status=201)


class PublicLookupView(PublicView):
    @extend_schema(
        summary="查询预约（无需登录）：预约码＋公民身份号码后6位",
        request=ProofRequest,
        responses=PublicBookingSerializer,
    )
    @errors("not_found", "rate_limited")
    def post(self, request: Request) -> Response:
        data = _body(ProofRequest, request)
        return Response(PublicBookingSerializer(self.proven(request, data["code"], data["id_tail"])).data)


class PublicCancelView(PublicView):
    @extend_schema(
        summary="取消预约（无需登录）：预约码＋公民身份号码后6位",
        request=ProofRequest,
        responses=PublicBookingSerializer,
    )
    @errors("not_found", "booking_closed", "rate_limited")
    def post(self, request: Request) -> Response:
        data = _body(ProofRequest, request)
        booking = services.booking_cancel(booking=self.proven(request, data["code"], data["id_tail"]))
        return Response(PublicBookingSerializer(booking).data)


class PublicRebookView(PublicView):
    @extend_schema(
        summary="改约（无需登录）：同一预约码改到本受理单位的另一时段",
        request=RebookRequest,
        responses=PublicBookingSerializer,
    )
    @errors(
        "not_found",
        "booking_closed",
        "date_past",
        "slot_closed",
        "slot_full",
        "reason_age_mismatch",
        "rate_limited",
    )
    def post(self, request: Request) -> Response:
        data = _body(RebookRequest, request)
        booking = self.proven(request, data["code"], data["id_tail"])
        booking = services.booking_rebook(
            booking=booking, date=data["date"], half=rules.HalfDay(data["half"])
        )
        return Response(PublicBookingSerializer(booking).data)


# ---------------------------------------------------------------------------------------------
# Staff


class BookingRowSerializer(serializers.ModelSerializer[Booking]):
    """A booking in the day's list: the person masked."""

    code = serializers.CharField(source="display_code")
    station = UnitRefSerializer()
    half_label = serializers.CharField(source="half_day.label")
    state_label = serializers.CharField()
    type_label = serializers.CharField(source="get_type_display")
    reason = serializers.CharField(source="reason_id")
    name = serializers.CharField(source="masked_name")
    id_number = serializers.CharField(source="masked_id_number")
    phone = serializers.CharField(source="masked_phone")
    application_number = serializers.CharField(source="application.number", allow_null=True, default=None)

    class Meta:
        model = Booking
        fields = [
            "code",
            "station",
            "date",
            "half",
            "half_label",
            "state",
            "state_label",
            "type",
            "type_label",
            "reason",
            "name",
            "id_number",
            "phone",
            "created_at",
            "arrived_at",
            "application_number",
        ]


class BookingSerializer(BookingRowSerializer):
    """A booking opened by staff: the pre-application in full (audited)."""

    name = serializers.CharField(source="person.name")
    id_number = serializers.CharField(source="person.id_number")
    phone = serializers.CharField()
    application_id = serializers.IntegerField(allow_null=True)

    class Meta(BookingRowSerializer.Meta):
        fields = [
            *BookingRowSerializer.Meta.fields,
            "application_id",
            "residence_address",
            "collection",
            "postal_recipient",
            "postal_phone",
            "postal_address",
            "guardianship",
            "guardian_name",
            "guardian_id_number",
            "guardian_relation",
            "guardian_phone",
            "cancelled_at",
            "no_show_at",
        ]


class DayQuery(serializers.Serializer):
    station = serializers.RegexField(
        r"^\d{9}$",
        required=False,
        default="",
        allow_blank=True,
        help_text="受理单位代码；派出所账号不填为本所",
    )
    date = serializers.DateField(required=False, help_text="日期，默认今天")
    state = serializers.ChoiceField(
        choices=STATE_CHOICES, required=False, default="", allow_blank=True, help_text="状态；不填为全部"
    )
    after = serializers.RegexField(r"^(am|pm)\.\d{1,12}$", required=False, help_text="上一页的 next_after")


class BookingsView(APIView):
    @extend_schema(
        summary="受理单位某日的预约（号码、姓名、电话脱敏；含到场与未到场）",
        parameters=[DayQuery],
        responses=page_of(
            "BookingPage",
            BookingRowSerializer(many=True),
            counts=serializers.DictField(child=serializers.IntegerField(), help_text="各状态的数量"),
        ),
    )
    @errors("not_found")
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "appointment.view")
        query = query_of(DayQuery, request)
        station = selectors.station_for(viewer, query["station"])
        day = query.get("date") or timezone.localdate()
        page = selectors.day_page(viewer, station, day, state=query["state"], after=query.get("after"))
        answer = page_answer(page, BookingRowSerializer(page.rows, many=True).data)
        return Response({**answer, "counts": selectors.day_counts(station, day)})


class BookingDetailView(APIView):
    @extend_schema(summary="预约详情（完整预申请，查看留痕）", responses=BookingSerializer)
    def get(self, request: Request, code: str) -> Response:
        viewer = staff(request)
        require(viewer, "appointment.view")
        booking = selectors.booking_for(viewer, code)
        services.booking_view(viewer=viewer, booking=booking)
        return Response(BookingSerializer(booking).data)


class BookingOpenView(APIView):
    @extend_schema(
        summary="窗口受理预约：按预约码打开预填的受理草稿（预约记为已到场）",
        request=None,
        responses=inline_serializer(
            name="BookingOpened",
            fields={
                "application_id": serializers.IntegerField(
                    help_text="草稿编号（POST /applications 同一草稿）"
                )
            },
        ),
    )
    @errors(
        "other_station",
        "wrong_day",
        "booking_closed",
        "not_eligible",
        "bad_reason",
        "reason_age_mismatch",
        "application_open",
        "invalid",
    )
    def post(self, request: Request, code: str) -> Response:
        actor = staff(request)
        require(actor, "application.accept")
        booking = selectors.booking_for(actor, code)
        application = services.booking_open(actor=actor, booking=booking)
        return Response({"application_id": application.pk})


class ScheduleSerializer(serializers.Serializer):
    station = UnitRefSerializer()
    open = serializers.BooleanField()
    morning_capacity = serializers.IntegerField()
    afternoon_capacity = serializers.IntegerField()
    days_ahead = serializers.IntegerField()
    notice = serializers.CharField()
    overrides = serializers.ListField(
        child=inline_serializer(
            name="SlotOverrideRow",
            fields={
                "date": serializers.DateField(),
                "half": serializers.CharField(),
                "capacity": serializers.IntegerField(),
                "note": serializers.CharField(),
            },
        )
    )


class Flag(serializers.BooleanField):
    """true or false as JSON says them, as the schema declares (DRF's also takes "false", 0, "on")."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ScheduleRequest(serializers.Serializer):
    open = Flag()
    morning_capacity = serializers.IntegerField(min_value=0, max_value=500)
    afternoon_capacity = serializers.IntegerField(min_value=0, max_value=500)
    days_ahead = serializers.IntegerField(min_value=1, max_value=90)
    notice = Text(max_length=200, required=False, default="", allow_blank=True)


class OverrideRequest(serializers.Serializer):
    date = serializers.DateField()
    half = serializers.ChoiceField(choices=HALF_CHOICES)
    capacity = serializers.IntegerField(
        min_value=0, max_value=500, allow_null=True, help_text="0 停止；null 恢复按设置"
    )
    note = Text(max_length=100, required=False, default="", allow_blank=True)


def schedule_answer(station: Any) -> dict[str, Any]:
    own = services.station_settings(station)
    return {
        "station": {"code": station.code, "name": station.name},
        "open": own.open,
        "morning_capacity": own.morning,
        "afternoon_capacity": own.afternoon,
        "days_ahead": own.days_ahead,
        "notice": selectors.station_notice(station),
        "overrides": [
            {"date": o.date, "half": o.half, "capacity": o.capacity, "note": o.note}
            for o in selectors.overrides_ahead(station, timezone.localdate())
        ],
    }


class ScheduleView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="受理单位的预约设置和今后的时段调整", responses=ScheduleSerializer)
    def get(self, request: Request, code: str) -> Response:
        viewer = staff(request)
        require(viewer, "appointment.view")
        station = selectors.station_for(viewer, code)
        return Response(ScheduleSerializer(schedule_answer(station)).data)

    @extend_schema(
        summary="修改预约设置（每半天可预约人数、可提前预约天数）",
        request=ScheduleRequest,
        responses=ScheduleSerializer,
    )
    def put(self, request: Request, code: str) -> Response:
        actor = staff(request)
        require(actor, "appointment.manage")
        station = selectors.station_for(actor, code, action="appointment.manage")
        data = _body(ScheduleRequest, request)
        services.schedule_update(actor=actor, station=station, data=services.ScheduleInput(**data))
        return Response(ScheduleSerializer(schedule_answer(station)).data)


class OverrideView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        summary="调整某日某时段（停止预约、改人数或周末开放）",
        request=OverrideRequest,
        responses=ScheduleSerializer,
    )
    @errors("date_past")
    def post(self, request: Request, code: str) -> Response:
        actor = staff(request)
        require(actor, "appointment.manage")
        station = selectors.station_for(actor, code, action="appointment.manage")
        data = _body(OverrideRequest, request)
        services.override_set(
            actor=actor,
            station=station,
            date=data["date"],
            half=rules.HalfDay(data["half"]),
            capacity=data["capacity"],
            note=data["note"],
        )
        return Response(ScheduleSerializer(schedule_answer(station)).data)
