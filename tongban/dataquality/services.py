"""Writes of the clean-up: deciding a case, filing and deciding corrections. Scans write cases
through `scan.save_findings`."""

from __future__ import annotations

import csv
import datetime
import functools
from collections.abc import Sequence
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from tongban.audit.actions import AuditAction
from tongban.audit.services import record
from tongban.core import idnumber, regions
from tongban.core.errors import ServiceError
from tongban.core.masking import mask_id_number
from tongban.dataquality import addresses, scan
from tongban.dataquality.models import (
    ITEM_FIELDS,
    NUMBER_SEXES,
    AddressMatch,
    Case,
    CasePerson,
    ChangeRequest,
    StandardAddress,
)
from tongban.dataquality.selectors import APPROVING_KINDS
from tongban.jobs.models import JobRun
from tongban.jobs.services import job_start
from tongban.registry.access import Viewer
from tongban.registry.models import (
    Card,
    ChangeItem,
    Ethnicity,
    NumberRedirect,
    Person,
    PersonChange,
    Sex,
    Unit,
)

DECISIONS = (Case.Status.RESOLVED, Case.Status.FALSE_POSITIVE)
# Registered items the ID number encodes (GB 11643: digits 7–14 the birth date, 17 the sex).
NUMBER_FACTS = ("birth_date", "sex")


def case_open(*, viewer: Viewer, case: Case, how: str) -> None:
    """Record that a case's evidence was shown (`how`: "page", "api"): it names people with their
    numbers, so showing it is a view of personal data."""
    record(
        actor=viewer,
        action=AuditAction.DATAQUALITY_CASE_VIEW,
        object_type="dataquality.case",
        object_id=case.pk,
        detail={"how": how},
    )


def change_open(*, viewer: Viewer, change: ChangeRequest, how: str) -> None:
    """Record that a correction request, with the person's full number, was shown."""
    record(
        actor=viewer,
        action=AuditAction.DATAQUALITY_CHANGE_VIEW,
        object_type="dataquality.changerequest",
        object_id=change.pk,
        detail={"how": how},
    )


@transaction.atomic
def case_decide(*, actor: Viewer, case_id: int, status: str, decision: str) -> Case:
    """Record the decision on an open case: 已处理 (what was done, e.g. the correction request
    filed) or 误报 (why it is not a problem). Never edits the register. One decision per case:
    a second clerk deciding at the same time finds the case already decided."""
    case = Case.objects.visible_to(actor, "dataquality.decide").select_for_update().filter(pk=case_id).first()
    if case is None:
        raise ServiceError("not_found", "未找到该线索。", status=404)
    decision = decision.strip()
    errors: dict[str, str] = {}
    if status not in DECISIONS:
        errors["status"] = "请选择“已处理”或“误报”。"
    if not decision:
        errors["decision"] = "请填写处理意见（已处理：写明处理方式；误报：写明理由）。"
    if errors:
        raise ServiceError("invalid", "处理意见不完整。", fields=errors)
    if case.status != Case.Status.OPEN:
        when = f"{case.decided_at:%Y-%m-%d %H:%M}"
        raise ServiceError("already_decided", f"该线索已于 {when} 处理。", status=409)
    case.status, case.decision = status, decision
    case.decided_by_id = actor.pk
    case.decided_at = timezone.now()
    case.save(update_fields=["status", "decision", "decided_by", "decided_at", "updated_at"])
    record(
        actor=actor,
        action=AuditAction.DATAQUALITY_CASE_DECIDE,
        object_type="dataquality.case",
        object_id=case.pk,
        detail={"kind": case.kind, "status": status},
    )
    return case


# ---------------------------------------------------------------------------------------------
# Corrections with approval


def _value_of(person: Person, field: str) -> str:
    if field == "birth_date":
        return person.birth_date.isoformat()
    if field == "ethnicity":
        return person.ethnicity_id
    if field == "sex":
        return person.sex_id
    return str(getattr(person, field))


def _code_of(table: type[Ethnicity] | type[Sex], value: str, codes: tuple[str, ...] = ()) -> str | None:
    """An active code of a code table, given as its code (01, 1) or its name (汉族, 汉, 女)."""
    rows = table.objects.filter(active=True)
    if codes:
        rows = rows.filter(code__in=codes)
    names = {code: name for code, name in rows.values_list("code", "name")}
    code = value.zfill(2) if table is Ethnicity and value.isdigit() else value
    if code in names:
        return code
    for code, name in names.items():
        if value in (name, name.removesuffix("族")):
            return code
    return None


