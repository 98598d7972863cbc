"""REST endpoints of the register clean-up (数据清理): the case work list and each case with its
evidence, the decision on a case, correction requests (变更更正) filed and decided, and the scan
runs with their progress. The same selectors and services as the pages, so both always agree."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tongban.api import UnitRefSerializer, page_answer, query_of, require, staff
from tongban.api_schema import errors, page_of
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number, mask_id_numbers_in_text
from tongban.dataquality import selectors, services
from tongban.dataquality.forms import SCAN_KIND_CHOICES
from tongban.dataquality.models import ITEM_FIELDS, AddressMatch, Case, ChangeRequest, ScanRun
from tongban.jobs.api import JobSerializer
from tongban.jobs.selectors import job_get
from tongban.registry.models import ChangeItem, Person, item_value_label

# ---------------------------------------------------------------------------------------------
# Representation


class CaseRowSerializer(serializers.ModelSerializer[Case]):
    """A work-list row: the number is masked, as in the page's list."""

    kind_label = serializers.CharField(source="get_kind_display")
    status_label = serializers.CharField(source="get_status_display")
    unit = UnitRefSerializer(help_text="责任单位")
    id_number = serializers.SerializerMethodField(help_text="涉及号码（脱敏；无则为空）")
    summary = serializers.SerializerMethodField(help_text="问题摘要")
    found_at = serializers.DateTimeField(source="created_at", help_text="发现时间")

    class Meta:
        model = Case
        fields = [
            "id",
            "kind",
            "kind_label",
            "id_number",
            "unit",
            "status",
            "status_label",
            "summary",
            "found_at",
        ]

    def get_id_number(self, case: Case) -> str:
        return mask_id_number(case.id_number) if case.id_number else ""

    def get_summary(self, case: Case) -> str:
        return mask_id_numbers_in_text(str(case.evidence.get("summary", "")))


class DecidedCaseSerializer(CaseRowSerializer):
    decided_by = serializers.CharField(
        source="decided_by.display_name", allow_null=True, default=None, help_text="处理人（审批人）姓名"
    )

    class Meta(CaseRowSerializer.Meta):
        fields = [*CaseRowSerializer.Meta.fields, "decision", "decided_by", "decided_at"]


class CasePersonSerializer(serializers.ModelSerializer[Person]):
    """A person of the case as the case page shows them: the full number (the view is audited)."""

    sex_name = serializers.CharField(source="sex.name")
    ethnicity_name = serializers.CharField(source="ethnicity.name")
    registration_unit = UnitRefSerializer()
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = Person
        fields = [
            "id",
            "id_number",
            "name",
            "sex",
            "sex_name",
            "ethnicity",
            "ethnicity_name",
            "birth_date",
            "registration_unit",
            "household_no",
            "address",
            "status",
            "status_label",
        ]


class CaseChangeSerializer(serializers.ModelSerializer[ChangeRequest]):
    item_label = serializers.CharField(source="get_item_display")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = ChangeRequest
        fields = ["id", "item", "item_label", "person", "status", "status_label", "requested_at"]


class CaseSerializer(DecidedCaseSerializer):
    """One case with its evidence and the people in full (audited `dataquality.case.view`)."""

    evidence = serializers.JSONField(
        help_text="扫描记录的证据：summary、errors（号码问题 code/message）、people（扫描时的人员情况）、"
        "score（人像相似度）、reopened（复查说明）等"
    )
    last_run = serializers.IntegerField(source="last_run_id", allow_null=True, help_text="最近一次扫描")
    people = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()
    can_decide = serializers.SerializerMethodField(help_text="调用者可处理此线索")

    class Meta(DecidedCaseSerializer.Meta):
        fields = [
            *DecidedCaseSerializer.Meta.fields,
            "evidence",
            "last_run",
            "people",
            "changes",
            "can_decide",
        ]

    def get_id_number(self, case: Case) -> str:
        return case.id_number

    def get_summary(self, case: Case) -> str:
        return str(case.evidence.get("summary", ""))

    @extend_schema_field(CasePersonSerializer(many=True))
    def get_people(self, case: Case) -> list[Any]:
        return list(CasePersonSerializer(selectors.case_people(case), many=True).data)

    @extend_schema_field(CaseChangeSerializer(many=True))
    def get_changes(self, case: Case) -> list[Any]:
        return list(CaseChangeSerializer(selectors.case_changes(case), many=True).data)

    def get_can_decide(self, case: Case) -> bool:
        return selectors.case_decidable(self.context["viewer"], case)


