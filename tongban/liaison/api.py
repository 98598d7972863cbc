"""REST endpoints of the liaison directory (联络人): read the province's directory, and replace
the own unit's liaisons."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.accounts.models import User
from tongban.api import Text, page_answer, query_of, require
from tongban.api_schema import page_of
from tongban.liaison import selectors
from tongban.liaison.models import MAX_LIAISONS_PER_UNIT, Duty, Liaison
from tongban.liaison.services import LiaisonEntry, liaisons_replace
from tongban.registry.access import as_viewer


class LiaisonUnitSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    phone = serializers.CharField(help_text="单位值班电话")


class LiaisonSerializer(serializers.ModelSerializer[Liaison]):
    unit = LiaisonUnitSerializer()
    duties = serializers.ListField(child=serializers.ChoiceField(choices=Duty.choices))
    duty_labels = serializers.ListField(child=serializers.CharField())
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    updated_by = serializers.CharField(source="updated_by.username", allow_null=True, default=None)

    class Meta:
        model = Liaison
        fields = [
            "unit",
            "name",
            "position",
            "phone",
            "duties",
            "duty_labels",
            "user",
            "order",
            "updated_at",
            "updated_by",
        ]


class LiaisonInput(serializers.Serializer):
    name = Text(max_length=50)
    position = Text(max_length=50, help_text="职务")
    phone = Text(max_length=30)
    duties = serializers.ListField(child=serializers.ChoiceField(choices=Duty.choices), min_length=1)
    user = Text(required=False, allow_null=True, default=None, help_text="本单位工作人员的用户名")


class LiaisonsPut(serializers.Serializer):
    liaisons = serializers.ListField(child=LiaisonInput(), max_length=MAX_LIAISONS_PER_UNIT)


class DirectoryQuery(serializers.Serializer):
    """The directory's filters, declared in the schema as they are validated."""

    q = Text(
        required=False,
        default="",
        allow_blank=True,
        max_length=50,
        help_text="单位名称（包含）或代码（前缀）",
    )
    unit = Text(required=False, default="", allow_blank=True, max_length=12, help_text="所属单位代码：其辖区")
    duty = serializers.ChoiceField(choices=Duty.choices, required=False, default="", allow_blank=True)
    after = Text(
        required=False, default="", allow_blank=True, max_length=200, help_text="上一页的 next_after"
    )


class LiaisonsView(APIView):
    @extend_schema(
        summary="联络人名录（全省；按单位名称或代码、所属单位、联络事项筛选）",
        parameters=[DirectoryQuery],
        responses=page_of("LiaisonPage", LiaisonSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "unit.view")
        data = query_of(DirectoryQuery, request)
        page = selectors.directory_page(
            viewer,
            selectors.DirectoryFilters(q=data["q"], unit=data["unit"], duty=data["duty"], assigned_only=True),
            after=data["after"],
        )
        rows = [liaison for unit in page.rows for liaison in unit.liaisons.all()]
        return Response(page_answer(page, LiaisonSerializer(rows, many=True).data))


class UnitLiaisonsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=LiaisonsPut,
        responses=LiaisonSerializer(many=True),
        summary="维护本单位联络人（整体替换；仅本单位有 liaison.manage 权限的人员）",
    )
    def put(self, request: Request, code: str) -> Response:
        viewer = as_viewer(request.user)
        require(viewer, "liaison.manage")
        unit = selectors.directory_unit(viewer, code)
        body = LiaisonsPut(data=request.data)
        body.is_valid(raise_exception=True)
        usernames = {item["user"] for item in body.validated_data["liaisons"] if item.get("user")}
        users = dict(User.objects.filter(username__in=usernames, unit=unit).values_list("username", "pk"))
        entries = [
            LiaisonEntry(
                name=item["name"],
                position=item["position"],
                phone=item["phone"],
                duties=item["duties"],
                # An unknown username or someone of another unit: the service names the field.
                user_id=users.get(item["user"], -1) if item.get("user") else None,
            )
            for item in body.validated_data["liaisons"]
        ]
        liaisons = liaisons_replace(actor=viewer, unit=unit, entries=entries)
        return Response(LiaisonSerializer(liaisons, many=True).data)