def _check_new_value(person: Person, item: str, raw: str) -> str:
    """The new value in its stored form, or ServiceError naming the field."""
    field = ITEM_FIELDS[item]
    value = raw.strip()

    def refuse(message: str) -> ServiceError:
        return ServiceError("invalid", message, fields={"new_value": message})

    if not value:
        raise refuse("请填写新值。")
    if field == "id_number":
        info = idnumber.parse(value)
        if not info.valid or info.normalized is None:
            raise refuse("新号码无效：" + "；".join(e.message for e in info.errors))
        value = info.normalized
        if info.birth_date != person.birth_date or info.sex != person.sex_id:
            raise refuse("新号码的出生日期或性别与登记不一致（如需更正出生日期，请先申请更正出生日期）。")
        if Person.objects.filter(id_number=value).exists():
            raise refuse("新号码已登记给其他人员，不能使用。")
        if NumberRedirect.objects.filter(old_number=value).exists():
            raise refuse("新号码曾是他人的原号码，不能再次使用。")
    elif field == "birth_date":
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise refuse("出生日期应为 YYYY-MM-DD。") from None
        if day > timezone.localdate() or day.year < idnumber.EARLIEST_BIRTH_YEAR:
            raise refuse("出生日期不合理。")
        value = day.isoformat()
    elif field == "ethnicity":
        code = _code_of(Ethnicity, value)
        if code is None:
            raise refuse("请从民族列表（GB 3304）中选择。")
        value = code
    elif field == "sex":
        code = _code_of(Sex, value, NUMBER_SEXES)
        if code is None:
            raise refuse("性别应为“男”或“女”。")
        value = code
    elif len(value) > 50:
        raise refuse("姓名过长。")
    if value == _value_of(person, field):
        raise refuse("新值与现登记内容相同。")
    return value


def _request_error(item: str, person: Person) -> ServiceError | None:
    if item == ChangeItem.DUPLICATE_NUMBER and Person.objects.filter(id_number=person.id_number).count() < 2:
        return ServiceError("not_duplicate", "该人员的号码不是重号，应申请“纠正错号”或其他更正项目。")
    return None


@transaction.atomic
def change_request_create(
    *,
    actor: Viewer,
    person_id: int,
    item: str,
    new_value: str,
    reason: str,
    evidence: str,
    case_id: int | None = None,
) -> ChangeRequest:
    """File a correction (变更更正申请) for a person of the actor's subtree. Nothing changes in
    the register until an authorised approver approves it."""
    if not actor.can("dataquality.request"):
        raise ServiceError("not_found", "未找到该人员。", status=404)
    person = Person.objects.visible_to(actor, "person.view").filter(pk=person_id).first()
    if person is None:
        raise ServiceError("not_found", "未找到该人员。", status=404)
    if item not in ITEM_FIELDS:
        raise ServiceError("invalid", "请选择更正项目。", fields={"item": "请选择更正项目。"})
    errors: dict[str, str] = {}
    if not reason.strip():
        errors["reason"] = "请填写申请理由。"
    if not evidence.strip():
        errors["evidence"] = "请列明证明材料。"
    if errors:
        raise ServiceError("invalid", "申请不完整。", fields=errors)
    refusal = _request_error(item, person)
    if refusal is not None:
        raise refusal
    value = _check_new_value(person, item, new_value)
    field = ITEM_FIELDS[item]
    case = None
    if case_id is not None:
        case = Case.objects.visible_to(actor).filter(pk=case_id, links__person_id=person.pk).first()
        if case is None:
            raise ServiceError("invalid", "关联线索不存在或不涉及该人员。", fields={"case": "关联线索无效。"})
    if ChangeRequest.objects.filter(person=person, field=field, status=ChangeRequest.Status.PENDING).exists():
        raise ServiceError("pending_exists", "该人员该项目已有待审批的申请。", status=409)
    change = ChangeRequest.objects.create(
        item=item,
        person=person,
        field=field,
        old_value=_value_of(person, field),
        new_value=value,
        reason=reason.strip(),
        evidence=evidence.strip(),
        case=case,
        requested_by_id=actor.pk,
    )
    record(
        actor=actor,
        action=AuditAction.DATAQUALITY_CHANGE_REQUEST,
        object_type="dataquality.changerequest",
        object_id=change.pk,
        detail={"item": item, "person": person.pk},
    )
    return change