class ChangeRequestPersonSerializer(serializers.ModelSerializer[Person]):
    id_number = serializers.SerializerMethodField(help_text="公民身份号码（列表中脱敏）")
    registration_unit = UnitRefSerializer()

    class Meta:
        model = Person
        fields = ["id", "id_number", "name", "registration_unit"]

    def get_id_number(self, person: Person) -> str:
        return person.id_number if self.context.get("full") else mask_id_number(person.id_number)


class ChangeRequestRowSerializer(serializers.ModelSerializer[ChangeRequest]):
    """A correction request in a list: numbers masked (the person's, and the old and new values
    of a number correction)."""

    item_label = serializers.CharField(source="get_item_display")
    status_label = serializers.CharField(source="get_status_display")
    person = serializers.SerializerMethodField()
    old_value = serializers.SerializerMethodField(help_text="原值（号码类列表中脱敏）")
    new_value = serializers.SerializerMethodField(help_text="新值（号码类列表中脱敏）")
    old_value_label = serializers.SerializerMethodField(help_text="原值的中文（民族、性别为名称）")
    new_value_label = serializers.SerializerMethodField(help_text="新值的中文（民族、性别为名称）")
    case = serializers.IntegerField(source="case_id", allow_null=True, help_text="关联线索")
    requested_by = serializers.CharField(source="requested_by.display_name", help_text="申请人姓名")
    decided_by = serializers.CharField(
        source="decided_by.display_name", allow_null=True, default=None, help_text="处理人（审批人）姓名"
    )

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "item",
            "item_label",
            "field",
            "person",
            "old_value",
            "new_value",
            "old_value_label",
            "new_value_label",
            "status",
            "status_label",
            "case",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
        ]

    def _full(self) -> bool:
        return False

    @extend_schema_field(ChangeRequestPersonSerializer)
    def get_person(self, change: ChangeRequest) -> dict[str, Any]:
        return dict(ChangeRequestPersonSerializer(change.person, context={"full": self._full()}).data)

    def _value(self, change: ChangeRequest, value: str) -> str:
        return value if self._full() or change.field != "id_number" else mask_id_number(value)

    def get_old_value(self, change: ChangeRequest) -> str:
        return self._value(change, change.old_value)

    def get_new_value(self, change: ChangeRequest) -> str:
        return self._value(change, change.new_value)

    def get_old_value_label(self, change: ChangeRequest) -> str:
        return item_value_label(change.field, self._value(change, change.old_value))

    def get_new_value_label(self, change: ChangeRequest) -> str:
        return item_value_label(change.field, self._value(change, change.new_value))


class ChangeRequestSerializer(ChangeRequestRowSerializer):
    """One request in full: numbers unmasked (the view is audited `dataquality.change.view`)."""

    can_decide = serializers.SerializerMethodField(help_text="调用者可审批此申请")

    class Meta(ChangeRequestRowSerializer.Meta):
        fields = [
            *ChangeRequestRowSerializer.Meta.fields,
            "reason",
            "evidence",
            "decision_note",
            "can_decide",
        ]

    def _full(self) -> bool:
        return True

    def get_can_decide(self, change: ChangeRequest) -> bool:
        return selectors.change_decidable(self.context["viewer"], change)


