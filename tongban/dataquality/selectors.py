"""Reads of the clean-up, always through the viewer's subtree: one scoped queryset per record."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404

from tongban.core import idnumber
from tongban.dataquality.models import AddressMatch, Case, ChangeRequest, ScanRun
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.models import Card, Person, Sex, Unit, item_value_label


def scan_units(viewer: Viewer) -> list[Unit]:
    """The units whose subtree the viewer may scan from the page: their own and every unit below
    it (production centres left out)."""
    units = Unit.objects.visible_to(viewer, "dataquality.decide").administrative()
    return list(units.only("pk", "code", "name", "path", "kind").order_by("path"))


@dataclass(frozen=True)
class CaseFilters:
    kind: str = ""
    status: str = Case.Status.OPEN.value
    unit_code: str = ""


def cases_page(
    viewer: Viewer, filters: CaseFilters, *, after: int | None = None, limit: int = 50
) -> Page[Case, int]:
    """The work list, newest first, keyset-paginated by primary key."""
    cases = Case.objects.visible_to(viewer).select_related("unit")
    if filters.kind:
        cases = cases.filter(kind=filters.kind)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.unit_code:
        unit = Unit.objects.filter(code=filters.unit_code).first()
        cases = cases.filter(unit__in=Unit.objects.subtree_ids(unit))
    return page_after(cases, ["-pk"], after, limit=limit)


def case_counts(viewer: Viewer) -> dict[str, dict[str, int]]:
    """{kind: {status: n}} over the viewer's subtree, for the summary table."""
    counts: dict[str, dict[str, int]] = {k: dict.fromkeys(Case.Status.values, 0) for k in Case.Kind.values}
    for row in Case.objects.visible_to(viewer).values("kind", "status").annotate(n=Count("pk")).order_by():
        counts[row["kind"]][row["status"]] = row["n"]
    return counts


def case_get(viewer: Viewer, pk: int) -> Case:
    case = Case.objects.visible_to(viewer).select_related("unit", "decided_by").filter(pk=pk).first()
    if case is None:
        raise Http404("未找到该线索")
    return case


def case_people(case: Case) -> list[Person]:
    return list(
        Person.objects.filter(pk__in=case.links.values("person_id"))
        .select_related("sex", "ethnicity", "registration_unit")
        .order_by("pk")
    )


HOUSEHOLD_KINDS = (Case.Kind.CENTENARIAN, Case.Kind.NO_HOUSEHOLD, Case.Kind.CANCELLED_WITH_CARD)


@dataclass(frozen=True)
class StationRow:
    unit: Unit
    cells: list[tuple[str, int]]  # (kind, open cases), in HOUSEHOLD_KINDS order
    total: int


def household_lists(viewer: Viewer) -> list[StationRow]:
    """Per station of the viewer's subtree, the open household checks of each kind (户口核对)."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Case.objects.visible_to(viewer)
        .filter(kind__in=HOUSEHOLD_KINDS, status=Case.Status.OPEN)
        .values("unit_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["unit_id"], {})[row["kind"]] = row["n"]
    units = Unit.objects.filter(pk__in=list(counts)).order_by("path")
    return [
        StationRow(
            unit=u,
            cells=[(k.value, counts[u.pk].get(k, 0)) for k in HOUSEHOLD_KINDS],
            total=sum(counts[u.pk].values()),
        )
        for u in units
    ]


# ---------------------------------------------------------------------------------------------
# Reads of the REST API (the pages' reads, keyset-paginated)


# The levels that approve a correction (seeds/003 §三 2(4), 1(4)): the county bureau (分县局)
# over its stations' people, the city bureau and the province above it. A station never approves.
APPROVING_KINDS = frozenset({Unit.Kind.COUNTY, Unit.Kind.CITY, Unit.Kind.PROVINCE})


def runs_page(viewer: Viewer, *, after: int | None = None, limit: int = 50) -> Page[ScanRun, int]:
    """Scan runs of the viewer's subtree, newest first."""
    runs = ScanRun.objects.visible_to(viewer).select_related("unit", "started_by")
    return page_after(runs, ["-pk"], after, limit=limit)


