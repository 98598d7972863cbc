"""factory_boy factories for tests: valid, consistent people and staff in the Jiangxi tree."""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.utils import timezone

from tongban.accounts.models import User
from tongban.core import idnumber
from tongban.core.dates import add_years
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