class ScanRunSerializer(serializers.ModelSerializer[ScanRun]):
    unit = UnitRefSerializer(help_text="扫描范围")
    kind_labels = serializers.ListField(child=serializers.CharField())
    status_label = serializers.CharField(source="get_status_display")
    percent = serializers.IntegerField(help_text="进度（%），已完成为 100")
    found = serializers.DictField(child=serializers.IntegerField(), help_text="{类别: 发现问题数}")
    stats = serializers.DictField(
        child=serializers.JSONField(), help_text="各阶段统计（如人像检索次数、用时）"
    )
    started_by = serializers.CharField(
        source="started_by.display_name", allow_null=True, default=None, help_text="发起人姓名"
    )

    class Meta:
        model = ScanRun
        fields = [
            "id",
            "unit",
            "kinds",
            "kind_labels",
            "status",
            "status_label",
            "stage",
            "percent",
            "total_rows",
            "processed_rows",
            "found",
            "stats",
            "started_by",
            "started_at",
            "updated_at",
            "finished_at",
            "seconds",
            "error",
        ]


class AddressPersonSerializer(serializers.ModelSerializer[Person]):
    id_number = serializers.SerializerMethodField(help_text="公民身份号码（脱敏）")

    class Meta:
        model = Person
        fields = ["id", "id_number", "name"]

    def get_id_number(self, person: Person) -> str:
        return mask_id_number(person.id_number)


class AddressMatchSerializer(serializers.ModelSerializer[AddressMatch]):
    """A register address against the house-number register (住址规范)."""

    person = AddressPersonSerializer()
    unit = UnitRefSerializer(help_text="户籍派出所")
    standard = serializers.SerializerMethodField(help_text="建议的规范地址（民政门牌）；无则为 null")
    status_label = serializers.CharField(source="get_status_display")

    class Meta:
        model = AddressMatch
        fields = ["id", "person", "unit", "address", "standard", "status", "status_label", "decided_at"]

    @extend_schema_field(
        inline_serializer(
            "StandardAddress", fields={"code": serializers.CharField(), "address": serializers.CharField()}
        )
    )
    def get_standard(self, match: AddressMatch) -> dict[str, str] | None:
        standard = match.standard
        return {"code": standard.code, "address": standard.address} if standard is not None else None


# ---------------------------------------------------------------------------------------------
# Input

STATUS_ALL = "all"


class PageQuery(serializers.Serializer):
    after = serializers.IntegerField(required=False, min_value=1, help_text="上一页的 next_after")


class CasesQuery(PageQuery):
    kind = serializers.ChoiceField(
        choices=Case.Kind.choices, required=False, allow_blank=True, help_text="类别；不填或空为全部"
    )
    status = serializers.ChoiceField(
        choices=Case.Status.choices,
        required=False,
        allow_blank=True,
        default=Case.Status.OPEN.value,
        help_text="状态；不传为 open 待处理，传空为全部",
    )
    unit = serializers.CharField(
        max_length=12, required=False, allow_blank=True, help_text="责任单位代码（含下级）"
    )


class ChangesQuery(PageQuery):
    status = serializers.ChoiceField(
        choices=[*ChangeRequest.Status.choices, (STATUS_ALL, "全部")],
        required=False,
        allow_blank=True,
        default=ChangeRequest.Status.PENDING.value,
        help_text="pending 待审批（不填或空时）/ approved 已批准 / refused 不予批准 / all 全部",
    )


class AddressesQuery(PageQuery):
    unit = serializers.CharField(
        max_length=12, required=False, allow_blank=True, help_text="户籍派出所代码（含下级）；不填为全部"
    )
    status = serializers.ChoiceField(
        choices=AddressMatch.Status.choices,
        required=False,
        allow_blank=True,
        help_text="standard 已规范 / proposed 待确认 / unmatched 未匹配 / accepted 已采用 / rejected 不采用；"
        "不填为全部",
    )


class CaseDecisionRequest(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in services.DECISIONS],
        help_text="resolved 已处理 / false_positive 误报",
    )
    note = serializers.CharField(max_length=2000, help_text="处理意见：已处理写明处理方式，误报写明理由")


ITEM_HELP = "；".join(f"{code} {ChangeItem(code).label}" for code in ITEM_FIELDS)


