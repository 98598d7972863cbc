"""REST endpoints of the notifications: a unit's messages (通知) and the templates (通知模板)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import Text, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.notifications import selectors, services, texts
from tongban.notifications.models import Message


class InboxMessageSerializer(serializers.ModelSerializer[Message]):
    kind_label = serializers.CharField(help_text="通知类型名称")
    application = serializers.CharField(
        source="application.number", allow_null=True, default=None, help_text="所涉申领的受理号"
    )

    class Meta:
        model = Message
        fields = ["id", "kind", "kind_label", "text", "application", "created_at"]


class InboxQuery(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class InboxView(APIView):
    @extend_schema(
        summary="通知：发给本单位、与本人承办工作有关的通知，新的在前",
        parameters=[InboxQuery],
        responses=page_of("InboxPage", InboxMessageSerializer(many=True), cursor=serializers.IntegerField),
    )
    def get(self, request: Request) -> Response:
        query = query_of(InboxQuery, request)
        page = selectors.inbox_page(staff(request), after=query.get("after"))
        return Response(page_answer(page, InboxMessageSerializer(page.rows, many=True).data))


class VariableSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="变量名，在内容中写作 {name}")
    meaning = serializers.CharField(help_text="变量的含义")
    mandatory = serializers.BooleanField(help_text="内容必须包含该变量")


class TemplateSerializer(serializers.Serializer):
    code = serializers.CharField(source="template.code")
    title = serializers.CharField(source="template.label", help_text="通知名称")
    kind = serializers.CharField(source="template.kind", help_text="所发通知的类型")
    audience = serializers.ChoiceField(
        source="template.audience", choices=list(texts.AUDIENCE_LABELS.items()), help_text="发给谁"
    )
    text = serializers.CharField(help_text="现用的通知内容")
    default = serializers.CharField(source="template.default", help_text="默认内容")
    customized = serializers.SerializerMethodField(help_text="管理员修改过（未恢复默认）")
    variables = serializers.SerializerMethodField()
    preview = serializers.CharField(help_text="以示例值替换变量后的内容")
    updated_by = serializers.CharField(
        source="custom.updated_by.display_name", allow_null=True, default=None, help_text="修改人"
    )
    updated_at = serializers.DateTimeField(source="custom.updated_at", allow_null=True, default=None)

    def get_customized(self, row: selectors.TemplateRow) -> bool:
        return row.custom is not None

    @extend_schema_field(VariableSerializer(many=True))
    def get_variables(self, row: selectors.TemplateRow) -> list[dict[str, object]]:
        return [
            {"name": name, "meaning": meaning, "mandatory": name in row.template.required}
            for name, meaning in row.template.variables.items()
        ]


class TemplatePut(serializers.Serializer):
    text = Text(max_length=texts.MAX_LENGTH * 2, allow_blank=True, help_text="新的通知内容")


class TemplatesView(APIView):
    @extend_schema(
        summary="通知模板：每种通知的内容与可用变量（系统管理员）", responses=TemplateSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        return Response(TemplateSerializer(selectors.templates_list(staff(request)), many=True).data)


class TemplateView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(summary="一个通知模板", responses=TemplateSerializer)
    @errors("not_found")
    def get(self, request: Request, code: str) -> Response:
        return Response(TemplateSerializer(selectors.template_get(staff(request), code)).data)

    @extend_schema(
        summary="修改通知模板的内容（此后发出的通知使用新内容；留痕）",
        request=TemplatePut,
        responses=TemplateSerializer,
    )
    @errors("not_found", "template_invalid")
    def put(self, request: Request, code: str) -> Response:
        actor = staff(request)
        require(actor, "notification.template")
        body = TemplatePut(data=request.data)
        body.is_valid(raise_exception=True)
        services.template_update(actor=actor, code=code, text=body.validated_data["text"])
        return Response(TemplateSerializer(selectors.template_get(actor, code)).data)


class TemplateResetView(APIView):
    @extend_schema(summary="恢复通知模板的默认内容（留痕）", request=None, responses=TemplateSerializer)
    @errors("not_found")
    def post(self, request: Request, code: str) -> Response:
        actor = staff(request)
        require(actor, "notification.template")
        services.template_reset(actor=actor, code=code)
        return Response(TemplateSerializer(selectors.template_get(actor, code)).data)
