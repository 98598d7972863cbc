"""factory_boy factories for tests: valid, consistent people, staff and applications in the Jiangxi
tree."""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.utils import timezone

from tongban.accounts.models import User
from tongban.core import idnumber
from tongban.core.dates import add_years
from tongban.intake.models import Application
from tongban.registry.models import Card, Person, Unit

PASSWORD = "Persona-pass-2026"


def station(code: str = "360102001") -> Unit:
    return Unit.objects.get(code=code)


class PersonFactory(factory.django.DjangoModelFactory[Person]):
    class Meta:
        model = Person

    class Params:
        sequence_no = factory.Sequence(lambda n: 2 * (n % 499) + 1)  # odd: male unless sex says otherwise

    registration_unit = factory.LazyFunction(station)
    name = factory.Sequence(lambda n: f"测试{n}")
    sex_id = "1"
    ethnicity_id = "01"
    birth_date = datetime.date(1990, 5, 17)
    address = factory.LazyAttribute(lambda p: f"江西省某地中山路{p.sequence_no}号")
    household_no = factory.Sequence(lambda n: f"H{n:08d}")
    relation_id = "02"
    region_code = factory.LazyAttribute(lambda p: p.registration_unit.region_code)
    id_number = factory.LazyAttribute(
        lambda p: idnumber.build(
            p.registration_unit.region_code,
            p.birth_date,
            p.sequence_no if p.sex_id == "1" else p.sequence_no + 1,
        )
    )


class CardFactory(factory.django.DjangoModelFactory[Card]):
    class Meta:
        model = Card

    person = factory.SubFactory(PersonFactory)
    issuing_authority = "南昌市公安局东湖分局"
    # The card holder who comes to the counter: a 20-year card that ends in six weeks, so that
    # 21 有效期满换领 fits (from three months before the end date). Tests about other states of a
    # card give their own dates.
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=42))
    valid_from = factory.LazyAttribute(
        lambda card: add_years(card.valid_until or timezone.localdate(), -20)  # 长期: issued 20 years ago
    )


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = "clerk"
    unit = factory.LazyFunction(station)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @classmethod
    def _after_postgeneration(
        cls, instance: User, create: bool, results: dict[str, Any] | None = None
    ) -> None:
        if create:
            instance.save()


class ApplicationFactory(factory.django.DjangoModelFactory[Application]):
    """An application row in a given state (`status`, times, units as given) without the counter:
    the person's particulars, a 首次申领 accepted at the person's registration station, now (a
    draft never accepted). For lists and counts; a test of what the counter does takes the
    application through it (the `accept` fixture)."""

    class Meta:
        model = Application

    person = factory.SubFactory(PersonFactory)
    type = "first"
    reason_id = "12"
    status = Application.Status.PENDING_REVIEW
    id_number = factory.SelfAttribute("person.id_number")
    name = factory.SelfAttribute("person.name")
    sex_id = factory.SelfAttribute("person.sex_id")
    ethnicity_id = factory.SelfAttribute("person.ethnicity_id")
    birth_date = factory.SelfAttribute("person.birth_date")
    household_address = factory.SelfAttribute("person.address")
    acceptance_unit = factory.SelfAttribute("person.registration_unit")
    household_unit = factory.SelfAttribute("person.registration_unit")
    region_code = factory.SelfAttribute("person.region_code")
    created_by = factory.SubFactory(UserFactory)
    accepted_at = factory.LazyAttribute(
        lambda application: None if application.status == Application.Status.DRAFT else timezone.now()
    )
