"""REST endpoints of the register: people (masked lists, audited full records), units, ID checks."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import Text, page_answer, query_of, require
from tongban.api_schema import errors, page_of
from tongban.core import idnumber
from tongban.core.masking import mask_id_number
from tongban.registry import selectors
from tongban.registry.access import as_viewer
from tongban.registry.models import CARD_STATE_LABELS, Card, FloatingRegistration, Person, Unit, WantedPerson
from tongban.registry.services import guest_person_register, person_open, unit_contact_update


class UnitSerializer(serializers.ModelSerializer[Unit]):
    # DRF fields have a `parent` attribute of their own; the declared field only shadows it in stubs.
    parent = serializers.CharField(source="parent.code", read_only=True, allow_null=True)  # type: ignore[assignment]
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Unit
        fields = ["code", "name", "kind", "kind_label", "parent", "region_code", "phone", "address"]
        extra_kwargs = {
            "phone": {"help_text": "对外联系电话（打印在登记表、领证回执、票据上）；未登记为空字符串"},
            "address": {"help_text": "办公地址；未登记为空字符串"},
        }


class UnitContactRequest(serializers.Serializer):
    """PATCH: the fields left out keep their value."""

    phone = Text(
        max_length=30,
        required=False,
        allow_blank=True,
        help_text="固定电话带区号（0791-86781234）或11位手机号",
    )
    address = Text(max_length=200, required=False, allow_blank=True)


class UnitsQuery(serializers.Serializer):
    missing_contact = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true：只列未登记联系电话或地址的派出所（须 unit.manage，其他角色 403）",
    )


class PeopleQuery(serializers.Serializer):
    """The filters of the people list, declared in the schema as they are validated."""

    name = Text(required=False, default="", allow_blank=True, max_length=50, help_text="姓名前缀")
    household_no = Text(required=False, default="", allow_blank=True, max_length=20)
    unit = Text(
        required=False,
        default="",
        allow_blank=True,
        max_length=12,
        help_text="机构代码：该机构及其下级（仅本辖区）",
    )
    status = serializers.ChoiceField(
        choices=Person.Status.choices, required=False, default="", allow_blank=True, help_text="人员状态"
    )
    after = serializers.IntegerField(required=False, min_value=0, help_text="上一页的 next_after（键集分页）")


CARD_STATE_HELP = " / ".join(f"{value} {label}" for value, label in CARD_STATE_LABELS.items())


class PersonRowSerializer(serializers.ModelSerializer[Person]):
    """A list row: the ID number is masked."""

    id_number = serializers.SerializerMethodField()
    registration_unit = serializers.CharField(source="registration_unit.code", read_only=True)
    card_state = serializers.CharField(
        read_only=True,
        allow_null=True,
        default=None,
        help_text=f"所持证件的当前状态（按日历）：{CARD_STATE_HELP}；从未申领为 null",
    )
    card_state_label = serializers.CharField(read_only=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "id_number",
            "name",
            "sex",
            "birth_date",
            "registration_unit",
            "household_no",
            "status",
            "card_state",
            "card_state_label",
        ]

    def get_id_number(self, person: Person) -> str:
        return mask_id_number(person.id_number)


class CardSerializer(serializers.ModelSerializer[Card]):
    state = serializers.CharField(
        source="current_state", help_text=f"当前状态（按日历，有效期满次日起为 expired）：{CARD_STATE_HELP}"
    )
    state_label = serializers.CharField(source="current_state_label")

    class Meta:
        model = Card
        fields = [
            "application_number",
            "card_serial",
            "generation",
            "issuing_authority",
            "valid_from",
            "valid_until",
            "state",
            "state_label",
        ]


class WantedSerializer(serializers.ModelSerializer[WantedPerson]):
    class Meta:
        model = WantedPerson
        fields = ["case_number", "listed_on", "source"]


class FloatingSerializer(serializers.ModelSerializer[FloatingRegistration]):
    residence_unit = serializers.CharField(source="residence_unit.code", read_only=True)

    class Meta:
        model = FloatingRegistration
        fields = ["residence_unit", "address", "registered_on", "valid_until"]


class PersonRecordSerializer(serializers.Serializer):
    """The full record (every read of it is audited)."""

    id = serializers.IntegerField(source="person.pk")
    id_number = serializers.CharField(source="person.id_number")
    name = serializers.CharField(source="person.name")
    sex = serializers.CharField(source="person.sex_id")
    sex_name = serializers.CharField(source="person.sex.name")
    ethnicity = serializers.CharField(source="person.ethnicity_id")
    ethnicity_name = serializers.CharField(source="person.ethnicity.name")
    birth_date = serializers.DateField(source="person.birth_date")
    address = serializers.CharField(source="person.address")
    household_no = serializers.CharField(source="person.household_no")
    relation = serializers.CharField(source="person.relation_id", allow_null=True)
    registration_unit = UnitSerializer(source="person.registration_unit")
    status = serializers.CharField(source="person.status")
    has_photo = serializers.BooleanField(source="person.has_photo")
    cards = CardSerializer(many=True)
    household = PersonRowSerializer(many=True, allow_null=True, help_text="null outside the caller's subtree")
    wanted = WantedSerializer(many=True)
    floating = FloatingSerializer(many=True)


# What the API takes for a 公民身份号码: 18 characters (a lower-case x allowed) or an old 15-digit
# number, spaces around it allowed. The pages take more (full-width digits, hyphens); the API
# takes what its schema says.
ID_NUMBER_PATTERN = re.compile(r"^\s*([0-9]{17}[0-9Xx]|[0-9]{15})\s*$")


@extend_schema_field({"type": "string", "pattern": ID_NUMBER_PATTERN.pattern, "maxLength": 40})
class IdNumberField(Text):
    """A valid 公民身份号码, in its 18-character form; refused with the field code
    `invalid_id_number` and the verdict of GB 11643 (wrong length, check digit …) in words."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            number = idnumber.validate(text)
        except idnumber.InvalidIdNumber as exc:
            raise serializers.ValidationError(str(exc), code="invalid_id_number") from exc
        if not ID_NUMBER_PATTERN.match(text):
            message = "公民身份号码应为 18 位（末位可为 x）或 15 位数字。"
            raise serializers.ValidationError(message, code="invalid_id_number")
        return number


