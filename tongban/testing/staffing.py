"""Accounts that staff a configuration in tests (tongban/accounts/staffing.py): the Nanchang
campaign's chain (station → county → city review) and county quality check need a reviewer who
reaches every unit of the city and someone at every county bureau to sign for cards."""

from __future__ import annotations

from tongban.accounts.models import User
from tongban.registry.models import Unit
from tongban.testing.factories import UserFactory

NANCHANG = "3601"


def staff(role: str, *codes: str) -> list[User]:
    """One active account of `role` at each unit code."""
    return [UserFactory.create(role=role, unit=Unit.objects.get(code=code)) for code in codes]


def staff_city_campaign(city: str = NANCHANG) -> list[User]:
    """A reviewer at the city bureau (reaching its stations and county bureaus) and a
    distributor at each of its county bureaus: what the default campaign configuration needs."""
    counties = Unit.objects.filter(kind=Unit.Kind.COUNTY, code__startswith=city, active=True)
    return staff("reviewer", city) + staff("distributor", *counties.values_list("code", flat=True))
