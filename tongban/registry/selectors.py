"""Reads from the register, always through the viewer's jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from tongban.core import idnumber
from tongban.core.errors import ServiceError
from tongban.listing import Page, page_after
from tongban.registry.access import Viewer
from tongban.registry.models import (
    Card,
    FloatingRegistration,
    NumberRedirect,
    Person,
    PersonChange,
    Unit,
    WantedPerson,
)

_PERSON_RELATED = ("sex", "ethnicity", "relation", "registration_unit")


def person_lookup(viewer: Viewer, raw_id_number: str) -> Person:
    """One person by exact ID number. Roles with `person.lookup` search the whole province
    (a clerk accepts people registered anywhere); others only their subtree. 404 otherwise;
    a number shared by several people (重号) is refused with ServiceError `duplicate_number`."""
    number = idnumber.canonical(raw_id_number)
    if viewer.can("person.lookup"):
        people = Person.objects.all()
    else:
        people = Person.objects.visible_to(viewer, "person.view")
    found = list(people.select_related(*_PERSON_RELATED).filter(id_number=number).order_by("pk")[:2])
    if len(found) > 1:
        # 重号: the number names several people until the correction is approved; acting on
        # either could issue a card to the wrong person.
        raise ServiceError(
            "duplicate_number",
            "该公民身份号码为重号（登记给多人），正在清理更正中，暂不能按号码办理；请联系户籍地公安机关。",
            fields={"id_number": "该号码为重号，正在更正中。"},
            status=409,
        )
    if not found:
        # An old number changed by an approved correction points to the person's new one.
        moved = list(
            people.select_related(*_PERSON_RELATED)
            .filter(pk__in=NumberRedirect.objects.filter(old_number=number).values("person_id"))
            .order_by("pk")[:2]
        )
        if len(moved) > 1:
            raise ServiceError(
                "number_changed",
                "该号码经重号更正已变更，原号码对应多人，请以新号码查询。",
                fields={"id_number": "原号码已变更，请以新号码查询。"},
                status=409,
            )
        found = moved
    if not found:
        raise Http404("未找到该公民身份号码对应的人员")
    return found[0]


def registered_name(id_number: str) -> str | None:
    """The name registered under a canonical number held by exactly one person, None otherwise
    (unknown, or 重号). For the checks that compare a name without opening the record (居民身份证核查,
    tongban/cardcheck): nothing else of the person is read."""
    names = list(Person.objects.filter(id_number=id_number).values_list("name", flat=True)[:2])
    return names[0] if len(names) == 1 else None


def guest_province_unit(number: str) -> Unit | None:
    """For a number not in the register: the unit of its province when that is another province
    we exchange with (跨省通办), so the counter may register the person as 外省户籍人员."""
    if not idnumber.is_valid(number):
        return None
    return Unit.objects.external().filter(code=idnumber.canonical(number)[:2]).first()


def person_get(viewer: Viewer, pk: int) -> Person:
    """A full record of the viewer's subtree; 404 for everybody else's."""
    person = (
        Person.objects.visible_to(viewer, "person.view")
        .select_related(*_PERSON_RELATED)
        .filter(pk=pk)
        .first()
    )
    if person is None:
        raise Http404("未找到该人员")
    return person


@dataclass(frozen=True)
class PersonFilters:
    name: str = ""
    household_no: str = ""
    unit_code: str = ""
    status: str = ""


def people_page(
    viewer: Viewer, filters: PersonFilters, *, after: int | None = None, limit: int = 50
) -> Page[Person, int]:
    """Keyset pagination by primary key: page N costs the same as page 1 on a big register."""
    people = (
        Person.objects.visible_to(viewer, "person.browse")
        .select_related("sex", "registration_unit")
        .with_card_state(timezone.localdate())
    )
    if filters.name:
        people = people.filter(name__startswith=filters.name)
    if filters.household_no:
        people = people.filter(household_no=filters.household_no)
    if filters.unit_code:
        unit = Unit.objects.filter(code=filters.unit_code).first()
        people = (
            people.filter(registration_unit__in=Unit.objects.subtree(unit).values("pk"))
            if unit
            else people.none()
        )
    if filters.status:
        people = people.filter(status=filters.status)
    return page_after(people, ["pk"], after, limit=limit)


@dataclass(frozen=True)
class PersonRecord:
    """Everything the full record page shows, fetched in a fixed number of queries."""

    person: Person
    cards: list[Card]
    household: list[Person] | None  # None: outside the viewer's subtree, not shown
    wanted: list[WantedPerson]
    floating: list[FloatingRegistration]
    changes: list[PersonChange]  # 变更更正记录, oldest first
    # 临时居民身份证 (tongban/temporary) through the relation that app names: the register
    # imports no later stage, the card history shows them all.
    temporary_cards: list[Any]


def person_record(viewer: Viewer, person: Person) -> PersonRecord:
    """The record as `viewer` may see it. A person looked up from outside the viewer's subtree
    (a clerk accepting someone registered elsewhere) comes without their household members:
    acceptance needs the applicant, not their relatives."""
    household: list[Person] | None = None
    if Person.objects.visible_to(viewer, "person.view").filter(pk=person.pk).exists():
        household = []
    if person.household_no and household is not None:
        household = list(
            Person.objects.filter(
                registration_unit=person.registration_unit_id, household_no=person.household_no
            )
            .exclude(pk=person.pk)
            .select_related("relation", "sex")
            .with_card_state(timezone.localdate())
            .order_by("relation_id", "birth_date")
        )
    wanted: list[WantedPerson] = []
    if viewer.can("watchlist.view"):
        wanted = list(
            WantedPerson.objects.filter(Q(person=person) | Q(id_number=person.id_number), active=True)
        )
    return PersonRecord(
        person=person,
        cards=list(person.cards.with_current_state(timezone.localdate()).order_by("-valid_from", "-pk")),
        household=household,
        wanted=wanted,
        floating=list(person.floating_registrations.select_related("residence_unit").filter(active=True)),
        changes=_with_approver_names(list(person.changes.order_by("pk"))),
        temporary_cards=list(person.temporary_cards.select_related("unit").order_by("-pk")),
    )


def _with_approver_names(changes: list[PersonChange]) -> list[PersonChange]:
    """Approvers by name: the history keeps their login name (registry does not import accounts;
    the user model comes from Django's setting)."""
    if changes:
        users = get_user_model().objects.filter(username__in={c.approved_by for c in changes})
        names = {user.get_username(): user.get_full_name() for user in users}
        for change in changes:
            change.approver_name = names.get(change.approved_by) or change.approved_by
    return changes


def unit_get(viewer: Viewer, code: str) -> Unit:
    """One unit of the viewer's subtree by code; 404 for any other."""
    unit = Unit.objects.visible_to(viewer).select_related("parent").filter(code=code).first()
    if unit is None:
        raise Http404("未找到该机构")
    return unit


def stations_missing_contact(viewer: Viewer) -> QuerySet[Unit]:
    """Active stations of the viewer's subtree without a telephone or an address: what their
    documents cannot print until somebody holding `unit.manage` enters it."""
    if not viewer.can("unit.manage"):
        return Unit.objects.none()
    return (
        Unit.objects.visible_to(viewer)
        .stations()
        .filter(active=True)
        .filter(Q(phone="") | Q(address=""))
        .select_related("parent")
        .order_by("path")
    )