class LookupRequest(serializers.Serializer):
    id_number = IdNumberField(help_text="公民身份号码：18 位（末位 x 可小写）或 15 位旧号码")


class PeopleView(APIView):
    @extend_schema(
        summary="人员列表（号码脱敏，按辖区）",
        parameters=[PeopleQuery],
        responses=page_of("PersonPage", PersonRowSerializer(many=True), cursor=serializers.IntegerField),
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "person.browse")
        data = query_of(PeopleQuery, request)
        filters = selectors.PersonFilters(
            name=data["name"],
            household_no=data["household_no"],
            unit_code=data["unit"],
            status=data["status"],
        )
        page = selectors.people_page(viewer, filters, after=data.get("after"))
        return Response(page_answer(page, PersonRowSerializer(page.rows, many=True).data))


class PersonLookupView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=LookupRequest, responses=PersonRecordSerializer, summary="按公民身份号码查询人员（留痕）"
    )
    @errors("not_found", "duplicate_number", "number_changed")
    def post(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        if not viewer.can("person.lookup"):
            require(viewer, "person.view")
        form = LookupRequest(data=request.data)
        form.is_valid(raise_exception=True)
        person = selectors.person_lookup(as_viewer(request.user), form.validated_data["id_number"])
        return self._record(request, person, "api.lookup")

    @staticmethod
    def _record(request: Request, person: Person, how: str) -> Response:
        person_open(viewer=as_viewer(request.user), person=person, how=how)
        record = selectors.person_record(as_viewer(request.user), person)
        return Response(PersonRecordSerializer(record).data)


class GuestRequest(serializers.Serializer):
    id_number = IdNumberField(help_text="公民身份号码（外省号码）")
    name = Text(max_length=50)
    sex = Text(max_length=1, help_text="性别代码（GB/T 2261.1），须与号码相符")
    ethnicity = Text(max_length=2, help_text="民族代码（GB 3304）")
    birth_date = serializers.DateField(help_text="出生日期，须与号码相符")
    address = Text(max_length=200, help_text="常住户口所在地住址（按户口簿）")
    region_code = Text(max_length=6, help_text="户籍地县级行政区划代码（六位，属号码所在省）")


class GuestsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=GuestRequest,
        responses={201: PersonRecordSerializer},
        summary="外省户籍人员登记（跨省通办受理前，按户口簿登记；留痕）",
    )
    @errors("own_province", "province_not_connected", "person_exists")
    def post(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "application.accept")
        form = GuestRequest(data=request.data)
        form.is_valid(raise_exception=True)
        person = guest_person_register(actor=viewer, **form.validated_data)
        response = PersonLookupView._record(request, person, "api.guest")
        response.status_code = 201
        return response