class ChangeCreateRequest(serializers.Serializer):
    person = serializers.IntegerField(min_value=1, help_text="人员 id（本辖区）")
    item = serializers.ChoiceField(
        choices=[(c, ChangeItem(c).label) for c in ITEM_FIELDS], help_text=ITEM_HELP
    )
    new_value = serializers.CharField(
        max_length=100,
        help_text="号码 18 位；出生日期 YYYY-MM-DD；民族为 GB 3304 代码或名称（01 或 汉族）；"
        "性别为 1 男、2 女（或 男、女）",
    )
    reason = serializers.CharField(max_length=2000, help_text="申请理由")
    evidence = serializers.CharField(max_length=2000, help_text="证明材料名称、编号")
    case = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="所处理的线索 id")


class ChangeDecisionRequest(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true 批准 / false 不予批准")
    note = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        default="",
        help_text="审批意见；不予批准须写明理由",
    )


class ScanRequest(serializers.Serializer):
    unit = serializers.CharField(max_length=12, help_text="扫描范围：本单位或下级单位的代码")
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=SCAN_KIND_CHOICES),
        min_length=1,
        help_text="扫描项目：duplicate_number 重号 / wrong_number 错号 / "
        "double_by_name 疑似一人多户（姓名）/ double_by_face 疑似一人多户（人像比对）/ households 户口核对",
    )


class AddressDecisionRequest(serializers.Serializer):
    accept = serializers.BooleanField(help_text="true 采用规范地址（更正登记住址，留痕）/ false 保留登记住址")


def _renamed(error: ServiceError, names: dict[str, str]) -> ServiceError:
    """The service's refusal with its fields named as the request names them."""
    fields = {names.get(name, name): message for name, message in error.fields.items()}
    return ServiceError(error.code, error.message, fields=fields, status=error.status)


# ---------------------------------------------------------------------------------------------
# Views


class CasesView(APIView):
    @extend_schema(
        summary="数据清理线索清单（本辖区，号码脱敏）",
        parameters=[CasesQuery],
        responses=page_of(
            "DataqualityCasePage", CaseRowSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "dataquality.view")
        query = query_of(CasesQuery, request)
        data = query
        filters = selectors.CaseFilters(
            kind=data.get("kind", ""), status=data["status"], unit_code=data.get("unit", "")
        )
        page = selectors.cases_page(viewer, filters, after=data.get("after"))
        return Response(page_answer(page, CaseRowSerializer(page.rows, many=True).data))


class CaseDetailView(APIView):
    @extend_schema(summary="线索详情：证据与涉及人员（完整号码，查看留痕）", responses=CaseSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "dataquality.view")
        case = selectors.case_get(viewer, pk)
        services.case_open(viewer=viewer, case=case, how="api")
        return Response(CaseSerializer(case, context={"viewer": viewer}).data)


class CaseDecideView(APIView):
    @extend_schema(
        request=CaseDecisionRequest,
        responses=DecidedCaseSerializer,
        summary="处理线索：已处理或误报（须写明意见；每条线索只处理一次）",
    )
    @errors("already_decided")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "dataquality.decide")
        form = CaseDecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            case = services.case_decide(
                actor=actor,
                case_id=pk,
                status=form.validated_data["status"],
                decision=form.validated_data["note"],
            )
        except ServiceError as error:
            raise _renamed(error, {"decision": "note"}) from error
        return Response(DecidedCaseSerializer(case).data)


