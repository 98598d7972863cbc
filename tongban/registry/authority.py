"""签发机关: who issues a card (居民身份证法 第八条, DOMAIN.md §4).

The card is issued by the county-level public security organ of the place of permanent residence
(由常住户口所在地的县级人民政府公安机关签发): the county bureau above the applicant's household
station (南昌市公安局东湖分局 for a 东湖区 household), whichever units a configured review chain
passes through. This is the one place that name is worked out; review writes it on the
application at issue, production copies it to the card record and the data package, and the data
migration that corrected rows written wrong (production/0002) and `tongban applications
authority-report` use it too.
"""

from __future__ import annotations

from typing import Any

# Levels that count as the county-level organ, nearest first: a county bureau (县（市、区）公安局),
# else — a city whose stations sit directly under the city bureau (不设区的市) — the city bureau.
_ISSUING_KINDS = ("county", "city")


def issuing_unit(household_unit: Any, *, units: Any = None) -> Any:
    """The unit that issues cards for people registered at `household_unit` (a station, or a
    county when the register names the bureau itself). `units` is the Unit manager to read the
    ancestors from: the historical one inside a migration, the real one (default) elsewhere."""
    if units is None:
        from tongban.registry.models import Unit

        units = Unit.objects
    codes = [code for code in household_unit.path.split("/") if code]
    ancestors = {unit.code: unit for unit in units.filter(code__in=codes, kind__in=_ISSUING_KINDS)}
    for kind in _ISSUING_KINDS:
        for code in reversed(codes):
            unit = ancestors.get(code)
            if unit is not None and unit.kind == kind:
                return unit
    return household_unit


def issuing_authority(household_unit: Any, *, units: Any = None) -> str:
    """签发机关 as printed on the card: the name of `issuing_unit`."""
    return str(issuing_unit(household_unit, units=units).name)