def address_page(
    matches: QuerySet[AddressMatch],
    *,
    unit_code: str = "",
    status: str = "",
    after: int | None = None,
    limit: int = 100,
) -> Page[AddressMatch, int]:
    """Address matches (住址规范) of a station (`unit_code`, its subtree) and a status, in id
    order; `matches` is the viewer's scoped queryset."""
    if unit_code:
        unit = Unit.objects.filter(code=unit_code).first()
        matches = matches.filter(unit__in=Unit.objects.subtree_ids(unit))
    if status:
        matches = matches.filter(status=status)
    return page_after(matches.select_related("person", "unit", "standard"), ["pk"], after, limit=limit)


def case_changes(case: Case) -> list[ChangeRequest]:
    """The correction requests filed for a case, newest first (as the case page lists them)."""
    return list(case.changes.order_by("-pk"))


def changes_page(
    viewer: Viewer, status: str = "", *, after: int | None = None, limit: int = 50
) -> Page[ChangeRequest, int]:
    """Correction requests for people registered in the viewer's subtree, newest first; `status`
    empty for all."""
    changes = ChangeRequest.objects.visible_to(viewer).select_related(
        "person", "person__registration_unit", "requested_by", "decided_by"
    )
    if status:
        changes = changes.filter(status=status)
    return page_after(changes, ["-pk"], after, limit=limit)


def change_get(viewer: Viewer, pk: int) -> ChangeRequest:
    change = (
        ChangeRequest.objects.visible_to(viewer)
        .select_related("person", "person__registration_unit", "requested_by", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if change is None:
        raise Http404("未找到该申请")
    return change


def case_decidable(viewer: Viewer, case: Case) -> bool:
    """Whether to offer the decision: the service still refuses a case decided meanwhile."""
    return viewer.can("dataquality.decide") and case.status == Case.Status.OPEN


def change_decidable(viewer: Viewer, change: ChangeRequest) -> bool:
    """Whether to offer the approval: a pending request of someone else, to an approver of a
    county bureau or above (the service decides; this only spares a refused click)."""
    return (
        viewer.can("dataquality.approve")
        and viewer.unit is not None
        and viewer.unit.kind in APPROVING_KINDS
        and change.status == ChangeRequest.Status.PENDING
        and change.requested_by_id != viewer.pk
    )


def number_sex_label(id_number: str) -> str:
    """The sex an ID number tells by its 17th digit (男/女), or "" when it tells none."""
    sex = idnumber.parse(id_number).sex
    return item_value_label("sex", sex) if sex else ""


def change_consequences(change: ChangeRequest) -> list[str]:
    """What approving a pending request brings with it, for the approver to read first."""
    if change.status != ChangeRequest.Status.PENDING:
        return []
    person = change.person
    info = idnumber.parse(person.id_number)
    notes: list[str] = []
    if change.field == "sex" and info.sex:
        told = item_value_label("sex", info.sex)
        if info.sex == change.new_value:
            notes.append(f"公民身份号码第17位表示“{told}”，与更正后的性别一致。")
        else:
            notes.append(
                f"公民身份号码第17位表示“{told}”，与更正后的性别不符：批准后该人员即列为错号线索，"
                "须再申请“纠正错号”重新编号；持有效证件的须办理换领。"
            )
    if change.field == "birth_date" and info.birth_date and info.birth_date.isoformat() != change.new_value:
        notes.append(
            "公民身份号码第7至14位（出生日期码）与更正后的出生日期不符：批准后该人员即列为错号线索，"
            "须再申请“纠正错号”重新编号；持有效证件的须办理换领。"
        )
    if change.field == "id_number" and Card.objects.filter(person=person, state=Card.State.ACTIVE).exists():
        notes.append("该人员持有效证件（载有原号码）：批准后列入“号码变更需换领”，须通知本人换领。")
    return notes


def evidence_people(case: Case) -> list[dict[str, object]]:
    """The people as the scan recorded them, their sex by name (the evidence keeps the code)."""
    people = case.evidence.get("people") or []
    names = dict(Sex.objects.values_list("code", "name"))
    return [{**p, "sex_label": names.get(str(p.get("sex", "")), "")} for p in people if isinstance(p, dict)]