class ChangesView(APIView):
    @extend_schema(
        summary="变更更正申请列表（本辖区人员，号码脱敏）",
        parameters=[ChangesQuery],
        responses=page_of(
            "DataqualityChangePage", ChangeRequestRowSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "dataquality.view")
        query = query_of(ChangesQuery, request)
        status = query["status"] or ChangeRequest.Status.PENDING.value
        page = selectors.changes_page(
            viewer, "" if status == STATUS_ALL else status, after=query.get("after")
        )
        return Response(page_answer(page, ChangeRequestRowSerializer(page.rows, many=True).data))

    @extend_schema(
        request=ChangeCreateRequest,
        responses={201: ChangeRequestSerializer},
        summary="提出变更更正申请（审批前不改登记）",
    )
    @errors("not_duplicate", "not_found", "pending_exists")
    def post(self, request: Request) -> Response:
        actor = staff(request)
        require(actor, "dataquality.request")
        form = ChangeCreateRequest(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        change = services.change_request_create(
            actor=actor,
            person_id=data["person"],
            item=data["item"],
            new_value=data["new_value"],
            reason=data["reason"],
            evidence=data["evidence"],
            case_id=data.get("case"),
        )
        change = selectors.change_get(actor, change.pk)
        return Response(ChangeRequestSerializer(change, context={"viewer": actor}).data, status=201)


class ChangeDetailView(APIView):
    @extend_schema(summary="变更更正申请详情（完整号码，查看留痕）", responses=ChangeRequestSerializer)
    def get(self, request: Request, pk: int) -> Response:
        viewer = staff(request)
        require(viewer, "dataquality.view")
        change = selectors.change_get(viewer, pk)
        services.change_open(viewer=viewer, change=change, how="api")
        return Response(ChangeRequestSerializer(change, context={"viewer": viewer}).data)


class ChangeDecideView(APIView):
    @extend_schema(
        request=ChangeDecisionRequest,
        responses=ChangeRequestSerializer,
        summary="审批变更更正申请（分县局及以上；不能审批本人申请；批准即生效）",
    )
    @errors("not_authorised", "own_request", "already_decided", "stale")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "dataquality.approve")
        form = ChangeDecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        services.change_request_decide(
            actor=actor,
            request_id=pk,
            approve=form.validated_data["approve"],
            note=form.validated_data["note"],
        )
        change = selectors.change_get(actor, pk)
        return Response(ChangeRequestSerializer(change, context={"viewer": actor}).data)


class RunsView(APIView):
    @extend_schema(
        summary="数据清理扫描记录（本辖区，含进度）",
        parameters=[PageQuery],
        responses=page_of(
            "DataqualityRunPage", ScanRunSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "dataquality.view")
        query = query_of(PageQuery, request)
        page = selectors.runs_page(viewer, after=query.get("after"))
        return Response(page_answer(page, ScanRunSerializer(page.rows, many=True).data))

    @extend_schema(
        request=ScanRequest,
        responses={202: JobSerializer},
        summary="扫描本辖区：提交后台任务（范围不限，可中断续扫），进度见 GET /jobs/{id}",
    )
    @errors("not_found")
    def post(self, request: Request) -> Response:
        actor = staff(request)
        require(actor, "dataquality.decide")
        form = ScanRequest(data=request.data)
        form.is_valid(raise_exception=True)
        job = services.scan_request(
            actor=actor,
            unit_code=form.validated_data["unit"],
            kinds=form.validated_data["kinds"],
        )
        return Response(JobSerializer(job_get(actor, job.pk)).data, status=202)


class AddressesView(APIView):
    @extend_schema(
        summary="住址规范：登记住址与民政门牌的比对（本辖区，号码脱敏），按编号顺序，每页 100 条",
        parameters=[AddressesQuery],
        responses=page_of(
            "DataqualityAddressPage", AddressMatchSerializer(many=True), cursor=serializers.IntegerField
        ),
    )
    def get(self, request: Request) -> Response:
        viewer = staff(request)
        require(viewer, "dataquality.view")
        query = query_of(AddressesQuery, request)
        data = query
        page = selectors.address_page(
            AddressMatch.objects.visible_to(viewer),
            unit_code=data.get("unit", ""),
            status=data.get("status", ""),
            after=data.get("after"),
        )
        return Response(page_answer(page, AddressMatchSerializer(page.rows, many=True).data))


class AddressDecideView(APIView):
    @extend_schema(
        request=AddressDecisionRequest,
        responses=AddressMatchSerializer,
        summary="确认住址规范：采用建议的规范地址（更正登记住址，留痕）或保留登记住址",
    )
    @errors("not_proposed", "stale")
    def post(self, request: Request, pk: int) -> Response:
        actor = staff(request)
        require(actor, "dataquality.request")
        form = AddressDecisionRequest(data=request.data)
        form.is_valid(raise_exception=True)
        match = services.address_match_decide(actor=actor, match_id=pk, accept=form.validated_data["accept"])
        match = (
            AddressMatch.objects.visible_to(actor)
            .select_related("person", "unit", "standard")
            .get(pk=match.pk)
        )
        return Response(AddressMatchSerializer(match).data)