class PersonDetailView(APIView):
    @extend_schema(responses=PersonRecordSerializer, summary="人员完整信息（本辖区，留痕）")
    def get(self, request: Request, pk: int) -> Response:
        require(as_viewer(request.user), "person.view")
        person = selectors.person_get(as_viewer(request.user), pk)
        return PersonLookupView._record(request, person, "api.detail")


class UnitsView(APIView):
    @extend_schema(
        responses=UnitSerializer(many=True),
        summary="本辖区机构",
        parameters=[UnitsQuery],
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "unit.view")
        if query_of(UnitsQuery, request)["missing_contact"]:
            require(viewer, "unit.manage")
            units = list(selectors.stations_missing_contact(viewer))
        else:
            units = list(Unit.objects.visible_to(viewer).order_by("path"))
        return Response(UnitSerializer(units, many=True).data)


class UnitDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses=UnitSerializer, summary="机构信息（本辖区）")
    def get(self, request: Request, code: str) -> Response:
        require(as_viewer(request.user), "unit.view")
        return Response(UnitSerializer(selectors.unit_get(as_viewer(request.user), code)).data)

    @extend_schema(
        request=UnitContactRequest,
        responses=UnitSerializer,
        summary="维护机构的联系电话和地址（unit.manage；派出所两项必填）",
    )
    def patch(self, request: Request, code: str) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "unit.manage")
        form = UnitContactRequest(data=request.data)
        form.is_valid(raise_exception=True)
        unit = selectors.unit_get(viewer, code)
        unit = unit_contact_update(
            actor=viewer,
            unit=unit,
            phone=form.validated_data.get("phone", unit.phone),
            address=form.validated_data.get("address", unit.address),
        )
        return Response(UnitSerializer(unit).data)


class IdCheckRequest(serializers.Serializer):
    numbers = serializers.ListField(child=Text(max_length=40, allow_blank=True), max_length=1000)


class IdVerdictErrorSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="invalid_length / invalid_format / invalid_checksum / …（data-formats.md）"
    )
    message = serializers.CharField()


class IdVerdictSerializer(serializers.Serializer):
    input = serializers.CharField()
    valid = serializers.BooleanField()
    normalized = serializers.CharField(allow_null=True, help_text="18 位号码（15 位旧号码已升位）")
    region_code = serializers.CharField(allow_null=True)
    region_name = serializers.CharField(allow_null=True)
    birth_date = serializers.DateField(allow_null=True)
    sex = serializers.CharField(allow_null=True)
    # The metaclass moves declared fields out of the class body: this does not shadow
    # Serializer.errors at runtime.
    errors = IdVerdictErrorSerializer(many=True)  # type: ignore[assignment]


class IdNumberCheckView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=IdCheckRequest,
        responses=inline_serializer("IdCheckResults", {"results": IdVerdictSerializer(many=True)}),
        summary="校验公民身份号码（GB 11643）",
    )
    def post(self, request: Request) -> Response:
        form = IdCheckRequest(data=request.data)
        form.is_valid(raise_exception=True)
        results: list[dict[str, Any]] = [idnumber.parse(n).to_dict() for n in form.validated_data["numbers"]]
        return Response({"results": results})