@transaction.atomic
def change_request_decide(
    *,
    actor: Viewer,
    request_id: int,
    approve: bool,
    note: str,
) -> ChangeRequest:
    """Approve (the change takes effect: register updated, history kept, old number pointing to
    the new one, a 换领 case when a valid card carries the old number) or refuse. Only a county
    bureau or a level above over the person's station; never the requester; one decision."""
    change = (
        ChangeRequest.objects.visible_to(actor, "dataquality.approve")
        .select_for_update()
        .filter(pk=request_id)
        .first()
    )
    if change is None:
        raise ServiceError("not_found", "未找到该申请。", status=404)
    if actor.unit is None or actor.unit.kind not in APPROVING_KINDS:
        raise ServiceError("not_authorised", "变更更正须由分县局及以上审批。", status=403)
    if change.requested_by_id == actor.pk:
        raise ServiceError("own_request", "不能审批本人提出的申请。", status=403)
    if change.status != ChangeRequest.Status.PENDING:
        raise ServiceError("already_decided", f"该申请已{change.get_status_display()}。", status=409)
    note = note.strip()
    if not note and not approve:
        raise ServiceError("invalid", "不予批准须写明理由。", fields={"note": "请写明理由。"})
    change.status = ChangeRequest.Status.APPROVED if approve else ChangeRequest.Status.REFUSED
    change.decided_by_id = actor.pk
    change.decided_at = timezone.now()
    change.decision_note = note
    detail: dict[str, object] = {"item": change.item, "approve": approve}
    if approve:
        detail |= _apply(change, actor)
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record(
        actor=actor,
        action=AuditAction.DATAQUALITY_CHANGE_DECIDE,
        object_type="dataquality.changerequest",
        object_id=change.pk,
        detail=detail,
    )
    return change


def _apply(change: ChangeRequest, actor: Viewer) -> dict[str, object]:
    person = Person.objects.select_for_update().get(pk=change.person_id)
    if _value_of(person, change.field) != change.old_value:
        raise ServiceError("stale", "登记内容在申请后已变更，请重新申请。", status=409)
    if change.field == "id_number":
        _check_new_value(person, change.item, change.new_value)  # still free, still agreeing
        person.id_number = change.new_value
    elif change.field == "birth_date":
        person.birth_date = datetime.date.fromisoformat(change.new_value)
    elif change.field == "ethnicity":
        person.ethnicity_id = change.new_value
    elif change.field == "sex":
        person.sex_id = change.new_value
    else:
        person.name = change.new_value
    person.save(update_fields=[change.field, "updated_at"])
    history = PersonChange.objects.create(
        person=person,
        field=change.field,
        old_value=change.old_value,
        new_value=change.new_value,
        item=change.item,
        reference=f"变更更正申请 #{change.pk}",
        approved_by=actor.username,
    )
    applied: dict[str, object] = {"person": person.pk, "change": history.pk}
    if change.field in NUMBER_FACTS:
        # The number encodes the birth date and the sex: checked again at once, so a number that
        # now disagrees is a 错号 case at the station (to be corrected with 12), not left to the
        # next scan; one that now agrees leaves its open case for people to close.
        reopened = scan.recheck_numbers([person.pk])
        if reopened:
            applied["wrong_number_case"] = reopened[0]
    if change.field == "id_number":
        NumberRedirect.objects.create(
            old_number=change.old_value, new_number=change.new_value, person=person, change=history
        )
        card = Card.objects.filter(person=person, state=Card.State.ACTIVE).first()
        if card is not None:
            renewal = Case.objects.create(
                kind=Case.Kind.CARD_RENEWAL,
                key=f"change:{change.pk}",
                unit_id=person.registration_unit_id,
                id_number=change.new_value,
                evidence={
                    "summary": "公民身份号码已更正，现持有效证件载有原号码，须通知本人办理换领",
                    "card_id": card.pk,
                    "change_request": change.pk,
                    "old_number": mask_id_number(change.old_value),
                },
            )
            CasePerson.objects.create(case=renewal, person=person)
            applied["renewal_case"] = renewal.pk
    return applied


# ---------------------------------------------------------------------------------------------
# Addresses: the civil-affairs house-number register (民政地名门牌)

ADDRESS_COLUMNS = ("code", "region_code", "address")


@functools.lru_cache(maxsize=4096)
def _prefixes(region_code: str) -> tuple[str, ...]:
    """The province, city and county names an address may start with."""
    names = [
        regions.name_for(region_code[:2] + "0000"),
        regions.name_for(region_code[:4] + "00"),
        regions.name_for(region_code),
    ]
    return tuple(n for n in names if n and n not in {"市辖区", "县"})


def address_key(address: str, region_code: str) -> str:
    return addresses.normalise(address, drop_prefixes=_prefixes(region_code))


def addresses_import(*, path: Path, actor: Viewer | None, encoding: str = "utf-8-sig") -> dict[str, int]:
    """Load (or refresh, by 门牌编码) the house-number register from its CSV; rows with an
    unknown county code or an empty address are skipped and counted."""
    counts = {"imported": 0, "updated": 0, "skipped": 0}
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ADDRESS_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ServiceError(
                "bad_file", f"文件缺少列：{', '.join(missing)}（应为 {','.join(ADDRESS_COLUMNS)}）"
            )
        batch: list[dict[str, str]] = []
        for row in reader:
            batch.append({c: (row.get(c) or "").strip() for c in ADDRESS_COLUMNS})
            if len(batch) >= 2000:
                _import_addresses(batch, counts)
                batch = []
        _import_addresses(batch, counts)
    record(
        actor=actor,
        action=AuditAction.DATAQUALITY_ADDRESSES_IMPORT,
        object_type="file",
        object_id=path.name[:64],
        detail=counts,
    )
    return counts


@transaction.atomic
def _import_addresses(rows: list[dict[str, str]], counts: dict[str, int]) -> None:
    good = [
        r
        for r in rows
        if r["code"] and r["address"] and len(r["region_code"]) == 6 and regions.entries_for(r["region_code"])
    ]
    counts["skipped"] += len(rows) - len(good)
    existing = {a.code: a for a in StandardAddress.objects.filter(code__in=[r["code"] for r in good])}
    new, changed = [], []
    for r in good:
        key = address_key(r["address"], r["region_code"])
        current = existing.get(r["code"])
        if current is None:
            new.append(
                StandardAddress(code=r["code"], region_code=r["region_code"], address=r["address"], key=key)
            )
        elif (current.region_code, current.address) != (r["region_code"], r["address"]):
            current.region_code, current.address, current.key = r["region_code"], r["address"], key
            changed.append(current)
    StandardAddress.objects.bulk_create(new, batch_size=2000)
    StandardAddress.objects.bulk_update(changed, ["region_code", "address", "key"], batch_size=2000)
    counts["imported"] += len(new)
    counts["updated"] += len(changed)


def addresses_match(*, unit: Unit, actor: Viewer | None = None) -> dict[str, int]:
    """Match the addresses of the normal people of `unit`'s subtree to the house-number register.
    An address whose key equals a standard address's is 已规范 when spelt the same, else a
    proposal (待确认) for the station; no equal key is 未匹配. Decided proposals stay decided
    while the person's address is unchanged."""
    people = Person.objects.filter(status=Person.Status.NORMAL)
    if unit.parent_id is not None:
        people = people.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))
    else:  # the whole register: our population, without 外省户籍人员
        people = people.residents()
    counts = dict.fromkeys(AddressMatch.Status.values, 0)
    standards: dict[str, dict[str, StandardAddress]] = {}
    rows = people.order_by("pk").values_list("pk", "address", "region_code", "registration_unit_id")
    batch: list[tuple[int, str, str, int]] = []
    for row in rows.iterator(chunk_size=5000):
        batch.append(row)
        if len(batch) >= 5000:
            _match_batch(batch, standards, counts)
            batch = []
    _match_batch(batch, standards, counts)
    record(
        actor=actor,
        action=AuditAction.DATAQUALITY_ADDRESSES_MATCH,
        object_type="unit",
        object_id=unit.code,
        detail=counts,
    )
    return counts


@transaction.atomic
def _match_batch(
    rows: list[tuple[int, str, str, int]],
    standards: dict[str, dict[str, StandardAddress]],
    counts: dict[str, int],
) -> None:
    existing = {m.person_id: m for m in AddressMatch.objects.filter(person_id__in=[r[0] for r in rows])}
    new, changed = [], []
    for pk, address, region, unit_id in rows:
        if region not in standards:
            standards[region] = {a.key: a for a in StandardAddress.objects.filter(region_code=region)}
        standard = standards[region].get(address_key(address, region))
        if standard is None:
            status = AddressMatch.Status.UNMATCHED
        elif standard.address == address:
            status = AddressMatch.Status.STANDARD
        else:
            status = AddressMatch.Status.PROPOSED
        match = existing.get(pk)
        if match is None:
            new.append(
                AddressMatch(person_id=pk, unit_id=unit_id, address=address, standard=standard, status=status)
            )
        elif match.status in (AddressMatch.Status.ACCEPTED, AddressMatch.Status.REJECTED) and (
            match.address == address or status == AddressMatch.Status.STANDARD
        ):
            status = AddressMatch.Status(match.status)  # decided, and nothing new to propose
        else:
            match.unit_id, match.address, match.standard, match.status = unit_id, address, standard, status
            changed.append(match)
        counts[status] += 1
    AddressMatch.objects.bulk_create(new, batch_size=2000)
    AddressMatch.objects.bulk_update(
        changed, ["unit", "address", "standard", "status", "updated_at"], batch_size=2000
    )


@transaction.atomic
def address_match_decide(*, actor: Viewer, match_id: int, accept: bool) -> AddressMatch:
    """Adopt the standard address (a correction with its history: PersonChange of `address`) or
    keep the registered one. Staff who may file corrections decide, for their own subtree."""
    if not actor.can("dataquality.request"):
        raise ServiceError("not_found", "未找到该匹配。", status=404)
    match = (
        AddressMatch.objects.visible_to(actor)
        .select_for_update(of=("self",))
        .select_related("standard")
        .filter(pk=match_id)
        .first()
    )
    if match is None:
        raise ServiceError("not_found", "未找到该匹配。", status=404)
    if match.status != AddressMatch.Status.PROPOSED or match.standard is None:
        raise ServiceError("not_proposed", "该住址没有待确认的规范地址。", status=409)
    person = Person.objects.select_for_update().get(pk=match.person_id)
    if person.address != match.address:
        raise ServiceError("stale", "登记住址已变更，请重新匹配。", status=409)
    detail: dict[str, object] = {"accept": accept, "person": person.pk}
    if accept:
        history = PersonChange.objects.create(
            person=person,
            field="address",
            old_value=person.address[:100],
            new_value=match.standard.address[:100],
            item="address",
            reference=f"民政门牌 {match.standard.code}"[:60],
            approved_by=actor.username,
        )
        person.address = match.standard.address
        person.save(update_fields=["address", "updated_at"])
        match.address = person.address
        detail["change"] = history.pk
    match.status = AddressMatch.Status.ACCEPTED if accept else AddressMatch.Status.REJECTED
    match.decided_by_id = actor.pk
    match.decided_at = timezone.now()
    match.save(update_fields=["address", "status", "decided_by", "decided_at", "updated_at"])
    record(
        actor=actor,
        action=AuditAction.DATAQUALITY_ADDRESS_DECIDE,
        object_type="dataquality.addressmatch",
        object_id=match.pk,
        detail=detail,
    )
    return match


# ---------------------------------------------------------------------------------------------
# A scan started from the page or the API (扫描本辖区): a background job of any size


def scan_request(*, actor: Viewer, unit_code: str, kinds: Sequence[str]) -> JobRun:
    """Queue a scan of `unit_code`'s subtree (the actor's own or part of it) for `kinds`, in
    stage order; the job (`tongban.dataquality.jobs.scan`) reports its progress and resumes where
    it stopped. The command line (`tongban dataquality scan`) runs the same scan in the shell."""
    unit = (
        Unit.objects.visible_to(actor, "dataquality.decide")
        .administrative()
        .filter(code=unit_code.strip())
        .first()
    )
    if unit is None:
        raise ServiceError(
            "not_found", "未找到该单位。", fields={"unit": "请选择本辖区内的单位。"}, status=404
        )
    known = [kind for _, kind in scan.STAGES]
    chosen = [kind for kind in known if kind in kinds]
    if not chosen or len(chosen) != len(set(kinds)):
        raise ServiceError("invalid", "请选择扫描项目。", fields={"kinds": "请至少选择一项扫描项目。"})
    return job_start(
        actor=actor, kind="dataquality.scan", unit=unit, params={"unit": unit.code, "kinds": chosen}
    )
